"""Canned replies: short texts curators keep (a title, the text, an optional category) and agents insert
into their reply box. Curators write them, so no personal data is expected; they are length-limited."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kb.clock import now
from kb.database import Database
from kb.desk import DeskError, DeskNotFound

MAX_TITLE, MAX_TEXT, MAX_CATEGORY = 60, 1000, 30


class CannedReplyError(DeskError):
    """A canned reply with a missing or too long field (the message names it)."""


class CannedReplyNotFound(DeskNotFound):
    """There is no such canned reply."""


@dataclass(frozen=True)
class CannedReply:
    """One canned reply; updated_at is a stored stamp (kb.clock), author the curator who last saved it."""

    id: int
    title: str
    text: str
    category: str = ""
    author: str = ""
    updated_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return asdict(self)


def checked(title: object, text: object, category: object = "") -> dict[str, str]:
    """The fields trimmed; CannedReplyError unless title (1-MAX_TITLE) and text (1-MAX_TEXT) are given and
    category is at most MAX_CATEGORY characters."""
    fields = {"title": title, "text": text, "category": category if category is not None else ""}
    limits = {"title": MAX_TITLE, "text": MAX_TEXT, "category": MAX_CATEGORY}
    clean = {}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise CannedReplyError(f"{name} must be text")
        value = value.strip()
        if name != "category" and not value:
            raise CannedReplyError(f"a canned reply needs a {name}")
        if len(value) > limits[name]:
            raise CannedReplyError(f"{name} is longer than {limits[name]} characters")
        clean[name] = value
    return clean


class CannedReplies:
    """Canned replies in the database."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, author: str, title: object, text: object, category: object = "") -> CannedReply:
        """A new canned reply (CannedReplyError for a bad field)."""
        row = {**checked(title, text, category), "author": author[:80], "updated_at": now()}
        with self.db.transaction():
            reply_id = self.db.insert("canned_replies", row)
        return self.get(reply_id)

    def update(self, reply_id: int, author: str, title: object, text: object, category: object = "") -> CannedReply:
        """Change a canned reply (CannedReplyNotFound, CannedReplyError)."""
        self.get(reply_id)
        with self.db.transaction():
            self.db["canned_replies"].update(
                reply_id, {**checked(title, text, category), "author": author[:80], "updated_at": now()}
            )
        return self.get(reply_id)

    def delete(self, reply_id: int) -> None:
        """Remove a canned reply (CannedReplyNotFound if there is none)."""
        self.get(reply_id)
        with self.db.transaction():
            self.db.execute("DELETE FROM canned_replies WHERE id = ?", [reply_id])

    def get(self, reply_id: int) -> CannedReply:
        """One canned reply; CannedReplyNotFound if there is none."""
        rows = list(self.db["canned_replies"].rows_where("id = ?", [reply_id]))
        if not rows:
            raise CannedReplyNotFound("no such canned reply")
        return CannedReply(**rows[0])

    def search(self, query: str = "", limit: int = 50) -> list[CannedReply]:
        """Canned replies whose title, text or category holds the query (all of them for ''), by category
        then title; at most limit."""
        escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        rows = self.db.execute(  # LOWER: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
            "SELECT id, title, text, category, author, updated_at FROM canned_replies WHERE "
            "LOWER(title) LIKE LOWER(?) ESCAPE '\\' OR LOWER(text) LIKE LOWER(?) ESCAPE '\\' "
            "OR LOWER(category) LIKE LOWER(?) ESCAPE '\\' ORDER BY category, title, id LIMIT ?",
            [like, like, like, limit],
        ).fetchall()
        return [CannedReply(*row) for row in rows]
