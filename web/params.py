"""Numbers read from a request's query string, one rule for every view."""

from __future__ import annotations

import re

DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only ('²' and '٣' are digits to str.isdigit, not to int)


def whole_number(text: str | None, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """`text` as a whole number from low to high (both included), or None: not ASCII digits, longer than
    19 of them (Python refuses to read numbers of over 4,300 digits, and no id here is that long), or out
    of range."""
    if text is None or not DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None
