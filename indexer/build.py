"""Keeping the store and the vector indexes in step with the knowledge base.

Only what changed is chunked and encoded: an article whose content hash is
unchanged is skipped, and within a changed article a passage whose text is
unchanged comes from the embedding cache. Each configured model is a dense
leg with its own pair of indexes (passages, Q&A phrasings), saved atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.chunker import chunk_article
from indexer.encoder import Encoder
from indexer.settings import Settings
from indexer.vector_index import IndexError_, VectorIndex
from kb.model import Article, FaqEntry, content_hash
from kb.store import Store

Progress = Callable[[int], Any]


def phrasing_id(entry_id: str, phrasing: str) -> int:
    """Stable 63-bit id of one phrasing of a Q&A entry."""
    return int(content_hash(entry_id, phrasing)[:16], 16) >> 1


def index_paths(index_dir: Path, model: str) -> tuple[Path, Path]:
    """Where a model's passage index and Q&A index are saved."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
    return index_dir / f"passages-{slug}.kfi", index_dir / f"faq-{slug}.kfi"


@dataclass
class DenseLeg:
    """One model with its passage index and Q&A-phrasing index (None until built)."""

    encoder: Encoder
    passages: VectorIndex | None
    faq: VectorIndex | None

    @property
    def model(self) -> str:
        """The model's name."""
        return self.encoder.model_name


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
    """Applies knowledge-base changes to the store and every dense leg's indexes."""

    def __init__(self, store: Store, encoders: list[Encoder], settings: Settings, progress: Progress | None = None):
        self.store, self.settings, self.progress = store, settings, progress
        self.report = BuildReport()
        self.legs = [DenseLeg(e, *self._load(e.model_name)) for e in encoders]

    def _load(self, model: str) -> tuple[VectorIndex | None, VectorIndex | None]:
        loaded: list[VectorIndex | None] = []
        for path in index_paths(self.settings.index_dir, model):
            try:
                loaded.append(VectorIndex.load(path, model=model))
            except IndexError_:
                loaded.append(None)  # missing, unreadable or another model's: rebuilt from the store
        return loaded[0], loaded[1]

    def _fresh(self, model: str, count: int, dim: int) -> VectorIndex:
        s = self.settings
        return VectorIndex.for_size(dim, count, s.index_kind, s.ann_threshold, s.ivf_nprobe, model=model)

    def _encode(self, leg: DenseLeg, texts: list[str], kind: str, progress: Progress | None = None) -> np.ndarray:
        before = leg.encoder.encoded
        vectors = leg.encoder.encode_cached(texts, kind, self.store, progress)
        self.report.encoded += leg.encoder.encoded - before
        return vectors

    # Articles -------------------------------------------------------------------

    def put_article(self, article: Article) -> None:
        """Store an article and index its passages, encoding only new passage texts."""
        passages = chunk_article(article, self.settings.chunk_min_chars, self.settings.chunk_max_chars)
        old = self.store.passage_ids(article.id)
        new_ids = [p.id for p in passages]
        for leg in self.legs:
            vectors = self._encode(leg, [p.context for p in passages], "passage", self.progress)
            # Without an index yet, the vectors wait in the cache: _rebuild_stale builds the whole
            # index at once, sized (and for IVF trained) on every passage, not on one article.
            if leg.passages is not None:
                leg.passages.remove(list(old - set(new_ids)))
                if passages:
                    leg.passages.add(new_ids, vectors)
        with self.store.transaction():
            self.store.put_article(article)
            self.store.replace_passages(article.id, passages)

    def delete_article(self, article_id: str) -> None:
        """Remove an article, its passages and their vectors."""
        ids = list(self.store.passage_ids(article_id))
        for leg in self.legs:
            if leg.passages is not None:
                leg.passages.remove(ids)
        with self.store.transaction():
            self.store.delete_article(article_id)

    # Q&A entries ---------------------------------------------------------------

    def _stored_phrasing_ids(self, entry_id: str) -> set[int]:
        stored = self.store.faq(entry_id)
        return {phrasing_id(stored.id, q) for q in stored.phrasings} if stored else set()

    def put_faq(self, entry: FaqEntry) -> None:
        """Store a Q&A entry and index each of its phrasings."""
        old = self._stored_phrasing_ids(entry.id)
        ids = [phrasing_id(entry.id, q) for q in entry.phrasings]
        for leg in self.legs:
            vectors = self._encode(leg, entry.phrasings, "faq")
            if leg.faq is None:
                leg.faq = VectorIndex(vectors.shape[1], "flat", model=leg.model)
            leg.faq.remove(list(old - set(ids)))
            leg.faq.add(ids, vectors)
        with self.store.transaction():
            self.store.put_faq(entry)

    def delete_faq(self, entry_id: str) -> None:
        """Remove a Q&A entry and its phrasings' vectors."""
        old = list(self._stored_phrasing_ids(entry_id))
        for leg in self.legs:
            if leg.faq is not None:
                leg.faq.remove(old)
        with self.store.transaction():
            self.store.delete_faq(entry_id)

    def put(self, item: Article | FaqEntry) -> None:
        """Store and index an article or a Q&A entry."""
        if isinstance(item, Article):
            self.put_article(item)
        else:
            self.put_faq(item)

    def delete(self, kind: str, item_id: str) -> None:
        """Remove an article ('article') or a Q&A entry ('faq') and its vectors."""
        if kind == "article":
            self.delete_article(item_id)
        else:
            self.delete_faq(item_id)

    # Whole knowledge base ---------------------------------------------------------

    def _rebuild_stale(self) -> bool:
        """Rebuild, from cached vectors, any index that is missing, stale or the wrong kind."""
        passages = self.store.passages()
        ids = [p.id for p in passages]
        want = self.settings.index_kind
        if want == "auto":
            want = "ivf" if len(ids) >= self.settings.ann_threshold else "flat"
        faqs = self.store.faqs()
        phrasings = {phrasing_id(e.id, q): q for e in faqs for q in e.phrasings}
        rebuilt = False
        for leg in self.legs:
            p = leg.passages
            if p is None or len(p) != len(ids) or p.kind != want or not all(i in p for i in ids):
                vectors = self._encode(leg, [p.context for p in passages], "passage", self.progress)
                leg.passages = self._fresh(leg.model, len(ids), vectors.shape[1] if ids else 1)
                if ids:
                    leg.passages.add(ids, vectors)
                rebuilt = True
            f = leg.faq
            if phrasings and (f is None or len(f) != len(phrasings) or not all(i in f for i in phrasings)):
                vectors = self._encode(leg, list(phrasings.values()), "faq")
                leg.faq = VectorIndex(vectors.shape[1], "flat", model=leg.model)
                leg.faq.add(list(phrasings), vectors)
                rebuilt = True
        return rebuilt

    def sync(self, articles: list[Article], faqs: list[FaqEntry]) -> BuildReport:
        """Make the store and indexes match these articles and entries; save the indexes."""
        started = time.perf_counter()
        self.report = BuildReport()
        stored = self.store.article_hashes()
        stored_faqs = self.store.faq_hashes()
        changed = [a for a in articles if stored.get(a.id) != a.hash]
        changed_faqs = [e for e in faqs if stored_faqs.get(e.id) != e.hash]
        self.encode_ahead(changed, changed_faqs)
        for article_id in sorted(set(stored) - {a.id for a in articles}):
            self.delete_article(article_id)
            self.report.removed.append(article_id)
        for article in articles:
            if stored.get(article.id) != article.hash:
                (self.report.changed if article.id in stored else self.report.added).append(article.id)
                self.put_article(article)
        for entry_id in sorted(set(stored_faqs) - {e.id for e in faqs}):
            self.delete_faq(entry_id)
            self.report.faqs_removed.append(entry_id)
        for entry in faqs:
            if stored_faqs.get(entry.id) != entry.hash:
                self.put_faq(entry)
                self.report.faqs_changed.append(entry.id)
        self.report.rebuilt = self._rebuild_stale()
        self.save()
        self.report.passages = len(self.store.passages())
        self.report.phrasings = sum(len(e.phrasings) for e in self.store.faqs())
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def encode_ahead(self, articles: list[Article], faqs: list[FaqEntry]) -> None:
        """Encode every new text first (into the embedding cache) and only then change the store and
        indexes, which is quick: a build killed while encoding, the slow part, has changed nothing,
        and the saved indexes keep matching the database."""
        contexts = [
            p.context
            for a in articles
            for p in chunk_article(a, self.settings.chunk_min_chars, self.settings.chunk_max_chars)
        ]
        phrasings = [q for e in faqs for q in e.phrasings]
        for leg in self.legs:
            if contexts:
                self._encode(leg, contexts, "passage", self.progress)
            if phrasings:
                self._encode(leg, phrasings, "faq")

    def save(self) -> None:
        """Save every leg's indexes atomically and record their metadata in the store."""
        with index_lock(self.settings.index_dir):
            self._save()

    def _save(self) -> None:
        for leg in self.legs:
            for path, index in zip(index_paths(self.settings.index_dir, leg.model), (leg.passages, leg.faq)):
                if index is not None:
                    index.save(path)
                    self.store.set_index_state(path.name, index.meta)


def check_index(store: Store, settings: Settings) -> list[str]:
    """Problems that would stop the saved indexes from serving (empty when they are fine): a missing,
    unreadable or other-model file, or one that does not match the database. Loads no model."""
    problems = []
    passage_ids = {p.id for p in store.passages()}
    phrasing_ids = {phrasing_id(e.id, q) for e in store.faqs() for q in e.phrasings}
    if not passage_ids:
        return ["the database holds no passages: run 'kefu index build'"]
    for model in settings.models:
        for path, wanted in zip(index_paths(settings.index_dir, model), (passage_ids, phrasing_ids)):
            if not wanted and not path.exists():
                continue
            try:
                index = VectorIndex.load(path, model=model)
            except IndexError_ as exc:
                problems.append(str(exc))
                continue
            if len(index) != len(wanted) or not all(i in index for i in wanted):
                problems.append(
                    f"the index {path} does not match the database ({len(index)} vectors for "
                    f"{len(wanted)} items): run 'kefu index build'"
                )
    return problems


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """One writer of the index files at a time across processes (web app, action server, kefu)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def repair_index(store: Store, encoders: list[Encoder], settings: Settings) -> bool:
    """Rebuild any index that is missing, unreadable, another model's or out of step with the database,
    from the database and the embedding cache (kb/ is not read); True if anything was rebuilt.
    A build or an edit killed between its database commit and its index save leaves exactly this."""
    with index_lock(settings.index_dir):
        indexer = Indexer(store, encoders, settings)
        rebuilt = indexer._rebuild_stale()
        if rebuilt:
            indexer._save()  # the lock is held already
    return rebuilt
