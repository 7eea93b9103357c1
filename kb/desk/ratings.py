"""Customers' ratings of a chat an agent closed: a score 1-5 and an optional comment, one per ticket.

The rule of when a chat may be rated is the Desk's (kb.desk.service.Desk.rate_chat); this module keeps the
rows and says which chat of a conversation still waits for its rating."""

from __future__ import annotations

from typing import Any

from kb.clock import now
from kb.database import Database, DuplicateKey
from kb.desk import DeskError
from kb.desk.privacy import mask_personal_data
from kb.desk.tickets import Ticket

SCORES = range(1, 6)
MAX_COMMENT = 500


class RatingError(DeskError):
    """A rating with a score outside 1-5 or a comment that is not text."""


class Ratings:
    """The ratings table."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, ticket: Ticket, score: int, comment: str = "") -> dict[str, Any] | None:
        """Store the customer's rating of a ticket's chat (comment masked, at most MAX_COMMENT characters);
        the stored row, or None if the ticket was rated already. RatingError for a bad score or comment."""
        if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
            raise RatingError("a rating is a whole number from 1 to 5")
        if not isinstance(comment, str):
            raise RatingError("a rating's comment must be text")
        row = {
            "handoff_id": ticket.id,
            "conversation_id": ticket.conversation_id,
            "agent": ticket.agent or "",
            "score": score,
            "comment": mask_personal_data(comment.strip())[:MAX_COMMENT],
            "created_at": now(),
        }
        try:
            with self.db.transaction():
                self.db["ratings"].insert(row)
        except DuplicateKey:  # the primary key: one rating per ticket, even when two arrive at once
            return None
        return row

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        """A ticket's rating, or None."""
        rows = list(self.db["ratings"].rows_where("handoff_id = ?", [ticket_id]))
        return rows[0] if rows else None

    def due(self, conversation_id: str) -> dict[str, Any] | None:
        """The chat the customer is asked to rate, {"ticket": id, "agent": name}: the conversation's latest
        ticket, if an agent held and closed it and it has no rating yet; else None."""
        row = self.db.execute(
            "SELECT h.id, h.agent FROM handoffs h WHERE h.conversation_id = ? AND h.id = "
            "(SELECT MAX(id) FROM handoffs WHERE conversation_id = ?) AND h.status = 'closed' "
            "AND h.claimed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.handoff_id = h.id)",
            [conversation_id, conversation_id],
        ).fetchone()
        return {"ticket": row[0], "agent": row[1] or ""} if row else None
