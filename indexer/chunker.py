"""Chinese-aware chunking: articles into passages that never break a sentence.

A passage stays inside one section (the text under one Markdown heading), is
built from whole paragraphs where it can, and from whole sentences (ending in
。！？；) where a paragraph is too long. Only a single sentence longer than the
limit is cut, preferably at a comma. Each passage keeps its character offsets
in the article body, the clause numbers it covers, and its context (article
title and heading) for encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.model import Article, Passage

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Clause numbers agents cite: "3.2.1", "第十六条", "8.2", "一、" style items are left to headings.
CLAUSE = re.compile(r"^\s*(第[一二三四五六七八九十百零〇\d]+条|\d+(?:\.\d+)+)(?=\s|[^\d.]|$)")
SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』）)]*")
SOFT_BREAK = re.compile(r"[，,、：:]")


def clause_at(text: str, position: int) -> str | None:
    """The clause number of the paragraph of text that holds position, if it starts with one."""
    found = text.rfind("\n\n", 0, max(position, 0) + 1)
    start = 0 if found < 0 else found + 2
    m = CLAUSE.match(text[start:])
    return m.group(1) if m else None


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def _paragraphs(body: str):
    """Yield (heading path, paragraph span) for each paragraph of a Markdown body."""
    section = ""
    offset = 0
    for block in re.split(r"(\n[ \t]*\n)", body):
        start = offset
        offset += len(block)
        stripped = block.strip()
        if not stripped or re.fullmatch(r"\n[ \t]*\n", block):
            continue
        lines = block.split("\n")
        pos = start
        para_start = None
        for line in lines:
            m = HEADING.match(line.strip())
            if m:
                if para_start is not None:
                    yield section, _trim(body, para_start, pos - 1)
                    para_start = None
                section = m.group(2).strip()
            elif line.strip() and para_start is None:
                para_start = pos
            pos += len(line) + 1
        if para_start is not None:
            yield section, _trim(body, para_start, start + len(block))


def _trim(body: str, start: int, end: int) -> _Span:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return _Span(start, end)


def _sentences(body: str, span: _Span, max_chars: int) -> list[_Span]:
    """Split a span at sentence ends; cut only a sentence longer than max_chars."""
    text = body[span.start : span.end]
    pieces, last = [], 0
    for m in SENTENCE_END.finditer(text):
        pieces.append((last, m.end()))
        last = m.end()
    if last < len(text):
        pieces.append((last, len(text)))
    out = []
    for a, b in pieces:
        while b - a > max_chars:
            window = text[a : a + max_chars]
            soft = [m.end() for m in SOFT_BREAK.finditer(window) if m.end() > max_chars // 2]
            cut = a + (soft[-1] if soft else max_chars)
            out.append(_Span(span.start + a, span.start + cut))
            a = cut
        if text[a:b].strip():
            out.append(_trim(body, span.start + a, span.start + b))
    return out


def chunk_article(article: Article, min_chars: int = 100, max_chars: int = 400) -> list[Passage]:
    """Split an article into passages of about min_chars..max_chars characters."""
    body = article.body
    groups: list[tuple[str, list[_Span]]] = []
    for section, para in _paragraphs(body):
        units = [para] if para.end - para.start <= max_chars else _sentences(body, para, max_chars)
        if not groups or groups[-1][0] != section:
            groups.append((section, []))
        groups[-1][1].extend(units)

    passages: list[Passage] = []
    seen: set[int] = set()
    for section, units in groups:
        for run in _pack(units, min_chars, max_chars):
            start, end = run[0].start, run[-1].end
            clauses = tuple(m.group(1) for u in run if (m := CLAUSE.match(body[u.start : u.end])))
            passage = Passage(
                article_id=article.id,
                ordinal=len(passages),
                section=section,
                clauses=clauses,
                start=start,
                end=end,
                text=body[start:end],
                title=article.title,
            )
            if passage.id not in seen:  # a repeated passage (boilerplate) adds nothing and would share its id
                seen.add(passage.id)
                passages.append(passage)
    return passages


def _pack(units: list[_Span], min_chars: int, max_chars: int) -> list[list[_Span]]:
    """Group consecutive units into runs under max_chars, each reaching min_chars when it can."""
    runs: list[list[_Span]] = []
    for unit in units:
        if runs:
            current = runs[-1]
            size = unit.end - current[0].start
            if (current[-1].end - current[0].start) < min_chars and size <= max_chars:
                current.append(unit)
                continue
        runs.append([unit])
    last_is_short = len(runs) > 1 and runs[-1][-1].end - runs[-1][0].start < min_chars
    if last_is_short and runs[-1][-1].end - runs[-2][0].start <= max_chars:
        runs[-2].extend(runs.pop())
    return runs
