"""Bringing a database's schema up to date with Alembic, run from code (no alembic.ini, no command line).

A new database gets the Alembic revisions from the baseline (version 15) on. A SQLite file made by an
earlier release (``PRAGMA user_version`` 1..15, sqlite-utils' migrations in kb.migrations) is first brought
to version 15 by those old steps, then stamped with the baseline, and goes on with Alembic from there.
Callers hold Database.named_lock("migrate") around upgrade(), so instances starting together upgrade once.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from kb.migrations import MIGRATIONS

SCRIPTS = Path(__file__).parent / "alembic"
BASELINE = "0015"  # revision ids are schema versions: "0016" is the next change


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def _user_version(connection: Connection) -> int:
    if connection.dialect.name != "sqlite":
        return 0
    return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def schema_version(connection: Connection) -> int:
    """The schema's version: the Alembic revision as a number, or a SQLite file's user_version before
    Alembic (0: an empty database)."""
    revision = MigrationContext.configure(connection).get_current_revision()
    return int(revision) if revision else _user_version(connection)


def _old_sqlite_to_baseline(connection: Connection) -> None:
    """Run kb.migrations' steps a SQLite file from an earlier release has not had, then stamp it with the
    baseline; nothing for a new or an Alembic-managed database."""
    if connection.dialect.name != "sqlite" or MigrationContext.configure(connection).get_current_revision():
        return
    version = _user_version(connection)
    if version == 0:
        return
    raw = sqlite_utils.Database(connection.connection.driver_connection)
    for number, step in enumerate(MIGRATIONS, start=1):
        if version < number:
            step(raw)
            connection.exec_driver_sql(f"PRAGMA user_version = {number}")
    command.stamp(_config(connection), BASELINE)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction (SQLite and PostgreSQL both change
    their schema transactionally: an upgrade that fails leaves the database as it was)."""
    with engine.begin() as connection:
        _old_sqlite_to_baseline(connection)
        command.upgrade(_config(connection), "head")
