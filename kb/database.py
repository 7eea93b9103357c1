"""The one SQLite file Kefu keeps everything in, through sqlite-utils: WAL, migrated when opened.

The knowledge content (kb.store), the revision history (kb.revisions) and the service desk (kb.desk)
each take a Database and work on their own tables; writes that belong together go in one
``with db.transaction():`` block.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table

from kb.migrations import MIGRATIONS


class Database:
    """An open SQLite database; one per process or per web request (not shared across threads at once)."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None = None):
        self._db = db
        self._path = path  # None in memory
        self._memory_locks: dict[str, threading.Lock] = {}

    @classmethod
    def open(cls, path: Path | str) -> Database:
        """Open (creating and migrating as needed) the database file at path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        database = cls(sqlite_utils.Database(conn), path)
        database._db.enable_wal()
        # In WAL mode NORMAL still keeps every committed transaction through a process crash
        # (kill -9); only a power cut can lose the last ones. FULL fsyncs on every commit.
        database.execute("PRAGMA synchronous = NORMAL")
        database.migrate()
        return database

    @classmethod
    def memory(cls) -> Database:
        """An in-memory database, for tests and one-off evaluations."""
        database = cls(sqlite_utils.Database(memory=True))
        database.migrate()
        return database

    def __getitem__(self, table: str) -> Table:
        """A table, for sqlite-utils' row operations (insert, upsert, rows_where, update, delete_where)."""
        return self._db.table(table)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row into a table with an integer id; returns the new row's id."""
        row_id = self[table].insert(row).last_pk
        if row_id is None:
            raise RuntimeError(f"the insert into {table} returned no id")
        return int(row_id)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> sqlite3.Cursor:
        """Run one SQL statement."""
        return self._db.execute(sql, parameters) if parameters is not None else self._db.execute(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together, or not at all if it raises. Nests: an inner block is a
        savepoint of the outer transaction (sqlite-utils' atomic(), which its own writes use too; a plain
        ``with conn:`` does not hold those writes back, they commit on their own)."""
        with self._db.atomic():
            yield

    def table_names(self) -> list[str]:
        """The tables in the file."""
        return self._db.table_names()

    @property
    def journal_mode(self) -> str:
        """'wal' once opened from a file."""
        return self._db.journal_mode

    @property
    def schema_version(self) -> int:
        """How many migrations the file has had."""
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply the migrations this database has not had yet, each in one transaction."""
        for version, step in enumerate(MIGRATIONS, start=1):
            if self.schema_version < version:
                with self.transaction():
                    step(self._db)
                    self.execute(f"PRAGMA user_version = {version}")

    def named_lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A lock held across processes while the block runs (one holder per name and database file at a
        time): an fcntl lock on the file `<db path>.<name>.lock` beside the database; in memory, a
        threading lock kept on this Database. Not reentrant: a holder that asks again waits forever."""
        if self._path is None:
            return _thread_lock(self._memory_locks.setdefault(name, threading.Lock()))
        return _file_lock(self._path.with_name(f"{self._path.name}.{name}.lock"))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _thread_lock(lock: threading.Lock) -> Iterator[None]:
    with lock:
        yield
