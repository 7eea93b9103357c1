"""What a clause cites of its own document, for the lexical index.

Regulations put a rule in one article and its penalty in another: "违反本条例第三十一条第五项、第六项规定的，…
处警告或者五十元以上五百元以下罚款". The penalty's own words never say what was done (吸烟, 携带宠物), so a
customer asking "在地铁里抽烟罚多少" finds the rule and not the amount. BM25 therefore reads a penalty together
with what it cites after 违反: the items (第五项, 第（五）项 -> （五）…) or paragraphs (第二款: the second
paragraph that is not an item, with its items) named, ranges (第二十一条至第二十三条, 第（一）项至第（六）项)
spelled out, else the cited clause's opening. Only citations of the document itself count: 违反第十条, or
违反本条例（本规定、本办法、本细则、本决定、本法）第十条; another law's article (违反《…法》第十条,
违反某某条例第十条), a mere pointer ("本条例第二十条所称…") and a passage's own clause number cite nothing.
Measured in docs/BENCHMARKS.md (issue 12, held-out questions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.numerals import number
from kb.model import Passage

NUMERAL = r"[一二三四五六七八九十百零〇两\d]+"
PART = rf"第[（(]?{NUMERAL}[）)]?[款项]"
JOIN = r"(?:[、，,和及或]|至)"
CLAUSE_CITED = rf"第{NUMERAL}条(?:{JOIN}?{PART})*"
# 违反 + (本条例 …)? + a list of clauses with their parts: what a penalty is for.
VIOLATION = re.compile(rf"违反(?:本(?:条例|规定|办法|细则|决定|法))?({CLAUSE_CITED}(?:{JOIN}{CLAUSE_CITED})*)")
NAMED = re.compile(rf"(至)?第[（(]?({NUMERAL})[）)]?([条款项])")
CLAUSE_START = re.compile(rf"^\s*(第{NUMERAL}条)")
CLAUSE_LABEL = re.compile(rf"第({NUMERAL})条")
ITEM_START = re.compile(rf"^\s*[（(]({NUMERAL})[）)]")
CITED_CHARS = 160  # of a clause or paragraph cited whole: its opening, where the rule is stated


def citations(text: str) -> list[tuple[int, list[tuple[str, int]]]]:
    """The clauses of its own document a text cites after 违反, each with the parts named: [(31, [('项', 5),
    ('项', 6)]), (40, [])], ranges spelled out, in order of mention."""
    out: list[tuple[int, list[tuple[str, int]]]] = []
    for violation in VIOLATION.finditer(text):
        for m in NAMED.finditer(violation.group(1)):
            ranged, n, kind = bool(m.group(1)), number(m.group(2)), m.group(3)
            if n is None:
                continue
            if kind == "条":
                start = out[-1][0] + 1 if ranged and out else n
                out += [(c, []) for c in range(start, n + 1) if n - start < 50]
            elif out:
                parts = out[-1][1]
                earlier = [p for k, p in parts if k == kind]
                start = earlier[-1] + 1 if ranged and earlier else n
                parts += [(kind, p) for p in range(start, n + 1) if n - start < 50]
    return out


def _blocks(text: str) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]


def _cited(clause_text: str, parts: list[tuple[str, int]]) -> str:
    """What a citation names of a clause: its items or paragraphs, else its opening."""
    items: dict[int, str] = {}
    paragraphs: list[str] = []  # 款: the blocks that are not items, each with the items under it
    for block in _blocks(clause_text):
        m = ITEM_START.match(block)
        if m and (n := number(m.group(1))) is not None:
            items.setdefault(n, block)
            if paragraphs:
                paragraphs[-1] += "\n" + block
        else:
            paragraphs.append(block)
    out = []
    for kind, n in parts:
        if kind == "项" and n in items:
            out.append(items[n])
        elif kind == "款" and 0 < n <= len(paragraphs):
            out.append(paragraphs[n - 1][:CITED_CHARS])
    return "\n".join(dict.fromkeys(out)) or clause_text[:CITED_CHARS]


def citing(passages: Iterable[Passage], clause: str) -> list[tuple[int, str, str, list[tuple[str, int]], str]]:
    """Where an article says what follows from breaking one of its clauses ('第十五条'): every paragraph of its
    passages (one article's, any order) that cites the clause after 违反 and belongs to a numbered clause, in
    reading order, as (passage id, the citing clause ('第二十六条'), the paragraph, the parts it names of the
    clause (all its citations of it in the paragraph: [('项', 2), ('款', 1)]; [] for the whole clause), the text
    of those parts, else the clause's opening). [] for a clause nothing cites, or a label other than '第N条'
    with N a numeral ('第3.2条', '第条', '3.2', a range '第三条–第五条')."""
    m = CLAUSE_LABEL.fullmatch(clause or "")
    n = number(m.group(1)) if m else None
    if n is None:
        return []
    passages = sorted(passages, key=lambda p: p.ordinal)
    own = _clause_text(passages, clause)
    out: list[tuple[int, str, str, list[tuple[str, int]], str]] = []
    for p in passages:
        for label, block in _labelled_blocks(p):
            named = [parts for cited, parts in citations(block) if cited == n]
            if not named or not label or label == clause:
                continue
            parts = [] if any(not ps for ps in named) else list(dict.fromkeys(x for ps in named for x in ps))
            out.append((p.id, label, block, parts, _cited(own, parts) if own else ""))
    return out


def _labelled_blocks(passage: Passage) -> list[tuple[str, str]]:
    """A passage's paragraphs, each with the number of the clause it belongs to: the last clause number that
    opened a paragraph, else the passage's first clause ('' for a passage without clause numbers)."""
    label = passage.clauses[0] if passage.clauses else ""
    out = []
    for block in _blocks(passage.text):
        label = m.group(1) if (m := CLAUSE_START.match(block)) else label
        out.append((label, block))
    return out


def _clause_text(passages: list[Passage], clause: str) -> str:
    """The text of one numbered clause, from its number to the next clause's, across the passages (in reading
    order) that hold it: a clause split over passages whole, a clause packed with others alone."""
    held = [block for p in passages if clause in p.clauses for label, block in _labelled_blocks(p) if label == clause]
    return "\n\n".join(held)


def cited_texts(passages: Iterable[Passage]) -> dict[int, str]:
    """passage id -> the text of what it cites of its own article after 违反 (passages citing nothing are left
    out). A clause split into several passages is cited as its parts' text, in order; a clause that shares a
    passage with others (short clauses packed together) is not cited."""
    passages = list(passages)
    clause_text: dict[tuple[str, int], list[str]] = {}
    for p in sorted(passages, key=lambda p: (p.article_id, p.ordinal)):
        if len(p.clauses) == 1 and (n := number(p.clauses[0][1:-1])) is not None and p.clauses[0][0] == "第":
            clause_text.setdefault((p.article_id, n), []).append(p.text)
    out: dict[int, str] = {}
    for p in passages:
        own = {number(c[1:-1]) for c in p.clauses if c.startswith("第")}
        cited = [
            _cited("\n\n".join(texts), parts)
            for n, parts in citations(p.text)
            if n not in own and (texts := clause_text.get((p.article_id, n)))
        ]
        if cited:
            out[p.id] = "\n".join(dict.fromkeys(cited))
    return out
