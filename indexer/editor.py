"""Editing the knowledge base: save, delete or restore an article or Q&A entry, keep every version,
and re-index only that item, so the bot answers from it at once.

The files under kb/ stay the source of truth (`kefu index build` reads them); each change writes the
file, indexes just the changed item, saves the indexes (which moves the index stamp that long-running
processes watch) and records a revision.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.build import Indexer, Progress
from indexer.encoder import Encoder
from indexer.settings import Settings
from kb.loader import KnowledgeBaseError, item_path, parse_item, render_article, render_faq, render_item, write_item
from kb.model import Article, FaqEntry, content_hash
from kb.revisions import Revisions
from kb.store import Store

ORIGINAL_AUTHOR = "kb/ 文件"
log = logging.getLogger(__name__)


class EditConflict(Exception):
    """The item changed since the editor was opened; saving would overwrite someone's work."""


class ItemNotFound(LookupError):
    """No such article, Q&A entry or revision."""


@dataclass(frozen=True)
class EditResult:
    """What one change did."""

    kind: str
    item_id: str
    action: str
    revision_id: int | None
    encoded: int
    seconds: float

    @property
    def changed(self) -> bool:
        """False when the saved text equalled what was there."""
        return self.revision_id is not None


def version_of(text: str | None) -> str:
    """The version token an editor form carries: the hash of the file text ('' for a new item)."""
    return content_hash(text) if text is not None else ""


class KnowledgeEditor:
    """Changes to kb/ files, applied to the store, the indexes and the revision history together."""

    def __init__(self, store: Store, indexer: Indexer | None, kb_dir: Path):
        """indexer None: a read-only editor (current_text, item) that loads no model."""
        self.store, self._indexer, self.kb_dir = store, indexer, Path(kb_dir)
        self.revisions = Revisions(store.db)

    @property
    def indexer(self) -> Indexer:
        """The indexer changes go through (a read-only editor has none)."""
        if self._indexer is None:
            raise RuntimeError("this editor is read-only: it was made without an indexer")
        return self._indexer

    def current_text(self, kind: str, item_id: str) -> str | None:
        """The item's current text, or None if there is no such item, as the database has it (the truth
        every instance shares; this instance's kb/ file may be behind another instance's save): the newest
        revision's text when it is what the database indexed, else the kb/ file's when it is, else the
        stored item rendered. An item the database does not hold: gone if its newest revision deletes it,
        else the kb/ file's text (written but never indexed), else None."""
        path = item_path(self.kb_dir, kind, item_id)
        stored = self.store.article(item_id) if kind == "article" else self.store.faq(item_id)
        latest = self.revisions.latest(kind, item_id)
        if stored is None:
            if latest is not None and latest["action"] == "delete":
                return None
            return path.read_text(encoding="utf-8") if path.is_file() else None
        candidates = [latest["content"]] if latest is not None and latest["action"] != "delete" else []
        if path.is_file():
            candidates.append(path.read_text(encoding="utf-8"))
        for text in candidates:
            try:
                if parse_item(kind, path, text).hash == stored.hash:
                    return text
            except KnowledgeBaseError:
                continue  # a broken file is not the current text
        return render_item(stored)

    def item(self, kind: str, item_id: str) -> Article | FaqEntry:
        """The item as it is on disk now."""
        text = self.current_text(kind, item_id)
        if text is None:
            raise ItemNotFound(f"no {kind} {item_id!r}")
        return parse_item(kind, item_path(self.kb_dir, kind, item_id), text)

    def save_article(self, article: Article, author: str, note: str = "", base: str | None = None) -> EditResult:
        """Create or update an article."""
        return self.save("article", article.id, render_article(article), author, note, base)

    def save_faq(self, entry: FaqEntry, author: str, note: str = "", base: str | None = None) -> EditResult:
        """Create or update a Q&A entry."""
        return self.save("faq", entry.id, render_faq(entry), author, note, base)

    def save(
        self,
        kind: str,
        item_id: str,
        text: str,
        author: str,
        note: str = "",
        base: str | None = None,
        action: str | None = None,
    ) -> EditResult:
        """Write an item's new file text; base, if given, must be the version the editor started from."""
        started = time.perf_counter()
        current = self.current_text(kind, item_id)
        if base is not None and base != version_of(current):
            raise EditConflict(f"{item_id} was changed by someone else after you opened it; reload and edit again")
        item = parse_item(kind, item_path(self.kb_dir, kind, item_id), text)
        if isinstance(item, FaqEntry) and item.article and item.article not in {a.id for a in self.store.articles()}:
            raise KnowledgeBaseError(item_id, f"names article '{item.article}', which does not exist", "article")
        if text == current:
            return EditResult(kind, item_id, "unchanged", None, 0, 0.0)
        self._keep_original(kind, item_id, current)
        encoded_before = self.indexer.report.encoded
        write_item(self.kb_dir, kind, item_id, text)
        self._index(kind, item_id, current, lambda: self.indexer.put(item))
        action = action or ("create" if current is None else "update")
        revision = self.revisions.record(kind, item_id, action, text, author, note)
        return EditResult(
            kind,
            item_id,
            action,
            revision,
            self.indexer.report.encoded - encoded_before,
            round(time.perf_counter() - started, 3),
        )

    def delete(self, kind: str, item_id: str, author: str, note: str = "", base: str | None = None) -> EditResult:
        """Remove an item (its last text stays in the history, so it can be restored)."""
        started = time.perf_counter()
        current = self.current_text(kind, item_id)
        if current is None:
            raise ItemNotFound(f"no {kind} {item_id!r}")
        if base is not None and base != version_of(current):
            raise EditConflict(f"{item_id} was changed by someone else after you opened it; reload and look again")
        if kind == "article":
            users = sorted(e.id for e in self.store.faqs() if e.article == item_id)
            if users:
                raise KnowledgeBaseError(item_id, "Q&A entries rest on this article: " + ", ".join(users[:10]))
        self._keep_original(kind, item_id, current)
        item_path(self.kb_dir, kind, item_id).unlink(missing_ok=True)  # saved on another instance, perhaps
        self._index(kind, item_id, current, lambda: self.indexer.delete(kind, item_id))
        revision = self.revisions.record(kind, item_id, "delete", current, author, note)
        return EditResult(kind, item_id, "delete", revision, 0, round(time.perf_counter() - started, 3))

    def save_many(
        self,
        items: Sequence[Article | FaqEntry],
        removals: Sequence[tuple[str, str]],
        author: str,
        note: str = "",
        progress: Progress | None = None,
        notes: Mapping[tuple[str, str], str] | None = None,
    ) -> list[EditResult]:
        """Save several items and remove others (kind, id) as one change, as an import does: every new text
        is encoded first, then the files are written and the indexes updated and saved once, and each change
        gets a revision (noted notes[(kind, id)], else note). Items whose text is unchanged are left alone.
        If writing or indexing fails, every file, database row and index entry is put back as it was and the
        error raised. progress(n) is called as texts are encoded."""
        started = time.perf_counter()
        planned: list[tuple[str, str, Article | FaqEntry | None, str | None]] = []
        results: list[EditResult] = []
        for item in items:
            kind = "article" if isinstance(item, Article) else "faq"
            current = self.current_text(kind, item.id)
            if render_item(item) == current:
                results.append(EditResult(kind, item.id, "unchanged", None, 0, 0.0))
            else:
                planned.append((kind, item.id, item, current))
        for kind, item_id in removals:
            current = self.current_text(kind, item_id)
            if current is not None:
                planned.append((kind, item_id, None, current))
        self._check_references([item for _, _, item, _ in planned if item is not None])
        indexer = self.indexer
        indexer.progress = progress
        encoded_before = indexer.report.encoded
        indexer.encode_ahead(
            [i for _, _, i, _ in planned if isinstance(i, Article)],
            [i for _, _, i, _ in planned if isinstance(i, FaqEntry)],
        )
        done: list[tuple[str, str, str | None]] = []
        try:
            for kind, item_id, new, current in planned:
                self._keep_original(kind, item_id, current)
                done.append((kind, item_id, current))
                if new is None:
                    item_path(self.kb_dir, kind, item_id).unlink(missing_ok=True)
                    indexer.delete(kind, item_id)
                else:
                    write_item(self.kb_dir, kind, item_id, render_item(new))
                    indexer.put(new)
            indexer.save()
        except BaseException:
            for kind, item_id, current in reversed(done):
                self._restore(kind, item_id, current)
            self._reindex(done)
            raise
        encoded = indexer.report.encoded - encoded_before
        for kind, item_id, new, current in planned:
            action = "delete" if new is None else "create" if current is None else "update"
            content = render_item(new) if new is not None else current or ""
            revision = self.revisions.record(
                kind, item_id, action, content, author, (notes or {}).get((kind, item_id), note)
            )
            results.append(
                EditResult(kind, item_id, action, revision, encoded, round(time.perf_counter() - started, 3))
            )
        return results

    def _reindex(self, restored: Sequence[tuple[str, str, str | None]]) -> None:
        """After a failed change, bring the database and indexes back to the restored files (their vectors
        are cached: nothing is encoded) and save the indexes. A failure here is logged: the saved indexes
        then disagree with the database, which the retriever reports and 'kefu index build' mends."""
        indexer = self.indexer
        try:
            for kind, item_id, previous in reversed(restored):
                if previous is None:
                    indexer.delete(kind, item_id)
                else:
                    indexer.put(parse_item(kind, item_path(self.kb_dir, kind, item_id), previous))
            indexer.save()
        except Exception:
            log.exception("could not put the database and indexes back after a failed change")

    def _check_references(self, items: Sequence[Article | FaqEntry]) -> None:
        """Every Q&A entry's article exists, or comes in the same change."""
        known = {a.id for a in self.store.articles()} | {i.id for i in items if isinstance(i, Article)}
        for item in items:
            if isinstance(item, FaqEntry) and item.article and item.article not in known:
                raise KnowledgeBaseError(item.id, f"names article '{item.article}', which does not exist", "article")

    def revert(self, revision_id: int, author: str, base: str | None = None) -> EditResult:
        """Make an earlier version the current one (itself a new revision)."""
        revision = self.revisions.get(revision_id)
        if revision is None or revision["action"] == "delete":
            raise ItemNotFound(f"no version #{revision_id} to restore")
        return self.save(
            revision["kind"],
            revision["item_id"],
            revision["content"],
            author,
            f"恢复到版本 #{revision_id}",
            base,
            action="revert",
        )

    def _keep_original(self, kind: str, item_id: str, current: str | None) -> None:
        """Before the first change made here, keep the file as it was, so the history starts from it."""
        if current is not None and not self.revisions.has_history(kind, item_id):
            self.revisions.record(kind, item_id, "initial", current, ORIGINAL_AUTHOR)

    def _index(self, kind: str, item_id: str, previous: str | None, change: Callable[[], None]) -> None:
        """Apply a change to the indexes and save them; if that fails, put the file, its database rows and
        index entries back as they were."""
        try:
            change()
            self.indexer.save()
        except BaseException:
            self._restore(kind, item_id, previous)
            self._reindex([(kind, item_id, previous)])
            raise

    def _restore(self, kind: str, item_id: str, previous: str | None) -> None:
        path = item_path(self.kb_dir, kind, item_id)
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            write_item(self.kb_dir, kind, item_id, previous)


@contextlib.contextmanager
def editing(store: Store, encoders: list[Encoder], settings: Settings) -> Iterator[KnowledgeEditor]:
    """A knowledge editor for one change, holding the database's named lock 'index' (one change at a time
    across every process and machine on the database) and starting from the database's index: if another
    instance saved since this one's copies were saved, they are brought up to date first from the embedding
    cache (IndexStaleError if a vector is missing), so a save never writes an index lacking the other's change."""
    indexer = Indexer(store, encoders, settings)
    with indexer.locked():
        indexer.reload()
        indexer.catch_up()
        yield KnowledgeEditor(store, indexer, settings.kb_dir)
