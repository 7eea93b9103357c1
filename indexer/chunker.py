"""Chinese-aware chunking: articles into passages that never break a sentence or a numbered clause.

A numbered clause (第十二条, 3.2.1) with everything under it up to the next clause (its later paragraphs, its items
（一）, a)) is one passage: the end of one clause never shares a passage with the start of the next. A clause longer
than the limit is split at paragraph, then sentence ends, and every later part keeps the clause's number and lead
sentence as its lead, so it is understood and cited on its own. A Markdown table gives one passage per row, with
the header row as its lead, except that a small table stays in the passage of the line that introduces it
('…如下表：'). Text read from a picture in a document (between its OCR marks) is a passage of its own, and the clause
the picture sat in goes on after it; a scanned page's text is the document's own. Paragraphs outside any clause are
packed as before: whole paragraphs where they fit, whole sentences (ending in 。！？；) where a paragraph is too long,
a single over-long sentence cut at a comma. A passage stays inside one section (the text under one heading) and
keeps its character offsets in the body and the clause numbers it covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.importing.document import OCR_END, OCR_MARK, SCANNED_PAGE
from kb.model import Article, Passage, readable_tables

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Clause numbers agents cite: "3.2.1", "第十六条", "8.2", "一、" style items are left to headings.
CLAUSE = re.compile(r"^\s*(第[一二三四五六七八九十百零〇\d]+条|\d+(?:\.\d+)+)(?=\s|[^\d.]|$)")
# A numbered item at a line's start ('3. 运营管理的主要任务是…', '2、…'): a quiz's question, a list's point.
ITEM_LINE = re.compile(r"^[ \t]*(\d{1,3})[.、．](?!\d)", re.M)
ITEM_CLAUSE = re.compile(r"第(\d+)项")  # how a numbered item is cited where a clause number would be


# The chunking rules' version: raise it whenever a change gives existing articles other passages (their text,
# clause, lead), so that the next `kefu index build` chunks every article again (indexer.build.CHUNKING_STATE).
CHUNKING = "2"  # 2: a large table after a clause that neither mentions it nor shares its header is not cited as it


def item_clause(number: int) -> str:
    """How the numbered item is cited ('第3项') in an article that has no clause numbers."""
    return f"第{number}项"


def item_number(clause: str) -> int | None:
    """The number of an item cited as item_clause gives it ('第3项' -> 3); None for a clause number or ''."""
    m = ITEM_CLAUSE.fullmatch(clause or "")
    return int(m.group(1)) if m else None


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


@dataclass(frozen=True)
class _Piece:
    spans: list[_Span]
    clauses: tuple[str, ...]
    lead: str = ""


LEAD_CHARS = 120
KEEP_TABLE_CHARS = 160  # a table this short, as read, stays with the line introducing it (a reply's length)
TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def _lead_of(text: str) -> str:
    """A clause's lead: its first paragraph if short, else its first sentence (at most LEAD_CHARS)."""
    first = text.split("\n\n", 1)[0].strip()
    if len(first) > LEAD_CHARS:
        end = re.search(r"[。！？；：:]", first)
        first = first[: end.end()] if end and end.end() <= LEAD_CHARS else first[:LEAD_CHARS] + "…"
    return first


def _introduces(text: str) -> bool:
    """Whether a paragraph introduces what follows it ('各网点营业时间如下表：')."""
    return text.rstrip().endswith(("：", ":"))


TABLE_MENTION = re.compile(r"[下附]表|见表|表\s*\d|如下|下列|[：:]\s*$")
HEADER_SHARED = 0.5  # the share of the header's character pairs a clause must hold to own a table it does not mention


def _refers_to(clause_text: str, header: str) -> bool:
    """Whether a large table right after a clause belongs to it: the clause mentions a table or what follows
    ('按下表执行', '标准如下：'), or holds at least HEADER_SHARED of the character pairs of the table's header
    cells ('各网点营业时间见公告' and '| 网点 | 营业时间 |'). A table of membership levels after a clause on
    points is the document's, not the clause's: citing its rows as that clause would send the reader to the wrong
    place."""
    if TABLE_MENTION.search(clause_text):
        return True
    cells = [c.strip() for c in header.strip().strip("|").split("|")]
    pairs = {c[i : i + 2] for c in cells for i in range(len(c) - 1) if not c[i : i + 2].isspace()}
    return not pairs or sum(p in clause_text for p in pairs) / len(pairs) >= HEADER_SHARED


def _table_rows(body: str, para: _Span) -> tuple[str, list[_Span]] | None:
    """(header line, one span per data row) when a paragraph is a Markdown table, else None."""
    text = body[para.start : para.end]
    lines = text.split("\n")
    if len(lines) < 3 or not all(line.strip().startswith("|") for line in lines) or not TABLE_RULE.match(lines[1]):
        return None
    rows, offset = [], para.start + len(lines[0]) + 1 + len(lines[1]) + 1
    for line in lines[2:]:
        if line.strip():
            rows.append(_trim(body, offset, offset + len(line)))
        offset += len(line) + 1
    return lines[0].strip(), rows


def _section_pieces(body: str, paragraphs: list[_Span], min_chars: int, max_chars: int) -> list[_Piece]:
    """One section's paragraphs as passage pieces: clauses whole (or split with their lead), table rows
    under their header, free paragraphs packed."""
    pieces: list[_Piece] = []
    free: list[_Span] = []
    group: list[_Span] = []
    clause, lead, from_start = "", "", False

    def units(spans: list[_Span]) -> list[_Span]:
        return [u for p in spans for u in ([p] if p.end - p.start <= max_chars else _sentences(body, p, max_chars))]

    def flush_free() -> None:
        pieces.extend(_Piece(run, ()) for run in _pack(units(free), min_chars, max_chars))
        free.clear()

    def flush_group() -> None:
        if not group:
            return
        if group[-1].end - group[0].start <= max_chars:
            runs = [list(group)]
        else:
            runs = _pack(units(group), max_chars, max_chars)  # as full as the limit allows
        for i, run in enumerate(runs):
            pieces.append(_Piece(run, (clause,), "" if i == 0 and from_start else lead))
        group.clear()

    picture: tuple[str, str] | None = None  # inside a picture's text: the clause and lead it interrupts
    clause_text: list[str] = []  # the paragraphs of the clause read so far: whether a table is its own (_refers_to)
    for para in paragraphs:
        text = body[para.start : para.end]
        if SCANNED_PAGE.match(text):
            continue  # a scanned page's text is the document's own: its clauses run on across pages
        if picture is not None:
            if text == OCR_END:  # the clause the picture sat in goes on, under its lead
                flush_free()
                (clause, lead), from_start, picture = picture, False, None
            else:
                free.append(para)
            continue
        if text.startswith(OCR_MARK[:-1]):
            # A picture's text is a passage of its own: the picture sits in the clause, its text is not the clause.
            flush_free()
            flush_group()
            picture = (clause, lead)
            continue
        table = _table_rows(body, para)
        before = group or free
        if (
            table is not None
            and before
            and _introduces(body[before[-1].start : before[-1].end])
            and (len(readable_tables(body[before[0].start : para.end])) <= KEEP_TABLE_CHARS)
        ):
            # A small table right after the line that introduces it ('收费标准如下表：') stays with that line:
            # one passage, shown whole in a reply, answers both the line's question and a row's (no near-copies
            # splitting the votes). A larger table is a passage per row, under its header.
            before.append(para)
        elif table is not None:
            header, rows = table
            owned = bool(clause) and _refers_to(" ".join(clause_text), header)
            flush_free()
            flush_group()
            pieces.extend(_Piece([row], (clause,) if owned else (), header) for row in rows)
            from_start = False  # what follows the table still belongs to the clause, under its lead
        elif (m := CLAUSE.match(text)) is not None:
            flush_free()
            flush_group()
            clause, lead, from_start = m.group(1), _lead_of(text), True
            clause_text = [text]
            group.append(para)
        elif clause:
            clause_text.append(text)
            group.append(para)
        else:
            free.append(para)
    flush_free()
    flush_group()
    return pieces


def chunk_article(article: Article, min_chars: int = 100, max_chars: int = 400) -> list[Passage]:
    """Split an article into passages: numbered clauses whole (or in parts that keep their lead), table rows
    with their header, other paragraphs packed to about min_chars..max_chars characters."""
    body = article.body
    sections: list[tuple[str, list[_Span]]] = []
    for section, para in _paragraphs(body):
        if not sections or sections[-1][0] != section:
            sections.append((section, []))
        sections[-1][1].append(para)

    passages: list[Passage] = []
    seen: set[int] = set()
    for section, paragraphs in sections:
        for piece in _section_pieces(body, paragraphs, min_chars, max_chars):
            start, end = piece.spans[0].start, piece.spans[-1].end
            clauses = piece.clauses or tuple(
                m.group(1) for u in piece.spans if (m := CLAUSE.match(body[u.start : u.end]))
            )
            passage = Passage(
                article_id=article.id,
                ordinal=len(passages),
                section=section,
                clauses=clauses,
                start=start,
                end=end,
                text=body[start:end],
                title=article.title,
                lead=piece.lead,
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
