"""The knowledge base's records: articles, curated Q&A entries, the passages articles are cut into, and
what is kept of a retrieval hit once it leaves the retriever."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any


def content_hash(*parts: str) -> str:
    """A stable hash of some text, used to see what changed."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


# The category an imported article gets when nobody chose one (kefu import, the panel's import page).
UNSORTED_CATEGORY = "导入文档"


@dataclass(frozen=True)
class Article:
    """One knowledge-base article: front matter plus a Markdown body. source is the 来源 shown to people;
    imported_from names the file an imported article came from (its path within the folder imported, or its
    name), which a later import of that file matches on ('' for an article written by a curator)."""

    id: str
    title: str
    category: str
    source: str
    updated: str
    body: str
    imported_from: str = ""

    @property
    def hash(self) -> str:
        """Hash of everything that shapes the article's passages."""
        return content_hash(self.title, self.body)


@dataclass(frozen=True)
class FaqEntry:
    """A curated question with its phrasings, its answer, and where the answer rests: an article (and
    section, clause), or nothing (article None: the answer stands on its own and is shown with no source).
    source names the file an imported entry came from ('' for one written by a curator)."""

    id: str
    question: str
    answer: str
    article: str | None = None
    section: str | None = None
    clause: str | None = None
    updated: str = ""
    alternatives: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def phrasings(self) -> list[str]:
        """The question and its alternative phrasings."""
        return [self.question, *self.alternatives]

    @property
    def hash(self) -> str:
        """Hash of the entry's content (unchanged for entries written before source existed)."""
        data = asdict(self)
        if not self.source:
            data.pop("source")
        return content_hash(json.dumps(data, ensure_ascii=False, sort_keys=True))


def passage_context(title: str, section: str, text: str) -> str:
    """What the encoder sees of a passage: article title, heading, then the text."""
    head = f"{title} · {section}" if section else title
    return f"{head}\n{text}"


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of an article: its place (section, character offsets start..end in the body,
    the clause numbers it covers) and its text. lead is what the text needs to be understood and is not
    in it: the number and lead sentence of a clause split into parts, or a table's header row. Made by
    indexer.chunker, kept by kb.store."""

    article_id: str
    ordinal: int
    section: str
    clauses: tuple[str, ...]
    start: int
    end: int
    text: str
    title: str
    lead: str = ""

    @property
    def context(self) -> str:
        """What the encoder sees: article title, heading, the lead if any, then the text."""
        return passage_context(self.title, self.section, f"{self.lead}\n{self.text}" if self.lead else self.text)

    @property
    def clause(self) -> str | None:
        """The clause number, or a range when the passage covers several."""
        if not self.clauses:
            return None
        if len(self.clauses) == 1:
            return self.clauses[0]
        return f"{self.clauses[0]}–{self.clauses[-1]}"

    @cached_property
    def id(self) -> int:
        """A stable 63-bit id derived from the article and the passage's content."""
        parts = (self.article_id, self.section, self.text) + ((self.lead,) if self.lead else ())
        return int(content_hash(*parts)[:16], 16) >> 1


TABLE_RULE_LINE = re.compile(r"^\s*\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def table_cells(line: str) -> list[str]:
    """The cells of one Markdown table row ('| a | b |' -> ['a', 'b']); [] for a line that is not one."""
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|") and len(line) > 1):
        return []
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def table_row_text(header: str, row: str) -> str:
    """A table row as a person reads it, under its column names: '网点 · 营业时间' then '朝阳网点 · 工作日 9:00-17:00'
    (empty cells left out); the row as it is when it is not a table row."""
    cells = table_cells(row)
    if not cells:
        return row
    names = table_cells(header)
    kept = [i for i, c in enumerate(cells) if c]
    if not names:
        return " · ".join(cells[i] for i in kept)
    return " · ".join(names[i] for i in kept if i < len(names)) + "\n" + " · ".join(cells[i] for i in kept)


def readable_tables(text: str) -> str:
    """text with each Markdown table written as a person reads it: the column names, then one line per row,
    cells joined by ' · ' (the rule line dropped). Text without tables comes back unchanged."""
    if "|" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        if TABLE_RULE_LINE.match(line) and i > 0 and table_cells(lines[i - 1]):
            continue
        cells = table_cells(line)
        out.append(" · ".join(c for c in cells if c) if cells else line)
    return "\n".join(out)


@dataclass(frozen=True)
class HitRecord:
    """A retrieval hit as it is kept and shown outside the retriever: on a gap, on a ticket, under an
    answer in the widget. kind is 'passage' or 'faq' (or 'agent' for an agent's answer offered to
    curators); score is the fused rank score, dense the primary encoder's cosine; any field may be
    unknown (None)."""

    kind: str | None = None
    id: str | None = None
    article_id: str | None = None
    title: str | None = None
    section: str | None = None
    clause: str | None = None
    score: float | None = None
    dense: float | None = None
    snippet: str | None = None

    @property
    def ref(self) -> str:
        """'passage:<id>' or 'faq:<id>': what finds the hit again."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def from_ref(cls, ref: str) -> HitRecord:
        """The record a ref names (kind and id only): the inverse of ``ref``."""
        kind, _, ident = str(ref).partition(":")
        return cls(kind=kind or None, id=ident or None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form, the same keys every time."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HitRecord:
        """A record from a stored or received mapping; keys it does not know are dropped."""
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})
