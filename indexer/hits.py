"""What a search gives back: the question cleaned, ranked hits (a passage or a curated Q&A entry) and the
decision. Plain data, no FAISS and no model, so callers can import it freely."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from indexer.decision import Decision
from indexer.snippets import Snippet
from kb.model import HitRecord

MAX_QUERY_CHARS = 1000


class QueryError(ValueError):
    """The question cannot be searched (for example, it is empty)."""


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


@dataclass(frozen=True)
class Focus:
    """What a conversation is about, for ranking a follow-up (Retriever.search): an article id, a section, and
    the reference of the hit last answered from ('passage:<id>', Hit.ref)."""

    article_id: str
    section: str = ""
    ref: str = ""


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
    quote: str | None = None
    lead: str = ""

    @property
    def ref(self) -> str:
        """A reference that finds this hit again: 'passage:<id>' or 'faq:<id>'."""
        return f"{self.kind}:{self.id}"

    @property
    def snippet_marked(self) -> str:
        """The snippet with matched words in 【】."""
        return Snippet(self.snippet, tuple((a, b) for a, b in self.highlights)).marked()

    def record(self) -> HitRecord:
        """What is kept and shown of this hit outside the retriever (on gaps, tickets, under answers)."""
        return HitRecord(
            kind=self.kind,
            id=self.id,
            article_id=self.article_id,
            title=self.title,
            section=self.section,
            clause=self.clause,
            score=round(self.score, 5),
            dense=round(self.dense, 4),
            snippet=self.snippet,
        )

    def to_dict(self) -> dict[str, Any]:
        """The whole hit, JSON-ready, for staff's retrieval tools (kefu search --json, the agent's lookup):
        every field, plus its ref and the snippet with matched words in 【】."""
        return {**asdict(self), "ref": self.ref, "snippet_marked": self.snippet_marked}


@dataclass
class SearchResult:
    """Ranked hits and the decision to answer or abstain.

    query: the question as searched (normalised: indexer.normalize); steps: what normalising did, in
    words; expansion: the words added to the lexical search: the formal words of the lexicon (kb.lexicon), and
    for a question not in Chinese the Chinese words a dictionary gave for its words (indexer.english)."""

    query: str
    hits: list[Hit]
    decision: Decision
    ms: float = 0.0
    features: dict = field(default_factory=dict)
    steps: tuple[str, ...] = ()
    expansion: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "query": self.query,
            "steps": list(self.steps),
            "expansion": list(self.expansion),
            "decision": asdict(self.decision),
            "ms": round(self.ms, 2),
            "hits": [h.to_dict() for h in self.hits],
        }
