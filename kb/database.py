"""The database Kefu keeps everything in: one SQLite file (the default) or PostgreSQL, through SQLAlchemy Core.

The knowledge content (kb.store), the revision history (kb.revisions), import jobs and the service desk
(kb.desk) each take a Database and work on their own tables with ``execute`` (SQL with ``?`` placeholders,
written to read the same on both engines) and ``db[table]`` (kb.tables: the row operations they use);
writes that belong together go in one ``with db.transaction():`` block.

One engine per URL per process, made on the first open and kept: opening a Database per web request costs
nothing but the object, and the schema is brought up to date once per process (kb.upgrade).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from kb import locks, upgrade
from kb.tables import DatabaseError, DatabaseUnavailable, DuplicateKey, RowNotFound, Table, stored_text

__all__ = [
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "DuplicateKey",
    "RowNotFound",
    "Rows",
    "database_url",
    "dispose",
]

_engines: dict[str, Engine] = {}
_up_to_date: set[str] = set()
_guard = threading.Lock()


def database_url(target: Path | str) -> str:
    """The SQLAlchemy URL of a database given as a file path or a URL; ``postgresql://`` (``postgres://``, and
    Rasa's ``postgresql+psycopg2://``) mean PostgreSQL through psycopg 3."""
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    for plain in ("postgresql://", "postgres://", "postgresql+psycopg2://"):  # psycopg2: Rasa's driver
        if text.startswith(plain):
            return "postgresql+psycopg://" + text[len(plain) :]
    return text


def _sqlite_engine(url: str, memory: bool = False) -> Engine:
    """An SQLite engine whose connections use WAL, synchronous=NORMAL and a 30 s busy timeout, and whose
    transactions SQLAlchemy begins itself (pysqlite's own BEGIN handling breaks SAVEPOINTs)."""
    options: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if memory:
        options["poolclass"] = StaticPool  # one connection: the database lives in it
    engine = sa.create_engine(url, **options)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL still keeps every committed transaction through a process crash
        # (kill -9); only a power cut can lose the last ones. FULL fsyncs on every commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A transaction() block takes the write lock at once: a deferred one that reads, then writes,
        # fails with "database is locked" without waiting if another writer committed in between.
        immediate = connection.get_execution_options().get("kefu_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# A dead server or machine is noticed in seconds, not after the kernel's two hours: connecting gives up after
# 5 s, and TCP keepalives probe an idle connection after 30 s, every 10 s, 3 times, on both ends (libpq's
# keepalives for this side; the server's tcp_keepalives_* for this session, so that a session whose machine
# died lets go of its advisory locks, kb.locks, within about a minute).
POSTGRESQL_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3",
}


def _postgresql_engine(url: str) -> Engine:
    """A PostgreSQL engine through psycopg 3: connections checked before use, and a pool for the web app's
    threads (web_threads, 16 by default, each may hold one connection and briefly a second for a named lock)."""
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=POSTGRESQL_CONNECT_ARGS
    )


def _unreachable(error: sa.exc.DBAPIError) -> bool:
    """Whether a driver error means the server could not be reached (no connection made, a connection lost,
    the server starting or shutting down) rather than a statement of ours failing."""
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", "")  # psycopg: None when no server answered; SQLite has none
    return isinstance(error, sa.exc.OperationalError) and (state is None or str(state).startswith(("08", "57P")))


@contextlib.contextmanager
def reaching() -> Iterator[None]:
    """Run a block that talks to the database, a server that cannot be reached raising DatabaseUnavailable
    (other errors pass as they are)."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        if not _unreachable(error):
            raise
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise DatabaseUnavailable(f"the database cannot be reached ({reason}); try again when it is back") from error


def _engine(url: str) -> Engine:
    """The process's engine for a URL, made on first use."""
    with _guard:
        if url not in _engines:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                _engines[url] = _sqlite_engine(url)
            elif url.startswith("postgresql"):
                _engines[url] = _postgresql_engine(url)
            else:
                raise DatabaseError(f"database_url must be a SQLite file or PostgreSQL URL, not {url!r}")
        return _engines[url]


def dispose(target: Path | str) -> None:
    """Close the pooled connections of a database's engine and forget it (tests dropping a database)."""
    url = database_url(target)
    with _guard:
        engine = _engines.pop(url, None)
        _up_to_date.discard(url)
    if engine is not None:
        engine.dispose()


@contextlib.contextmanager
def _reaching_lock(engine: Engine, name: str) -> Iterator[None]:
    with reaching(), locks.advisory_lock(engine, name):
        yield


class Rows:
    """A statement's result, read in full: fetchone/fetchall/iteration over rows (tuples by position),
    ``keys`` (column names) and ``rowcount`` (rows an UPDATE or DELETE changed)."""

    def __init__(self, result: sa.CursorResult):
        self.keys: list[str] = list(result.keys()) if result.returns_rows else []
        self._rows: list[Any] = list(result.fetchall()) if result.returns_rows else []
        self.rowcount: int = result.rowcount
        self._next = 0

    def fetchone(self) -> Any:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        """The rows not fetched yet."""
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


_LITERAL = re.compile(r"('(?:[^']|'')*')")
_MARK = re.compile(r"\?(\d*)")


def _counted(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def to_format_style(sql: str, parameters: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """SQL with ``?`` (or numbered ``?1``, from 1) placeholders as psycopg's ``%s`` with its parameters in
    order; marks inside quoted literals stay, and a literal ``%`` is doubled (SQLAlchemy always hands psycopg
    parameters, if only an empty set, so psycopg always reads ``%%`` as ``%``). DatabaseError when the ``?``
    marks and the parameters differ in number, or a numbered mark names no parameter."""
    ordered: list[Any] = []
    plain = 0

    def placeholder(match: re.Match) -> str:
        nonlocal plain
        if match.group(1):
            number = int(match.group(1))
            if not 1 <= number <= len(parameters):
                raise DatabaseError(f"?{match.group(1)} names no parameter: {_counted(len(parameters), 'parameter')}")
            ordered.append(parameters[number - 1])
        else:
            plain += 1
            ordered.append(parameters[plain - 1] if plain <= len(parameters) else None)
        return "%s"

    pieces = _LITERAL.split(sql)
    for i, piece in enumerate(pieces):
        piece = piece.replace("%", "%%")
        pieces[i] = piece if i % 2 else _MARK.sub(placeholder, piece)
    if plain != len(parameters) and (plain or len(ordered) == 0):
        raise DatabaseError(
            f"the SQL has {_counted(plain, 'placeholder')} but {_counted(len(parameters), 'parameter')} were given"
        )
    return "".join(pieces), tuple(ordered)


class Database:
    """An open database; one per process or per web request, or shared by threads (each thread's
    transaction() is its own)."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url
        self._local = threading.local()  # each thread's transaction: a Database may be shared by threads
        self._memory_lock = threading.RLock()

    @classmethod
    def open(cls, target: Path | str) -> Database:
        """Open a database (a SQLite file path, or an SQLAlchemy URL such as postgresql://user:pw@host/kefu),
        creating the SQLite file and bringing the schema up to date the first time this process opens it."""
        url = database_url(target)
        database = cls(_engine(url), url)
        if url not in _up_to_date:
            database.migrate()
            with _guard:
                _up_to_date.add(url)
        return database

    @classmethod
    def memory(cls) -> Database:
        """A fresh in-memory SQLite database, for tests and one-off evaluations."""
        database = cls(_sqlite_engine("sqlite://", memory=True), "sqlite://")
        database.migrate()
        return database

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def __getitem__(self, table: str) -> Table:
        """A table, for the row operations (insert, insert_all, upsert, rows, rows_where, get, update,
        delete_where); DatabaseError for a table the schema does not have."""
        return Table(self, table)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row into a table with an integer id; returns the new row's id."""
        row_id = self[table].insert(row).last_pk
        if row_id is None:
            raise DatabaseError(f"the insert into {table} returned no id")
        return int(row_id)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Rows:
        """Run one SQL statement with ``?`` placeholders; its rows, read in full. Outside a transaction()
        it commits on its own. Text parameters are stored as rows are (kb.tables.stored_text: NUL as U+FFFD).
        DatabaseError when marks and parameters do not match (to_format_style), DatabaseUnavailable when the
        server cannot be reached."""
        parameters = [stored_text(p) if isinstance(p, str) else p for p in parameters or []]
        statement, values = to_format_style(sql, parameters)  # checks the marks on SQLite too
        if self.dialect != "postgresql":
            statement, values = sql, tuple(parameters)
        with self.connection() as connection:
            if values:
                return Rows(connection.exec_driver_sql(statement, values))
            return Rows(connection.exec_driver_sql(statement))

    @property
    def _connection(self) -> Connection | None:
        return getattr(self._local, "connection", None)

    @_connection.setter
    def _connection(self, connection: Connection | None) -> None:
        self._local.connection = connection

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """The transaction's connection inside transaction(), else a pooled one that commits when done."""
        if self._connection is not None:
            yield self._connection
        else:
            with reaching(), self.engine.begin() as connection:
                yield connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together, or not at all if it raises. Nests: an inner block is a
        savepoint of the outer transaction."""
        if self._connection is not None:
            with self._connection.begin_nested():
                yield
            return
        with reaching(), self.engine.connect() as connection:
            connection.execution_options(kefu_immediate=True)
            with connection.begin():
                self._connection = connection
                try:
                    yield
                finally:
                    self._connection = None

    def named_lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A lock held across processes while the block runs (PostgreSQL: an advisory lock on its own
        connection; a SQLite file: a lock file ``<db>.<name>.lock`` beside it; in memory: a thread lock).
        DatabaseUnavailable if PostgreSQL cannot be reached."""
        if self.dialect == "postgresql":
            return _reaching_lock(self.engine, name)
        if self.url == "sqlite://":
            return locks.thread_lock(self._memory_lock)
        return locks.file_lock(Path(f"{self.url.removeprefix('sqlite:///')}.{name}.lock"))

    def table_names(self) -> list[str]:
        """The tables in the database."""
        with reaching():
            return sa.inspect(self.engine).get_table_names()

    @property
    def for_update(self) -> str:
        """What ends a SELECT that reads a row to change it in the same transaction: " FOR UPDATE" on
        PostgreSQL (the row stays locked until commit, so two instances' read-then-write cannot interleave);
        "" on SQLite, whose transaction() holds the write lock from its start already."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode ('wal' once opened from a file); 'postgresql' on PostgreSQL."""
        if self.dialect != "sqlite":
            return self.dialect
        return str(self.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def schema_version(self) -> int:
        """The schema's version: 15 for the baseline, one more for each Alembic revision since (0: none)."""
        with self.connection() as connection:
            return upgrade.schema_version(connection)

    def migrate(self) -> None:
        """Bring the schema up to date, under a lock so instances starting together do it once."""
        with self.named_lock("migrate"), reaching():
            upgrade.upgrade(self.engine)

    def close(self) -> None:
        """Nothing to close: connections go back to the engine's pool after each statement or transaction
        (an in-memory database's engine is let go)."""
        if self.url == "sqlite://":
            self.engine.dispose()
