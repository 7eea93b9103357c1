"""The retriever: dense (FAISS) and lexical (BM25) legs fused, plus Q&A matching and a decision.

Articles' passages and curated Q&A entries are ranked together: a Q&A entry is
found through its question and alternative phrasings (question-to-question)
and answers with its own text. The decision to answer or abstain comes from a
calibrated confidence (indexer.decision), not a raw cosine cut-off.
"""
from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np

from indexer.build import FAQ_INDEX, PASSAGE_INDEX, phrasing_id
from indexer.chunker import passage_context
from indexer.decision import Calibration, Decision, features_for
from indexer.fusion import reciprocal_rank_fusion
from indexer.lexical import LexicalIndex, Tokenizer, cjk_share
from indexer.snippets import make_snippet
from indexer.vector_index import IndexMissingError, VectorIndex
from kb.loader import user_dictionary

MAX_QUERY_CHARS = 1000
CANDIDATES = 50


class QueryError(ValueError):
    """The question cannot be searched (for example, it is empty)."""


class IndexStaleError(RuntimeError):
    """The saved index does not match the store: it needs a rebuild."""


def clean_query(text: object) -> str:
    """Normalise a question: text only, no control characters, trimmed, at most MAX_QUERY_CHARS."""
    if not isinstance(text, str):
        raise QueryError("the question must be text")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QueryError("the question is empty")
    return text[:MAX_QUERY_CHARS]


@dataclass
class Hit:
    """One ranked answer candidate: a passage, or a curated Q&A entry."""

    kind: str
    id: str
    article_id: str
    title: str
    section: str
    clause: str | None
    text: str
    snippet: str
    highlights: list[tuple[int, int]]
    score: float
    dense: float
    lexical: float
    question: str | None = None

    @property
    def snippet_marked(self) -> str:
        """The snippet with matched words in 【】."""
        out, last = [], 0
        for a, b in self.highlights:
            out += [self.snippet[last:a], "【", self.snippet[a:b], "】"]
            last = b
        return "".join(out + [self.snippet[last:]])


@dataclass
class SearchResult:
    """Ranked hits and the decision to answer or abstain."""

    query: str
    hits: list[Hit]
    decision: Decision
    ms: float = 0.0
    features: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"query": self.query, "decision": asdict(self.decision), "ms": round(self.ms, 2),
                "hits": [{**asdict(h), "snippet_marked": h.snippet_marked} for h in self.hits]}


class Retriever:
    """Searches the knowledge base; built once per process and shared."""

    def __init__(self, encoder, passages: list[dict], faqs: list, passage_index: VectorIndex,
                 faq_index: VectorIndex | None, tokenizer: Tokenizer, calibration: Calibration,
                 fusion: str = "rrf", rrf_k: int = 60, lexical_weight: float = 1.0, top_k: int = 5):
        self.encoder, self.tokenizer, self.calibration = encoder, tokenizer, calibration
        self.fusion, self.rrf_k, self.lexical_weight, self.top_k = fusion, rrf_k, lexical_weight, top_k
        self.passages = {p["id"]: p for p in passages}
        self.faqs = {e.id: e for e in faqs}
        self.phrasing_owner = {phrasing_id(e.id, q): (e.id, q) for e in faqs for q in e.phrasings}
        self.passage_index, self.faq_index = passage_index, faq_index
        self.passage_lexical = LexicalIndex(tokenizer).build(
            list(self.passages), [passage_context(p["title"], p["section"], p["text"]) for p in passages])
        self.faq_lexical = LexicalIndex(tokenizer).build(
            list(self.phrasing_owner), [q for _, q in self.phrasing_owner.values()])

    @classmethod
    def load(cls, store, encoder, settings, calibration: Calibration | None = None) -> "Retriever":
        """Load the saved indexes and the store's passages; refuse a stale or mismatched index."""
        passages, faqs = store.passages(), store.faqs()
        passage_index = VectorIndex.load(settings.index_dir / PASSAGE_INDEX, model=encoder.model_name)
        passage_index.nprobe = settings.ivf_nprobe
        if len(passage_index) != len(passages) or any(p["id"] not in passage_index for p in passages):
            raise IndexStaleError(f"the index at {settings.index_dir} does not match the database "
                                  f"({len(passage_index)} vectors, {len(passages)} passages): run 'kefu index build'")
        try:
            faq_index = VectorIndex.load(settings.index_dir / FAQ_INDEX, model=encoder.model_name)
        except IndexMissingError:
            faq_index = None
        if faqs and (faq_index is None or len(faq_index) != sum(len(e.phrasings) for e in faqs)):
            raise IndexStaleError("the Q&A index does not match the database: run 'kefu index build'")
        calibration = calibration or Calibration.load(settings.kb_dir, encoder.model_name, settings.answer_threshold)
        return cls(encoder, passages, faqs, passage_index, faq_index, Tokenizer(user_dictionary(settings.kb_dir)),
                   calibration, settings.fusion, settings.rrf_k, settings.lexical_weight, settings.top_k)

    def _dense(self, qvec: np.ndarray, index: VectorIndex | None) -> tuple[np.ndarray, np.ndarray]:
        if index is None or not len(index):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = index.search(qvec, CANDIDATES)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Rank passages and Q&A entries for a question and decide whether to answer."""
        started = time.perf_counter()
        query = clean_query(query)
        k = k or self.top_k
        tokens = self.tokenizer.tokens(query)
        qvec = self.encoder.encode([query], "query")
        # Lexical matching only helps where the question shares the documents' language.
        lex_w = self.lexical_weight if cjk_share(query) >= 0.5 else 0.0

        p_dense = self._dense(qvec, self.passage_index)
        p_lex = self.passage_lexical.top(tokens, CANDIDATES)
        dense_of = {("p", int(i)): float(s) for s, i in zip(*p_dense)}
        lex_of = {("p", int(i)): float(s) for s, i in zip(*p_lex)}
        faq_dense = self._faq_ranking(*self._dense(qvec, self.faq_index), dense_of)
        faq_lex = self._faq_ranking(*self.faq_lexical.top(tokens, CANDIDATES), lex_of)
        dense_w = 0.0 if self.fusion == "bm25" else 1.0
        lex_w = {"bm25": 1.0, "dense": 0.0}.get(self.fusion, lex_w)
        fused = reciprocal_rank_fusion([
            (dense_w, [("p", int(i)) for i in p_dense[1]]),
            (lex_w, [("p", int(i)) for i in p_lex[1]]),
            (dense_w, faq_dense),
            (lex_w, faq_lex),
        ], k=self.rrf_k)

        hits = [self._hit(key, score, dense_of.get(key, 0.0), lex_of.get(key, 0.0), tokens)
                for key, score in fused[:max(k, 10)]]
        feats = features_for(query, tokens, hits, p_dense[0])
        decision = self.calibration.decide(feats)
        return SearchResult(query, hits[:k] if k else hits, decision,
                            (time.perf_counter() - started) * 1000, feats)

    def _faq_ranking(self, scores, ids, score_of: dict) -> list[tuple[str, str]]:
        """Q&A entries ranked by their best phrasing; records each entry's best score."""
        ranked: list[tuple[str, str]] = []
        for s, pid in sorted(zip(scores.tolist(), ids.tolist()), key=lambda t: -t[0]):
            entry_id, _ = self.phrasing_owner[int(pid)]
            key = ("f", entry_id)
            if key not in ranked:
                ranked.append(key)
                score_of[key] = float(s)
        return ranked

    def _hit(self, key, score: float, dense: float, lexical: float, tokens: list[str]) -> Hit:
        kind, ident = key
        if kind == "p":
            p = self.passages[ident]
            clause = p["clauses"][0] if len(p["clauses"]) == 1 else (
                f"{p['clauses'][0]}–{p['clauses'][-1]}" if p["clauses"] else None)
            snip = make_snippet(p["text"], tokens)
            return Hit("passage", str(ident), p["article_id"], p["title"], p["section"], clause, p["text"],
                       snip.text, list(snip.highlights), score, dense, lexical)
        e = self.faqs[ident]
        article = next((p for p in self.passages.values() if p["article_id"] == e.article), None)
        snip = make_snippet(e.answer, tokens)
        return Hit("faq", e.id, e.article, article["title"] if article else e.article, e.section or "",
                   e.clause, e.answer, snip.text, list(snip.highlights), score, dense, lexical, e.question)


def question_pool_retriever(encoder, questions: list[str], store, tokenizer: Tokenizer, calibration: Calibration,
                            fusion: str = "rrf", rrf_k: int = 60, lexical_weight: float = 1.0) -> Retriever:
    """A retriever over bare questions (a FAQ pool), through the same Q&A path as curated entries."""
    from kb.model import FaqEntry

    entries = [FaqEntry(id=f"q{i}", question=q, answer=q, article="pool") for i, q in enumerate(questions)]
    vectors = encoder.encode_cached(questions, "faq", store)
    faq_index = VectorIndex(vectors.shape[1], "flat", model=encoder.model_name)
    faq_index.add([phrasing_id(e.id, e.question) for e in entries], vectors)
    empty = VectorIndex(vectors.shape[1], "flat", model=encoder.model_name)
    return Retriever(encoder, [], entries, empty, faq_index, tokenizer, calibration, fusion, rrf_k, lexical_weight)
