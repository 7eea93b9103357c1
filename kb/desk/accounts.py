"""Staff accounts: agents, curators, supervisors and admins, with hashed passwords and server-side sessions;
disabled, enabled, deleted, re-roled, their passwords reset and their sessions ended (each change in the
audit log, kb.desk.audit). A deleted account is marked, never removed: tickets, notes and the audit log name
their people, and a name is never handed to someone else."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from kb.clock import now, stamp
from kb.database import Database
from kb.desk import DeskError
from kb.desk.audit import CLI, Actor, AuditLog

ROLES = ("agent", "curator", "supervisor", "admin")
NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
MIN_PASSWORD = 8


class AccountError(DeskError):
    """An account cannot be created as asked (the message says why)."""


class WrongPassword(AccountError):
    """The password given as the account's current one is not (counted like a failed sign-in)."""


SESSION_IDLE = dt.timedelta(hours=8)  # a console left alone this long asks for the password again


def _active(user: dict) -> bool:
    return not user.get("disabled") and not user.get("deleted_at")


def _check_password(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Create and check staff accounts."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, name: str, password: str, role: str, actor: Actor = CLI) -> int:
        """Create an account; returns its id."""
        if not NAME.fullmatch(name or ""):
            raise AccountError("the name must be 2-32 letters, digits, Chinese characters, '.', '-' or '_'")
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        _check_password(password)
        if self.by_name(name):
            raise AccountError(f"an account named {name!r} exists already")
        with self.db.transaction():
            user_id = self.db.insert(
                "users",
                {"name": name, "password_hash": generate_password_hash(password), "role": role, "created_at": now()},
            )
            AuditLog(self.db).record(actor, "account_created", "account", user_id, f"{name} ({role})")
        return user_id

    def listed(self) -> list[dict]:
        """The accounts not deleted, by name: id, name, role, disabled, created_at, sessions (signed in now)."""
        rows = self.db.execute(
            "SELECT u.id, u.name, u.role, u.disabled, u.created_at, COUNT(s.token_hash) FROM users u "
            "LEFT JOIN staff_sessions s ON s.user_id = u.id WHERE u.deleted_at IS NULL GROUP BY u.id ORDER BY u.name"
        ).fetchall()
        keys = ("id", "name", "role", "disabled", "created_at", "sessions")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def disable(self, name: str, actor: Actor) -> None:
        """The account cannot sign in, and its sessions end at once; AccountError for the last active admin."""
        self._change(self._live(name), {"disabled": 1}, actor, "account_disabled", still_admin=False)

    def enable(self, name: str, actor: Actor) -> None:
        """A disabled account may sign in again (its old sessions stay ended)."""
        self._change(self._live(name), {"disabled": 0}, actor, "account_enabled", end_sessions=False)

    def delete(self, name: str, actor: Actor) -> None:
        """The account is marked deleted (kept for the records that name it): it cannot sign in, is not
        listed, and its sessions end; AccountError for the last active admin."""
        values = {"deleted_at": now(), "disabled": 1}
        self._change(self._live(name), values, actor, "account_deleted", still_admin=False)

    def set_role(self, name: str, role: str, actor: Actor) -> None:
        """Give the account another role (its sessions carry on, with the new role from the next request);
        AccountError for an unknown role or the last active admin demoted."""
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        user = self._live(name)
        detail = f"{user['role']} -> {role}"
        still_admin = role == "admin"
        self._change(
            user, {"role": role}, actor, "role_changed", end_sessions=False, detail=detail, still_admin=still_admin
        )

    def reset_password(self, name: str, password: str | None, actor: Actor) -> str:
        """Set a new password (None: a random temporary one) and end the account's sessions; returns the
        password, which is shown once and never stored or logged."""
        user = self._live(name)
        password = secrets.token_urlsafe(12) if password is None else password
        _check_password(password)
        self._change(user, {"password_hash": generate_password_hash(password)}, actor, "password_reset")
        return password

    def change_password(self, name: str, current: str, new: str) -> dict:
        """A staff member changes their own password: WrongPassword if `current` is not theirs, AccountError if
        `new` is too short or the same. Every session of the account ends (a stolen one too); returns the users row, to
        start the new session with."""
        user = self.verify(name, current)
        if user is None:
            raise WrongPassword("the current password is wrong")
        _check_password(new)
        if new == current:
            raise AccountError("choose a password other than the current one")
        self._change(user, {"password_hash": generate_password_hash(new)}, Actor.of(user), "password_changed")
        return user

    def end_sessions(self, name: str, actor: Actor) -> int:
        """Sign the account out everywhere; returns how many sessions ended."""
        user = self._live(name)
        with self.db.transaction():
            ended = self.db.execute("DELETE FROM staff_sessions WHERE user_id = ?", [user["id"]]).rowcount
            AuditLog(self.db).record(actor, "sessions_ended", "account", user["id"], f"{name}: {ended}")
        return int(ended)

    def _live(self, name: str) -> dict:
        user = self.by_name(name)
        if user is None:
            raise AccountError(f"no account named {name!r}")
        if user.get("deleted_at"):
            raise AccountError(f"the account {name!r} is deleted")
        return user

    def _keep_an_admin(self, user: dict) -> None:
        """Inside the change's transaction: AccountError if the account is the last active admin. The active
        admins' rows stay locked until it commits, so two admins disabling each other on two instances at
        once cannot both pass (the second reads the first's change)."""
        admins = [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM users WHERE role = 'admin' AND disabled = 0 AND deleted_at IS NULL ORDER BY id"
                + self.db.for_update
            )
        ]
        if admins == [user["id"]]:
            raise AccountError("this is the last active admin: make another admin first")

    def _change(
        self,
        user: dict,
        values: dict,
        actor: Actor,
        action: str,
        end_sessions: bool = True,
        detail: str = "",
        still_admin: bool = True,
    ) -> None:
        with self.db.transaction():
            if not still_admin:
                self._keep_an_admin(user)
            self.db["users"].update(user["id"], values)
            if end_sessions:
                self.db.execute("DELETE FROM staff_sessions WHERE user_id = ?", [user["id"]])
            AuditLog(self.db).record(actor, action, "account", user["id"], f"{user['name']} {detail}".strip())

    def by_name(self, name: str) -> dict | None:
        """The account with this name, or None."""
        rows = list(self.db["users"].rows_where("name = ?", [name], limit=1))
        return rows[0] if rows else None

    def get(self, user_id: int) -> dict | None:
        """The account with this id, or None."""
        rows = list(self.db["users"].rows_where("id = ?", [user_id], limit=1))
        return rows[0] if rows else None

    def verify(self, name: str, password: str) -> dict | None:
        """The account if name and password match and it is active, else None (same work and same answer
        either way, so a caller cannot tell a disabled or unknown name from a wrong password)."""
        user = self.by_name(name or "")
        hashed = user["password_hash"] if user else generate_password_hash("timing-equaliser")
        ok = check_password_hash(hashed, password or "")
        return user if user and ok and _active(user) else None

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
        user = self.get(rows[0]["user_id"])
        return user if user and _active(user) else None

    def end_session(self, token: str | None) -> None:
        """Sign out: the token stops working, even if someone kept a copy of the cookie."""
        if isinstance(token, str) and token:
            with self.db.transaction():
                self.db["staff_sessions"].delete_where("token_hash = ?", [_token_hash(token)])
