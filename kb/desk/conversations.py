"""Conversations and their messages as the web app sees them: who said what, and who holds the chat.

States: 'bot' (the bot answers), 'queued' (waiting for an agent), 'agent' (an agent holds it),
'closed' (an agent closed it; the next customer message goes to the bot again).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kb.clock import now, parse
from kb.database import Database
from kb.desk import DeskError
from kb.desk.privacy import mask_personal_data

STATES = ("bot", "queued", "agent", "closed")
SENDERS = ("customer", "bot", "agent", "system")
MASKED = ("customer", "agent")  # people type personal numbers; the bot's and the system's wording is ours
AS_SENT = "as_sent"
HELD = ("queued", "agent")  # a person has the conversation, or will: it is kept however quiet it is


def kept(last_activity: str, state: str, keep_minutes: int, at: dt.datetime) -> bool:
    """Whether a returning visitor sees this conversation again (True) or starts a fresh one: its last
    activity (a stored stamp) is less than `keep_minutes` before `at`, or it is queued or with an agent."""
    return state in HELD or at - parse(last_activity) < dt.timedelta(minutes=keep_minutes)


class ConversationError(DeskError):
    """A conversation operation got a value it cannot store."""


class Conversations:
    """Conversation state and transcript in the database."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, conversation_id: str) -> dict | None:
        """The conversation, or None."""
        row = self.db.execute("SELECT id, state FROM conversations WHERE id = ?", [conversation_id]).fetchone()
        return {"id": row[0], "state": row[1]} if row else None

    def get_or_create(self, conversation_id: str) -> dict:
        """The conversation, created in state 'bot' if new."""
        found = self.get(conversation_id)
        if found:
            return found
        stamp = now()
        self.db["conversations"].insert(
            {"id": conversation_id, "state": "bot", "created_at": stamp, "updated_at": stamp}, ignore=True
        )
        return {"id": conversation_id, "state": "bot"}

    def last_activity(self, conversation_id: str) -> str | None:
        """When anything last happened in the conversation (a message, or a change of state), as a stored
        stamp; None for no such conversation."""
        row = self.db.execute(
            "SELECT MAX(c.updated_at, COALESCE(MAX(m.created_at), '')) FROM conversations c "
            "LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.id = ? GROUP BY c.id",
            [conversation_id],
        ).fetchone()
        return row[0] if row else None

    def set_state(self, conversation_id: str, state: str) -> None:
        """Move a conversation to another state."""
        if state not in STATES:
            raise ConversationError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        with self.db.transaction():
            self.db["conversations"].update(conversation_id, {"state": state, "updated_at": now()})

    def add(self, conversation_id: str, sender: str, text: str, extra: dict | None = None) -> dict:
        """Append a message; returns it as staff see it. A customer's or an agent's text is masked before it
        is stored; what an agent sent, when masking changed it, is kept apart ('as_sent') for the customer
        until the chat ends (forget_as_sent), since it may hold a number the agent gave them."""
        if sender not in SENDERS:
            raise ConversationError(f"sender must be one of {', '.join(SENDERS)}, not {sender!r}")
        stored = mask_personal_data(text) if sender in MASKED else text
        extra = dict(extra or {})
        if sender == "agent" and stored != text:
            extra[AS_SENT] = text
        row: dict[str, Any] = {
            "conversation_id": conversation_id,
            "sender": sender,
            "text": stored,
            "extra": json.dumps(extra, ensure_ascii=False),
            "created_at": now(),
        }
        row["id"] = self.db.insert("messages", row)
        return self._shape(row)

    def forget_as_sent(self, conversation_id: str) -> None:
        """Drop the agents' messages as sent (unmasked) once their chat ends: from then on everyone, the
        customer too, reads the masked copy."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE messages SET extra = json_remove(extra, '$.as_sent') WHERE conversation_id = ? "
                "AND sender = 'agent' AND json_extract(extra, '$.as_sent') IS NOT NULL",
                [conversation_id],
            )

    def hold_contact(self, conversation_id: str, sealed: str, hint: str) -> None:
        """Keep a contact number given before the conversation has a ticket (sealed, kb.desk.contacts): the
        ticket opened next takes it (take_contact)."""
        self.get_or_create(conversation_id)
        with self.db.transaction():
            self.db["conversations"].update(conversation_id, {"contact_secret": sealed, "contact_hint": hint})

    def held_contact(self, conversation_id: str) -> tuple[str, str]:
        """(sealed number, hint) held for the conversation, ('', '') if none."""
        row = self.db.execute(
            "SELECT contact_secret, contact_hint FROM conversations WHERE id = ?", [conversation_id]
        ).fetchone()
        return (row[0] or "", row[1] or "") if row else ("", "")

    def take_contact(self, conversation_id: str) -> tuple[str, str]:
        """The held contact, no longer kept on the conversation (a ticket keeps it from here)."""
        held = self.held_contact(conversation_id)
        if held[0]:
            with self.db.transaction():
                self.db["conversations"].update(conversation_id, {"contact_secret": "", "contact_hint": ""})
        return held

    def messages(
        self,
        conversation_id: str,
        after: int = 0,
        include_customer: bool = True,
        since: str | None = None,
        as_sent: bool = False,
    ) -> list[dict]:
        """Messages after an id (and, with since, stored at or after that stamp), oldest first: {"id", "from",
        "text", "sources" (HitRecord dicts), "buttons" ({"title", "payload"})}; a customer's button press is
        stored as the button's label. Texts are masked, except with as_sent (only for the customer's own
        chat): an agent's messages as the agent sent them while their chat is live."""
        where = "conversation_id = ? AND id > ?" + ("" if include_customer else " AND sender != 'customer'")
        args: list = [conversation_id, after]
        if since:
            where, args = where + " AND created_at >= ?", [*args, since]
        rows = self.db["messages"].rows_where(where, args, order_by="id")
        return [self._shape(r, as_sent) for r in rows]

    @staticmethod
    def _shape(row: dict, as_sent: bool = False) -> dict:
        extra = json.loads(row["extra"] or "{}")
        return {
            "id": row["id"],
            "from": row["sender"],
            "text": (extra.get(AS_SENT) if as_sent else None) or row["text"] or "",
            "sources": extra.get("sources", []),
            "buttons": extra.get("buttons", []),
        }
