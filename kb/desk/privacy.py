"""Masking personal data (phone, ID-card and bank-card numbers, e-mail) before anything is stored.

Phone numbers are masked wherever kb.desk.contacts finds one (phonenumbers, the same finder that keeps a
customer's contact number), and by our own patterns besides, so a number is never kept as a contact and also
left readable, whatever its format ('010-6234 5678', '(010)62345678', full-width digits)."""

from __future__ import annotations

import re

_SEP = r"[ \-]?"
# Order matters: the longer, more specific numbers first.
_PATTERNS = [
    (
        "身份证号",
        re.compile(
            r"(?<![\dA-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
        ),
    ),
    ("银行卡号", re.compile(rf"(?<!\d)(?:\d{{4}}{_SEP}){{3}}\d{{4}}(?:{_SEP}?\d{{1,3}})?(?!\d)")),
    ("手机号", re.compile(rf"(?<!\d)(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)")),
    ("电话", re.compile(rf"(?<!\d)0\d{{2,3}}{_SEP}\d{{7,8}}(?!\d)")),
    ("邮箱", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
]


def mask_personal_data(text: str) -> str:
    """Replace personal numbers and e-mail addresses with a labelled placeholder, e.g. [手机号]."""
    if not text:
        return text
    from kb.desk.contacts import contact_spans  # phonenumbers' metadata loads on first use, not at import

    for label, pattern in _PATTERNS[:2]:  # ID-card and bank-card numbers first: longer than any phone number
        text = pattern.sub(f"[{label}]", text)
    for start, end, kind in reversed(contact_spans(text)):
        text = text[:start] + ("[手机号]" if kind == "mobile" else "[电话]") + text[end:]
    for label, pattern in _PATTERNS[2:]:
        text = pattern.sub(f"[{label}]", text)
    return text
