"""Row operations on one table (``db["handoffs"]``), the few of sqlite-utils' the code uses, over SQLAlchemy
Core Table objects (kb.schema) so they read the same on SQLite and PostgreSQL.

Values are stored as sqlite-utils stored them: a dict or list as JSON text, a date or time as ISO text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kb.schema import metadata

if TYPE_CHECKING:
    from kb.database import Database


class DatabaseError(RuntimeError):
    """The database cannot be opened or used as asked (a bad URL, an unknown table)."""


class DatabaseUnavailable(DatabaseError):
    """The database server cannot be reached (down, unreachable, refusing connections): try again later."""


class DuplicateKey(DatabaseError):
    """An insert met a row with the same primary key or unique value (one rating per ticket)."""


class RowNotFound(KeyError):
    """No row has that primary key."""


NUL_STAND_IN = "\ufffd"


def stored_text(text: str) -> str:
    """Text as both engines store it: a NUL character, which PostgreSQL's text cannot hold, as U+FFFD (the
    replacement character: visibly something was there, and "a\\x00" never aliases a stored "a")."""
    return text.replace("\x00", NUL_STAND_IN) if "\x00" in text else text


def _stored(value: Any) -> Any:
    if isinstance(value, str):
        return stored_text(value)
    if isinstance(value, dict | list | tuple):  # JSON writes NUL as \u0000: text either engine holds
        return json.dumps(value, ensure_ascii=False, default=repr)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


class Table:
    """One table of a Database: insert, insert_all, upsert, rows, rows_where, get, update, delete_where."""

    def __init__(self, db: Database, name: str):
        if name not in metadata.tables:
            raise DatabaseError(f"no table {name!r} in the schema")
        self.db = db
        self.table = metadata.tables[name]
        self.name = name
        self.last_pk: Any = None

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {key: _stored(value) for key, value in row.items()}

    def _insert(self) -> Any:
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        return dialect.insert(self.table)

    def _keys(self, pk: str | Sequence[str] | None) -> list[str]:
        if pk is None:
            return [column.name for column in self.table.primary_key.columns]
        return [pk] if isinstance(pk, str) else list(pk)

    def insert(self, row: dict[str, Any], pk: Any = None, ignore: bool = False, replace: bool = False) -> Table:
        """Insert one row; ``last_pk`` is then its primary key (the new id for a table that numbers rows).
        ignore=True: nothing if a row has that key; replace=True: overwrite it."""
        if ignore or replace:
            self.insert_all([row], pk=pk, ignore=ignore, replace=replace)
            self.last_pk = row.get(self._keys(pk)[0])
            return self
        with self.db.connection() as connection:
            try:
                result = connection.execute(self.table.insert().values(self._row(row)))
            except sa.exc.IntegrityError as error:
                raise DuplicateKey(f"{self.name} has a row with that key already") from error
            key = result.inserted_primary_key
            self.last_pk = key[0] if key is not None and len(key) == 1 else tuple(key or ())
            self._follow_explicit_ids(connection, [row])
        return self

    def insert_all(
        self,
        rows: Iterable[dict[str, Any]],
        pk: str | Sequence[str] | None = None,
        replace: bool = False,
        ignore: bool = False,
    ) -> Table:
        """Insert rows; replace=True overwrites rows with the same primary key, ignore=True skips them."""
        batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            batches.setdefault(tuple(row), []).append(self._row(row))
        keys = self._keys(pk)
        with self.db.connection() as connection:
            for columns, batch in batches.items():
                statement = self._insert()
                if replace:
                    changed = {c: statement.excluded[c] for c in columns if c not in keys}
                    statement = (
                        statement.on_conflict_do_update(index_elements=keys, set_=changed)
                        if changed
                        else statement.on_conflict_do_nothing(index_elements=keys)
                    )
                elif ignore:
                    statement = statement.on_conflict_do_nothing(index_elements=keys)
                connection.execute(statement, batch)
                self._follow_explicit_ids(connection, batch)
        return self

    def upsert(self, row: dict[str, Any], pk: str | Sequence[str] | None = None) -> Table:
        """Insert the row, or update the given columns of the row with its primary key."""
        return self.insert_all([row], pk=pk, replace=True)

    def _follow_explicit_ids(self, connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """On PostgreSQL, move a SERIAL id's sequence past ids given explicitly (demand's synthetic rows,
        tests), so the next row the database numbers does not collide with them."""
        if self.db.dialect != "postgresql" or "id" not in self.table.c or not any("id" in row for row in rows):
            return
        if self.table.c.id.autoincrement is not True:
            return
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{self.name}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {self.name}), 1))"
            )
        )

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row, as a dict."""
        return self.rows_where()

    def rows_where(
        self,
        where: str | None = None,
        where_args: Sequence[Any] | None = None,
        order_by: str | None = None,
        select: str = "*",
        limit: int | None = None,
        offset: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows matching an SQL condition with ``?`` placeholders, as dicts."""
        sql = f"SELECT {select} FROM {self._quoted()}"
        args = list(where_args or [])
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        if offset is not None:
            if limit is None and self.db.dialect == "sqlite":
                sql += " LIMIT -1"  # SQLite wants a LIMIT before an OFFSET; PostgreSQL refuses a negative one
            sql += " OFFSET ?"
            args.append(int(offset))
        result = self.db.execute(sql, args)
        return (dict(zip(result.keys, row, strict=True)) for row in result.fetchall())

    def get(self, key: Any) -> dict[str, Any]:
        """The row with this primary key; RowNotFound if there is none."""
        [column] = self.table.primary_key.columns
        for row in self.rows_where(f"{self._quoted(column.name)} = ?", [key]):
            return row
        raise RowNotFound(f"{self.name} has no row {key!r}")

    def update(self, key: Any, values: dict[str, Any]) -> Table:
        """Change some columns of the row with this primary key (nothing if there is none)."""
        [column] = self.table.primary_key.columns
        with self.db.connection() as connection:
            connection.execute(self.table.update().where(column == key).values(self._row(values)))
        return self

    def delete_where(self, where: str, where_args: Sequence[Any] | None = None) -> Table:
        """Delete the rows matching an SQL condition with ``?`` placeholders."""
        self.db.execute(f"DELETE FROM {self._quoted()} WHERE {where}", list(where_args or []))
        return self

    def _quoted(self, name: str | None = None) -> str:
        return str(self.db.engine.dialect.identifier_preparer.quote(name or self.name))
