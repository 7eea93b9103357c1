"""Starting the real Rasa server and action server on free ports (used by end-to-end tests and bench/)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "kefu.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    """Poll url until it answers, failing early if the process exits."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@dataclass
class RunningBot:
    """Both servers, and how to talk to them."""

    rasa: subprocess.Popen
    actions: subprocess.Popen
    rasa_port: int
    logs: tuple[Path, ...] = ()

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.rasa_port}"

    def say(self, sender: str, text: str) -> list[dict]:
        """Send one message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


class System:
    """The action server, Rasa and the web app on fixed free ports, each started, killed (-9) and
    restarted on its own: the end-to-end tests, the benchmarks and the fault drill use it."""

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
        self.ports = {"actions": free_port(), "rasa": free_port(), "web": free_port()}
        self.rasa_url = f"http://127.0.0.1:{self.ports['rasa']}"
        self.web_url = f"http://127.0.0.1:{self.ports['web']}"
        # The ports are Kefu settings, as scripts/run-servers exports them; Rasa reads the action server's
        # address from bot/endpoints.yml through the same variables.
        self.env = {
            **os.environ,
            "KEFU_DATA_DIR": str(data_dir),
            "KEFU_SERVICE_HOURS": service_hours,
            "KEFU_CONFIG": str(workdir / "none.toml"),
            "KEFU_KB_DIR": str(kb_dir or ROOT / "kb"),
            "KEFU_RASA_HOST": "127.0.0.1",
            "KEFU_RASA_PORT": str(self.ports["rasa"]),
            "KEFU_WEB_PORT": str(self.ports["web"]),
            "KEFU_ACTIONS_HOST": "127.0.0.1",
            "KEFU_ACTIONS_PORT": str(self.ports["actions"]),
            "KEFU_ACTIONS_URL": f"http://127.0.0.1:{self.ports['actions']}",  # what bot/endpoints.yml reads
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def command(self, name: str) -> list[str]:
        port = str(self.ports[name])
        if name == "actions":
            return [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--endpoints",
                "bot/endpoints.yml",
                "--port",
                port,
            ]
        if name == "rasa":
            return [
                str(RASA),
                "run",
                "--enable-api",
                "--model",
                str(MODEL),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
                "--port",
                port,
            ]
        return [sys.executable, "-m", "web.serve"]

    def health_url(self, name: str) -> str:
        path = {"actions": "/health", "rasa": "/status", "web": "/login"}[name]
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    @property
    def logs(self) -> tuple[Path, ...]:
        return tuple(self.workdir / f"{name}.log" for name in ("actions", "rasa", "web"))

    def start(self, *names: str) -> None:
        """Start these servers (appending to their logs) and wait until each answers."""
        for name in names:
            env = self.env if name == "rasa" else {"OMP_NUM_THREADS": "1", **self.env}  # as scripts/run-servers
            with open(self.workdir / f"{name}.log", "a") as log:
                self.procs[name] = subprocess.Popen(
                    self.command(name), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        for name in names:
            wait_for(self.health_url(name), self.procs[name])

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
        bot = RunningBot(system.procs["rasa"], system.procs["actions"], system.ports["rasa"], system.logs[:2])
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
