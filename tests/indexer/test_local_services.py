"""The local PostgreSQL of the tests and `kefu topology`: password authentication, the caller's folders left
closed, and a database made once and kept across restarts."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest

from indexer.local_services import cluster_home, create_database, discard_postgres, start_postgres


def connect(url: str, **overrides: object) -> psycopg.Connection:
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(plain, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def folder():
    # a private folder in a private parent, as a data folder is: nothing here may be opened to others
    parent = Path(tempfile.mkdtemp(prefix="kefu-test-local-"))
    parent.chmod(0o700)
    yield parent / "postgres"
    discard_postgres(parent / "postgres")
    shutil.rmtree(parent, ignore_errors=True)


def test_the_server_wants_its_password(folder, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(folder.parent / "no-pgpass"))
    server = start_postgres(folder)
    try:
        with connect(server.url) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        port = server.port
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="kefu", connect_timeout=10)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="kefu", password="guess", connect_timeout=10
            )
    finally:
        server.stop()
    password = folder / "postgres_password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600


def test_a_second_start_keeps_the_data_of_a_database_made_once(folder):
    server = start_postgres(folder)
    try:
        with connect(create_database(server, "rasa")) as connection:
            connection.execute("CREATE TABLE events (said text)")
            connection.execute("INSERT INTO events VALUES ('你好')")
    finally:
        server.stop()
    again = start_postgres(folder)
    try:
        with connect(create_database(again, "rasa")) as connection:  # a topology's restart: kept, not dropped
            assert connection.execute("SELECT said FROM events").fetchall() == [("你好",)]
    finally:
        again.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the cluster lives in the folder itself")
def test_as_root_the_callers_folders_stay_closed_and_the_cluster_lives_apart(folder):
    server = start_postgres(folder)
    server.stop()
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700  # no o+x added to reach the folder
    home = cluster_home(folder)
    assert not home.is_relative_to(folder.parent) and home.owner() == "postgres"
    assert (home / "pgdata" / "PG_VERSION").exists()
    discard_postgres(folder)
    assert not home.exists()
