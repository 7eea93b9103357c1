"""Staff accounts: agents, curators and admins, with hashed passwords."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from kb.clock import now, stamp
from kb.database import Database
from kb.desk import DeskError

ROLES = ("agent", "curator", "supervisor", "admin")
NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
MIN_PASSWORD = 8


class AccountError(DeskError):
    """An account cannot be created as asked (the message says why)."""


SESSION_IDLE = dt.timedelta(hours=8)  # a console left alone this long asks for the password again


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Create and check staff accounts."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, name: str, password: str, role: str) -> int:
        """Create an account; returns its id."""
        if not NAME.fullmatch(name or ""):
            raise AccountError("the name must be 2-32 letters, digits, Chinese characters, '.', '-' or '_'")
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        if len(password or "") < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        if self.by_name(name):
            raise AccountError(f"an account named {name!r} exists already")
        return self.db.insert(
            "users",
            {"name": name, "password_hash": generate_password_hash(password), "role": role, "created_at": now()},
        )

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

    def start_session(self, user_id: int) -> str:
        """A new signed-in session for the user; returns its token (the cookie carries it)."""
        token = secrets.token_urlsafe(32)
        stamp = now()
        with self.db.transaction():
            self.db["staff_sessions"].insert(
                {"token_hash": _token_hash(token), "user_id": user_id, "created_at": stamp, "last_seen": stamp}
            )
        return token

    def session_user(self, token: str | None, at: dt.datetime | None = None) -> dict | None:
        """The account signed in with this token, unless signed out or idle too long."""
        if not isinstance(token, str) or not token:
            return None
        rows = list(self.db["staff_sessions"].rows_where("token_hash = ?", [_token_hash(token)], limit=1))
        if not rows:
            return None
        moment = at or dt.datetime.now(dt.UTC)
        if moment - dt.datetime.fromisoformat(rows[0]["last_seen"]) > SESSION_IDLE:
            self.end_session(token)
            return None
        if moment - dt.datetime.fromisoformat(rows[0]["last_seen"]) > dt.timedelta(minutes=1):
            with self.db.transaction():
                self.db["staff_sessions"].update(rows[0]["token_hash"], {"last_seen": stamp(moment)})
        return self.get(rows[0]["user_id"])

    def end_session(self, token: str | None) -> None:
        """Sign out: the token stops working, even if someone kept a copy of the cookie."""
        if isinstance(token, str) and token:
            with self.db.transaction():
                self.db["staff_sessions"].delete_where("token_hash = ?", [_token_hash(token)])
