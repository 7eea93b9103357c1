"""scripts/run-servers keeps the three servers up: one that stops (crashed, or stopped by an operator to restart
it) is started again and said so; one that cannot stay up stops everything; a stop signal stops all of them.

The servers here are a stand-in kefu command whose `serve NAME` only waits (the real servers start in
tests/test_e2e.py, through the same `kefu serve`): this is about the script's supervision, not the servers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from servers import ROOT

STAND_IN = """#!/usr/bin/env bash
case "$1" in
  settings) printf 'export KEFU_RASA_URL=http://127.0.0.1:9\\nexport KEFU_ACTIONS_URL=http://127.0.0.1:9\\n'
            printf 'export KEFU_WEB_HOST=127.0.0.1\\nexport KEFU_WEB_PORT=9\\n' ;;
  index|purge) exit 0 ;;
  serve) echo "$2 $$" >> "$STARTS"
         [ "$2" = web ] && [ -n "$WEB_FAILS" ] && exit 3
         exec sleep 600 ;;
esac
"""


@pytest.fixture
def run_servers(tmp_path):
    """Start scripts/run-servers with the stand-in; yields (process, starts file); kills what is left after."""
    kefu = tmp_path / "kefu"
    kefu.write_text(STAND_IN)
    kefu.chmod(0o755)
    started: list[subprocess.Popen] = []

    def start(**env: str) -> tuple[subprocess.Popen, Path]:
        starts = tmp_path / "starts"
        # Output to a file: the warm-up loop it leaves in the background would hold a pipe open.
        with open(tmp_path / "stderr", "w") as errors:
            process = subprocess.Popen(
                [str(ROOT / "scripts" / "run-servers")],
                env={**os.environ, "KEFU_COMMAND": str(kefu), "STARTS": str(starts), **env},
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # its own process group, so the warm-up loop goes with it at the end
            )
        started.append(process)
        return process, starts

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def servers_started(starts: Path, count: int, seconds: float = 60) -> list[tuple[str, int]]:
    """The (server, pid) lines once there are at least `count` of them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = starts.read_text().split("\n") if starts.exists() else []
        found = [(name, int(pid)) for name, pid in (line.split() for line in lines if line.strip())]
        if len(found) >= count:
            return found
        time.sleep(0.05)  # polling a file for readiness
    raise AssertionError(f"fewer than {count} server starts in {seconds} s: {starts.read_text()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_that_is_stopped_is_started_again_and_a_stop_signal_stops_all(run_servers):
    process, starts = run_servers()
    first = dict(servers_started(starts, 3))
    assert set(first) == {"actions", "rasa", "web"}
    os.kill(first["rasa"], signal.SIGTERM)  # an operator restarting Rasa alone
    name, pid = servers_started(starts, 4)[3]
    assert name == "rasa" and pid != first["rasa"] and alive(first["web"]) and alive(first["actions"])
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    errors = (starts.parent / "stderr").read_text()
    assert "kefu: rasa stopped (exit 143); starting it again" in errors
    assert not any(alive(p) for p in (first["web"], first["actions"], pid))


def test_a_server_that_cannot_stay_up_stops_everything_with_a_message(run_servers):
    process, starts = run_servers(WEB_FAILS="1")
    assert process.wait(timeout=120) == 1
    errors = (starts.parent / "stderr").read_text()
    assert "kefu: web stopped three times right after starting (exit 3); stopping everything" in errors
    others = [pid for name, pid in servers_started(starts, 5) if name != "web"]
    assert others and not any(alive(pid) for pid in others)
