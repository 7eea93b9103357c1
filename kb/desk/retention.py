"""Deleting what is older than the retention period (setting retention_days).

Goes: conversations whose last activity is older than the cut-off (their messages, and a contact number
held for them, too), feedback, ratings, closed and abandoned handoff tickets with their notes, transfers, call attempts
and the sealed contact number, gaps a curator has settled (resolved or dismissed), the record of who was
shown a number, and the audit log of staff actions (kb.desk.audit); and the bot's own record of a
conversation in Rasa's tracker store, its SQLite file in the data folder or its database (purge_bot_tracker).
Stays: conversations still waiting for or talking to an agent, open tickets, open gaps (the
curators' backlog, masked when stored), and the knowledge base's revision history.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from kb.clock import stamp
from kb.database import Database, database_url
from kb.desk.conversations import HELD
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


def purge_with_bot(
    db: Database, days: int, tracker: Path | str | None, now: dt.datetime | None = None
) -> dict[str, int]:
    """purge, and the bot's record of the same old conversations in Rasa's tracker store (a SQLite file or an
    SQLAlchemy URL; None: not ours to purge), counted as 'bot_conversations'."""
    counts = purge(db, days, now)
    if counts and tracker is not None:
        counts["bot_conversations"] = purge_bot_tracker(tracker, days, held_conversations(db), now)
    return counts


def held_conversations(db: Database) -> set[str]:
    """Ids of the conversations a person has or will have (queued or with an agent): kept however old."""
    marks = ", ".join("?" for _ in HELD)
    return {row[0] for row in db.execute(f"SELECT id FROM conversations WHERE state IN ({marks})", list(HELD))}


def purge_bot_tracker(tracker: Path | str, days: int, keep: set[str], now: dt.datetime | None = None) -> int:
    """Delete the bot's own record of conversations quiet for more than `days` days from Rasa's SQL tracker store
    (the SQLite file `tracker`, or an SQLAlchemy URL such as postgresql://…; Rasa's table `events`: sender_id,
    timestamp in Unix seconds), except those in `keep`. Returns how many conversations went; 0 when days is 0
    or there is no such file or table yet (Rasa makes them on its first message). Rasa may be writing
    meanwhile: a SQLite file's lock is waited on, 30 s at most."""
    is_url = "://" in str(tracker)
    if days <= 0 or (not is_url and not Path(tracker).is_file()):
        return 0
    before = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)).timestamp()
    url = database_url(tracker)
    options = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, **options)
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0
            quiet = [
                sender
                for (sender,) in connection.execute(
                    sa.text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :before"),
                    {"before": before},
                )
                if sender not in keep
            ]
            if quiet:
                connection.execute(
                    sa.text("DELETE FROM events WHERE sender_id = :sender"), [{"sender": s} for s in quiet]
                )
    finally:
        engine.dispose()
    return len(quiet)
