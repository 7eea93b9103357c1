"""Revision history of knowledge-base items: every saved version of an article or Q&A entry, by whom and why.

The files under kb/ stay the source of truth; a revision keeps a version's full file text, so any
version can be shown, compared or restored.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from kb.clock import now
from kb.database import Database
from kb.loader import KnowledgeBaseError, parse_item, render_item

KINDS = ("article", "faq")
ACTIONS = ("initial", "create", "update", "delete", "revert")


class RevisionError(ValueError):
    """A revision operation got a value it cannot store."""


class Revisions:
    """Versions of knowledge-base items in the shared SQLite store."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, kind: str, item_id: str, action: str, content: str, author: str, note: str = "") -> int:
        """Keep one version; returns its revision id. A deletion keeps the last content."""
        if kind not in KINDS:
            raise RevisionError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if action not in ACTIONS:
            raise RevisionError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        return self.db.insert(
            "revisions",
            {
                "kind": kind,
                "item_id": item_id,
                "action": action,
                "content": content,
                "author": author[:80],
                "note": note.strip()[:500],
                "created_at": now(),
            },
        )

    def history(self, kind: str, item_id: str) -> list[dict]:
        """An item's versions, newest first, each with a diff against the one before it."""
        rows = list(self.db["revisions"].rows_where("kind = ? AND item_id = ?", [kind, item_id], order_by="id"))
        previous = ""
        for row in rows:
            shown = normalised(kind, item_id, row["content"])
            row["diff"] = diff(previous, shown) if row["action"] != "delete" else ""
            previous = shown if row["action"] != "delete" else ""
        return rows[::-1]

    def has_history(self, kind: str, item_id: str) -> bool:
        """Whether any version of the item is kept."""
        return (
            self.db.execute(
                "SELECT 1 FROM revisions WHERE kind = ? AND item_id = ? LIMIT 1", [kind, item_id]
            ).fetchone()
            is not None
        )

    def latest(self, kind: str, item_id: str) -> dict | None:
        """An item's newest version, {"action", "content"}, or None without history."""
        row = self.db.execute(
            "SELECT action, content FROM revisions WHERE kind = ? AND item_id = ? ORDER BY id DESC LIMIT 1",
            [kind, item_id],
        ).fetchone()
        return {"action": row[0], "content": row[1]} if row else None

    def versions(self, kind: str, item_id: str) -> list[dict]:
        """An item's versions, oldest first: {"action", "content", "author", "created_at"} each."""
        return list(
            self.db["revisions"].rows_where(
                "kind = ? AND item_id = ?",
                [kind, item_id],
                select="action, content, author, created_at",
                order_by="id",
            )
        )

    def get(self, revision_id: int) -> dict | None:
        """One revision, or None."""
        rows = list(self.db["revisions"].rows_where("id = ?", [revision_id]))
        return rows[0] if rows else None

    def recent(self, limit: int = 20) -> list[dict]:
        """The latest changes across the knowledge base, newest first (without content)."""
        return list(
            self.db["revisions"].rows_where(
                "action != 'initial'",
                select="id, kind, item_id, action, author, note, created_at",
                order_by="id desc",
                limit=limit,
            )
        )


def normalised(kind: str, item_id: str, content: str) -> str:
    """A version's text as the editor writes it, so a diff shows what changed, not how a hand-written
    file happened to be laid out (quoting, indentation)."""
    try:
        item = parse_item(kind, Path(f"{item_id}.{'md' if kind == 'article' else 'yml'}"), content)
    except KnowledgeBaseError:
        return content
    return render_item(item)


def diff(old: str, new: str) -> str:
    """A unified, line-by-line diff of two versions' file text."""
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), "之前", "之后", n=2)
    )
