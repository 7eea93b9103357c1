"""One customer turn: to the bot or to the agent who holds the chat; a graceful reply if the bot is down."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from indexer.normalize import has_words, to_simplified
from kb.desk.callback import offers_contact, problem_words
from kb.desk.contacts import find_contacts
from kb.desk.privacy import mask_personal_data
from kb.desk.rules import wants_human
from kb.desk.service import Desk, TicketStateError
from web import wording
from web.rasa_client import BotUnavailable, RasaClient, merge_replies

SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a conversation's public id; always fullmatch ('abc\n')
KEY = re.compile(r"[A-Za-z0-9_-]{40,64}")  # a conversation's key as kb.desk.conversations makes it
# Only what the widget's buttons carry: the domain's buttons (bot/domain.yml, web/wording.py), the answers'
# candidate and show-all buttons (indexer/replies.py) and the widget's own 👍/👎, which name a hit by its ref.
PAYLOAD = re.compile(r'(/[a-z_]{1,40})(?:\{"ref":"((?:passage|faq):[a-z0-9-]{1,80})"\})?')
PLAIN_PAYLOADS = frozenset(
    {
        "/request_human",
        "/request_callback",
        "/callback_change",
        "/affirm",
        "/deny",
        "/feedback_helpful",
        "/feedback_unhelpful",
    }
)
REF_PAYLOADS = frozenset({"/choose_candidate", "/show_all", "/feedback_helpful", "/feedback_unhelpful"})
MAX_TEXT = 2000
TYPED_PAYLOAD = re.compile(r"^[\s/]+")  # the leading slashes of typed text
MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id is no record's
MAX_LABEL = 100  # a button's title: a candidate article's title, '转人工', '👍'
MAX_COMMENT = 500
FEEDBACK_EMOJI = ("👍", "👎")
log = logging.getLogger(__name__)


class ChatInputError(ValueError):
    """The request cannot be served as sent (the message says what is wrong)."""


@dataclass(frozen=True)
class ChatRequest:
    """One customer message as the widget sends it. `label` is the pressed button's title (masked), shown
    in every transcript instead of the payload; `after` the last message id the widget has shown (None: it
    wants only the replies)."""

    session: str | None  # None: the first message, which opens a conversation
    message: str
    is_payload: bool
    label: str | None = None
    after: int | None = None


def _session(body: dict) -> str:
    session = body.get("session")
    if not isinstance(session, str) or not SESSION.fullmatch(session):
        raise ChatInputError("'session' must be the conversation's id the first answer gave")
    return session


def _payload(payload: object, opened: bool) -> str:
    """A button payload the widget can send: a plain one, or one naming a hit by its ref (only in a
    conversation already open: it must be one this conversation was shown, ChatService checks)."""
    found = PAYLOAD.fullmatch(payload) if isinstance(payload, str) else None
    if found is None or (found[1] not in (REF_PAYLOADS if found[2] else PLAIN_PAYLOADS)) or (found[2] and not opened):
        raise ChatInputError("'payload' must be one of the buttons' payloads, such as '/request_human'")
    return payload  # type: ignore[return-value]  # fullmatch above: a str


def _message_id(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise ChatInputError(f"'{name}' must be a message id (a whole number, 0 or more)")
    return value


def validate(body: object) -> ChatRequest:
    """A ChatRequest from a request body {"session"? (absent: a new conversation), "text" | "payload",
    "label"?, "after"?}, or ChatInputError saying what is wrong."""
    if not isinstance(body, dict):
        raise ChatInputError("send a JSON object with 'text' (or 'payload'), and 'session' after the first")
    session = _session(body) if body.get("session") is not None else None
    text, payload = body.get("text"), body.get("payload")
    after = _message_id(body.get("after"), "after")
    if payload is not None:
        payload = _payload(payload, session is not None)
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL):
            raise ChatInputError(f"'label' must be the button's title, 1-{MAX_LABEL} characters")
        return ChatRequest(session, payload, True, mask_personal_data(label.strip()) if label else None, after)
    if not isinstance(text, str) or not text.strip():
        raise ChatInputError("'text' must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise ChatInputError(f"'text' is longer than {MAX_TEXT} characters")
    return ChatRequest(session, text.strip(), False, None, after)


def valid_key(key: str | None) -> bool:
    """Whether a key has the shape of one the server makes (anything else is refused unread)."""
    return key is not None and KEY.fullmatch(key) is not None


def validate_rating(body: object) -> tuple[str, int, int, str]:
    """(session, ticket id, score 1-5, comment) from a rating request {"session", "ticket", "score",
    "comment"?}, or ChatInputError. The comment is masked and stored by the desk (kb.desk.ratings)."""
    if not isinstance(body, dict):
        raise ChatInputError("send a JSON object with 'session', 'ticket' and 'score'")
    session, ticket, score, comment = _session(body), body.get("ticket"), body.get("score"), body.get("comment", "")
    if isinstance(ticket, bool) or not isinstance(ticket, int) or not 1 <= ticket <= MAX_ID:
        raise ChatInputError("'ticket' must be the id of the chat to rate")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ChatInputError("'score' must be a whole number from 1 to 5")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ChatInputError(f"'comment' must be text of at most {MAX_COMMENT} characters")
    return session, ticket, score, comment


class ChatService:
    """Routes customer messages and keeps the transcript."""

    def __init__(self, desk: Desk, rasa: RasaClient):
        self.desk, self.conversations, self.rasa = desk, desk.conversations, rasa
        self.bot_ms = 0.0  # time spent waiting for the bot (Server-Timing)

    def handle(self, session: str, request: ChatRequest) -> dict[str, Any]:
        """One validated message in the conversation `session` (opened with its key): the turn's {"session",
        "state", "messages"}; with `after`, the messages are every one after it, the customer's own included,
        so the widget misses nothing said meanwhile (an agent's message between two polls) and learns the id its
        own message was stored under. ChatInputError for a button this conversation was never shown."""
        if request.is_payload and "{" in request.message and request.message not in self._offered(session):
            raise ChatInputError("'payload' must be one of the buttons' payloads this conversation was shown")
        result = self.turn(session, request.message, request.is_payload, request.label)
        if request.after is not None:
            result["messages"] = self.conversations.messages(session, after=request.after, as_sent=True)
        return result

    def _offered(self, session: str) -> set[str]:
        """The ref-carrying payloads this conversation's buttons and answers offered: every button's payload,
        and 👍/👎 on each source an answer cited."""
        offered = set()
        for m in self.conversations.messages(session, include_customer=False):
            offered |= {b.get("payload", "") for b in m["buttons"]}
            for source in m["sources"]:
                ref = source.get("ref") or (
                    f"{source['kind']}:{source['id']}" if source.get("kind") and source.get("id") else ""
                )
                offered |= {f'{intent}{{"ref":"{ref}"}}' for intent in ("/feedback_helpful", "/feedback_unhelpful")}
        return offered

    def turn(self, session: str, message: str, is_payload: bool, label: str | None = None) -> dict[str, Any]:
        """Handle one customer message (a button press is kept as its label); the conversation's state and
        the new messages."""
        conv = self.conversations.get_or_create(session)
        shown = message if not is_payload else label or wording.button_label(message)
        kept = "" if is_payload else self._keep_contact(session, message)
        first = self.conversations.add(session, "customer", shown)
        if conv["state"] == "queued" and is_payload and message.startswith("/request_callback"):
            conv = self._callback_instead(session)
        if conv["state"] in ("queued", "agent"):
            if conv["state"] == "queued" and not is_payload:  # what they write while waiting is their problem
                self.desk.add_to_problem(session, message)
            replies = []
            if conv["state"] == "queued" and not self._acknowledged(session):
                replies = [self._still_queued(session)]  # once while waiting, not for every message
            return {"session": session, "state": conv["state"], "messages": replies}
        if conv["state"] == "closed":
            self.conversations.set_state(session, "bot")
        if not is_payload and not has_words(message) and message not in FEEDBACK_EMOJI:  # '🙏🙏', '。。。'
            # nothing to look up or to classify (a typed 👍/👎 is feedback: the bot's NLU knows it)
            reply = self.conversations.add(session, "bot", wording.NO_WORDS, {"buttons": [wording.HUMAN_BUTTON]})
            return {"session": session, "state": "bot", "messages": [reply]}
        started = time.perf_counter()
        try:
            # The bot never needs personal numbers to answer: it gets the masked text, so Rasa's tracker
            # and logs never hold them either; in Simplified characters, which its NLU was trained on.
            # Typed text never reaches Rasa as a payload: Rasa reads any message that starts with '/' as an
            # intent with entities ('/restart', '/feedback_unhelpful{"ref": …}'), so what only a button sends
            # (checked above against what this conversation was shown) would be one keystroke away.
            to_bot = message if is_payload else TYPED_PAYLOAD.sub("", to_simplified(mask_personal_data(message)))
            # the bot learns only that a number was kept for the ticket, and its hint ('138****5678')
            replies = merge_replies(self.rasa.send(session, to_bot, {"contact": kept} if kept else None))
        except BotUnavailable:
            return self._bot_down(session, message, shown, is_payload)
        finally:
            self.bot_ms = (time.perf_counter() - started) * 1000
        if not replies:  # Rasa is up but said nothing: its action server is down or failing
            return self._bot_down(session, message, shown, is_payload)
        state = "bot"
        for reply in replies:
            custom = reply["custom"]
            if custom.get("state") == "queued":
                state = "queued"
            self.conversations.add(
                session, "bot", reply["text"] or "", {"sources": custom.get("sources", []), "buttons": reply["buttons"]}
            )
        if state != "bot":
            self.conversations.set_state(session, state)
        return {
            "session": session,
            "state": state,
            "messages": self.conversations.messages(session, after=first["id"], include_customer=False, as_sent=True),
        }

    def _keep_contact(self, session: str, message: str) -> str:
        """A phone number the customer typed, kept sealed for their ticket (Desk.record_contact) when they have
        an open one or the message asks for a call or a person ('请回电 138…'); else only masked like any
        number (a number asked about is not a contact). Returns the kept number's hint, or ''."""
        contacts = find_contacts(message)
        if not contacts:
            return ""
        if self.desk.tickets.active(session) is None and not offers_contact(message):
            return ""
        return self.desk.record_contact(session, contacts[-1])

    def _callback_instead(self, session: str) -> dict:
        """A queued customer chose to be called back: the ticket becomes a callback and the bot, paused while
        they queued, takes over again to take it down."""
        try:
            self.desk.callback_instead(session)
        except TicketStateError:
            return self.conversations.get_or_create(session)
        self.rasa.handed_back(session)  # if the bot is down, its fallback still records the callback
        return {"id": session, "state": "bot"}

    def leave_queue(self, session: str) -> dict[str, Any]:
        """The customer stops waiting for an agent (Desk.leave_queue): {'session', 'state': 'bot', 'messages':
        [the system message saying so]}. TicketStateError if they are not queued."""
        message = self.desk.leave_queue(session, wording.LEFT_QUEUE, self.rasa.handed_back)
        return {"session": session, "state": "bot", "messages": [message]}

    def _acknowledged(self, session: str) -> bool:
        """Whether the customer was told their place since the bot or an agent last spoke."""
        for m in reversed(self.conversations.messages(session)):
            if m["from"] in ("bot", "agent"):
                return False
            if m["from"] == "system" and m["text"].startswith(wording.QUEUED_ACK):
                return True
        return False

    def _still_queued(self, session: str) -> dict:
        ticket = self.desk.tickets.active(session)
        position = (ticket.position if ticket else None) or 1
        wait = self.desk.quoted_wait(position)
        buttons = [wording.CALLBACK_BUTTON] if wait == float("inf") else []  # nobody on duty: a call instead
        return self.conversations.add(session, "system", wording.still_queued(position, wait), {"buttons": buttons})

    def _bot_down(self, session: str, message: str, shown: str, is_payload: bool) -> dict[str, Any]:
        """The bot is unreachable: a human is still one tap away and asking for one works, by the desk's
        rules (queued in service hours, a message for a callback outside them)."""
        intent = message.split("{")[0].lstrip("/") if is_payload else None
        ticket = self.desk.tickets.active(session)
        if ticket is not None and ticket.status == "callback" and not is_payload:
            self.desk.add_to_problem(session, message)  # the number in it is on the ticket already
            reply = self.conversations.add(session, "system", wording.CALLBACK_NOTED)
            return {"session": session, "state": "bot", "messages": [reply]}
        if wants_human(shown, intent):
            ticket = self.desk.request_human(session, "asked", "" if is_payload else problem_words(message))
            if ticket.status == "callback":
                reply = self.conversations.add(
                    session, "system", wording.callback_offer(self.desk.policy.service_hours)
                )
                return {"session": session, "state": "bot", "messages": [reply]}
            self.conversations.set_state(session, "queued")
            position = ticket.position or 1
            wait = self.desk.quoted_wait(position)
            buttons = [wording.CALLBACK_BUTTON] if wait == float("inf") else []
            reply = self.conversations.add(
                session, "system", wording.queue_message(position, wait), {"buttons": buttons}
            )
            return {"session": session, "state": "queued", "messages": [reply]}
        reply = self.conversations.add(session, "system", wording.BOT_DOWN, {"buttons": [wording.HUMAN_BUTTON]})
        return {"session": session, "state": "bot", "messages": [reply]}
