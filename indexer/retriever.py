"""The retriever: dense (FAISS) and lexical (BM25) legs fused, plus Q&A matching and a decision.

Articles' passages and curated Q&A entries are ranked together: a Q&A entry is
found through its question and alternative phrasings (question-to-question)
and answers with its own text. The decision to answer or abstain comes from a
calibrated confidence (indexer.decision), not a raw cosine cut-off.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from indexer.asks import asks_for
from indexer.build import DenseLeg, IndexStaleError, index_paths, local_legs, phrasing_id
from indexer.chunker import ITEM_LINE, clause_at, item_clause
from indexer.decision import (
    SAME_QUESTION,
    SAME_WORDS,
    Calibration,
    Decision,
    char_pairs,
    features_for,
    same_specifics,
)
from indexer.encoder import Encoder
from indexer.english import EnglishTerms
from indexer.fusion import reciprocal_rank_fusion
from indexer.hits import Focus, Hit, SearchResult, clean_query
from indexer.lexical import LexicalIndex, Tokenizer, is_chinese
from indexer.normalize import NormalizedQuery, normalize_query
from indexer.references import cited_texts, citing
from indexer.settings import Settings
from indexer.snippets import KIND_WEIGHT, KIND_WEIGHT_ENGLISH, make_snippet
from indexer.typos import Homophones
from indexer.vector_index import VectorIndex, set_search_threads
from kb import lexicon as lexicon_file
from kb.lexicon import Lexicon
from kb.loader import user_dictionary
from kb.model import FaqEntry, HitRecord, Passage, readable_tables
from kb.store import Store

Key = tuple[str, Any]  # ("p", passage id) or ("f", Q&A entry id): one candidate in the fused ranking
CANDIDATES = 50
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrieverConfig:
    """How the retriever ranks (the settings of the same names; see ``kefu settings``).

    weights / english_weights: each dense leg's fusion weight for Chinese / other questions (None: 1 each);
    fusion: 'rrf', 'dense' or 'bm25'; rrf_k: the RRF constant; lexical_weight / faq_lexical_weight: the
    BM25 rankings' weights; english_lexical_weight: the BM25 passage ranking's for a question not in Chinese
    (searched with its English read into Chinese, indexer.english); top_k: hits returned; faq_match_cosine: a
    stored question this close is ranked first; faq_dense_offset: taken off a stored question's cosine when
    it is ranked among passages; faq_lexical_coverage: share of the question's words a stored question needs
    to enter BM25 fusion; focus_weight: the fusion weight of the focus ranking (Retriever.search's focus)."""

    weights: list[float] | None = None
    english_weights: list[float] | None = None
    fusion: str = "rrf"
    rrf_k: int = 60
    lexical_weight: float = 1.0
    english_lexical_weight: float = 1.0
    faq_lexical_weight: float = 1.0
    top_k: int = 5
    faq_match_cosine: float = 0.97
    faq_dense_offset: float = 0.1
    faq_lexical_coverage: float = 0.34
    focus_weight: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrieverConfig:
        """The configuration in force."""
        names = [f.name for f in fields(cls)]
        return cls(**{name: getattr(settings, name) for name in names})


class Retriever:
    """Searches the knowledge base; built once per process and shared."""

    def __init__(
        self,
        legs: list[DenseLeg],
        passages: list[Passage],
        faqs: list[FaqEntry],
        tokenizer: Tokenizer,
        calibration: Calibration,
        config: RetrieverConfig | None = None,
        lexicon: Lexicon | None = None,
    ):
        if not legs:
            raise ValueError("a retriever needs at least one dense leg")
        set_search_threads(1)  # one query at a time: more threads only wait on each other
        self.legs, self.tokenizer, self.calibration = legs, tokenizer, calibration
        self.lexicon = lexicon or Lexicon()
        self.lexicon_path: Path | None = None  # kb/lexicon.txt, re-read when it changes (see load)
        self._lexicon_stamp: tuple[int, ...] = ()
        self.config = config = config or RetrieverConfig()
        self.weights = config.weights or [1.0] * len(legs)
        self.english_weights = config.english_weights or self.weights
        self.stamp = ""  # the store's index stamp at load (see Retriever.load)
        self.passages = {p.id: p for p in passages}
        self.faqs = {e.id: e for e in faqs}
        self.phrasing_owner = {phrasing_id(e.id, q): e.id for e in faqs for q in e.phrasings}
        self.quotes = {e.id: _quote_for(e, passages) for e in faqs}
        # BM25 reads a passage with what it cites of its own document (a penalty with the rule it enforces).
        cited = cited_texts(passages)
        self.passage_lexical = LexicalIndex(tokenizer).build(
            list(self.passages), [f"{p.context}\n{cited[p.id]}" if p.id in cited else p.context for p in passages]
        )
        self.homophones = Homophones(self.passage_lexical.idf, tokenizer.words, tokenizer.in_dictionary)
        self.english = EnglishTerms(self.passage_lexical.idf)
        self.faq_lexical = LexicalIndex(tokenizer).build(
            list(self.phrasing_owner), [q for e in faqs for q in e.phrasings]
        )

    @classmethod
    def load(
        cls, store: Store, encoders: list[Encoder], settings: Settings, calibration: Calibration | None = None
    ) -> Retriever:
        """The store's passages and Q&A entries with this instance's indexes of them: the copies saved in
        index_dir when they match the database, else built from the database's embedding cache and saved
        there (indexer.build.local_legs: nothing is encoded, so a new machine serves at once). Raises
        IndexStaleError when a vector is missing from the cache or the store changed meanwhile."""
        stamp = store.index_stamp()  # before loading: a save racing this load moves it, and it is loaded again
        for encoder in encoders:  # never built: its vectors are not in the cache either
            if store.index_state(index_paths(settings.index_dir, encoder.model_name)[0].name) is None:
                raise IndexStaleError(f"the database records no {encoder.model_name} index: run 'kefu index build'")
        legs = local_legs(store, encoders, settings)
        passages, faqs = store.passages(), store.faqs()
        n_phrasings = sum(len(e.phrasings) for e in faqs)
        for leg in legs:
            p_path, f_path = index_paths(settings.index_dir, leg.model)
            index = leg.passages
            if index is None or len(index) != len(passages) or any(p.id not in index for p in passages):
                raise IndexStaleError(
                    f"the index {p_path} does not match the database ({len(index or [])} vectors, "
                    f"{len(passages)} passages): run 'kefu index build'"
                )
            index.nprobe = settings.ivf_nprobe
            if not faqs:
                leg.faq = None
            elif leg.faq is None or len(leg.faq) != n_phrasings:
                raise IndexStaleError(f"the index {f_path} does not match the database: run 'kefu index build'")
        model_key = ",".join(e.model_name for e in encoders)
        calibration = calibration or Calibration.load(settings.kb_dir, model_key, settings.answer_threshold)
        retriever = cls(
            legs,
            passages,
            faqs,
            Tokenizer(user_dictionary(settings.kb_dir)),
            calibration,
            RetrieverConfig.from_settings(settings),
        )
        retriever.stamp = stamp
        retriever.lexicon_path = Path(settings.kb_dir) / lexicon_file.LEXICON_FILE
        retriever.refresh_lexicon()
        retriever.tokenizer.subject_terms("预热")  # the tagger follow-ups use, loaded now, not on a customer's turn
        retriever.homophones.warm()
        retriever.english.warm()
        return retriever

    @property
    def encoders(self) -> list[Encoder]:
        """The loaded encoders, primary first (the editor and the gap grouping reuse them)."""
        return [leg.encoder for leg in self.legs]

    def search(self, query: str, k: int | None = None, focus: Focus | None = None) -> SearchResult:
        """Rank passages and Q&A entries for a question and decide whether to answer. focus: the article
        (and section) a conversation is about; its candidates get one more ranking in the fusion, the
        passage last answered from first (focus.ref), then those of the section, weighted by focus_weight (a
        follow-up question, indexer.followup)."""
        started = time.perf_counter()
        self.refresh_lexicon()
        config = self.config
        normalized = self._as_searched(clean_query(query))
        query = normalized.text
        expansion = self.lexicon.expansion(query)
        # Lexical matching needs the documents' language: an English question is searched with the Chinese
        # words the dictionary gives for its words, named among the steps.
        chinese = is_chinese(query)
        if not chinese and config.english_lexical_weight:
            read = self.english.terms(query)
            expansion += [w for _, words in read for w in words if w not in expansion]
            if read:
                steps = "英文词：" + "，".join(f"{en}→{'/'.join(words)}" for en, words in read)
                normalized = replace(normalized, steps=(*normalized.steps, steps))
        k = k or config.top_k
        tokens = self.tokenizer.tokens(query)
        # The documents' words for the customer's: searched by BM25 and marked in snippets (not in coverage).
        # An English question's own words match only Latin terms of the text (RACI, ITIL); its bare numbers would
        # match any clause number or date.
        own = tokens if chinese else [t for t in tokens if not t.isdigit()]
        search_tokens = own + [t for w in expansion for t in self.tokenizer.tokens(w) if t not in own]
        dense_w = 0.0 if config.fusion == "bm25" else 1.0
        lex_w = (
            1.0
            if config.fusion == "bm25"
            else 0.0
            if config.fusion == "dense"
            else config.lexical_weight
            if chinese
            else config.english_lexical_weight
        )
        faq_lex_w = (
            0.0
            if config.fusion == "dense" or not chinese
            else 1.0
            if config.fusion == "bm25"
            else config.faq_lexical_weight
        )

        # Where words match only through a dictionary (English against Chinese text), the cross-lingual encoder
        # ranks too.
        weights = self.weights if chinese else self.english_weights
        rankings: list[tuple[float, list[Key]]] = []
        leg_scores: list[np.ndarray] = []
        dense_of: dict[Key, float] = {}
        for j, leg in enumerate(self.legs):
            qvec = leg.encoder.encode([query], "query")
            p_scores, p_ids = _dense(qvec, leg.passages)
            f_scores, f_ids = _dense(qvec, leg.faq)
            leg_scores.append(p_scores)
            scores: dict[Key, float] = dense_of if j == 0 else {}
            scores.update({("p", int(i)): float(s) for s, i in zip(p_scores, p_ids)})
            faq_ranked = self._faq_ranking(f_scores, f_ids, scores)
            # One ranking of passages and entries by cosine: an entry's own short list would put its best,
            # however unrelated, level with the best passage in rank fusion.
            merged = [("p", int(i)) for i in p_ids] + faq_ranked
            adjusted = {key: scores[key] - (config.faq_dense_offset if key[0] == "f" else 0.0) for key in merged}
            rankings.append((dense_w * weights[j], sorted(merged, key=lambda key: -adjusted[key])))
        p_lex = self.passage_lexical.top(search_tokens, CANDIDATES)
        lex_of = {("p", int(i)): float(s) for s, i in zip(*p_lex)}
        f_lex = self.faq_lexical.top(search_tokens, CANDIDATES)
        faq_lex = [key for key in self._faq_ranking(*f_lex, lex_of) if self._covers(key[1], tokens)]
        rankings += [(lex_w, [("p", int(i)) for i in p_lex[1]]), (faq_lex_w, faq_lex)]
        fused = reciprocal_rank_fusion(rankings, k=config.rrf_k)
        if focus is not None and config.focus_weight:
            cited = self._key_of(focus.ref) if focus.ref else None
            in_focus = sorted(  # the passage last answered from, its section, then the rest of the article
                (key for key, _ in fused if self._article_of(key) == focus.article_id),
                key=lambda key: (key != cited, self._section_of(key) != focus.section),
            )
            fused = reciprocal_rank_fusion([*rankings, (config.focus_weight, in_focus)], k=config.rrf_k)
        # A question that is all but word for word a stored one gets that entry's curated answer first.
        best_faq = max((kv for kv in dense_of.items() if kv[0][0] == "f"), key=lambda kv: kv[1], default=None)
        if best_faq and best_faq[1] >= config.faq_match_cosine and config.fusion != "bm25":
            fused.sort(key=lambda item: item[0] != best_faq[0])

        asked = asks_for(query)
        hits = [
            self._hit(key, score, dense_of.get(key, 0.0), lex_of.get(key, 0.0), search_tokens, asked, chinese)
            for key, score in fused[: max(k, 10)]
        ]
        feats = features_for(query, tokens, hits, leg_scores, self.passage_lexical.idf)
        decision = self.calibration.decide(feats, asked)
        if not decision.answer and hits and hits[0].kind == "faq" and self._asked_as_stored(query, hits[0].id):
            # A curator wrote this question (or attached it from a gap): its answer is the curated one, whatever
            # the passages around it look like (their margin is what the calibrated confidence reads).
            decision = Decision(True, round(max(decision.confidence, self.calibration.threshold), 4), SAME_QUESTION)
        return SearchResult(
            query,
            hits[:k],
            decision,
            (time.perf_counter() - started) * 1000,
            feats,
            normalized.steps,
            tuple(expansion),
        )

    def _asked_as_stored(self, query: str, entry_id: str) -> bool:
        """Whether a searched question is one of the entry's stored phrasings in all but a character or two:
        at least SAME_WORDS of their character pairs shared (Jaccard), after the same normalisation and typo
        correction, and the same numbers, units and negations (same_specifics: '逾期三天' is not '逾期三年',
        '需要' not '不需要'). A close cosine is not enough: '信用卡挂失要收手续费吗' and '信用卡挂失怎么办理' are
        0.97 apart in e5."""
        asked = char_pairs(query)
        if not asked:
            return False
        for phrasing in self.faqs[entry_id].phrasings:
            # as searched: a gap's question attached with its typos is corrected as the customer's is
            stored_text = self._as_searched(phrasing).text
            stored = char_pairs(stored_text)
            shared = len(asked & stored) / len(asked | stored) if stored else 0.0
            if shared >= SAME_WORDS and same_specifics(query, stored_text):
                return True
        return False

    def hit_for(self, ref: str, query: str = "") -> Hit | None:
        """The hit a reference ('passage:<id>' or 'faq:<id>') names, or None if it no longer exists."""
        key = self._key_of(ref)
        if key is None:
            return None
        query = self._as_searched(query).text if query.strip() else ""
        tokens = self.tokenizer.tokens(query) if query else []
        tokens += [t for w in self.lexicon.expansion(query) for t in self.tokenizer.tokens(w) if t not in tokens]
        return self._hit(key, 0.0, 0.0, 0.0, tokens, asks_for(query))

    def _key_of(self, ref: str) -> Key | None:
        """The candidate a reference ('passage:<id>', 'faq:<id>': Hit.ref) names, None if there is none."""
        named = HitRecord.from_ref(ref)
        ident = named.id or ""
        if named.kind == "passage" and ident.isdigit() and int(ident) in self.passages:
            return ("p", int(ident))
        if named.kind == "faq" and ident in self.faqs:
            return ("f", ident)
        return None

    def _as_searched(self, query: str) -> NormalizedQuery:
        """A question as it is searched: normalised (indexer.normalize), then its homophone typos corrected
        against the knowledge base's words (indexer.typos), each correction named among the steps."""
        normalized = normalize_query(query)
        text, fixes = self.homophones.correct(normalized.text)
        if not fixes:
            return normalized
        steps = (*normalized.steps, "错别字：" + "，".join(f"{a}→{b}" for a, b in fixes))
        return replace(normalized, text=text, steps=steps)

    def _article_of(self, key: Key) -> str:
        return self.passages[key[1]].article_id if key[0] == "p" else self.faqs[key[1]].article or ""

    def _section_of(self, key: Key) -> str:
        return self.passages[key[1]].section if key[0] == "p" else self.faqs[key[1]].section or ""

    @property
    def top_k(self) -> int:
        """How many hits a search returns when not told (the top_k setting)."""
        return self.config.top_k

    def weights_of(self, word: str) -> float:
        """A word's inverse document frequency over the passages (the rarest's for a word they never use)."""
        idf = self.passage_lexical.idf
        if word in idf:
            return idf[word]
        if not hasattr(self, "_rarest"):
            self._rarest = max(idf.values(), default=1.0)
        return self._rarest

    def clauses(self, article_id: str) -> list[tuple[str, int]]:
        """An article's clause numbers in reading order, each with the id of the passage that holds it
        ([] for an article without numbered clauses or unknown)."""
        if not hasattr(self, "_clauses"):
            self._clauses: dict[str, list[tuple[str, int]]] = {}
        if article_id not in self._clauses:
            passages = self._article_passages(article_id)
            self._clauses[article_id] = list(dict.fromkeys((c, p.id) for p in passages for c in p.clauses))
        return self._clauses[article_id]

    def _article_passages(self, article_id: str) -> list[Passage]:
        """An article's passages in reading order ([] for an unknown article)."""
        if not hasattr(self, "_by_article"):
            by_article: dict[str, list[Passage]] = {}
            for p in sorted(self.passages.values(), key=lambda p: p.ordinal):
                by_article.setdefault(p.article_id, []).append(p)
            self._by_article = by_article  # whole, in one step: another thread never sees it half built
        return self._by_article.get(article_id, [])

    def clause_hit(self, passage_id: int, clause: str, query: str = "") -> Hit | None:
        """The hit for one numbered clause of a passage, its snippet taken from that clause (a passage may
        hold several short clauses), scored as certain: a clause the customer named ('下一条', '第5条')."""
        p = self.passages.get(passage_id)
        if p is None:
            return None
        hit = self.hit_for(f"passage:{passage_id}", query)
        at = next((m.start() for m in re.finditer(r"(?m)^[ \t]*" + re.escape(clause) + r"(?!\.?\d)", p.text)), -1)
        if hit is None or at < 0:
            return hit
        sentence = re.match(r"[^\n。！？；]*[。！？；]?", p.text[at:].lstrip())
        hit.snippet = sentence.group(0) if sentence else p.text[at : at + 80]
        hit.highlights, hit.clause, hit.score = [], clause, 1.0
        return hit

    def citing(self, article_id: str, clause: str) -> list[tuple[int, str, str, list[tuple[str, int]], str]]:
        """The paragraphs of an article that cite one of its clauses after 违反 (what follows from breaking
        it), each as (passage id, citing clause, paragraph, parts named, their text): indexer.references.citing.
        Kept per clause: read once, then asked on every follow-up about that clause's penalty."""
        if not hasattr(self, "_citing"):
            self._citing: dict[tuple[str, str], list[tuple[int, str, str, list[tuple[str, int]], str]]] = {}
        key = (article_id, clause)
        if key not in self._citing:
            self._citing[key] = citing(self._article_passages(article_id), clause)
        return self._citing[key]

    def items(self, article_id: str) -> list[tuple[str, int, int]]:
        """An article's numbered items ('1. …', '2、…' at a line's start: a quiz's questions, a list's points) in
        reading order, each as (section, number, id of the passage that holds it); [] for an article with
        numbered clauses (its clauses are what is numbered), without items, or unknown."""
        if not hasattr(self, "_items"):
            self._items: dict[str, list[tuple[str, int, int]]] = {}
        if article_id not in self._items:
            passages = self._article_passages(article_id)
            found = ((p.section, int(m.group(1)), p.id) for p in passages for m in ITEM_LINE.finditer(p.text))
            self._items[article_id] = [] if self.clauses(article_id) else list(dict.fromkeys(found))
        return self._items[article_id]

    def item_hit(self, passage_id: int, number: int, query: str = "") -> Hit | None:
        """The hit for one numbered item of a passage: its line as the snippet, without its number, cited as
        '第N项' and scored as certain (an item the customer named: '下一题', '第5题'); None when the passage does
        not hold it."""
        p = self.passages.get(passage_id)
        line = next((m for m in ITEM_LINE.finditer(p.text) if int(m.group(1)) == number), None) if p else None
        hit = self.hit_for(f"passage:{passage_id}", query) if p and line else None
        if hit is None or p is None or line is None:
            return None
        hit.snippet = p.text[line.end() :].split("\n", 1)[0].strip()
        hit.highlights, hit.clause, hit.score = [], item_clause(number), 1.0
        return hit

    def similar_entries(self, question: str, k: int = 8) -> list[tuple[str, float]]:
        """The Q&A entries a question may belong to, for a curator choosing one, at most k: [(entry id,
        cosine)]. First those with a phrasing that holds the words as typed ('信用卡'), then the rest; each
        part by the primary encoder's cosine of the entry's best phrasing to the question (normalised as
        searched; 0.0 for an entry past the dense search's candidates). The ranking of passages and entries
        plays no part. Raises QueryError as search does."""
        typed = clean_query(question)
        query = self._as_searched(typed).text
        leg = self.legs[0]
        best: dict[Key, float] = {}
        if leg.faq is not None and len(leg.faq):
            self._faq_ranking(*_dense(leg.encoder.encode([query], "query"), leg.faq), best)
        words = {typed.lower(), query.lower()}
        holds = {i for i, e in self.faqs.items() if any(w in p.lower() for p in e.phrasings for w in words)}
        cosine = {i: best.get(("f", i), 0.0) for i in self.faqs}
        ranked = sorted(self.faqs, key=lambda i: (i not in holds, -cosine[i]))
        return [(i, cosine[i]) for i in ranked if i in holds or ("f", i) in best][:k]

    def _faq_ranking(self, scores: np.ndarray, ids: np.ndarray, score_of: dict[Key, float]) -> list[Key]:
        """Q&A entries ranked by their best phrasing; records each entry's best score."""
        ranked: list[Key] = []
        for s, pid in sorted(zip(scores.tolist(), ids.tolist()), key=lambda t: -t[0]):
            key = ("f", self.phrasing_owner[int(pid)])
            if key not in ranked:  # first seen is the entry's best phrasing
                ranked.append(key)
                score_of[key] = float(s)
        return ranked

    def refresh_lexicon(self) -> None:
        """Pick up a change to kb/lexicon.txt (a curator's save; checked by modification time, one stat a
        search). A malformed file keeps the list in use and is logged, so a bad hand edit cannot stop answers."""
        if self.lexicon_path is None:
            return
        try:
            st = self.lexicon_path.stat()
            stamp: tuple[int, ...] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = (-1,)
        if stamp == self._lexicon_stamp:
            return
        self._lexicon_stamp = stamp
        try:
            self.lexicon = lexicon_file.load(self.lexicon_path.parent)
        except (lexicon_file.LexiconError, OSError, UnicodeDecodeError) as exc:
            log.warning("kept the lexicon in use: %s: %s", self.lexicon_path, exc)

    def _covers(self, entry_id: str, tokens: list[str]) -> bool:
        """Whether one of an entry's phrasings holds at least faq_lexical_coverage of the question's words."""
        if not tokens:
            return False
        need = self.config.faq_lexical_coverage * len(tokens)
        return any(sum(t in q.lower() for t in tokens) >= need for q in self.faqs[entry_id].phrasings)

    def _hit(
        self,
        key: Key,
        score: float,
        dense: float,
        lexical: float,
        tokens: list[str],
        asked: str | None = None,
        chinese: bool = True,
    ) -> Hit:
        kind, ident = key
        if kind == "p":
            p = self.passages[ident]
            snip = make_snippet(
                readable_tables(p.text),
                tokens,
                asked=asked,
                weights=self.passage_lexical.idf,
                kind_weight=KIND_WEIGHT if chinese else KIND_WEIGHT_ENGLISH,
            )
            # Cite the clause the snippet comes from; else the passage's range of clauses.
            at = p.text.find(snip.text.rstrip("…"))
            clause = clause_at(p.text, at if at >= 0 else p.text.find(snip.text[:20])) or p.clause
            return Hit(
                "passage",
                str(ident),
                p.article_id,
                p.title,
                p.section,
                clause,
                p.text,
                snip.text,
                list(snip.highlights),
                score,
                dense,
                lexical,
                lead=p.lead,
            )
        e = self.faqs[ident]
        quote = self.quotes.get(e.id)
        snip = make_snippet(e.answer, tokens, asked=asked)
        return Hit(
            "faq",
            e.id,
            e.article or "",
            quote[0] if quote else e.article or "",
            e.section or "",
            e.clause,
            e.answer,
            snip.text,
            list(snip.highlights),
            score,
            dense,
            lexical,
            e.question,
            quote[1] if quote else None,
        )


def _dense(qvec: np.ndarray, index: VectorIndex | None) -> tuple[np.ndarray, np.ndarray]:
    """A leg's top candidates (scores, ids)."""
    if index is None or not len(index):
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    scores, ids = index.search(qvec, CANDIDATES)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def _quote_for(entry: FaqEntry, passages: list[Passage]) -> tuple[str, str] | None:
    """(article title, the paragraph a Q&A entry's answer rests on), found by clause or section."""
    candidates = [p for p in passages if p.article_id == entry.article] if entry.article else []
    if not candidates:
        return None
    title = candidates[0].title
    if entry.section:
        candidates = [p for p in candidates if p.section == entry.section] or candidates
    paragraphs = [para.strip() for p in candidates for para in re.split(r"\n\s*\n", p.text) if para.strip()]
    if entry.clause:
        exact = [para for para in paragraphs if para.startswith(entry.clause)]
        if exact:
            return title, exact[0]
    answer = set(entry.answer)
    return title, max(paragraphs, key=lambda para: len(answer & set(para)) / (1 + len(set(para)) ** 0.5))


def question_pool_retriever(
    encoders: list[Encoder],
    questions: list[str],
    store: Store,
    tokenizer: Tokenizer,
    calibration: Calibration,
    config: RetrieverConfig,
) -> Retriever:
    """A retriever over bare questions (a FAQ pool), through the same Q&A path as curated entries."""
    entries = [FaqEntry(id=f"q{i}", question=q, answer=q, article="pool") for i, q in enumerate(questions)]
    legs = []
    for encoder in encoders:
        vectors = encoder.encode_cached(questions, "faq", store)
        faq_index = VectorIndex(vectors.shape[1], "flat", model=encoder.model_name)
        faq_index.add([phrasing_id(e.id, e.question) for e in entries], vectors)
        legs.append(DenseLeg(encoder, VectorIndex(vectors.shape[1], "flat"), faq_index))
    return Retriever(legs, [], entries, tokenizer, calibration, config)
