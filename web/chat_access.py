"""Who may use a conversation through the chat API, and how often: the key the widget carries (header
X-Kefu-Key) and what it opens (kb.desk.conversations.access), and the rate limits. Well-formed calls are
counted per conversation and per address, reads (polls, reloads) apart from messages; malformed calls (bad
JSON or fields, a wrong or missing key, an unknown conversation) are counted apart per address, so a flood of
them never uses up the limits of customers who share the address."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import current_app, request

from indexer.settings import Settings
from kb.desk.conversations import Conversations, access
from web import wording
from web.chat_service import SESSION, valid_key
from web.limits import LimitCounts, RateLimiter

KEY_HEADER = "X-Kefu-Key"  # not in the URL: URLs end up in logs
UNKNOWN = "unknown conversation"  # the same for no such id, a wrong key and an ended one: nothing tells which


@dataclass(frozen=True)
class ChatLimiters:
    """The chat API's limiters, one set per app (their counts in the process or, shared, in Redis)."""

    messages: RateLimiter  # per conversation
    client_messages: RateLimiter  # per address
    reads: RateLimiter  # per conversation
    client_reads: RateLimiter  # per address
    malformed: RateLimiter  # per address


def chat_limiters(settings: Settings, counts: LimitCounts | None = None) -> ChatLimiters:
    """The limiters the settings ask for, each over a minute, counted where counts says (web/limits.py)."""
    return ChatLimiters(
        RateLimiter(settings.chat_limit_session, 60, "chat-messages", counts),
        RateLimiter(settings.chat_limit_client, 60, "chat-client-messages", counts),
        RateLimiter(settings.chat_limit_reads, 60, "chat-reads", counts),
        RateLimiter(settings.chat_limit_reads_client, 60, "chat-client-reads", counts),
        RateLimiter(settings.chat_limit_malformed, 60, "chat-malformed", counts),
    )


class Refused(Exception):
    """A chat call answered with an error: its status, message and, for 429, the seconds to wait."""

    def __init__(self, status: int, message: str, retry_after: int = 0):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _limiters() -> ChatLimiters:
    limiters: ChatLimiters = current_app.extensions["kefu_chat_limiters"]
    return limiters


def _address() -> str:
    return request.remote_addr or "?"


def _too_fast(wait: float) -> Refused:
    seconds = math.ceil(wait)
    return Refused(429, wording.too_fast(seconds), seconds)


def malformed(status: int, message: str) -> Refused:
    """A malformed call, counted against the address's malformed calls: `status` with `message`, or 429 once
    the address has sent too many."""
    wait = _limiters().malformed.hit(_address())
    return _too_fast(wait) if wait else Refused(status, message)


def count(conversation: str | None, read: bool = False) -> None:
    """Count a well-formed call of this address (and conversation, once there is one); Refused (429) if
    either is over its limit."""
    limiters = _limiters()
    by_client, by_conversation = (
        (limiters.client_reads, limiters.reads) if read else (limiters.client_messages, limiters.messages)
    )
    wait = by_client.hit(_address()) or (by_conversation.hit(conversation) if conversation else 0)
    if wait:
        raise _too_fast(wait)


def count_first(conversation: str) -> None:
    """Count a new conversation's first message against its own limit (the address's was counted before)."""
    _limiters().messages.record(conversation)


def opened(conversations: Conversations, session: str, keep_minutes: int) -> dict:
    """The conversation the request's key opens, with "access": 'live' or 'ended' (the chat's end and its
    rating only); a key that lapses now is ended first. Refused (404, counted as malformed) when the id or the
    key is wrong, or the key opens nothing any more."""
    key = request.headers.get(KEY_HEADER)
    if key is None or not valid_key(key) or not SESSION.fullmatch(session):
        raise malformed(404, UNKNOWN)
    conv = conversations.opened(session, key)
    if conv is None:
        raise malformed(404, UNKNOWN)
    now = dt.datetime.now(dt.UTC)
    last = conversations.last_activity(session) or ""
    state = access(conv, last, keep_minutes, now)
    if state == "lapsed":
        conversations.lapse(session, last, keep_minutes)
        conv = conversations.opened(session, key) or conv
        state = access(conv, last, keep_minutes, now)
    if state == "gone":
        raise malformed(404, UNKNOWN)
    return {**conv, "access": state}
