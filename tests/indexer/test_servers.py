"""How the three servers are started (indexer.servers, `kefu serve`): where each listens, Rasa's API token and
where Rasa keeps its conversations."""

from __future__ import annotations

import stat

import pytest

from indexer import servers
from indexer.servers import ServerError, command, prepare, rasa_token, serve
from indexer.settings import load_settings


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml")}, overrides={"data_dir": tmp_path})


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_rasa_and_the_action_server_listen_on_loopback_where_the_web_app_reaches_them(settings):
    rasa, actions = command(settings, "rasa"), command(settings, "actions")
    assert option(rasa.argv, "--interface") == "127.0.0.1" and option(rasa.argv, "--port") == "5005"
    assert actions.env["SANIC_HOST"] == "127.0.0.1" and option(actions.argv, "--port") == "5055"
    assert (settings.rasa_url, settings.actions_url) == ("http://127.0.0.1:5005", "http://127.0.0.1:5055")
    moved = settings.replace(rasa_host="10.0.0.5", actions_host="10.0.0.6")
    assert option(command(moved, "rasa").argv, "--interface") == "10.0.0.5"
    assert command(moved, "actions").env["SANIC_HOST"] == "10.0.0.6"


def test_every_server_gets_the_settings_bot_endpoints_reads(settings):
    for name in ("actions", "rasa", "web"):
        env = command(settings, name).env
        assert env["KEFU_ACTIONS_URL"] == settings.actions_url and env["KEFU_TRACKER_STORE"] == settings.tracker_store


def test_rasas_tracker_store_pool_is_as_small_as_kefus_own(settings):
    # Rasa's default for PostgreSQL is 50 + 100 connections per instance: docs/DEPLOY.md sizes max_connections
    env = command(settings, "rasa").env
    assert (env["SQL_POOL_SIZE"], env["SQL_MAX_OVERFLOW"]) == ("5", "10")


def test_the_rasa_token_is_made_once_owner_only_and_stays_off_the_command_line(settings, tmp_path):
    token = rasa_token(tmp_path)
    assert len(token) >= 32 and rasa_token(tmp_path) == token
    assert stat.S_IMODE((tmp_path / "rasa_token").stat().st_mode) == 0o600
    argv = command(settings, "rasa").argv
    assert token not in " ".join(argv) and str(tmp_path / "rasa_token") in argv


def test_preparing_rasa_makes_its_token_and_its_tracker_file_owner_only(settings, tmp_path):
    prepare(settings, "rasa")
    for name in ("rasa_token", "rasa_tracker.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    prepare(settings, "rasa")  # a second start keeps both
    assert stat.S_IMODE((tmp_path / "rasa_tracker.db").stat().st_mode) == 0o600


def test_an_unknown_server_is_named(settings):
    with pytest.raises(ValueError, match="no server called 'redis'"):
        command(settings, "redis")


def test_a_missing_rasa_or_model_is_named_before_anything_starts(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(servers.os, "execve", lambda *_: pytest.fail("started without what it needs"))
    monkeypatch.setattr(servers, "MODEL", tmp_path / "models" / "kefu.tar.gz")
    with pytest.raises(ServerError, match=r"kefu.tar.gz is missing; run make run"):
        serve(settings, "rasa")
    monkeypatch.setattr(servers, "RASA_PYTHON", tmp_path / "no-venv" / "python")
    with pytest.raises(ServerError, match=r"no-venv/python is missing; run make setup"):
        serve(settings, "rasa")
    assert not (tmp_path / "rasa_token").exists()  # nothing made for a server that cannot start


def test_an_emptied_token_file_is_refused_not_taken_as_no_token(tmp_path):
    """Rasa checks the token only when one is set: an empty one would leave its API open."""
    from kb.secret_files import SecretFileError

    (tmp_path / "rasa_token").write_text("\n")
    with pytest.raises(SecretFileError, match="rasa_token is empty: delete it"):
        rasa_token(tmp_path)


def test_rasa_does_not_start_on_an_emptied_token_file(settings):
    from indexer.servers import rasa_token_file

    rasa_token_file(settings.data_dir).parent.mkdir(parents=True, exist_ok=True)
    rasa_token_file(settings.data_dir).write_text("")
    with pytest.raises(ServerError, match=r"cannot start rasa: .*rasa_token is empty"):
        prepare(settings, "rasa")


def test_rasa_reads_a_token_that_begins_with_a_dash_as_the_token():
    """secrets.token_urlsafe begins with "-" once in 64 tokens: `--auth-token -abc` made Rasa's argparse exit
    with 2 ("expected one argument") and a fresh data folder's Rasa never started (a CI run failed on it)."""
    import subprocess

    from indexer.servers import RASA_PYTHON, RASA_RUN

    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's venv is missing: run 'make setup'")
    token = "-zvpS6bDhAhbB4rLG-kLBuEsZUwMcyyDYApevFJvj_Vk"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from rasa_run import rasa_argv;"
        "from rasa.__main__ import create_argument_parser;"
        "args = create_argument_parser().parse_args(rasa_argv(sys.argv[2], ['run', '--enable-api'])[1:]);"
        "print(args.auth_token)"
    )
    run = subprocess.run(
        [str(RASA_PYTHON), "-c", script, str(RASA_RUN.parent), token], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == token
