"""What a clause cites of its own document, for the lexical index.

Regulations put a rule in one article and its penalty in another: "违反本条例第三十一条第五项、第六项规定的，…
处警告或者五十元以上五百元以下罚款". The penalty's own words never say what was done (吸烟, 携带宠物), so a
customer asking "在地铁里抽烟罚多少" finds the rule and not the amount. BM25 therefore reads a penalty together
with what it cites after 违反: the items (第五项 -> （五）…) or paragraphs (第二款) named, else the cited clause's
opening. A mere pointer ("本条例第二十条所称…"), another law's article (《…法》第十条) and a passage's own clause
number cite nothing. Measured in docs/BENCHMARKS.md (issue 12, held-out set).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.model import Passage

NUMERAL = r"[一二三四五六七八九十百零〇\d]+"
# 第三十一条, optionally followed by the items or paragraphs it names: 第五项、第六项 / 第三款 / 第一款第二项.
CITATION = re.compile(rf"(?<![》法])第({NUMERAL})条((?:[、，和及或至]?第{NUMERAL}[款项])*)")
PART = re.compile(rf"第({NUMERAL})([款项])")
LAST_PHRASE = re.compile(r"[，。；：\n]")
CITED_CHARS = 160  # of a clause cited whole: its opening, where the rule is stated


def _items(text: str) -> dict[str, str]:
    """A clause's numbered items, （五） -> '（五）吸烟，随地吐痰…', by their Chinese numeral."""
    found = {}
    for line in text.split("\n"):
        m = re.match(rf"\s*[（(]({NUMERAL})[）)]", line)
        if m:
            found[m.group(1)] = line.strip()
    return found


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _cited(clause_text: str, parts: str) -> str:
    """The text of a clause that a citation names: its items or paragraphs, else its opening."""
    named = PART.findall(parts)
    if not named:
        return clause_text[:CITED_CHARS]
    items, paragraphs, out = _items(clause_text), _paragraphs(clause_text), []
    for numeral, kind in named:
        if kind == "项" and numeral in items:
            out.append(items[numeral])
        elif kind == "款":
            index = _ordinal(numeral)
            if index is not None and 0 < index <= len(paragraphs):
                out.append(paragraphs[index - 1][:CITED_CHARS])
    return "\n".join(out) or clause_text[:CITED_CHARS]


def _ordinal(numeral: str) -> int | None:
    """一..十九 and digits as an int; None for anything longer (no paragraph is numbered that high)."""
    if numeral.isdigit():
        return int(numeral)
    digits = "一二三四五六七八九"
    if len(numeral) == 1 and numeral in digits:
        return digits.index(numeral) + 1
    if numeral == "十":
        return 10
    if len(numeral) == 2 and numeral[0] == "十" and numeral[1] in digits:
        return 10 + digits.index(numeral[1]) + 1
    return None


def cited_texts(passages: Iterable[Passage]) -> dict[int, str]:
    """passage id -> the text of the clauses of its own article that it cites ('' entries are left out).
    A clause split into several passages is cited as the parts' text joined in order."""
    passages = list(passages)
    clause_text: dict[tuple[str, str], list[str]] = {}
    for p in sorted(passages, key=lambda p: (p.article_id, p.ordinal)):
        if len(p.clauses) == 1:
            clause_text.setdefault((p.article_id, p.clauses[0]), []).append(p.text)
    out: dict[int, str] = {}
    for p in passages:
        cited: list[str] = []
        for m in CITATION.finditer(p.text):
            clause = f"第{m.group(1)}条"
            if clause in p.clauses or m.start() == 0:  # its own number, at the start of the clause
                continue
            if "违反" not in LAST_PHRASE.split(p.text[: m.start()])[-1]:  # what a penalty is for, not a mere pointer
                continue
            text = "\n".join(clause_text.get((p.article_id, clause), []))
            if text:
                cited.append(_cited(text, m.group(2)))
        if cited:
            out[p.id] = "\n".join(dict.fromkeys(cited))
    return out
