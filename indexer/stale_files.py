"""Whether this machine's kb/ files are behind curators' saves taken on another machine.

A save updates the database and writes the file only where it was taken, so `kefu index build` elsewhere
would put the older text back. An item is behind when the database holds a curator's save (its newest
revision, compared as the editor does: by the parsed item's hash) and this machine's file is an older
revision of it or missing; or when its newest revision deletes it and the file brings back an older text.
A file whose text is among none of the item's revisions is a hand edit and goes through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.clock import local
from kb.loader import KnowledgeBaseError, parse_item
from kb.model import Article, FaqEntry
from kb.revisions import Revisions
from kb.store import Store

SHOWN = 20  # items named in the message; the rest counted


@dataclass(frozen=True)
class StaleFile:
    """One item whose file here is behind the database: kind ('article'/'faq'), id, the newest revision's
    author, stamp (UTC, as stored) and action, and whether the file is missing here."""

    kind: str
    item_id: str
    author: str
    saved_at: str
    action: str
    missing: bool


class StaleKnowledgeFiles(RuntimeError):
    """kb/ here lacks saves the database holds; syncing from it would undo them."""

    def __init__(self, stale: Sequence[StaleFile], timezone: str):
        self.stale = list(stale)
        named = "; ".join(
            f"{s.kind} {s.item_id} ({'deleted' if s.action == 'delete' else 'saved'} by {s.author} at "
            f"{local(s.saved_at, timezone)}, {'no file here' if s.missing else 'the file here is an older version'})"
            for s in self.stale[:SHOWN]
        )
        more = f"; and {len(self.stale) - SHOWN} more" if len(self.stale) > SHOWN else ""
        super().__init__(
            f"kb/ on this machine is behind curators' saves taken on another machine, which a build would undo: "
            f"{named}{more}. Copy kb/ from the machine that took the saves (or use a shared mount), or run "
            "'kefu index build --force' to take this machine's files anyway"
        )


def _hash(kind: str, item_id: str, text: str) -> str | None:
    try:
        return parse_item(kind, Path(f"{item_id}.{'md' if kind == 'article' else 'yml'}"), text).hash
    except KnowledgeBaseError:
        return None


def _behind(
    kind: str, item_id: str, versions: list[dict], file_hash: str | None, stored_hash: str | None
) -> StaleFile | None:
    """The item as a StaleFile when its file (hash, None if missing) would undo its newest revision."""
    if not versions or versions[-1]["action"] == "initial":  # no curator's save: the files are the truth
        return None
    latest = versions[-1]
    if latest["action"] == "delete":
        older = versions  # the deletion keeps the last text: bringing that back is an undo too
        if stored_hash is not None or file_hash is None:
            return None
    else:
        older = versions[:-1]
        if stored_hash is None or _hash(kind, item_id, latest["content"]) != stored_hash:
            return None  # the database does not hold the save (it was indexed from a file since)
    if file_hash is not None and file_hash not in {_hash(kind, item_id, v["content"]) for v in older}:
        return None  # a hand edit: a text no one saved
    return StaleFile(kind, item_id, latest["author"], latest["created_at"], latest["action"], file_hash is None)


def stale_files(store: Store, articles: Sequence[Article], faqs: Sequence[FaqEntry]) -> list[StaleFile]:
    """The items these files (read from kb/) would put back behind the database's curators' saves, by kind
    and id; empty when syncing them undoes nothing. Reads the database only."""
    revisions = Revisions(store.db)
    stale = []
    for kind, items, stored in (
        ("article", articles, store.article_hashes()),
        ("faq", faqs, store.faq_hashes()),
    ):
        files = {i.id: i.hash for i in items}
        for item_id in sorted(set(files) | set(stored)):
            if files.get(item_id) == stored.get(item_id):
                continue
            found = _behind(kind, item_id, revisions.versions(kind, item_id), files.get(item_id), stored.get(item_id))
            if found is not None:
                stale.append(found)
    return stale
