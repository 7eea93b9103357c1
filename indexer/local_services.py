"""PostgreSQL and Redis from Debian's packages, started in a folder of our own on loopback: for
`kefu topology` (the several-instance set on one machine) and for the tests that run the store on
PostgreSQL and Rasa's lock store on Redis.

Nothing here is for a real deployment (docs/DEPLOY.md: a desk runs its own PostgreSQL and Redis). PostgreSQL
wants a password (scram-sha-256) generated on first use and kept owner-only in the folder (postgres_password);
its URL carries it. Run as root, the cluster lives apart, in a folder the postgres user owns
(cluster_home: /var/lib/postgresql/kefu-<hash of the folder>), so none of the caller's folders is opened to
another user; discard_postgres removes it.

Errors: ServiceError when a program is missing or a server does not come up (its log's tail in the
message).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from indexer.settings import instance_environment
from kb.secret_files import owner_only_secret

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # newest first
POSTGRES_HOME = Path("/var/lib/postgresql")  # the postgres user's home in Debian's package


class ServiceError(RuntimeError):
    """A server could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen | None, log: Path, timeout: float = 60.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port; ServiceError if the process ends first
    or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"the server logging to {log} stopped (exit {process.returncode}): {log_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise ServiceError(f"nothing listens on port {port} after {timeout:.0f} s: {log_tail(log)}")


def log_tail(log: Path, lines: int = 15) -> str:
    """A log's last lines, for an error message ('(no log)' when it cannot be read)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _program(name: str, dirs: list[Path] | None = None) -> str:
    for folder in dirs or []:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        raise ServiceError(f"{name} is not installed (Debian's package; 'make services' installs it)")
    return found


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Server:
    """A started server: its process, port and log; stop() ends it (SIGTERM, then SIGKILL)."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def stop(self, timeout: float = 20.0) -> None:
        """End the server and wait for it."""
        if self.process.poll() is None:
            # The whole process group: runuser does not pass signals on. SIGINT is PostgreSQL's fast shutdown.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT if self.name == "postgres" else signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)


def cluster_home(folder: Path) -> Path:
    """Where start_postgres keeps the cluster (pgdata, its log, its socket) for folder: folder itself, or, run as
    root, POSTGRES_HOME/kefu-<hash of folder's path>, owned by the postgres user (the same folder on every start,
    so a restart finds its data)."""
    folder = Path(folder).resolve()
    if os.geteuid() != 0:
        return folder
    return POSTGRES_HOME / f"kefu-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}"


def _password(folder: Path) -> str:
    """The cluster's superuser password, made once and kept owner-only in folder/postgres_password."""
    return owner_only_secret(folder / "postgres_password", lambda: secrets.token_urlsafe(24).encode()).decode()


def _prepare_home(home: Path, as_postgres: list[str]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if as_postgres:  # the postgres user's own folder, closed to everyone else
        shutil.chown(home, "postgres", "postgres")
        home.chmod(0o700)


def _initdb(home: Path, password: str, as_postgres: list[str]) -> None:
    pwfile = home / ".pwfile"  # read by initdb as the postgres user; removed at once
    pwfile.write_text(password, encoding="utf-8")
    pwfile.chmod(0o600)
    if as_postgres:
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        done = subprocess.run(
            [
                *as_postgres,
                _program("initdb", POSTGRES_BIN_DIRS),
                *("-D", str(home / "pgdata"), "-U", "postgres", "-E", "UTF8", "--no-locale"),
                *("--auth-host=scram-sha-256", "--auth-local=scram-sha-256", f"--pwfile={pwfile}"),
            ],
            capture_output=True,
            text=True,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode:
        raise ServiceError(f"initdb failed: {done.stderr.strip()[-800:]}")


def _psql(server: Server, sql: str, database: str = "postgres") -> subprocess.CompletedProcess:
    """Run one statement with psql on the server, the password in PGPASSWORD (never on the command line)."""
    command = [_program("psql", POSTGRES_BIN_DIRS), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
    return subprocess.run(
        [*command, "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        env=instance_environment({"PGPASSWORD": server.extra["password"]}),
    )


def start_postgres(folder: Path, port: int | None = None, database: str = "kefu") -> Server:
    """A PostgreSQL server with its cluster in cluster_home(folder) (made on first use), listening on
    127.0.0.1:port (a free port if None), password authentication only, with the database made; its url is an
    SQLAlchemy URL carrying the password (postgresql+psycopg://postgres:PASSWORD@127.0.0.1:port/database).
    ServiceError if it will not start."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    home, prefix, password = cluster_home(folder), _as_postgres_user(), _password(folder)
    _prepare_home(home, prefix)
    (folder / "postgres_cluster").write_text(f"{home}\n", encoding="utf-8")  # where it is, for people
    log = home / "postgres.log"
    port = port or free_port()
    if not (home / "pgdata" / "PG_VERSION").exists():
        _initdb(home, password, prefix)
    postgres = _program("postgres", POSTGRES_BIN_DIRS)
    handle = open(log, "ab")  # noqa: SIM115 (kept open for the server's life)
    if prefix:
        shutil.chown(log, "postgres", "postgres")
    process = subprocess.Popen(
        [
            *prefix,
            postgres,
            *("-D", str(home / "pgdata"), "-p", str(port), "-h", "127.0.0.1", "-k", str(home)),
            *("-c", "max_connections=200", "-c", "fsync=on"),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server("postgres", port, process, log, extra={"password": password})
    wait_for_port(port, process, log)
    deadline = time.monotonic() + 60
    while (exists := _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{database}'")).returncode:
        if time.monotonic() > deadline:  # the port opens a moment before the server accepts logins
            server.stop()
            raise ServiceError(f"PostgreSQL does not accept logins: {exists.stderr.strip()}")
        time.sleep(0.2)
    if exists.stdout.strip() != "1":
        _created(server, database)
    server.url = _url(server, database)
    return server


def _url(server: Server, database: str) -> str:
    return (
        f"postgresql+psycopg://postgres:{quote(server.extra['password'], safe='')}@127.0.0.1:{server.port}/{database}"
    )


def _created(server: Server, name: str) -> None:
    done = _psql(server, f'CREATE DATABASE "{name}"')
    if done.returncode and "already exists" not in done.stderr:
        raise ServiceError(f"cannot create the database {name}: {done.stderr.strip()}")


def create_database(server: Server, name: str, fresh: bool = False) -> str:
    """Make another database on a started PostgreSQL unless it exists (kept with its data: a topology's restart
    keeps Rasa's conversations), or, with fresh, dropped and made empty; its SQLAlchemy URL. ServiceError if
    it cannot be made."""
    if fresh:
        dropped = _psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if dropped.returncode:
            raise ServiceError(f"cannot drop the database {name}: {dropped.stderr.strip()}")
    if _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout.strip() != "1":
        _created(server, name)
    return _url(server, name)


def discard_postgres(folder: Path) -> None:
    """Remove a stopped throwaway server's cluster (cluster_home(folder)) and its password: for the tests.
    Nothing else is touched."""
    folder = Path(folder).resolve()
    home = cluster_home(folder)
    shutil.rmtree(home / "pgdata", ignore_errors=True)
    if home != folder:
        shutil.rmtree(home, ignore_errors=True)
    for name in ("postgres_password", "postgres_cluster", "postgres.log"):
        (folder / name).unlink(missing_ok=True)


def start_redis(folder: Path, port: int | None = None) -> Server:
    """A Redis server on 127.0.0.1:port (a free port if None), keeping nothing on disk; its url is
    redis://127.0.0.1:port/0. ServiceError if it will not start."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = folder / "redis.log"
    handle = open(log, "ab")  # noqa: SIM115 (kept open for the server's life)
    process = subprocess.Popen(
        [
            _program("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server("redis", port, process, log, url=f"redis://127.0.0.1:{port}/0")
    wait_for_port(port, process, log)
    return server


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[None]:
    """Stop these servers when the block ends, however it ends."""
    try:
        yield
    finally:
        for server in reversed(servers):
            server.stop()
