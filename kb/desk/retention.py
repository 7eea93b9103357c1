"""Deleting what is older than the retention period (setting retention_days).

Goes: conversations whose last activity is older than the cut-off (their messages too), feedback, ratings,
closed handoff tickets and their notes, and gaps a curator has settled (resolved or dismissed).
Stays: conversations still waiting for or talking to an agent, open tickets, open gaps (the
curators' backlog, masked when stored), and the knowledge base's revision history.
"""

from __future__ import annotations

import datetime as dt

from kb.clock import stamp
from kb.database import Database


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
                "DELETE FROM ticket_notes WHERE handoff_id IN (SELECT id FROM handoffs WHERE status = 'closed' "
                "AND COALESCE(closed_at, created_at) < ?)",
                [before],
            ).rowcount,
            "handoffs": db.execute(
                "DELETE FROM handoffs WHERE status = 'closed' AND COALESCE(closed_at, created_at) < ?", [before]
            ).rowcount,
            "gaps": db.execute("DELETE FROM gaps WHERE status != 'open' AND created_at < ?", [before]).rowcount,
            "ratings": db.execute("DELETE FROM ratings WHERE created_at < ?", [before]).rowcount,
        }
    return counts
