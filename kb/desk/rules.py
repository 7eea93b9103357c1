"""The desk's rules, decided in one place for the bot (actions/) and the web app (web/): whether agents
are on duty, whether a message asks for a person, why a handoff happens, and which customer message
an agent should look things up for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

HUMAN_WORDS = re.compile(r"转(?:个|接)?人工|人工客服|人工服务|找(?:个)?人工|要(?:个)?人工|真人|human|agent", re.I)
HUMAN_INTENTS = ("request_human", "complaint")
HANDOFF_REASONS = ("asked", "could_not_answer", "complaint", "negative_feedback")


def in_service_hours(hours: str, timezone: str, when: dt.datetime | None = None) -> bool:
    """Whether a moment (default now) falls inside 'HH:MM-HH:MM' local time in timezone (an end of 24:00
    means midnight; a window whose end is not after its start is never open)."""
    local = (when or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    start, end = hours.split("-")
    minutes = local.hour * 60 + local.minute

    def to_min(s: str) -> int:
        return int(s[:2]) * 60 + int(s[3:])

    return to_min(start) <= minutes < to_min(end)


@dataclass(frozen=True)
class DeskPolicy:
    """The desk as configured (settings service_hours, timezone, default_handle_seconds)."""

    service_hours: str
    timezone: str
    default_handle_seconds: float

    def in_service_hours(self, when: dt.datetime | None = None) -> bool:
        """Whether agents take chats at this moment (default now); outside, a handoff becomes a callback."""
        return in_service_hours(self.service_hours, self.timezone, when)


def wants_human(text: str, intent: str | None = None) -> bool:
    """Whether a message asks for a person: NLU (or a button) gave it request_human or complaint, or it
    says so in words (转人工, 人工客服, 真人, agent …, or a bare '人工' / '人工呢') whatever intent NLU gave."""
    if intent in HUMAN_INTENTS:
        return True
    text = text or ""
    letters = [c for c in text if c.isalnum()]
    return bool(HUMAN_WORDS.search(text)) or ("人工" in text and len(letters) <= 4)


def handoff_reason(intent: str | None, offered_for: str | None = None) -> str:
    """Why a conversation goes to a human: a complaint; the customer accepting a human offered after
    an unanswered question or a 👎 (offered_for says which); otherwise they asked."""
    if intent == "complaint":
        return "complaint"
    if intent == "affirm" and offered_for in ("could_not_answer", "negative_feedback"):
        return offered_for
    return "asked"


def latest_question(messages: Iterable[Mapping[str, str]], fallback: str) -> str:
    """The customer's latest message that asks something (messages oldest first, each with 'from' and
    'text'): not a short request for a human, a button press or a greeting ('转人工', '👍', '在吗');
    fallback when there is none."""
    for m in reversed(list(messages)):
        text = m["text"].strip()
        letters = [c for c in text if c.isalnum()]
        if m["from"] != "customer" or len(letters) <= 3 or (len(text) <= 8 and wants_human(text)):
            continue
        return text
    return fallback
