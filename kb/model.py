"""The knowledge base's records: articles and curated Q&A entries."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


def content_hash(*parts: str) -> str:
    """A stable hash of some text, used to see what changed."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Article:
    """One knowledge-base article: front matter plus a Markdown body."""

    id: str
    title: str
    category: str
    source: str
    updated: str
    body: str

    @property
    def hash(self) -> str:
        """Hash of everything that shapes the article's passages."""
        return content_hash(self.title, self.body)


@dataclass(frozen=True)
class FaqEntry:
    """A curated question with its phrasings, its answer, and where the answer rests."""

    id: str
    question: str
    answer: str
    article: str
    section: str | None = None
    clause: str | None = None
    updated: str = ""
    alternatives: tuple[str, ...] = field(default_factory=tuple)

    @property
    def phrasings(self) -> list[str]:
        """The question and its alternative phrasings."""
        return [self.question, *self.alternatives]

    @property
    def hash(self) -> str:
        """Hash of the entry's content."""
        return content_hash(json.dumps(asdict(self), ensure_ascii=False, sort_keys=True))
