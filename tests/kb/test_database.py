"""The database on both engines: migrations once when instances start together, old SQLite files brought up,
named locks across processes, bytes kept exactly, transactions all or nothing, Rasa's tracker purged."""

from __future__ import annotations

import datetime as dt
import fcntl
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlite_utils

from indexer.local_services import free_port
from kb.database import Database, DatabaseError, DatabaseUnavailable, database_url, to_format_style
from kb.desk.accounts import Accounts
from kb.desk.retention import purge_bot_tracker
from kb.locks import lock_key
from kb.migrations import MIGRATIONS
from kb.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_urls_and_paths_name_the_same_databases(tmp_path):
    assert database_url(tmp_path / "kefu.db") == f"sqlite:///{tmp_path / 'kefu.db'}"
    assert database_url("postgresql://kefu:pw@db/kefu") == "postgresql+psycopg://kefu:pw@db/kefu"
    assert database_url("postgres://db/kefu") == "postgresql+psycopg://db/kefu"
    assert database_url("postgresql+psycopg2://db/rasa") == "postgresql+psycopg://db/rasa"  # Rasa's tracker URL
    with pytest.raises(DatabaseError, match="database_url"):
        Database.open("mysql://db/kefu")


def test_question_marks_become_psycopg_placeholders_but_not_inside_literals():
    sql, args = to_format_style("SELECT '?%' || x FROM t WHERE a = ? AND b LIKE ? AND c = '50%'", [1, "%a%"])
    assert sql == "SELECT '?%%' || x FROM t WHERE a = %s AND b LIKE %s AND c = '50%%'" and args == (1, "%a%")
    assert to_format_style("SELECT ?2, ?1, ?1", ["a", "b"]) == ("SELECT %s, %s, %s", ("b", "a", "a"))
    assert to_format_style("SELECT '50%'", []) == ("SELECT '50%%'", ())


def test_a_literal_percent_and_question_mark_read_the_same_on_both(database):
    assert database.execute("SELECT '50%', '?', ?", ["x"]).fetchone() == ("50%", "?", "x")
    assert database.execute("SELECT '50%'").fetchone() == ("50%",)


def test_bytes_come_back_exactly(database):
    every_byte = bytes(range(256)) * 3 + b"\x00"
    database["embeddings"].insert_all([{"model": "m", "key": "k", "vector": every_byte}], pk=("model", "key"))
    assert database.execute("SELECT vector FROM embeddings WHERE key = ?", ["k"]).fetchone()[0] == every_byte


def test_a_transaction_that_raises_leaves_nothing_and_a_savepoint_undoes_only_its_part(database):
    with pytest.raises(RuntimeError), database.transaction():
        database.insert("gaps", {"question": "lost"})
        raise RuntimeError("killed half way")
    with database.transaction():
        database.insert("gaps", {"question": "kept"})
        with pytest.raises(RuntimeError), database.transaction():
            database.insert("gaps", {"question": "undone"})
            raise RuntimeError("inner block fails")
        database.insert("gaps", {"question": "also kept"})
    assert [r["question"] for r in database["gaps"].rows_where(order_by="id")] == ["kept", "also kept"]


def test_ids_given_explicitly_do_not_collide_with_the_next_one_numbered(database):
    database["handoffs"].insert_all([{"id": 41, "status": "closed"}, {"id": 42, "status": "closed"}], pk="id")
    assert database.insert("handoffs", {"status": "queued"}) == 43


def test_text_compares_with_text_and_sorts_bytewise(database):
    for name in ("b", "B", "a", "张"):
        database.insert("canned_replies", {"title": name, "text": "t", "category": "c"})
    assert [r["title"] for r in database["canned_replies"].rows_where(order_by="title")] == ["B", "a", "b", "张"]


def test_a_nul_character_is_stored_as_the_replacement_character_on_both(database):
    # PostgreSQL's text cannot hold NUL: both engines store U+FFFD instead, through rows and through execute
    database.insert("gaps", {"question": "a\x00b", "hits": ["\x00"]})
    database.execute("INSERT INTO gaps (question) VALUES (?)", ["c\x00d"])
    rows = list(database["gaps"].rows_where("question LIKE ?", ["%\x00%"], order_by="id"))
    assert [r["question"] for r in rows] == ["a\ufffdb", "c\ufffdd"]
    database["gaps"].update(rows[0]["id"], {"note": "\x00"})
    assert database["gaps"].get(rows[0]["id"])["note"] == "\ufffd"


def test_rows_from_an_offset_without_a_limit(database):
    for n in range(4):
        database.insert("gaps", {"question": f"q{n}"})
    assert [r["question"] for r in database["gaps"].rows_where(order_by="id", offset=2)] == ["q2", "q3"]
    assert [r["question"] for r in database["gaps"].rows_where(order_by="id", limit=1, offset=1)] == ["q1"]


@pytest.mark.parametrize(
    ("sql", "parameters", "named"),
    [
        ("SELECT ?, ?", [1], "2 placeholders but 1 parameter"),
        ("SELECT ?", [1, 2], "1 placeholder but 2 parameters"),
        ("SELECT ?0", [1], "?0"),
        ("SELECT ?3", [1, 2], "?3"),
    ],
)
def test_placeholders_and_parameters_that_do_not_match_are_refused_by_name(database, sql, parameters, named):
    with pytest.raises(DatabaseError, match=re.escape(named)):
        to_format_style(sql, parameters)
    with pytest.raises(DatabaseError, match=re.escape(named)):
        database.execute(sql, parameters)


def test_a_postgresql_server_nobody_answers_on_is_unavailable_not_a_driver_error():
    target = f"postgresql://postgres@127.0.0.1:{free_port()}/kefu"
    with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
        Database.open(target)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_postgresql_session_has_the_server_probe_it_with_keepalives(database):
    # so that PostgreSQL drops a dead machine's sessions, and the advisory locks they hold, within a minute
    assert database.execute("SHOW tcp_keepalives_idle").fetchone()[0] in ("30", "30s")
    assert database.execute("SHOW tcp_keepalives_count").fetchone()[0] == "3"


# Several instances starting at once -----------------------------------------------------------------------

OPENER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    import kb.upgrade
    from kb.database import Database

    def logged(engine, real=kb.upgrade.upgrade):  # who upgraded when, from which version
        with open({log!r}, "a") as log:
            log.write(f"enter {{os.getpid()}}\\n")
        with engine.connect() as connection:
            found = kb.upgrade.schema_version(connection)
        real(engine)
        with open({log!r}, "a") as log:
            log.write(f"exit {{os.getpid()}} {{found}}\\n")

    kb.upgrade.upgrade = logged
    print("ready", flush=True)
    sys.stdin.readline()  # all start together
    db = Database.open({target!r})
    print("version", db.schema_version, flush=True)
    """
)


def fresh_target(backend: str, tmp_path: Path, request) -> str:
    """A database nobody has created the tables of yet."""
    if backend == "sqlite":
        return str(tmp_path / "fresh" / "kefu.db")
    server, admin = request.getfixturevalue("postgres")
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS "fresh" WITH (FORCE)')
        connection.exec_driver_sql('CREATE DATABASE "fresh"')
    return server.url.rsplit("/", 1)[0] + "/fresh"


def test_instances_starting_together_migrate_once(backend, tmp_path, request):
    target, log = fresh_target(backend, tmp_path, request), tmp_path / "upgrades.log"
    script = OPENER.format(root=str(ROOT), target=target, log=str(log))
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:  # every one told before any is waited for
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()
    outputs = [process.stdout.read() for process in processes if process.stdout is not None]
    assert [process.wait(timeout=120) for process in processes] == [0] * 4, outputs
    assert all(out.strip() == "version 15" for out in outputs), outputs
    lines = [line.split() for line in log.read_text().splitlines()]
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):  # one at a time: each leaves before the next
        assert enter[0] == "enter" and leave[:2] == ["exit", enter[1]], lines
    assert sorted(line[2] for line in lines[1::2]) == ["0", "15", "15", "15"]  # the first created, the rest found
    db = Database.open(target)
    assert db.execute("SELECT COUNT(*) FROM alembic_version").fetchone()[0] == 1
    assert Accounts(db).add("admin1", "a-long-password-1", "admin") == 1


# SQLite files from earlier releases -----------------------------------------------------------------------


def old_file(path: Path, version: int) -> None:
    """A SQLite file as a release before Alembic left it, at PRAGMA user_version `version`, with rows."""
    raw = sqlite_utils.Database(path)
    for number, step in enumerate(MIGRATIONS[:version], start=1):
        step(raw)
        raw.execute(f"PRAGMA user_version = {number}")
    raw["users"].insert({"id": 7, "name": "old-admin", "password_hash": "x", "role": "admin", "created_at": "2026"})
    raw["articles"].insert({"id": "a1", "title": "旧文章", "body": "正文", "hash": "h"})
    raw.conn.commit()
    raw.close()


@pytest.mark.parametrize("version", [4, 15])
def test_an_old_sqlite_file_is_brought_up_and_keeps_its_rows(tmp_path, version):
    path = tmp_path / "kefu.db"
    old_file(path, version)
    db = Database.open(path)
    assert db.schema_version == 15
    assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0015",)
    assert Accounts(db).by_name("old-admin")["disabled"] == 0  # v15's column, defaulted on the old row
    assert [a.title for a in Store(db).articles()] == ["旧文章"]
    assert Accounts(db).add("new-agent", "a-long-password-1", "agent") == 8


def test_a_file_that_is_not_a_database_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "kefu.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(sa.exc.DatabaseError):
        Database.open(path)
    assert path.read_bytes() == b"not a database at all" * 100


# Named locks ----------------------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from kb.database import Database
    with Database.open({target!r}).named_lock("index-edit"):
        print("held", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)


def taken_elsewhere(db: Database) -> bool:
    """Whether another process holds db's 'index-edit' lock, asked without waiting."""
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            key = lock_key("index-edit")
            if connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                return False
            return True
    with open(f"{db.url.removeprefix('sqlite:///')}.index-edit.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_a_named_lock_excludes_other_processes_until_released(database):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(root=str(ROOT), target=database.url)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert taken_elsewhere(database)
    out, _ = holder.communicate("release\n", timeout=60)
    assert out.strip() == "released" and holder.returncode == 0
    assert not taken_elsewhere(database)
    with database.named_lock("index-edit"):  # free again: this process gets it, and holds it against others
        assert taken_elsewhere(database)


def test_an_in_memory_database_locks_within_its_process():
    db = Database.memory()
    with db.named_lock("index-edit"), db.named_lock("index-edit"):  # re-entrant in one thread
        pass


# Rasa's tracker store -------------------------------------------------------------------------------------


def test_the_bots_record_is_purged_from_a_tracker_on_either_engine(backend, tmp_path, request):
    if backend == "sqlite":
        tracker: str | Path = tmp_path / "rasa_tracker.db"
    else:
        server, admin = request.getfixturevalue("postgres")
        with admin.connect() as connection:
            connection.exec_driver_sql('DROP DATABASE IF EXISTS "rasa" WITH (FORCE)')
            connection.exec_driver_sql('CREATE DATABASE "rasa"')
        tracker = server.url.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgresql") + "/rasa"
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert purge_bot_tracker(tracker, 90, keep=set(), now=now) == 0  # Rasa has not made its table yet
    engine = sa.create_engine(database_url(tracker), poolclass=sa.pool.NullPool)
    events = sa.Table(
        "events",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255)),
        sa.Column("timestamp", sa.Float),
    )
    old, recent = (now - dt.timedelta(days=100)).timestamp(), (now - dt.timedelta(days=5)).timestamp()
    with engine.begin() as connection:
        events.create(connection)
        connection.execute(
            events.insert(),
            [{"sender_id": s, "timestamp": t} for s, t in (("old", old), ("held", old), ("recent", recent))],
        )
    assert purge_bot_tracker(tracker, 90, keep={"held"}, now=now) == 1
    with engine.connect() as connection:
        assert {r[0] for r in connection.execute(sa.text("SELECT sender_id FROM events"))} == {"held", "recent"}
    engine.dispose()
