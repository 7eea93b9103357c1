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
    rasa_url: str
    logs: tuple[Path, ...] = ()

    def say(self, sender: str, text: str) -> list[dict]:
        """Send one message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{self.rasa_url}/webhooks/rest/webhook", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def running_bot(data_dir: Path, workdir: Path, service_hours: str = "00:00-24:00"):
    """Start the action server and Rasa (model models/kefu.tar.gz) on free ports; stop them after."""
    if not MODEL.is_file() or not RASA.is_file():
        raise FileNotFoundError("the Rasa model or venv is missing: run 'make test' (it trains the model first)")
    rasa_port, action_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n', encoding="utf-8")
    env = {**os.environ, "KEFU_DATA_DIR": str(data_dir), "KEFU_SERVICE_HOURS": service_hours,
           "KEFU_CONFIG": str(workdir / "none.toml")}
    with open(workdir / "actions.log", "w") as a_log, open(workdir / "rasa.log", "w") as r_log:
        actions = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--endpoints", "bot/endpoints.yml",
                                    "--port", str(action_port)], cwd=ROOT, env=env, stdout=a_log,
                                   stderr=subprocess.STDOUT)
        rasa = subprocess.Popen([str(RASA), "run", "--enable-api", "--model", str(MODEL), "--endpoints",
                                 str(endpoints), "--credentials", "bot/credentials.yml", "--port", str(rasa_port)],
                                cwd=ROOT, env=env, stdout=r_log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{action_port}/health", actions)
            wait_for(f"http://127.0.0.1:{rasa_port}/status", rasa)
            yield RunningBot(rasa, actions, f"http://127.0.0.1:{rasa_port}", (workdir / "actions.log", workdir / "rasa.log"))
        finally:
            for proc in (rasa, actions):
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


@contextlib.contextmanager
def running_web(data_dir: Path, rasa_url: str, workdir: Path, kb_dir: Path | None = None,
                extra_env: dict | None = None):
    """The web app under waitress on a free port (the production server); yields its base URL."""
    port = free_port()
    env = {**os.environ, "KEFU_DATA_DIR": str(data_dir), "KEFU_RASA_URL": rasa_url, "KEFU_WEB_PORT": str(port),
           "KEFU_CONFIG": str(workdir / "none.toml"), "KEFU_KB_DIR": str(kb_dir or ROOT / "kb"), **(extra_env or {})}
    with open(workdir / "web.log", "w") as log:
        web = subprocess.Popen([sys.executable, "-m", "web.serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/login", web)
            yield f"http://127.0.0.1:{port}"
        finally:
            web.terminate()
            try:
                web.wait(timeout=30)
            except subprocess.TimeoutExpired:
                web.kill()
