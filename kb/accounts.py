"""Staff accounts: agents, curators and admins, with hashed passwords."""
from __future__ import annotations

import re

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from kb.desk import now

ROLES = ("agent", "curator", "admin")
NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """An account cannot be created as asked (the message says why)."""


def migrate_v4(db: sqlite_utils.Database) -> None:
    """The users table."""
    db["users"].create({"id": int, "name": str, "password_hash": str, "role": str, "created_at": str}, pk="id")
    db["users"].create_index(["name"], unique=True)


class Accounts:
    """Create and check staff accounts."""

    def __init__(self, store):
        self.db = store.db

    def add(self, name: str, password: str, role: str) -> int:
        """Create an account; returns its id."""
        if not NAME.match(name or ""):
            raise AccountError("the name must be 2-32 letters, digits, Chinese characters, '.', '-' or '_'")
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        if len(password or "") < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        if self.by_name(name):
            raise AccountError(f"an account named {name!r} exists already")
        with self.db.conn:
            return self.db["users"].insert({"name": name, "password_hash": generate_password_hash(password),
                                            "role": role, "created_at": now()}).last_pk

    def by_name(self, name: str) -> dict | None:
        """The account with this name, or None."""
        rows = list(self.db["users"].rows_where("name = ?", [name], limit=1))
        return rows[0] if rows else None

    def get(self, user_id: int) -> dict | None:
        """The account with this id, or None."""
        rows = list(self.db["users"].rows_where("id = ?", [user_id], limit=1))
        return rows[0] if rows else None

    def verify(self, name: str, password: str) -> dict | None:
        """The account if name and password match, else None (same work either way)."""
        user = self.by_name(name or "")
        hashed = user["password_hash"] if user else generate_password_hash("timing-equaliser")
        ok = check_password_hash(hashed, password or "")
        return user if user and ok else None
