"""Keeping the store and the vector indexes in step with the knowledge base.

Only what changed is chunked and encoded: an article whose content hash is
unchanged is skipped, and within a changed article a passage whose text is
unchanged comes from the embedding cache. Indexes are saved atomically.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from indexer.chunker import chunk_article, passage_context
from indexer.vector_index import IndexError_, VectorIndex
from kb.model import Article, FaqEntry, content_hash

PASSAGE_INDEX = "passages.kfi"
FAQ_INDEX = "faq.kfi"


def phrasing_id(entry_id: str, phrasing: str) -> int:
    """Stable 63-bit id of one phrasing of a Q&A entry."""
    return int(content_hash(entry_id, phrasing)[:16], 16) >> 1


@dataclass
class BuildReport:
    """What a sync changed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    faqs_changed: list[str] = field(default_factory=list)
    faqs_removed: list[str] = field(default_factory=list)
    encoded: int = 0
    passages: int = 0
    phrasings: int = 0
    seconds: float = 0.0
    rebuilt: bool = False

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return dict(self.__dict__)


class Indexer:
    """Applies knowledge-base changes to the store and the two vector indexes."""

    def __init__(self, store, encoder, settings, progress: Callable[[int], None] | None = None):
        self.store, self.encoder, self.settings, self.progress = store, encoder, settings, progress
        self.report = BuildReport()
        self.passage_index = self._load_or_none(PASSAGE_INDEX)
        self.faq_index = self._load_or_none(FAQ_INDEX)

    def _path(self, name: str) -> Path:
        return self.settings.index_dir / name

    def _load_or_none(self, name: str) -> VectorIndex | None:
        try:
            return VectorIndex.load(self._path(name), model=self.encoder.model_name)
        except IndexError_:
            return None  # missing, unreadable or another model's: rebuilt from the store below

    def _fresh(self, count: int, dim: int) -> VectorIndex:
        s = self.settings
        return VectorIndex.for_size(dim, count, s.index_kind, s.ann_threshold, s.ivf_nprobe,
                                    model=self.encoder.model_name)

    # Articles -------------------------------------------------------------------

    def _passage_vectors(self, passages) -> np.ndarray:
        return self.encoder.encode_cached([p.context for p in passages], "passage", self.store, self.progress)

    def put_article(self, article: Article) -> None:
        """Store an article and index its passages, encoding only new passage texts."""
        s = self.settings
        passages = chunk_article(article, s.chunk_min_chars, s.chunk_max_chars)
        old = self.store.passage_ids(article.id)
        new_ids = [p.id for p in passages]
        before = self.encoder.encoded
        vectors = self._passage_vectors(passages)
        self.report.encoded += self.encoder.encoded - before
        if self.passage_index is None and len(vectors):
            self.passage_index = self._fresh(len(vectors), vectors.shape[1])
        if self.passage_index is not None:
            self.passage_index.remove(list(old - set(new_ids)))
            if passages:
                self.passage_index.add(new_ids, vectors)
        with self.store.db.conn:
            self.store.put_article(article)
            self.store.replace_passages(article.id, passages)

    def delete_article(self, article_id: str) -> None:
        """Remove an article, its passages and their vectors."""
        if self.passage_index is not None:
            self.passage_index.remove(list(self.store.passage_ids(article_id)))
        with self.store.db.conn:
            self.store.delete_article(article_id)

    # Q&A entries ---------------------------------------------------------------

    def _phrasing_ids(self, entry: FaqEntry) -> list[int]:
        return [phrasing_id(entry.id, q) for q in entry.phrasings]

    def put_faq(self, entry: FaqEntry) -> None:
        """Store a Q&A entry and index each of its phrasings."""
        stored = {e.id: e for e in self.store.faqs()}
        old = set(self._phrasing_ids(stored[entry.id])) if entry.id in stored else set()
        ids = self._phrasing_ids(entry)
        before = self.encoder.encoded
        vectors = self.encoder.encode_cached(entry.phrasings, "faq", self.store)
        self.report.encoded += self.encoder.encoded - before
        if self.faq_index is None:
            self.faq_index = VectorIndex(vectors.shape[1], "flat", model=self.encoder.model_name)
        self.faq_index.remove(list(old - set(ids)))
        self.faq_index.add(ids, vectors)
        with self.store.db.conn:
            self.store.put_faq(entry)

    def delete_faq(self, entry_id: str) -> None:
        """Remove a Q&A entry and its phrasings' vectors."""
        stored = {e.id: e for e in self.store.faqs()}
        if entry_id in stored and self.faq_index is not None:
            self.faq_index.remove(self._phrasing_ids(stored[entry_id]))
        with self.store.db.conn:
            self.store.delete_faq(entry_id)

    # Whole knowledge base ---------------------------------------------------------

    def _rebuild_if_needed(self) -> bool:
        """Rebuild an index from cached vectors when it is missing, stale or the wrong kind."""
        rows = self.store.passages()
        ids = [r["id"] for r in rows]
        index = self.passage_index
        want_kind = self.settings.index_kind
        if want_kind == "auto":
            want_kind = "ivf" if len(ids) >= self.settings.ann_threshold else "flat"
        if index is not None and len(index) == len(ids) and all(i in index for i in ids) \
                and index.kind == want_kind:
            return False
        contexts = [passage_context(r["title"], r["section"], r["text"]) for r in rows]
        vectors = self.encoder.encode_cached(contexts, "passage", self.store, self.progress)
        self.passage_index = self._fresh(len(ids), vectors.shape[1] if len(ids) else 1)
        if ids:
            self.passage_index.add(ids, vectors)
        return True

    def sync(self, articles: list[Article], faqs: list[FaqEntry]) -> BuildReport:
        """Make the store and indexes match these articles and entries; save the indexes."""
        started = time.perf_counter()
        self.report = BuildReport()
        stored = self.store.article_hashes()
        wanted = {a.id for a in articles}
        for article_id in sorted(set(stored) - wanted):
            self.delete_article(article_id)
            self.report.removed.append(article_id)
        for article in articles:
            if stored.get(article.id) != article.hash:
                (self.report.changed if article.id in stored else self.report.added).append(article.id)
                self.put_article(article)
        stored_faqs = self.store.faq_hashes()
        for entry_id in sorted(set(stored_faqs) - {e.id for e in faqs}):
            self.delete_faq(entry_id)
            self.report.faqs_removed.append(entry_id)
        if self.faq_index is None:
            stored_faqs = {}  # no usable index: re-add every entry (vectors come from the cache)
        for entry in faqs:
            if stored_faqs.get(entry.id) != entry.hash:
                self.put_faq(entry)
                self.report.faqs_changed.append(entry.id)
        self.report.rebuilt = self._rebuild_if_needed()
        self.save()
        self.report.passages = len(self.passage_index) if self.passage_index else 0
        self.report.phrasings = len(self.faq_index) if self.faq_index else 0
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def save(self) -> None:
        """Save both indexes atomically and record their metadata in the store."""
        for name, index in ((PASSAGE_INDEX, self.passage_index), (FAQ_INDEX, self.faq_index)):
            if index is not None:
                index.save(self._path(name))
                self.store.set_index_state(name, index.meta)

