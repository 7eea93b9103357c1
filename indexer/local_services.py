"""PostgreSQL and Redis from Debian's packages, started in a folder of our own on loopback: for
`kefu topology` (the several-instance set on one machine) and for the tests that run the store on
PostgreSQL and Rasa's lock store on Redis.

Nothing here is for a real deployment (docs/DEPLOY.md: a desk runs its own PostgreSQL and Redis); a
server started here trusts every local connection and keeps its files under the folder it is given.

Errors: ServiceError when a program is missing or a server does not come up (its log's tail in the
message).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # newest first


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
            raise ServiceError(f"{process.args[0]} stopped (exit {process.returncode}): {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise ServiceError(f"nothing listens on port {port} after {timeout:.0f} s: {_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
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


def start_postgres(folder: Path, port: int | None = None, database: str = "kefu") -> Server:
    """A PostgreSQL server with its cluster in folder/pgdata (made on first use), listening on 127.0.0.1:port
    (a free port if None), trusting local connections, with the database made; its url is an SQLAlchemy
    URL (postgresql+psycopg://postgres@127.0.0.1:port/database). ServiceError if it will not start."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    pgdata, log = folder / "pgdata", folder / "postgres.log"
    port = port or free_port()
    prefix = _as_postgres_user()
    if prefix:  # the postgres user must reach and own its folder
        for parent in [folder, *folder.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        shutil.chown(folder, "postgres", "postgres")
    if not (pgdata / "PG_VERSION").exists():
        initdb = _program("initdb", POSTGRES_BIN_DIRS)
        done = subprocess.run(
            [*prefix, initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise ServiceError(f"initdb failed: {done.stderr.strip()[-800:]}")
    postgres = _program("postgres", POSTGRES_BIN_DIRS)
    handle = open(log, "ab")  # noqa: SIM115 (kept open for the server's life)
    if prefix:
        shutil.chown(log, "postgres", "postgres")
    process = subprocess.Popen(
        [
            *prefix,
            postgres,
            "-D",
            str(pgdata),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(folder),
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server("postgres", port, process, log)
    wait_for_port(port, process, log)
    psql = _program("psql", POSTGRES_BIN_DIRS)
    deadline = time.monotonic() + 60
    while True:  # the port opens a moment before the server accepts logins
        exists = subprocess.run(
            [
                psql,
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
            ],
            capture_output=True,
            text=True,
        )
        if exists.returncode == 0:
            break
        if time.monotonic() > deadline:
            server.stop()
            raise ServiceError(f"PostgreSQL does not accept logins: {exists.stderr.strip()}")
        time.sleep(0.2)
    if exists.stdout.strip() != "1":
        subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", f'CREATE DATABASE "{database}"'],
            check=True,
            capture_output=True,
        )
    server.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    return server


def create_database(server: Server, name: str) -> str:
    """Make another database on a started PostgreSQL (dropped first if it exists); its SQLAlchemy URL."""
    psql = _program("psql", POSTGRES_BIN_DIRS)
    base = [psql, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-c"]
    subprocess.run([*base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True, capture_output=True)
    subprocess.run([*base, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"


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
