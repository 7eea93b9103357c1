"""Conversations and their messages as the web app sees them: who said what, and who holds the chat.

States: 'bot' (the bot answers), 'queued' (waiting for an agent), 'agent' (an agent holds it),
'closed' (an agent closed it).

A conversation the customer's widget talks to is opened by `start`, which makes its public id and its key
(both with `secrets`); only the key's SHA-256 is stored. The key is the customer's only way in: `access` says
what it opens. It ends when an agent closes the chat or the conversation lapses (quiet for longer than the keep
time): then it opens only the chat's last words and its rating, for the keep time, and then nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

from kb.clock import now, parse, stamp
from kb.database import Database
from kb.desk import DeskError
from kb.desk.privacy import mask_personal_data

STATES = ("bot", "queued", "agent", "closed")
SENDERS = ("customer", "bot", "agent", "system")
MASKED = ("customer", "agent")  # people type personal numbers; the bot's and the system's wording is ours
AS_SENT = "as_sent"
HELD = ("queued", "agent")  # a person has the conversation, or will: it is kept however quiet it is
LAST_WORDS = dt.timedelta(minutes=1)  # before a chat's end: what the agent said reaches a widget polling every 2 s


def kept(last_activity: str, state: str, keep_minutes: int, at: dt.datetime) -> bool:
    """Whether a returning visitor sees this conversation again (True) or starts a fresh one: its last
    activity (a stored stamp) is less than `keep_minutes` before `at`, or it is queued or with an agent."""
    return state in HELD or at - parse(last_activity) < dt.timedelta(minutes=keep_minutes)


def key_hash(key: str) -> str:
    """What is stored of a conversation's key: its SHA-256 (a 256-bit random key needs no slow hash)."""
    return hashlib.sha256(key.encode()).hexdigest()


def access(conv: dict, last_activity: str, keep_minutes: int, at: dt.datetime) -> str:
    """What a conversation's key opens at `at`: 'live' (the transcript, writing), 'lapsed' (live until now,
    but quiet for longer than the keep time, at least a minute: the caller ends the key), 'ended' (the chat's
    last words and its rating, for the keep time after the end) or 'gone' (nothing)."""
    keep = max(keep_minutes, 1)  # with widget_keep_minutes 0 a reload starts afresh, a chat in progress goes on
    if not conv["key_ended_at"]:
        return "live" if kept(last_activity, conv["state"], keep, at) else "lapsed"
    return "ended" if at - parse(conv["key_ended_at"]) < dt.timedelta(minutes=keep) else "gone"


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

    def start(self) -> tuple[str, str]:
        """A new conversation in state 'bot' for a customer's widget: (its public id, its key). The key is
        returned here only; the database keeps its hash."""
        conversation_id, key, stamp_ = secrets.token_urlsafe(16), secrets.token_urlsafe(32), now()
        self.db["conversations"].insert(
            {
                "id": conversation_id,
                "state": "bot",
                "created_at": stamp_,
                "updated_at": stamp_,
                "key_hash": key_hash(key),
            }
        )
        return conversation_id, key

    def opened(self, conversation_id: str, key: str) -> dict | None:
        """The conversation {"id", "state", "key_ended_at"} if `key` is its key; None if it is not, or there is
        no such conversation (the caller cannot tell which)."""
        row = self.db.execute(
            "SELECT id, state, key_hash, key_ended_at FROM conversations WHERE id = ?", [conversation_id]
        ).fetchone()
        if row is None or not row[2] or not hmac.compare_digest(row[2], key_hash(key)):
            return None
        return {"id": row[0], "state": row[1], "key_ended_at": row[3]}

    def end_key(self, conversation_id: str, at: str | None = None) -> None:
        """The key stops opening the transcript (at `at`, a stored stamp, or now); a key ended stays ended."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE conversations SET key_ended_at = ? WHERE id = ? AND key_ended_at = ''",
                [at or now(), conversation_id],
            )

    def lapse(self, conversation_id: str, last_activity: str, keep_minutes: int) -> None:
        """End the key of a conversation quiet for longer than the keep time, as of when it lapsed."""
        self.end_key(conversation_id, stamp(parse(last_activity) + dt.timedelta(minutes=max(keep_minutes, 1))))

    def last_words(self, conversation_id: str, ended_at: str, after: int = 0) -> list[dict]:
        """What an ended key still reads: the agent's and the system's messages after `after` from the minute
        before the end on (the agent's goodbye and the closing notice), never the transcript."""
        since = stamp(parse(ended_at) - LAST_WORDS)
        return [m for m in self.messages(conversation_id, after, since=since) if m["from"] in ("agent", "system")]

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
            "SELECT c.updated_at, (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id) "
            "FROM conversations c WHERE c.id = ?",
            [conversation_id],
        ).fetchone()
        return max(row[0] or "", row[1] or "") if row else None

    def set_state(self, conversation_id: str, state: str) -> None:
        """Move a conversation to another state; closing it ends the customer's key (the widget then starts a
        fresh conversation)."""
        if state not in STATES:
            raise ConversationError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        with self.db.transaction():
            self.db["conversations"].update(conversation_id, {"state": state, "updated_at": now()})
            if state == "closed":
                self.end_key(conversation_id)

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
        }
        with self.db.transaction():
            self.lock(conversation_id)
            row["created_at"] = now()
            row["id"] = self.db.insert("messages", row)
        return self._shape(row)

    def lock(self, conversation_id: str) -> None:
        """Inside a transaction: hold the conversation's row until it ends (changes to one conversation made
        by several instances then happen one after the other). Before a message is numbered: its messages
        then commit in the order of their ids, so a widget polling `id > after` never passes one that is
        still to commit (on PostgreSQL a transaction holding a lower id, a claim adding "agent joined", may
        otherwise commit after a customer's message numbered later). SQLite's writes are serialised already."""
        self.db.execute("SELECT id FROM conversations WHERE id = ?" + self.db.for_update, [conversation_id])

    def forget_as_sent(self, conversation_id: str) -> None:
        """Drop the agents' messages as sent (unmasked) once their chat ends: from then on everyone, the
        customer too, reads the masked copy."""
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT id, extra FROM messages WHERE conversation_id = ? AND sender = 'agent' AND extra LIKE ?",
                [conversation_id, '%"as_sent"%'],
            ).fetchall()
            for message_id, extra in rows:  # in Python: SQLite's and PostgreSQL's JSON functions differ
                kept = json.loads(extra)
                if isinstance(kept, dict) and kept.pop("as_sent", None) is not None:
                    self.db["messages"].update(message_id, {"extra": json.dumps(kept, ensure_ascii=False)})

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
