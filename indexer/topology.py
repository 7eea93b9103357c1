"""Several Kefu instances on one machine (`kefu topology`, `make topology`): PostgreSQL and Redis
(indexer.local_services), the migrations and the index build run once, then action servers, Rasa
instances and web instances, each started by `kefu serve NAME` on a port of its own, and HAProxy in front:
one frontend for the web app on the public address (web_host:web_port), one that balances the action servers
for the Rasa instances. docs/DEPLOY.md shows the same set across machines.

Rasa keeps its conversations in the database `rasa` on the PostgreSQL server and its locks in Redis; the web
instances reach every Rasa instance (rasa_instances); every instance shares the data folder (its secrets, Rasa's
token) and the store: PostgreSQL once the store runs on it (the database_url setting), else the SQLite file in
the data folder, which only instances on one machine can share.

Errors: TopologyError (a program missing, an instance that does not come up: its log's tail in the message).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from indexer.local_services import (
    Server,
    ServiceError,
    create_database,
    discard_postgres,
    free_port,
    log_tail,
    start_postgres,
    start_redis,
)
from indexer.servers import MODEL, RASA_PYTHON, rasa_token
from indexer.settings import DECLARED, Settings, instance_environment

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("actions", "rasa", "web")
DECLARED_NAMES = {s.name for s in DECLARED}


class TopologyError(RuntimeError):
    """The set of instances cannot be started (what is missing and how to get it are in the message)."""


@dataclass(frozen=True)
class Ports:
    """Where everything listens: each instance on 127.0.0.1, HAProxy's web frontend on the public address."""

    public: int
    actions_balancer: int
    stats: int
    instances: dict[str, tuple[int, ...]]

    def of(self, name: str) -> int:
        """The port of the instance called name ('web-1', 'rasa-2', ...)."""
        kind, _, number = name.rpartition("-")
        return self.instances[kind][int(number) - 1]

    @property
    def names(self) -> list[str]:
        """Every instance's name, action servers first (Rasa calls them), web instances last."""
        return [f"{kind}-{i + 1}" for kind in KINDS for i in range(len(self.instances[kind]))]


def allocate(public: int, count: int = 2, free: Callable[[], int] = free_port) -> Ports:
    """count instances of each kind on free ports, the web frontend on public."""
    if count < 1:
        raise TopologyError(f"a topology needs at least one instance of each kind, not {count}")
    return Ports(public, free(), free(), {kind: tuple(free() for _ in range(count)) for kind in KINDS})


def haproxy_config(ports: Ports, public_host: str, web_threads: int = 16) -> str:
    """HAProxy's configuration: the public web frontend balanced over the web instances, and the action servers
    balanced for Rasa; each server health-checked every second (out after three failures), a connection refused
    retried on another. A web instance gets at most web_threads - 2 requests at once (the rest wait in HAProxy's
    queue, up to 60 s), so two of its threads are always free for the health check: an overloaded instance is
    slow, not marked down (which, for the last one, turned a queue into HAProxy's 503s)."""
    web_maxconn = max(1, web_threads - 2)
    web = "\n".join(
        f"    server web-{i + 1} 127.0.0.1:{port} check inter 1s fall 3 rise 1 maxconn {web_maxconn}"
        for i, port in enumerate(ports.instances["web"])
    )
    actions = "\n".join(
        f"    server actions-{i + 1} 127.0.0.1:{port} check inter 1s fall 3 rise 1"
        for i, port in enumerate(ports.instances["actions"])
    )
    return f"""# Made by kefu topology (indexer/topology.py); made again on every start.
global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # a request waiting for a web instance's free thread (maxconn below) waits here, not in the instance
    timeout queue 60s
    # an action server encoding a burst of questions answers its health check late, not never
    timeout check 5s
    # a connection refused (a stopped instance) is tried again on another instance; a request that reached one
    # is never sent twice
    retries 2
    option redispatch 1

frontend web
    bind {public_host}:{ports.public}
    option forwardfor
    default_backend web

backend web
    balance roundrobin
    # /livez asks nothing else (web.chat.livez): a hanging dependency never takes every web instance out at
    # once, as /healthz's checks of Rasa, the action servers and the database could (people and monitors use it)
    option httpchk GET /livez
    http-check expect status 200
{web}

frontend actions
    bind 127.0.0.1:{ports.actions_balancer}
    default_backend actions

backend actions
    balance roundrobin
    option httpchk GET /health
{actions}

listen stats
    bind 127.0.0.1:{ports.stats}
    stats enable
    stats uri /
"""


@dataclass(frozen=True)
class SharedState:
    """Where every instance finds the shared state: Rasa's tracker store, its lock store, Kefu's store."""

    tracker_store_url: str
    lock_store_url: str
    database_url: str = ""
    redis_url: str = ""


def instance_env(settings: Settings, ports: Ports, shared: SharedState, name: str = "") -> dict[str, str]:
    """The KEFU_* variables an instance (name, or '' for the one-off index build) is started with: every
    declared setting in force, then its own port and the shared addresses."""
    env = {f"KEFU_{s.name.upper()}": str(getattr(settings, s.name)) for s in DECLARED}
    rasa = ",".join(f"127.0.0.1:{port}" for port in ports.instances["rasa"])
    env |= {
        "KEFU_DATA_DIR": str(Path(settings.data_dir).resolve()),
        "KEFU_KB_DIR": str(Path(settings.kb_dir).resolve()),
        "KEFU_TRACKER_STORE_URL": shared.tracker_store_url,
        "KEFU_LOCK_STORE_URL": shared.lock_store_url,
        "KEFU_ACTIONS_HOST": "127.0.0.1",
        "KEFU_ACTIONS_PORT": str(ports.actions_balancer),  # Rasa and the web app's health check: the balancer
        "KEFU_RASA_HOST": "127.0.0.1",
        "KEFU_RASA_INSTANCES": rasa,
        "KEFU_WEB_HOST": "127.0.0.1",
        "KEFU_TRUSTED_PROXIES": "1",  # HAProxy appends the client's address (option forwardfor)
    }
    # Until the store and the rate limits run on PostgreSQL and Redis (settings database_url, redis_url) every
    # instance shares the SQLite file in the data folder, and each web instance counts its own limits.
    for setting, value in (("database_url", shared.database_url), ("redis_url", shared.redis_url)):
        if setting in DECLARED_NAMES and value:
            env[f"KEFU_{setting.upper()}"] = value
    if name:
        kind = name.rpartition("-")[0]
        env[f"KEFU_{kind.upper()}_PORT"] = str(ports.of(name))
    return env


# What a one-off kefu command needs to work on the set's shared state, as every instance sees it.
COMMAND_SETTINGS = (
    "data_dir",
    "kb_dir",
    "database_url",
    "redis_url",
    "tracker_store_url",
    "lock_store_url",
    "rasa_instances",
    "service_hours",
    "timezone",
)


def command_env(env: dict[str, str]) -> dict[str, str]:
    """Of an instance's environment, the KEFU_* variables a kefu command run by hand needs (COMMAND_SETTINGS)."""
    wanted = {f"KEFU_{name.upper()}" for name in COMMAND_SETTINGS}
    return {key: value for key, value in env.items() if key in wanted}


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """A shell file of `export NAME='value'` lines, owner-only from the first byte (it holds the database's
    password), replaced whole."""
    text = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


@dataclass
class Instance:
    """A started instance: its name, port, process and log."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path


@dataclass
class Topology:
    """The whole set on this machine, started by start() and stopped by stop() (or as a context manager)."""

    settings: Settings
    folder: Path
    count: int = 2
    public_port: int | None = None
    ports: Ports = field(init=False)
    shared: SharedState = field(init=False)
    services: list[Server] = field(default_factory=list)
    instances: dict[str, Instance] = field(default_factory=dict)
    balancer: subprocess.Popen | None = None
    progress: Callable[[str], None] = field(default=lambda _step: None, repr=False)  # a line per start step
    throwaway: bool = False  # the tests' and benchmarks' sets: PostgreSQL's cluster is removed at stop

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self.ports = allocate(self.public_port or self.settings.web_port, self.count)

    def __enter__(self) -> Topology:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def public_url(self) -> str:
        """The web app through HAProxy."""
        host = "127.0.0.1" if self.settings.web_host in ("0.0.0.0", "") else self.settings.web_host
        return f"http://{host}:{self.ports.public}"

    def url(self, name: str) -> str:
        """An instance's own base URL."""
        return f"http://127.0.0.1:{self.ports.of(name)}"

    def start(self) -> None:
        """Start PostgreSQL and Redis, build the index once, start every instance and HAProxy, and wait until
        each answers and each Rasa instance has answered a question through the action servers."""
        haproxy = shutil.which("haproxy")
        for needed, made_by in ((haproxy, "make services"), (RASA_PYTHON, "make setup"), (MODEL, "make run")):
            if not needed or not Path(needed).exists():
                raise TopologyError(f"cannot start the topology: {needed or 'haproxy'} is missing; run {made_by}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.progress("starting PostgreSQL and Redis …")
        try:
            self.services.append(postgres := start_postgres(self.folder / "postgres"))
            self.services.append(redis := start_redis(self.folder / "redis"))
            tracker = create_database(postgres, "rasa").replace("postgresql+psycopg://", "postgresql://", 1)
        except ServiceError as exc:
            raise TopologyError(str(exc)) from None
        base = redis.url.rsplit("/", 1)[0]  # Rasa's locks in Redis database 1, Kefu's limits in 0
        self.shared = SharedState(tracker, f"{base}/1", postgres.url, f"{base}/0")
        write_env_file(self.env_file, command_env(self._child_env()))
        rasa_token(self.settings.data_dir)  # made once before the instances race to make it
        self.progress("migrating the database and building the index (kefu index build) …")
        self.kefu(["index", "build"])  # the migrations too: the store is opened first
        self.progress(f"starting {', '.join(self.ports.names)} (Rasa takes a minute or two) …")
        for name in self.ports.names:
            self._start_instance(name)
        config = self.folder / "haproxy.cfg"
        balanced = haproxy_config(self.ports, self.settings.web_host, self.settings.web_threads)
        config.write_text(balanced, encoding="utf-8")
        with open(self.folder / "haproxy.log", "ab") as log:
            self.balancer = subprocess.Popen(
                [str(haproxy), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        for name in self.ports.names:
            self.wait_ready(name)
            self.progress(f"{name} is up")
        _wait_http(f"{self.public_url}/healthz", self.balancer, self.folder / "haproxy.log", 60, ok=(200,))
        for name in self.ports.names:
            if name.startswith("rasa-"):
                self._warm_up(name)

    def _child_env(self, name: str = "") -> dict[str, str]:
        own = instance_env(self.settings, self.ports, self.shared, name)
        return instance_environment({**own, "KEFU_CONFIG": str(self.folder / "none.toml")})  # every setting in own

    def kefu(self, arguments: list[str], stdin: str = "") -> None:
        """Run a kefu command once on the topology's store (as every instance sees it); TopologyError if it fails."""
        done = subprocess.run(
            [sys.executable, "-m", "indexer.cli", *arguments],
            cwd=ROOT,
            env=self._child_env(),
            input=stdin.encode(),
            capture_output=True,
        )
        if done.returncode:
            raise TopologyError(f"kefu {' '.join(arguments)} failed: {done.stderr.decode(errors='replace')[-800:]}")

    def _start_instance(self, name: str) -> None:
        log = self.folder / f"{name}.log"
        with open(log, "ab") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "indexer.cli", "serve", name.rpartition("-")[0]],
                cwd=ROOT,
                env=self._child_env(name),
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.instances[name] = Instance(name, self.ports.of(name), process, log)

    def wait_ready(self, name: str, timeout: float = 300) -> None:
        """Wait until the instance answers its health check; TopologyError if it stops or times out first."""
        instance = self.instances[name]
        path = {"actions": "/health", "rasa": "/status", "web": "/login"}[name.rpartition("-")[0]]
        params = {"token": rasa_token(self.settings.data_dir)} if name.startswith("rasa-") else {}
        _wait_http(f"{self.url(name)}{path}", instance.process, instance.log, timeout, ok=(200,), params=params)

    def _warm_up(self, name: str, tries: int = 5) -> None:
        """One question through this Rasa instance until an action server answers it (they load their models on
        the first action, which can outlast Rasa's wait for it)."""
        body = {"sender": f"kefu-warm-up-{name}", "message": "客服热线是24小时服务的吗"}
        for _ in range(tries):
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if httpx.post(f"{self.url(name)}/webhooks/rest/webhook", json=body, timeout=120).json():
                    return
        raise TopologyError(f"{name} never answered a question through the action servers: see {self.folder}")

    def kill(self, name: str) -> None:
        """kill -9 an instance: no shutdown code runs."""
        instance = self.instances[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(instance.process.pid, signal.SIGKILL)
        instance.process.wait()

    def restart(self, name: str) -> None:
        """Start a stopped instance again on its port and wait until it answers."""
        self._start_instance(name)
        self.wait_ready(name)

    @property
    def env_file(self) -> Path:
        """The shell file that points a kefu command at this set's store (remade on every start: ports change)."""
        return self.folder / "kefu.env"

    def describe(self) -> list[str]:
        """What runs where, a line each."""
        lines = [f"web app (HAProxy)   {self.public_url}/   (HAProxy's figures: http://127.0.0.1:{self.ports.stats}/)"]
        lines += [f"{name:<19} {self.url(name)}   log {i.log}" for name, i in self.instances.items()]
        lines += [f"action servers      http://127.0.0.1:{self.ports.actions_balancer} (HAProxy, for Rasa)"]
        lines += [f"{s.name:<19} 127.0.0.1:{s.port}   log {s.log}" for s in self.services]
        lines += [f"kefu commands on this set's database (e.g. users add): . {self.env_file}; kefu …"]
        return lines

    def stopped(self) -> list[str]:
        """The instances whose process has ended."""
        return [name for name, i in self.instances.items() if i.process.poll() is not None]

    def stop(self) -> None:
        """Stop HAProxy, every instance, Redis and PostgreSQL (SIGTERM, then SIGKILL after 20 s)."""
        processes = [i.process for i in self.instances.values()] + ([self.balancer] if self.balancer else [])
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for server in reversed(self.services):
            server.stop()
        self.services.clear()
        if self.throwaway:  # as root the cluster lives outside the folder (local_services.cluster_home)
            discard_postgres(self.folder / "postgres")


def _wait_http(
    url: str, process: subprocess.Popen, log: Path, timeout: float, ok: tuple[int, ...], params: dict | None = None
) -> None:
    """Poll url until it answers with a status in ok; TopologyError if the process ends or timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TopologyError(
                f"{log.stem} stopped (exit {process.returncode}) before {url} answered: {log_tail(log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, params=params, timeout=2).status_code in ok:
                return
        time.sleep(0.2)
    raise TopologyError(f"{url} did not answer within {timeout:.0f} s: {log_tail(log)}")
