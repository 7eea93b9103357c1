"""Keeping the store and the vector indexes in step with the knowledge base.

Only what changed is chunked and encoded: an article whose content hash is
unchanged is skipped, and within a changed article a passage whose text is
unchanged comes from the embedding cache. Each configured model is a dense
leg with its own pair of indexes (passages, Q&A phrasings), saved atomically.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.chunker import CHUNKING, chunk_article
from indexer.encoder import Encoder
from indexer.settings import Settings
from indexer.stale_files import StaleKnowledgeFiles, stale_files
from indexer.vector_index import IndexError_, VectorIndex
from kb.model import Article, FaqEntry, Passage, content_hash
from kb.store import Store

Progress = Callable[[int], Any]
CHUNKING_STATE = "chunking"  # the store's record of the chunking rules the passages were made with
INDEX_LOCK = "index"  # the database's named lock: one change to the knowledge base and its index at a time


class IndexStaleError(RuntimeError):
    """The index cannot be made to match the database here (a vector it needs is not in the embedding
    cache, or the store changed while loading): it needs 'kefu index build'."""


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
    rechunked: bool = False  # every article chunked again: the chunking rules changed since the last build

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return dict(self.__dict__)


class Indexer:
    """Applies knowledge-base changes to the store and every dense leg's indexes."""

    def __init__(self, store: Store, encoders: list[Encoder], settings: Settings, progress: Progress | None = None):
        self.store, self.settings, self.progress = store, settings, progress
        self.report = BuildReport()
        self.legs = [DenseLeg(e, *self._load(e.model_name)) for e in encoders]
        self._held = 0  # how deep this indexer is inside its own hold of the named lock (see locked)

    def _load(self, model: str) -> tuple[VectorIndex | None, VectorIndex | None]:
        """This instance's saved copies, each None when missing, unreadable, another model's or older than
        the one the database records (another instance saved since): rebuilt from the store."""
        loaded: list[VectorIndex | None] = []
        for path in index_paths(self.settings.index_dir, model):
            try:
                index: VectorIndex | None = VectorIndex.load(path, model=model)
            except IndexError_:
                index = None
            recorded = self.store.index_state(path.name)
            if index is not None and recorded is not None and recorded.get("built_at") != index.built_at:
                index = None
            loaded.append(index)
        return loaded[0], loaded[1]

    def reload(self) -> None:
        """Load this instance's saved copies again (another process may have brought them up to date)."""
        self.legs = [DenseLeg(leg.encoder, *self._load(leg.model)) for leg in self.legs]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the database's named lock 'index' (one change to the knowledge base and its index at a time,
        across processes and machines); reentrant for this indexer only."""
        if self._held:
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
            return
        with self.store.db.named_lock(INDEX_LOCK):
            self._held = 1
            try:
                yield
            finally:
                self._held = 0

    def catch_up(self) -> bool:
        """Bring this instance's indexes to the database's state (another instance may have saved since they
        were loaded), from the embedding cache: nothing is encoded (IndexStaleError if a vector is missing).
        A change starts here, under locked(), so it never saves an index that lacks another's change."""
        return self._rebuild_stale(encode=False)

    def _fresh(self, model: str, count: int, dim: int) -> VectorIndex:
        s = self.settings
        return VectorIndex.for_size(dim, count, s.index_kind, s.ann_threshold, s.ivf_nprobe, model=model)

    def _cached(self, leg: DenseLeg, texts: list[str], kind: str) -> np.ndarray:
        """The texts' vectors from the embedding cache, under the key encode_cached uses; encodes nothing."""
        keys = [leg.encoder.cache_key(t, kind) for t in texts]
        cached = self.store.cached_embeddings(leg.model, keys)
        missing = len(set(keys) - set(cached))
        if missing:
            raise IndexStaleError(
                f"{missing} {kind} texts have no {leg.model} vector in the database's embedding cache, so this "
                "instance cannot build its index from the database: run 'kefu index build'"
            )
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cached[k] for k in keys]).astype(np.float32)

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

    def _wanted(self) -> tuple[list[Passage], str, dict[int, str]]:
        """The database's passages, the index kind they call for, and {phrasing id: phrasing}."""
        passages = self.store.passages()
        want = self.settings.index_kind
        if want == "auto":
            want = "ivf" if len(passages) >= self.settings.ann_threshold else "flat"
        phrasings = {phrasing_id(e.id, q): q for e in self.store.faqs() for q in e.phrasings}
        return passages, want, phrasings

    @staticmethod
    def _stale(index: VectorIndex | None, ids: Collection[int], kind: str | None = None) -> bool:
        return (
            index is None
            or len(index) != len(ids)
            or (kind is not None and index.kind != kind)
            or not all(i in index for i in ids)
        )

    def matches_database(self) -> bool:
        """Every leg's indexes hold exactly the database's passages and Q&A phrasings, of the right kind."""
        passages, want, phrasings = self._wanted()
        ids = [p.id for p in passages]
        return not any(
            self._stale(leg.passages, ids, want) or (phrasings and self._stale(leg.faq, phrasings)) for leg in self.legs
        )

    def _rebuild_stale(self, encode: bool = True) -> bool:
        """Rebuild, from cached vectors, any index that is missing, stale or the wrong kind; encode False:
        a vector missing from the cache is an IndexStaleError rather than encoded."""
        passages, want, phrasings = self._wanted()
        ids = [p.id for p in passages]
        rebuilt = False
        for leg in self.legs:
            if self._stale(leg.passages, ids, want):
                texts = [p.context for p in passages]
                if encode:
                    vectors = self._encode(leg, texts, "passage", self.progress)
                else:
                    vectors = self._cached(leg, texts, "passage")
                leg.passages = self._fresh(leg.model, len(ids), vectors.shape[1] if ids else 1)
                if ids:
                    leg.passages.add(ids, vectors)
                rebuilt = True
            if phrasings and self._stale(leg.faq, phrasings):
                texts = list(phrasings.values())
                vectors = self._encode(leg, texts, "faq") if encode else self._cached(leg, texts, "faq")
                leg.faq = VectorIndex(vectors.shape[1], "flat", model=leg.model)
                leg.faq.add(list(phrasings), vectors)
                rebuilt = True
        return rebuilt

    def sync(self, articles: list[Article], faqs: list[FaqEntry], force: bool = False) -> BuildReport:
        """Make the store and indexes match these articles and entries; save the indexes. Raises
        StaleKnowledgeFiles, changing nothing, when they would undo curators' saves the database holds
        (files from a machine that did not take them); force: take these files anyway."""
        started = time.perf_counter()
        self.report = BuildReport()
        stored = self.store.article_hashes()
        stored_faqs = self.store.faq_hashes()
        self._refuse_stale(articles, faqs, force)  # before encoding, the slow part
        rechunk = self.rechunk_needed()
        changed = [a for a in articles if rechunk or stored.get(a.id) != a.hash]
        changed_faqs = [e for e in faqs if stored_faqs.get(e.id) != e.hash]
        self.encode_ahead(changed, changed_faqs)
        with self.locked():
            self.reload()  # as the database has them now: another instance may have saved meanwhile
            self._refuse_stale(articles, faqs, force)  # and again for a save taken while encoding
            self._apply(articles, faqs, self.store.article_hashes(), self.store.faq_hashes(), rechunk)
        self.report.passages = len(self.store.passages())
        self.report.phrasings = sum(len(e.phrasings) for e in self.store.faqs())
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def _refuse_stale(self, articles: list[Article], faqs: list[FaqEntry], force: bool) -> None:
        stale = [] if force else stale_files(self.store, articles, faqs)
        if stale:
            raise StaleKnowledgeFiles(stale, self.settings.timezone)

    def rechunk_needed(self) -> bool:
        """Whether the stored passages were made by other chunking rules than indexer.chunker.CHUNKING's (or
        none are recorded): the next sync chunks every article again, its unchanged texts from the cache."""
        return (self.store.index_state(CHUNKING_STATE) or {}).get("version") != CHUNKING

    def _apply(
        self,
        articles: list[Article],
        faqs: list[FaqEntry],
        stored: dict[str, str],
        stored_faqs: dict[str, str],
        rechunk: bool = False,
    ) -> None:
        for article_id in sorted(set(stored) - {a.id for a in articles}):
            self.delete_article(article_id)
            self.report.removed.append(article_id)
        for article in articles:
            if stored.get(article.id) != article.hash:
                (self.report.changed if article.id in stored else self.report.added).append(article.id)
                self.put_article(article)
            elif rechunk:
                self.put_article(article)
        if rechunk:
            self.store.set_index_state(CHUNKING_STATE, {"version": CHUNKING})
            self.report.rechunked = bool(stored)  # a new database's first build chunks, it does not chunk again
        for entry_id in sorted(set(stored_faqs) - {e.id for e in faqs}):
            self.delete_faq(entry_id)
            self.report.faqs_removed.append(entry_id)
        for entry in faqs:
            if stored_faqs.get(entry.id) != entry.hash:
                self.put_faq(entry)
                self.report.faqs_changed.append(entry.id)
        self.report.rebuilt = self._rebuild_stale()
        self.save()

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
        """Save every leg's indexes atomically and record their metadata in the store, which moves the index
        stamp: every instance then brings its own copy up to date (local_legs)."""
        with self.locked():
            for leg in self.legs:
                for path, index in zip(index_paths(self.settings.index_dir, leg.model), (leg.passages, leg.faq)):
                    if index is not None:
                        index.save(path)
                        self.store.set_index_state(path.name, index.meta)

    def save_local(self) -> None:
        """Save this instance's copies, each with the build time the database records for it (so the copy
        counts as current), without touching the store; an index the database has no record of, or whose
        record counts other vectors (a build killed between its database commit and its save), is saved
        and recorded as by save, so that every instance notices."""
        with self.locked():
            for leg in self.legs:
                for path, index in zip(index_paths(self.settings.index_dir, leg.model), (leg.passages, leg.faq)):
                    if index is None:
                        continue
                    recorded = self.store.index_state(path.name)
                    if recorded is None or recorded.get("count") != len(index) or recorded.get("kind") != index.kind:
                        index.save(path)
                        self.store.set_index_state(path.name, index.meta)
                    else:
                        index.save(path, built_at=recorded.get("built_at"))


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
            elif (store.index_state(path.name) or {}).get("built_at", index.built_at) != index.built_at:
                problems.append(
                    f"the index {path} is older than the one the database records (another instance saved "
                    "since): run 'kefu index check --repair', or let the servers rebuild it when they load"
                )
    return problems


def _current(store: Store, encoders: list[Encoder], settings: Settings) -> tuple[Indexer, bool]:
    """An indexer whose legs match the database, and whether anything had to be rebuilt for it."""
    indexer = Indexer(store, encoders, settings)
    if indexer.matches_database():
        return indexer, False
    with indexer.locked():  # another instance's change finishes first; then the copies are loaded again
        indexer.reload()
        loaded = [index for leg in indexer.legs for index in (leg.passages, leg.faq)]
        rebuilt = indexer.catch_up()
        now = [index for leg in indexer.legs for index in (leg.passages, leg.faq)]
        if any(old is not None and old is not new for old, new in zip(loaded, now)):
            # A copy as recorded did not match the database: a change was killed between its commit and its
            # save. Recorded anew, so that every instance notices (the stamp moves) and reloads.
            indexer.save()
        elif rebuilt:
            indexer.save_local()
    return indexer, rebuilt


def repair_index(store: Store, encoders: list[Encoder], settings: Settings) -> bool:
    """Rebuild any of this instance's indexes that is missing, unreadable, another model's or out of step
    with the database, from the database's passages and Q&A phrasings and the embedding cache (kb/ is not
    read, nothing is encoded: a missing vector is an IndexStaleError), and save it in index_dir; True if
    anything was rebuilt. A new machine's empty index folder, another instance's save, or a build or edit
    killed between its database commit and its index save each leave exactly this."""
    return _current(store, encoders, settings)[1]


def local_legs(store: Store, encoders: list[Encoder], settings: Settings) -> list[DenseLeg]:
    """Each encoder's indexes as the database has them: this instance's saved copies when they match it,
    else rebuilt from the database and saved (repair_index). Raises IndexStaleError (a vector missing
    from the embedding cache)."""
    return _current(store, encoders, settings)[0].legs
