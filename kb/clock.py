"""The one clock: stored records in UTC, ISO 8601 to the second (stamps compare as text); every time shown
to a person in the configured time zone (setting timezone), through `local`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHOWN = "%Y-%m-%d %H:%M"


def stamp(moment: dt.datetime) -> str:
    """A timezone-aware moment as a stored stamp: '2026-11-27T05:54:03+00:00'."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def now() -> str:
    """The current time as a stored stamp."""
    return stamp(dt.datetime.now(dt.UTC))


def parse(value: str) -> dt.datetime:
    """A stored stamp back as a timezone-aware datetime (ValueError if it is not one)."""
    return dt.datetime.fromisoformat(value)


def local(value: str | None, timezone: str) -> str:
    """A stored stamp as a person reads it, in `timezone` (an IANA name), to the minute:
    '2026-11-27T05:54:03+00:00' -> '2026-11-27 13:54' in Asia/Shanghai. '' for no stamp; a value that is not
    a stamp is returned as it is. ZoneInfoNotFoundError for an unknown zone."""
    if not value:
        return ""
    try:
        moment = parse(value)
    except (TypeError, ValueError):
        return value
    if moment.tzinfo is None:  # stamps are written aware; a naive one is read as UTC, as stored
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(timezone)).strftime(SHOWN)
