"""Handoff tickets: a conversation waiting for an agent (queued), taken by one (claimed), waiting for a
call back outside service hours (callback), done (closed), or left by the customer before an agent took it
(abandoned: closed, with no agent); agents' notes on them; a callback's attempts.

Everything a customer or agent typed is masked (kb.desk.privacy) before it is stored. The one exception is
the contact number a customer gives for the ticket: sealed (kb.desk.contacts), shown whole only through
reveal_contact, which logs who saw it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.clock import now
from kb.database import Database
from kb.desk import DeskError
from kb.desk.privacy import mask_personal_data
from kb.desk.rules import HANDOFF_REASONS
from kb.model import HitRecord

STATUSES = ("queued", "claimed", "callback", "closed", "abandoned")
OPEN_STATUSES = ("queued", "claimed", "callback")
CLOSED_STATUSES = ("closed", "abandoned")
KEPT_HITS = 5
MAX_PROBLEM = 2000
# How a call back went: 'reached' and 'wrong_number' settle the callback, 'no_answer' keeps it for another try.
OUTCOMES = ("reached", "no_answer", "wrong_number")
SETTLING = ("reached", "wrong_number")


def hits_json(hits: Sequence[HitRecord] | None) -> str:
    """How the passages the bot found are stored with a record: the first few, as JSON."""
    return json.dumps([h.as_dict() for h in (hits or [])][:KEPT_HITS], ensure_ascii=False)


@dataclass(frozen=True)
class Ticket:
    """A handoff ticket. question: the customer's problem in their words (masked), '' until they give it;
    contact: the contact number partly masked ('138****5678'), '' if none was given (the number itself is
    never on a Ticket: Tickets.reveal_contact); preferred_time: when the customer asked to be called, as they
    put it; due_at: when a callback is due; outcome: how a callback ended (OUTCOMES). Times are stored stamps
    (kb.clock); passages are HitRecord dicts; position is the place in the queue (1 = next) while queued."""

    id: int
    conversation_id: str
    reason: str
    question: str
    status: str
    contact: str = ""
    preferred_time: str = ""
    due_at: str | None = None
    outcome: str = ""
    created_at: str = ""
    claimed_at: str | None = None
    closed_at: str | None = None
    agent: str | None = None
    passages: list[dict[str, Any]] = field(default_factory=list)
    position: int | None = None

    @property
    def problem(self) -> str:
        """The customer's problem (the ticket's question)."""
        return self.question

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form, with `problem` beside `question`."""
        return {**asdict(self), "problem": self.question}


class Tickets:
    """Handoff tickets and their notes in the database."""

    def __init__(self, db: Database):
        self.db = db

    def open(
        self,
        conversation_id: str,
        reason: str,
        question: str,
        passages: Sequence[HitRecord] | None = None,
        in_hours: bool = True,
        contact: tuple[str, str] = ("", ""),
        due_at: str | None = None,
    ) -> Ticket:
        """Queue a conversation for a human (or, out of hours, for a callback due at due_at); the
        conversation's open ticket if it has one already. contact: (sealed number, hint) if the customer gave
        one. Raises DeskError for an unknown reason."""
        if reason not in HANDOFF_REASONS:
            raise DeskError(f"handoff reason must be one of {', '.join(HANDOFF_REASONS)}, not {reason!r}")
        existing = self.active(conversation_id)
        if existing:
            return existing
        with self.db.transaction():
            ticket_id = self.db.insert(
                "handoffs",
                {
                    "conversation_id": conversation_id,
                    "reason": reason,
                    "question": mask_personal_data(question)[:2000],
                    "passages": hits_json(passages),
                    "status": "queued" if in_hours else "callback",
                    "contact": contact[1],
                    "contact_secret": contact[0],
                    "due_at": None if in_hours else (due_at or now()),
                    "created_at": now(),
                    "claimed_at": None,
                    "closed_at": None,
                    "agent": None,
                },
            )
        return self._require(ticket_id)

    def active(self, conversation_id: str) -> Ticket | None:
        """The conversation's ticket that is still open, if any."""
        row = self.db.execute(
            f"SELECT id FROM handoffs WHERE conversation_id = ? AND status IN {OPEN_STATUSES} ORDER BY id DESC LIMIT 1",
            [conversation_id],
        ).fetchone()
        return self.get(row[0]) if row else None

    def queue_position(self, ticket_id: int) -> int | None:
        """1 for the next ticket an agent will take; None once claimed or closed."""
        row = self.db.execute("SELECT status FROM handoffs WHERE id = ?", [ticket_id]).fetchone()
        if not row or row[0] != "queued":
            return None
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM handoffs WHERE status = 'queued' AND id <= ?", [ticket_id]
            ).fetchone()[0]
        )

    def set_contact(self, ticket_id: int, sealed: str, hint: str) -> None:
        """Keep the contact number the customer gave (sealed by kb.desk.contacts.ContactVault, and its hint);
        a later number replaces it."""
        with self.db.transaction():
            self.db["handoffs"].update(ticket_id, {"contact_secret": sealed, "contact": hint})

    def add_to_problem(self, ticket_id: int, text: str) -> None:
        """Add the customer's words to the ticket's problem (masked; appended on a new line, never replacing;
        at most MAX_PROBLEM characters kept)."""
        text = mask_personal_data((text or "").strip())
        if not text:
            return
        with self.db.transaction():
            row = self.db.execute(  # locked to the end: another instance's addition waits, then reads ours
                "SELECT question FROM handoffs WHERE id = ?" + self.db.for_update, [ticket_id]
            ).fetchone()
            if row is None:
                raise DeskError(f"no ticket #{ticket_id}")
            before = (row[0] or "").strip()
            joined = f"{before}\n{text}" if before and text not in before.split("\n") else before or text
            self.db["handoffs"].update(ticket_id, {"question": joined[:MAX_PROBLEM]})

    def set_preferred_time(self, ticket_id: int, when: str) -> None:
        """When the customer would like to be called, in their words ('明天上午十点以后')."""
        with self.db.transaction():
            self.db["handoffs"].update(ticket_id, {"preferred_time": mask_personal_data(when)[:100]})

    def sealed_contact(self, ticket_id: int) -> str:
        """The ticket's sealed contact number ('' if none): only for Tickets.reveal_contact's callers' keys."""
        row = self.db.execute("SELECT contact_secret FROM handoffs WHERE id = ?", [ticket_id]).fetchone()
        return (row[0] or "") if row else ""

    def log_reveal(self, ticket_id: int, user: str, role: str) -> None:
        """Record that a person was shown the ticket's contact number."""
        with self.db.transaction():
            self.db.insert("contact_reveals", {"handoff_id": ticket_id, "user": user, "role": role, "at": now()})

    def reveals(self, ticket_id: int) -> list[dict]:
        """Who was shown the ticket's contact number, and when, oldest first."""
        return list(self.db["contact_reveals"].rows_where("handoff_id = ?", [ticket_id], order_by="id"))

    def take_callback(self, ticket_id: int, agent: str) -> bool:
        """An agent takes a callback to call (it stays a callback until an attempt settles it); False if it is
        not a callback any more or another agent has it."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE handoffs SET agent = ? WHERE id = ? AND status = 'callback' AND (agent IS NULL OR agent = ?)",
                [agent, ticket_id, agent],
            )
        return cursor.rowcount == 1

    def record_attempt(self, ticket_id: int, agent: str, outcome: str, note: str, next_try_at: str | None) -> dict:
        """A call made for a callback: 'reached' or 'wrong_number' closes it with that outcome; 'no_answer'
        keeps it open, due again at next_try_at, for any agent. Returns the attempt. DeskError for an unknown
        outcome or a no_answer without a next try."""
        if outcome not in OUTCOMES:
            raise DeskError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if outcome == "no_answer" and not next_try_at:
            raise DeskError("a call nobody answered needs the time of the next try")
        at = now()
        row: dict[str, Any] = {
            "handoff_id": ticket_id,
            "agent": agent[:80],
            "outcome": outcome,
            "note": mask_personal_data((note or "").strip())[:500],
            "next_try_at": next_try_at if outcome == "no_answer" else None,
            "at": at,
        }
        with self.db.transaction():
            row["id"] = self.db.insert("callback_attempts", row)
            if outcome in SETTLING:
                self.db["handoffs"].update(
                    ticket_id, {"status": "closed", "closed_at": at, "agent": agent, "outcome": outcome}
                )
            else:
                self.db["handoffs"].update(ticket_id, {"due_at": next_try_at, "agent": None})
        return row

    def attempts(self, ticket_id: int) -> list[dict]:
        """A callback's call attempts, oldest first."""
        return list(self.db["callback_attempts"].rows_where("handoff_id = ?", [ticket_id], order_by="id"))

    def callbacks_due(self, limit: int = 200) -> list[Ticket]:
        """Open callbacks, the one due first first (then the oldest)."""
        rows = self.db["handoffs"].rows_where(
            "status = 'callback'", order_by="COALESCE(due_at, created_at), id", limit=limit
        )
        return [_ticket(r, None) for r in rows]

    def claim(self, ticket_id: int, agent: str) -> bool:
        """An agent takes a queued chat; False if it was not queued (claimed, closed, or a callback: those are
        taken to call, take_callback)."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE handoffs SET status = 'claimed', claimed_at = ?, agent = ? WHERE id = ? AND status = 'queued'",
                [now(), agent, ticket_id],
            )
        return cursor.rowcount == 1

    def abandon(self, ticket_id: int) -> bool:
        """The customer left the queue: a queued ticket becomes 'abandoned' (closed now, no agent); False if
        it was not queued (an agent took it meanwhile, or it is closed)."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE handoffs SET status = 'abandoned', closed_at = ? WHERE id = ? AND status = 'queued'",
                [now(), ticket_id],
            )
        return cursor.rowcount == 1

    def transfer(self, ticket_id: int, from_agent: str, to_agent: str) -> bool:
        """Hand a claimed ticket from the agent holding it to another, recording who to whom and when;
        False if from_agent does not hold it. claimed_at stays: the ticket's handle time is the whole human
        part of the chat (kb.desk.supervision splits it between the agents at the transfers)."""
        at = now()
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE handoffs SET agent = ? WHERE id = ? AND status = 'claimed' AND agent = ?",
                [to_agent, ticket_id, from_agent],
            )
            if cursor.rowcount != 1:
                return False
            self.db.insert(
                "ticket_transfers", {"handoff_id": ticket_id, "from_agent": from_agent, "to_agent": to_agent, "at": at}
            )
        return True

    def transfers(self, ticket_id: int) -> list[dict]:
        """A ticket's transfers, oldest first: from_agent, to_agent, at (a stored stamp)."""
        return list(self.db["ticket_transfers"].rows_where("handoff_id = ?", [ticket_id], order_by="id"))

    def get(self, ticket_id: int) -> Ticket | None:
        """One ticket, or None."""
        rows = list(self.db["handoffs"].rows_where("id = ?", [ticket_id]))
        return _ticket(rows[0], self.queue_position(ticket_id)) if rows else None

    def close(self, ticket_id: int, agent: str | None = None, outcome: str = "", seen: Ticket | None = None) -> bool:
        """Close a ticket (the bot resumes the conversation); outcome: how it ended, if not a chat. With `seen`
        (the ticket as the caller checked it), only if its status and agent are still those: False when someone
        else changed it meanwhile (a second close, a transfer, a claim), and nothing is written."""
        with self.db.transaction():
            changes = {"status": "closed", "closed_at": now(), "agent": agent, "outcome": outcome}
            if seen is None:
                self.db["handoffs"].update(ticket_id, changes)
                return True
            same_agent = "agent IS NULL" if seen.agent is None else "agent = ?"
            done = self.db.execute(
                "UPDATE handoffs SET status = ?, closed_at = ?, agent = ?, outcome = ? "
                f"WHERE id = ? AND status = ? AND {same_agent}",
                [*changes.values(), ticket_id, seen.status, *([] if seen.agent is None else [seen.agent])],
            )
            return done.rowcount == 1

    def recent(self, status: str | None = None, limit: int = 100) -> list[Ticket]:
        """Tickets, newest first; only those in a status if given."""
        where, args = ("status = ?", [status]) if status else (None, None)
        rows = list(self.db["handoffs"].rows_where(where, args, order_by="id desc", limit=limit))
        queued = [r[0] for r in self.db.execute("SELECT id FROM handoffs WHERE status = 'queued' ORDER BY id")]
        positions = {ticket_id: place for place, ticket_id in enumerate(queued, start=1)}
        return [_ticket(r, positions.get(r["id"])) for r in rows]

    def count(self, status: str) -> int:
        """How many tickets are in a status."""
        return int(self.db.execute("SELECT COUNT(*) FROM handoffs WHERE status = ?", [status]).fetchone()[0])

    def add_note(self, ticket_id: int, author: str, text: str) -> dict:
        """An agent's note on a ticket (masked; never shown to the customer); returns it."""
        text = (text or "").strip()
        if not text:
            raise DeskError("a note needs some text")
        row: dict[str, Any] = {
            "handoff_id": ticket_id,
            "author": author[:80],
            "text": mask_personal_data(text)[:2000],
            "created_at": now(),
        }
        with self.db.transaction():
            row["id"] = self.db.insert("ticket_notes", row)
        return row

    def notes(self, ticket_id: int) -> list[dict]:
        """A ticket's notes, oldest first."""
        return list(self.db["ticket_notes"].rows_where("handoff_id = ?", [ticket_id], order_by="id"))

    def _require(self, ticket_id: int) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise DeskError(f"no ticket #{ticket_id}")
        return ticket


def handling_spans(
    agent: str, claimed_at: str, closed_at: str | None, transfers: Sequence[dict]
) -> list[tuple[str, str, str | None]]:
    """Who handled a claimed ticket when: (agent, from stamp, until stamp or None while still held), one span
    per agent that held it, split at its transfers (Tickets.transfers rows, oldest first). agent: the ticket's
    agent now (the last one)."""
    spans = []
    start = claimed_at
    for moved in transfers:
        spans.append((moved["from_agent"], start, moved["at"]))
        start = moved["at"]
    return [*spans, (agent, start, closed_at)]


def _ticket(row: dict[str, Any], position: int | None) -> Ticket:
    return Ticket(
        id=row["id"],
        conversation_id=row["conversation_id"],
        reason=row["reason"],
        question=row["question"] or "",
        status=row["status"],
        contact=row["contact"] or "",
        preferred_time=row.get("preferred_time") or "",
        due_at=row.get("due_at"),
        outcome=row.get("outcome") or "",
        created_at=row["created_at"],
        claimed_at=row["claimed_at"],
        closed_at=row["closed_at"],
        agent=row["agent"],
        passages=json.loads(row["passages"] or "[]"),
        position=position,
    )
