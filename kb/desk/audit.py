"""The audit log: staff actions that touch customers or knowledge (a contact number revealed, a ticket
claimed, closed or transferred, a callback taken or called, a knowledge entry saved or deleted, a file
imported, the lexicon or a canned reply changed, an account changed, a sign-in), with when, who, what and
on which record. Shown to admins (web/admin.py, ``kefu audit``); old rows go with retention
(kb.desk.retention). Each action is recorded in one place: the desk call that does it, or the web view
where it is done."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from kb.clock import now
from kb.database import Database
from kb.desk.privacy import mask_personal_data

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "contact_revealed",
    "ticket_claimed",
    "ticket_closed",
    "ticket_transferred",
    "callback_taken",
    "callback_attempt",
    "entry_saved",
    "entry_deleted",
    "entry_restored",
    "entry_published",
    "file_imported",
    "lexicon_changed",
    "canned_changed",
    "account_created",
    "account_disabled",
    "account_enabled",
    "account_deleted",
    "role_changed",
    "password_reset",
    "password_changed",
    "sessions_ended",
)
MAX_DETAIL = 200
PER_PAGE = 50


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff account (id and name), or the command line (CLI: no id)."""

    id: int | None
    name: str

    @classmethod
    def of(cls, user: dict[str, Any]) -> Actor:
        """The actor for a users row."""
        return cls(user["id"], user["name"])


CLI = Actor(None, "cli")


class AuditLog:
    """Record staff actions and read them back."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, actor: Actor, action: str, target_kind: str = "", target_id: object = "", detail: str = "") -> int:
        """One action, now; detail is masked (kb.desk.privacy) and cut to MAX_DETAIL characters, so no
        personal number gets in. ValueError for an action not in ACTIONS (a typo would go unseen)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        row = {
            "at": now(),
            "actor_id": actor.id,
            "actor_name": actor.name[:80],
            "action": action,
            "target_kind": target_kind,
            "target_id": str(target_id)[:80],
            "detail": mask_personal_data(detail)[:MAX_DETAIL],
        }
        with self.db.transaction():
            return self.db.insert("audit_log", row)

    def search(
        self,
        actor: str | None = None,
        action: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        page: int = 1,
        per_page: int = PER_PAGE,
    ) -> dict[str, Any]:
        """Rows newest first, filtered by actor name, action and UTC dates (inclusive), a page at a time:
        {"rows", "total", "page", "pages"}."""
        where, args = ["1 = 1"], []
        if actor:
            where.append("actor_name = ?")
            args.append(actor)
        if action:
            where.append("action = ?")
            args.append(action)
        if since:
            where.append("at >= ?")
            args.append(since.isoformat())
        if until:
            where.append("at < ?")
            args.append((until + dt.timedelta(days=1)).isoformat())
        clause = " AND ".join(where)
        total = int(self.db.execute(f"SELECT COUNT(*) FROM audit_log WHERE {clause}", args).fetchone()[0])
        page = max(page, 1)
        rows = self.db["audit_log"].rows_where(
            clause, args, order_by="id DESC", limit=per_page, offset=(page - 1) * per_page
        )
        return {"rows": list(rows), "total": total, "page": page, "pages": max(math.ceil(total / per_page), 1)}
