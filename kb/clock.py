"""The one clock of stored records: UTC, ISO 8601 to the second (stamps compare as text)."""

from __future__ import annotations

import datetime as dt


def stamp(moment: dt.datetime) -> str:
    """A timezone-aware moment as a stored stamp: '2026-11-27T05:54:03+00:00'."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def now() -> str:
    """The current time as a stored stamp."""
    return stamp(dt.datetime.now(dt.UTC))


def parse(value: str) -> dt.datetime:
    """A stored stamp back as a timezone-aware datetime (ValueError if it is not one)."""
    return dt.datetime.fromisoformat(value)
