"""Service-desk records beside the knowledge base: gaps for curators, handoff tickets, feedback.

Everything a customer typed is masked (kb.privacy) before it is stored.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlite_utils

from kb.privacy import mask_personal_data

GAP_REASONS = ("abstain", "nlu_fallback", "out_of_scope", "negative_feedback", "handoff_failure", "agent_answer")
HANDOFF_REASONS = ("asked", "could_not_answer", "complaint", "negative_feedback")


class DeskError(ValueError):
    """A desk operation got a value it cannot store (the message says which)."""


def migrate_v2(db: sqlite_utils.Database) -> None:
    """Tables for gaps, handoff tickets and answer feedback."""
    db["gaps"].create({"id": int, "conversation_id": str, "question": str, "reason": str, "hits": str,
                       "created_at": str, "status": str, "note": str}, pk="id", defaults={"status": "open"})
    db["gaps"].create_index(["status", "created_at"])
    db["handoffs"].create({"id": int, "conversation_id": str, "reason": str, "question": str, "passages": str,
                           "status": str, "contact": str, "created_at": str, "claimed_at": str,
                           "closed_at": str, "agent": str}, pk="id")
    db["handoffs"].create_index(["status", "created_at"])
    db["feedback"].create({"id": int, "conversation_id": str, "helpful": int, "question": str,
                           "answer_ref": str, "created_at": str}, pk="id")


def migrate_v6(db: sqlite_utils.Database) -> None:
    """Agents' notes on handoff tickets (never shown to the customer)."""
    db["ticket_notes"].create({"id": int, "handoff_id": int, "author": str, "text": str, "created_at": str},
                              pk="id")
    db["ticket_notes"].create_index(["handoff_id", "id"])


def now() -> str:
    """The current UTC time, ISO formatted to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _hits_json(hits: list[dict] | None) -> str:
    keep = ("kind", "id", "article_id", "title", "section", "clause", "score", "dense", "snippet")
    return json.dumps([{k: h.get(k) for k in keep} for h in (hits or [])][:5], ensure_ascii=False)


@dataclass(frozen=True)
class Ticket:
    """A handoff ticket as the customer is told about it."""

    id: int
    status: str
    position: int | None


class Desk:
    """Gaps, tickets and feedback in the shared SQLite store."""

    def __init__(self, store):
        self.store, self.db = store, store.db

    def log_gap(self, conversation_id: str, question: str, reason: str, hits: list[dict] | None = None) -> int:
        """Record a question the bot could not serve, with what it found; returns the gap id."""
        if reason not in GAP_REASONS:
            raise DeskError(f"gap reason must be one of {', '.join(GAP_REASONS)}, not {reason!r}")
        with self.db.conn:
            return self.db["gaps"].insert({
                "conversation_id": conversation_id, "question": mask_personal_data(question)[:2000],
                "reason": reason, "hits": _hits_json(hits), "created_at": now(), "status": "open", "note": ""},
            ).last_pk

    def gaps(self, status: str | None = "open", limit: int = 100) -> list[dict]:
        """Gaps, newest first."""
        where, args = ("status = ?", [status]) if status else (None, None)
        rows = self.db["gaps"].rows_where(where, args, order_by="id desc", limit=limit)
        return [{**r, "hits": json.loads(r["hits"] or "[]")} for r in rows]

    def set_gap_status(self, gap_ids: list[int], status: str, note: str = "") -> int:
        """Mark gaps resolved or dismissed (with a note); returns how many changed."""
        if status not in ("open", "resolved", "dismissed"):
            raise DeskError(f"gap status must be open, resolved or dismissed, not {status!r}")
        with self.db.conn:
            changed = 0
            for gap_id in gap_ids:
                changed += self.db.execute("UPDATE gaps SET status = ?, note = ? WHERE id = ?",
                                           [status, note[:500], int(gap_id)]).rowcount
        return changed

    def open_handoff(self, conversation_id: str, reason: str, question: str, passages: list[dict] | None = None,
                     in_hours: bool = True, contact: str = "") -> Ticket:
        """Queue a conversation for a human (or, out of hours, for a callback)."""
        if reason not in HANDOFF_REASONS:
            raise DeskError(f"handoff reason must be one of {', '.join(HANDOFF_REASONS)}, not {reason!r}")
        existing = self.active_ticket(conversation_id)
        if existing:
            return existing
        status = "queued" if in_hours else "callback"
        with self.db.conn:
            ticket_id = self.db["handoffs"].insert({
                "conversation_id": conversation_id, "reason": reason, "question": mask_personal_data(question)[:2000],
                "passages": _hits_json(passages), "status": status, "contact": mask_personal_data(contact)[:500],
                "created_at": now(), "claimed_at": None, "closed_at": None, "agent": None}).last_pk
        return Ticket(ticket_id, status, self.queue_position(ticket_id) if in_hours else None)

    def active_ticket(self, conversation_id: str) -> Ticket | None:
        """The conversation's ticket that is still open, if any."""
        row = self.db.execute("SELECT id, status FROM handoffs WHERE conversation_id = ? AND status IN "
                              "('queued', 'claimed', 'callback') ORDER BY id DESC LIMIT 1", [conversation_id]).fetchone()
        return Ticket(row[0], row[1], self.queue_position(row[0])) if row else None

    def queue_position(self, ticket_id: int) -> int | None:
        """1 for the next ticket an agent will take; None once claimed or closed."""
        row = self.db.execute("SELECT status FROM handoffs WHERE id = ?", [ticket_id]).fetchone()
        if not row or row[0] != "queued":
            return None
        return self.db.execute("SELECT COUNT(*) FROM handoffs WHERE status = 'queued' AND id <= ?",
                               [ticket_id]).fetchone()[0]

    def set_contact(self, ticket_id: int, contact: str) -> None:
        """Keep the customer's message for a callback ticket (masked)."""
        with self.db.conn:
            self.db["handoffs"].update(ticket_id, {"contact": mask_personal_data(contact)[:500]})

    def claim_handoff(self, ticket_id: int, agent: str) -> bool:
        """An agent takes a queued ticket; False if it was not waiting (claimed or closed already)."""
        with self.db.conn:
            cursor = self.db.execute("UPDATE handoffs SET status = 'claimed', claimed_at = ?, agent = ? "
                                     "WHERE id = ? AND status IN ('queued', 'callback')", [now(), agent, ticket_id])
        return cursor.rowcount == 1

    def ticket(self, ticket_id: int) -> dict | None:
        """One ticket, or None."""
        rows = list(self.db["handoffs"].rows_where("id = ?", [ticket_id]))
        return {**rows[0], "passages": json.loads(rows[0]["passages"] or "[]")} if rows else None

    def close_handoff(self, ticket_id: int, agent: str | None = None) -> None:
        """Close a ticket (the bot resumes the conversation)."""
        with self.db.conn:
            self.db["handoffs"].update(ticket_id, {"status": "closed", "closed_at": now(), "agent": agent})

    def handoffs(self, status: str | None = None, limit: int = 100) -> list[dict]:
        """Tickets, newest first."""
        where, args = ("status = ?", [status]) if status else (None, None)
        rows = self.db["handoffs"].rows_where(where, args, order_by="id desc", limit=limit)
        return [{**r, "passages": json.loads(r["passages"] or "[]")} for r in rows]

    def record_feedback(self, conversation_id: str, helpful: bool, question: str, answer_ref: str) -> int:
        """Record 👍/👎 on an answer."""
        with self.db.conn:
            return self.db["feedback"].insert({
                "conversation_id": conversation_id, "helpful": int(bool(helpful)),
                "question": mask_personal_data(question)[:2000], "answer_ref": answer_ref[:200],
                "created_at": now()}).last_pk

    def add_note(self, ticket_id: int, author: str, text: str) -> dict:
        """An agent's note on a ticket; returns it."""
        text = (text or "").strip()
        if not text:
            raise DeskError("a note needs some text")
        row = {"handoff_id": ticket_id, "author": author[:80], "text": mask_personal_data(text)[:2000],
               "created_at": now()}
        with self.db.conn:
            row["id"] = self.db["ticket_notes"].insert(row).last_pk
        return row

    def notes(self, ticket_id: int) -> list[dict]:
        """A ticket's notes, oldest first."""
        return list(self.db["ticket_notes"].rows_where("handoff_id = ?", [ticket_id], order_by="id"))
