"""One customer turn: to the bot or to the agent who holds the chat; a graceful reply if the bot is down."""
from __future__ import annotations

import re
import time

from kb.privacy import mask_personal_data
from kb.supervision import queue_message, wait_now, wait_phrase
from web.rasa_client import BotUnavailable, merge_replies

SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAYLOAD = re.compile(r"^/[a-z_]{1,40}(\{.{0,300}\})?$")
MAX_TEXT = 2000
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
QUEUED_ACK = "您的消息已收到，人工客服接入后会看到。"


class ChatInputError(ValueError):
    """The request cannot be served as sent (the message says what is wrong)."""


def validate(body: object) -> tuple[str, str, bool]:
    """(session, message, is_payload) from a request body, or ChatInputError."""
    if not isinstance(body, dict):
        raise ChatInputError("send a JSON object with 'session' and 'text' (or 'payload')")
    session, text, payload = body.get("session"), body.get("text"), body.get("payload")
    if not isinstance(session, str) or not SESSION.match(session):
        raise ChatInputError("'session' must be 1-64 letters, digits, '-' or '_'")
    if payload is not None:
        if not isinstance(payload, str) or not PAYLOAD.match(payload):
            raise ChatInputError("'payload' must be a button payload such as '/request_human'")
        return session, payload, True
    if not isinstance(text, str) or not text.strip():
        raise ChatInputError("'text' must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise ChatInputError(f"'text' is longer than {MAX_TEXT} characters")
    return session, text.strip(), False


class ChatService:
    """Routes customer messages and keeps the transcript."""

    def __init__(self, conversations, desk, rasa, settings=None):
        self.conversations, self.desk, self.rasa, self.settings = conversations, desk, rasa, settings
        self.bot_ms = 0.0  # time spent waiting for the bot (Server-Timing)

    def turn(self, session: str, message: str, is_payload: bool) -> dict:
        """Handle one customer message; the conversation's state and the new messages."""
        conv = self.conversations.get_or_create(session)
        shown = message if not is_payload else _button_label(message)
        first = self.conversations.add(session, "customer", shown)
        if conv["state"] in ("queued", "agent"):
            replies = []
            if conv["state"] == "queued" and not self._acknowledged(session):
                replies = [self._still_queued(session)]  # once while waiting, not for every message
            return {"session": session, "state": conv["state"], "messages": replies}
        if conv["state"] == "closed":
            self.conversations.set_state(session, "bot")
        started = time.perf_counter()
        try:
            # The bot never needs personal numbers to answer: it gets the masked text, so Rasa's tracker
            # and logs never hold them either.
            replies = merge_replies(self.rasa.send(session, message if is_payload else mask_personal_data(message)))
        except BotUnavailable:
            return self._bot_down(session, message, shown)
        finally:
            self.bot_ms = (time.perf_counter() - started) * 1000
        if not replies:  # Rasa is up but said nothing: its action server is down or failing
            return self._bot_down(session, message, shown)
        state = "bot"
        for reply in replies:
            custom = reply["custom"]
            if custom.get("state") == "queued":
                state = "queued"
            self.conversations.add(session, "bot", reply["text"] or "",
                                   {"sources": custom.get("sources", []), "buttons": reply["buttons"]})
        if state != "bot":
            self.conversations.set_state(session, state)
        return {"session": session, "state": state,
                "messages": self.conversations.messages(session, after=first["id"], include_customer=False)}

    def quoted_wait(self, position: int) -> float:
        """The same expected wait the bot quotes, for when the bot is down or the customer is waiting."""
        return wait_now(self.desk.store, self.settings, position) if self.settings else float("inf")

    def _acknowledged(self, session: str) -> bool:
        """Whether the customer was told their place since the bot or an agent last spoke."""
        for m in reversed(self.conversations.messages(session)):
            if m["from"] in ("bot", "agent"):
                return False
            if m["from"] == "system" and m["text"].startswith(QUEUED_ACK):
                return True
        return False

    def _still_queued(self, session: str) -> dict:
        ticket = self.desk.active_ticket(session)
        position = (ticket.position if ticket else None) or 1
        return self.conversations.add(session, "system",
                                      f"{QUEUED_ACK}您排在第 {position} 位，{wait_phrase(self.quoted_wait(position))}。")

    def _bot_down(self, session: str, message: str, shown: str) -> dict:
        """The bot is unreachable: a human is still one tap away, and asking for one works."""
        if message == "/request_human" or "人工" in message:
            ticket = self.desk.open_handoff(session, "asked", shown)
            self.conversations.set_state(session, "queued")
            text = queue_message(ticket.position or 1, self.quoted_wait(ticket.position or 1))
            reply = self.conversations.add(session, "system", text)
            return {"session": session, "state": "queued", "messages": [reply]}
        reply = self.conversations.add(session, "system", "抱歉，智能客服暂时无法回答，请稍后再试，或者转人工客服。",
                                       {"buttons": [HUMAN_BUTTON]})
        return {"session": session, "state": "bot", "messages": [reply]}


def _button_label(payload: str) -> str:
    labels = {"/request_human": "转人工", "/feedback_helpful": "👍", "/feedback_unhelpful": "👎", "/deny": "不用了"}
    return labels.get(payload.split("{")[0], payload.split("{")[0].lstrip("/"))
