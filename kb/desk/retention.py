"""Deleting what is older than the retention period (setting retention_days).

Goes: conversations whose last activity is older than the cut-off (their messages, and a contact number
held for them, too), feedback, ratings, closed and abandoned handoff tickets with their notes, transfers, call attempts
and the sealed contact number, gaps a curator has settled (resolved or dismissed), the record of who was
shown a number, and the audit log of staff actions (kb.desk.audit).
Stays: conversations still waiting for or talking to an agent, open tickets, open gaps (the
curators' backlog, masked when stored), and the knowledge base's revision history.
"""

from __future__ import annotations

import datetime as dt

from kb.clock import stamp
from kb.database import Database
from kb.desk.tickets import CLOSED_STATUSES


def cutoff(days: int, now: dt.datetime | None = None) -> str:
    """The UTC ISO stamp `days` days before now (stored stamps compare as text)."""
    moment = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    return stamp(moment)


def purge(db: Database, days: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete records older than `days` days; returns how many of each went. days=0 deletes nothing."""
    if days <= 0:
        return {}
    before = cutoff(days, now)
    with db.transaction():
        old = "SELECT id FROM conversations WHERE updated_at < ? AND state NOT IN ('queued', 'agent')"
        counts = {
            "messages": db.execute(f"DELETE FROM messages WHERE conversation_id IN ({old})", [before]).rowcount,
            "conversations": db.execute(f"DELETE FROM conversations WHERE id IN ({old})", [before]).rowcount,
            "feedback": db.execute("DELETE FROM feedback WHERE created_at < ?", [before]).rowcount,
            "ticket_notes": db.execute(
                f"DELETE FROM ticket_notes WHERE handoff_id IN (SELECT id FROM handoffs WHERE status IN "
                f"{CLOSED_STATUSES} AND COALESCE(closed_at, created_at) < ?)",
                [before],
            ).rowcount,
            "callback_attempts": db.execute(
                f"DELETE FROM callback_attempts WHERE handoff_id IN (SELECT id FROM handoffs WHERE status IN "
                f"{CLOSED_STATUSES} AND COALESCE(closed_at, created_at) < ?)",
                [before],
            ).rowcount,
            "ticket_transfers": db.execute(
                "DELETE FROM ticket_transfers WHERE handoff_id IN (SELECT id FROM handoffs WHERE status = 'closed' "
                "AND COALESCE(closed_at, created_at) < ?)",
                [before],
            ).rowcount,
            "handoffs": db.execute(
                f"DELETE FROM handoffs WHERE status IN {CLOSED_STATUSES} AND COALESCE(closed_at, created_at) < ?",
                [before],
            ).rowcount,
            "gaps": db.execute("DELETE FROM gaps WHERE status != 'open' AND created_at < ?", [before]).rowcount,
            "ratings": db.execute("DELETE FROM ratings WHERE created_at < ?", [before]).rowcount,
            "contact_reveals": db.execute("DELETE FROM contact_reveals WHERE at < ?", [before]).rowcount,
            "audit_log": db.execute("DELETE FROM audit_log WHERE at < ?", [before]).rowcount,
        }
    return counts
