"""Chinese numerals as customers and documents write them: 十六, 一百零二, 两, or digits (cn2an)."""

from __future__ import annotations


def number(text: str) -> int | None:
    """The integer a numeral names ('十六' -> 16, '16' -> 16, '两' -> 2); None when text is not one. cn2an is
    imported on first use (about 30 ms)."""
    import cn2an

    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError, IndexError):  # IndexError: cn2an on '' or a bare unit
        return None
