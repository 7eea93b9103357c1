"""Locks held across processes, for Database.named_lock: PostgreSQL advisory locks and lock files."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def lock_key(name: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, the same in every process for the same name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock for `name` on a connection of its own (outside any
    transaction, so it holds none open); waits for another holder. The lock goes with the connection if
    the process dies."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        key = lock_key(name)
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            try:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            except sa.exc.DBAPIError:
                connection.invalidate()  # a connection that may still hold the lock never goes back to the pool
                raise


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created beside the database); waits for another holder, in this
    process or another. The lock goes with the process if it dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def thread_lock(lock: threading.RLock) -> Iterator[None]:
    """Hold a lock of this process (an in-memory database lives in one process only)."""
    with lock:
        yield
