"""A customer's contact number: found in what they typed, kept encrypted, shown partly masked.

A number a customer gives in a handoff is what an agent needs to call them back, so unlike every other
personal number (kb.desk.privacy masks those for good) it is kept — but only on the ticket, encrypted at rest
with a key of its own, and shown in full only to a person whose role needs it, each time logged
(kb.desk.tickets.Tickets.reveal_contact). Everywhere else it is the hint, '138****5678'.

Finding numbers is phonenumbers' (Google's libphonenumber rules for mainland China: mobile prefixes, area
codes, lengths), not a pattern of ours; encryption is cryptography's Fernet (AES-128-CBC with HMAC-SHA256).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken

from kb.desk import DeskError
from kb.secret_files import owner_only_secret

log = logging.getLogger(__name__)
REGION = "CN"
KEY_FILE = "contact_key"


class ContactKeyError(DeskError):
    """The contact key is missing, unreadable or not the one the numbers were sealed with."""


@dataclass(frozen=True)
class Contact:
    """A phone number found in a message. number: digits as dialled in mainland China ('13812345678',
    '01062345678', extension after 'x' if one was typed); kind: 'mobile' or 'landline'; raw: as typed."""

    number: str
    kind: str
    raw: str

    @property
    def hint(self) -> str:
        """The number partly masked, for everyone who may not see it whole."""
        return hint(self.number)


def find_contacts(text: str) -> list[Contact]:
    """The mainland mobile and landline numbers in a message, in order ([] if none). Bank-card, ID-card and
    order numbers are not phone numbers and are not found."""
    return [contact for contact, _, _ in _matches(text)]


def contact_spans(text: str) -> list[tuple[int, int, str]]:
    """Where the numbers find_contacts finds are in the text: (start, end, kind), in order."""
    return [(start, end, contact.kind) for contact, start, end in _matches(text)]


def _matches(text: str) -> list[tuple[Contact, int, int]]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text or "", REGION, leniency=phonenumbers.Leniency.VALID):
        number = match.number
        if number.country_code != 86:
            continue
        kind = phonenumbers.number_type(number)
        # As dialled at home: the trunk 0 before an area code, none before a mobile or a 400 number.
        plain = phonenumbers.PhoneNumber(country_code=86, national_number=number.national_number)
        dialled = phonenumbers.format_number(plain, phonenumbers.PhoneNumberFormat.NATIONAL)
        digits = "".join(c for c in dialled if c.isdigit())
        if number.extension:
            digits += "x" + number.extension
        mobile = kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        contact = Contact(digits, "mobile" if mobile and digits.startswith("1") else "landline", match.raw_string)
        found.append((contact, match.start, match.end))
    return found


def hint(number: str) -> str:
    """'13812345678' → '138****5678'; '01062345678' → '010****5678'; '' → ''. At most the first three and the
    last four digits show."""
    digits = number.split("x")[0]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


class ContactVault:
    """Seals and opens contact numbers with the desk's own key (a Fernet key, 44 base64 characters)."""

    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ContactKeyError("the contact key is not a valid key") from exc

    @classmethod
    def in_folder(cls, data_dir: Path) -> ContactVault:
        """The vault whose key lives in data_dir/contact_key, made on first use with owner-only permissions
        (created with mode 0600, never readable by others even for a moment). ContactKeyError if it cannot
        be read."""
        path = Path(data_dir) / KEY_FILE
        try:
            key = owner_only_secret(path, Fernet.generate_key)
        except OSError as exc:  # said in the log with the path; callers (customers too) hear only that it failed
            log.error("kefu: cannot use the contact key %s: %s", path, exc)
            raise ContactKeyError("contact numbers cannot be kept right now") from exc
        return cls(key)

    def seal(self, number: str) -> str:
        """The number encrypted (a text token to store)."""
        return self._fernet.encrypt(number.encode()).decode()

    def open(self, token: str) -> str:
        """The number a token holds; ContactKeyError if this key did not seal it."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ContactKeyError("this contact was sealed with another key") from exc
