"""Starting the real Rasa server and action server on free ports (used by end-to-end tests and bench/)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from indexer.servers import rasa_token

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "kefu.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 180, log: Path | None = None) -> None:
    """Poll url until it answers, failing early if the process exits (with the end of its log, if given)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            said = "" if log is None else "; the end of its log:\n" + _tail(log)
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered{said}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def _tail(log: Path, lines: int = 30) -> str:
    """The last lines of a server's log (what CI prints when a server dies before it answers)."""
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(unreadable: {exc})"


def listening(port: int) -> set[str]:
    """The local addresses on which something listens on this TCP port (read from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    """An address as /proc/net/tcp writes it (each 32-bit word in host byte order) in its usual form."""
    words = [bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, width, 8)]
    return str(ipaddress.ip_address(b"".join(words)))


class System:
    """The action server, Rasa and the web app on fixed free ports, each started, killed (-9) and
    restarted on its own: the end-to-end tests, the benchmarks and the fault drill use it. Each is started
    as scripts/run-servers starts it, through `kefu serve NAME` (indexer/servers.py): one source for the
    commands, the interfaces they listen on and Rasa's token."""

    def __init__(
        self,
        data_dir: Path,
        workdir: Path,
        kb_dir: Path | None = None,
        service_hours: str = "00:00-24:00",
        extra_env: dict | None = None,
    ):
        if not MODEL.is_file() or not RASA.is_file():
            raise FileNotFoundError("the Rasa model or venv is missing: run 'make test' (it trains the model first)")
        self.workdir = workdir
        self.data_dir = Path(data_dir)
        self.ports = {"actions": free_port(), "rasa": free_port(), "web": free_port()}
        self.rasa_url = f"http://127.0.0.1:{self.ports['rasa']}"
        self.web_url = f"http://127.0.0.1:{self.ports['web']}"
        # Only settings: `kefu serve` derives the rest (bot/endpoints.yml's addresses, the tracker store) from them.
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KEFU_")},
            "KEFU_DATA_DIR": str(data_dir),
            "KEFU_SERVICE_HOURS": service_hours,
            "KEFU_CONFIG": str(workdir / "none.toml"),
            "KEFU_KB_DIR": str(kb_dir or ROOT / "kb"),
            "KEFU_RASA_PORT": str(self.ports["rasa"]),
            "KEFU_WEB_PORT": str(self.ports["web"]),
            "KEFU_ACTIONS_PORT": str(self.ports["actions"]),
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def rasa_token(self) -> str:
        """The token of Rasa's HTTP API (made on first use, by whichever of Rasa and the caller comes first)."""
        return rasa_token(self.data_dir)

    def command(self, name: str) -> list[str]:
        """As scripts/run-servers starts it (python -m: this checkout's code, not an installed kefu's)."""
        return [sys.executable, "-m", "indexer.cli", "serve", name]

    def health_url(self, name: str) -> str:
        path = {"actions": "/health", "rasa": f"/status?token={self.rasa_token}", "web": "/login"}[name]
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    @property
    def logs(self) -> tuple[Path, ...]:
        return tuple(self.workdir / f"{name}.log" for name in ("actions", "rasa", "web"))

    def start(self, *names: str) -> None:
        """Start these servers (appending to their logs) and wait until each answers."""
        for name in names:
            with open(self.workdir / f"{name}.log", "a") as log:
                self.procs[name] = subprocess.Popen(
                    self.command(name), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
        for name in names:
            wait_for(self.health_url(name), self.procs[name], log=self.workdir / f"{name}.log")

    def kill(self, name: str) -> None:
        """kill -9: no shutdown code runs."""
        self.procs[name].kill()
        self.procs[name].wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


@dataclass
class RunningBot:
    """Both servers, and how to talk to them."""

    system: System

    @property
    def rasa(self) -> subprocess.Popen:
        """Rasa's process."""
        return self.system.procs["rasa"]

    @property
    def actions(self) -> subprocess.Popen:
        """The action server's process."""
        return self.system.procs["actions"]

    @property
    def rasa_port(self) -> int:
        """Rasa's port."""
        return self.system.ports["rasa"]

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return self.system.rasa_url

    @property
    def logs(self) -> tuple[Path, ...]:
        """The action server's and Rasa's logs."""
        return self.system.logs[:2]

    def say(self, sender: str, text: str) -> list[dict]:
        """Send one message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def tracker(self, sender: str) -> dict:
        """Rasa's tracker of a conversation, through its HTTP API with the token."""
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.system.rasa_token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def restart_rasa(self) -> None:
        """Kill Rasa (-9: nothing is saved on the way out) and start it again on the same port."""
        self.system.kill("rasa")
        self.system.start("rasa")


def warm_up(bot: RunningBot, tries: int = 5) -> None:
    """What scripts/run-servers does: one question through Rasa until the action server answers it (it loads its
    models on the first action, which on a busy machine can outlast Rasa's wait for it), so a test's first
    message is not the one that pays for the loading."""
    for _ in range(tries):
        try:
            if bot.say("kefu-warm-up", "客服热线是24小时服务的吗"):
                return
        except OSError:  # Rasa gave up waiting on the action server: ask again, it is loading
            pass
    raise TimeoutError("the action server never answered a question")


@contextlib.contextmanager
def running_bot(data_dir: Path, workdir: Path, service_hours: str = "00:00-24:00"):
    """Start the action server and Rasa (model models/kefu.tar.gz) on free ports; stop them after."""
    system = System(data_dir, workdir, service_hours=service_hours)
    try:
        system.start("actions", "rasa")
        bot = RunningBot(system)
        warm_up(bot)
        yield bot
    finally:
        system.stop()


@contextlib.contextmanager
def running_web(
    data_dir: Path, rasa_port: int, workdir: Path, kb_dir: Path | None = None, extra_env: dict | None = None
):
    """The web app under waitress on a free port (the production server), talking to Rasa on rasa_port;
    yields its base URL."""
    system = System(data_dir, workdir, kb_dir, extra_env={"KEFU_RASA_PORT": str(rasa_port), **(extra_env or {})})
    try:
        system.start("web")
        yield system.web_url
    finally:
        system.stop()
