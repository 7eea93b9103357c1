"""How Kefu's three servers start (`kefu serve NAME`; scripts/run-servers and tests/servers.py both start them
so): the action server, Rasa and the web app, each on its host and port from the settings. Rasa and the action
server listen where the web app reaches them (127.0.0.1 by default), so only the web app faces the network;
Rasa's HTTP API wants the token kept in the data folder, and Rasa keeps its conversations in its SQL tracker
store (bot/endpoints.yml), so a restart forgets none."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from indexer.settings import Settings, server_environment
from kb.secret_files import SecretFileError, owner_only_secret

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("actions", "rasa", "web")
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
# Rasa's SQL tracker store on PostgreSQL pools 50 + 100 connections per instance by default (SQL_POOL_SIZE,
# SQL_MAX_OVERFLOW); it uses them from one event loop, so 5 + 10 (half Kefu's own engine's 10 + 20) is plenty and keeps
# PostgreSQL's max_connections arithmetic (docs/DEPLOY.md) small.
RASA_TRACKER_POOL = {"SQL_POOL_SIZE": "5", "SQL_MAX_OVERFLOW": "10"}
RASA_RUN = ROOT / "scripts" / "rasa_run.py"
MODEL = ROOT / "models" / "kefu.tar.gz"
ENDPOINTS = ROOT / "bot" / "endpoints.yml"
CREDENTIALS = ROOT / "bot" / "credentials.yml"


class ServerError(RuntimeError):
    """A server cannot be started (what is missing and how to make it are in the message)."""


def rasa_token_file(data_dir: Path) -> Path:
    """Where the token of Rasa's HTTP API is kept."""
    return Path(data_dir) / "rasa_token"


def rasa_token(data_dir: Path) -> str:
    """The token of Rasa's HTTP API, made once in the data folder (owner-only): Rasa is started with it and
    the web app sends it to pause and resume conversations."""
    return owner_only_secret(rasa_token_file(data_dir), lambda: secrets.token_urlsafe(32).encode()).decode()


@dataclass(frozen=True)
class ServerCommand:
    """A server's command line and what its environment needs beyond the caller's."""

    argv: list[str]
    env: dict[str, str]


def command(settings: Settings, name: str) -> ServerCommand:
    """How to start the server called name ('actions', 'rasa' or 'web') under these settings."""
    exports = settings.exports()  # bot/endpoints.yml reads the action server's address and the stores from them
    if name == "actions":
        # rasa_sdk has no interface option: it binds SANIC_HOST (default 0.0.0.0, every interface).
        argv = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--endpoints", str(ENDPOINTS)]
        env = {**exports, "SANIC_HOST": settings.actions_host, "OMP_NUM_THREADS": "1"}
        return ServerCommand([*argv, "--port", str(settings.actions_port)], env)
    if name == "rasa":
        # The token goes by file: `rasa run` takes it only as an argument, which every user could read in ps.
        argv = [str(RASA_PYTHON), str(RASA_RUN), str(rasa_token_file(settings.data_dir)), "run", "--enable-api"]
        where = ["--interface", settings.rasa_host, "--port", str(settings.rasa_port)]
        files = ["--model", str(MODEL), "--endpoints", str(ENDPOINTS), "--credentials", str(CREDENTIALS)]
        return ServerCommand([*argv, *where, *files], {**exports, **RASA_TRACKER_POOL})
    if name == "web":  # waitress on web_host and web_port (web/serve.py)
        return ServerCommand([sys.executable, "-m", "web.serve"], {**exports, "OMP_NUM_THREADS": "1"})
    raise ValueError(f"no server called {name!r}: {', '.join(SERVERS)}")


def prepare(settings: Settings, name: str) -> None:
    """Make what a server needs in the data folder before it starts: for Rasa its token and, unless another
    tracker store is configured, its SQLite file, both owner-only (Rasa would make the file world-readable)."""
    if name != "rasa":
        return
    try:
        rasa_token(settings.data_dir)
    except SecretFileError as exc:
        raise ServerError(f"cannot start rasa: {exc}") from None
    if not settings.tracker_store_url:
        settings.tracker_file.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(settings.tracker_file, os.O_WRONLY | os.O_CREAT, 0o600))


def serve(settings: Settings, name: str) -> None:
    """Become the server called name (exec: the same process id, no shell, no command line holding a secret)."""
    started = command(settings, name)
    needed = {
        Path(started.argv[0]): "make setup",
        **({MODEL: "make run (it trains the model)"} if name == "rasa" else {}),
    }
    for path, made_by in needed.items():
        if not path.exists():
            raise ServerError(f"cannot start {name}: {path} is missing; run {made_by}")
    prepare(settings, name)
    if name == "rasa":
        os.umask(0o077)  # what Rasa writes (the tracker store's journal, its unpacked model) is owner-only too
    os.execve(started.argv[0], started.argv, server_environment(settings, started.env))
