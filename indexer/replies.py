"""Shaping retrieval results into what the customer reads: plain functions, no Rasa. The bot's action, the
evaluation's reply_accuracy and the hit-test page all go through reply_for.

An answer's bubble is composed here, not in a domain response: it is retrieved text, and Rasa's
response interpolator gives the customer the raw template whenever a filled-in text contains "0["
(rasa/core/nlg/interpolator.py), which knowledge-base text can. Everything else the bot says is a
response in bot/domain.yml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from indexer.chunker import CLAUSE
from indexer.lexical import CJK
from indexer.normalize import has_words
from kb.model import readable_tables, table_cells, table_row_text

if TYPE_CHECKING:
    from indexer.hits import Hit, SearchResult

# A bubble's text: a whole clause up to this long (measured: 160 -> 240 characters took the cross-domain
# reply_accuracy from 0.375 to 0.42, the shipped base unchanged); a snippet is at most 160 (indexer.snippets).
MAX_BUBBLE = 240


def source_line(hit: Hit) -> str:
    """'《title》section · clause' for citing a hit ('' for a Q&A entry that rests on no article)."""
    if not hit.title:
        return ""
    parts = [f"《{hit.title}》"] + [x for x in (hit.section, hit.clause) if x]
    return " ".join(parts[:2]) + (f" · {parts[2]}" if len(parts) > 2 else "")


def answer_body(hit: Hit) -> str:
    """What an answer says: the curated answer; a table row under its column names; or the best-matching
    sentences, after the clause's number and lead sentence when the passage is a later part of a long clause."""
    if hit.kind == "faq":
        return hit.text
    if table_cells(hit.text):
        return table_row_text(hit.lead, hit.text)
    text = readable_tables(hit.text)
    body = hit.snippet or text
    whole = _whole_clause(text, body)
    if whole and len(re.sub(r"\s*\n\s*", "\n", whole)) + len(hit.lead) <= MAX_BUBBLE:
        body = whole  # a clause short enough to read whole: its other sentence may be the one that answers
    return f"{hit.lead}\n{body}" if hit.lead else body


def _whole_clause(text: str, snippet: str) -> str:
    """The numbered clause of text (its paragraph and the items under it, up to the next number) that
    holds the snippet; the snippet's paragraph when the text has no numbered clauses; '' if not found."""
    at = text.find(snippet.rstrip("…"))  # the whole snippet: a sentence of boilerplate recurs, a run of them rarely
    if at < 0:
        at = text.find(snippet[:20].rstrip("…"))
    if at < 0:
        return ""
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]+)*", text)]
    here = next((i for i, (a, b) in enumerate(paragraphs) if a <= at < b), None)
    if here is None:
        return ""
    numbered = [bool(CLAUSE.match(text[a:b])) for a, b in paragraphs]
    if not numbered[here] and not any(numbered[:here]):
        return text[slice(*paragraphs[here])].strip()
    start = max(i for i in range(here + 1) if numbered[i] or i == 0)
    end = next((i for i in range(here + 1, len(paragraphs)) if numbered[i]), len(paragraphs))
    return text[paragraphs[start][0] : paragraphs[end - 1][1]].strip()


ENGLISH_LEAD = "Here is what our documents say (quoted in Chinese):"


def answer_text(hit: Hit, question: str = "") -> str:
    """A chat-bubble answer: answer_body, then the source (none for an entry that rests on no article). A
    question asked in English gets the quoted Chinese framed in English: a line that says what follows,
    and 'Source:' for the citation."""
    body = re.sub(r"\s*\n\s*", "\n", answer_body(hit).strip())
    if len(body) > MAX_BUBBLE:
        body = body[: MAX_BUBBLE - 1] + "…"
    # One newline, not two: Rasa's REST channel cuts a text-only message at blank lines into bubbles.
    source = source_line(hit)
    if question and has_words(question) and not CJK.search(question):  # 'ATM在哪' is a Chinese question
        return f"{ENGLISH_LEAD}\n{body}" + (f"\nSource: {source}" if source else "")
    return f"{body}\n来源：{source}" if source else body


def candidate_button(hit: Hit) -> dict[str, str]:
    """A button that shows one candidate hit: the stored question, or where the passage is (section or
    title, clause) and how it starts, a table row as its cells."""
    if hit.kind == "faq" and hit.question:
        label = hit.question
    else:
        where = " ".join(x for x in (hit.section or hit.title, hit.clause) if x)
        text = readable_tables(hit.snippet or hit.text)  # a table row as its cells: '朝阳网点 · 工作日 9:00'
        start = " · ".join(re.sub(r"\s+", "", part) for part in text.split(" · "))
        if hit.clause and start.startswith(hit.clause):
            start = start[len(hit.clause) :]
        start = start.strip()[:14]
        label = f"{where}：{start}…" if start else where
    return {"title": label[:40], "payload": f'/choose_candidate{{"ref":"{hit.ref}"}}'}


def candidate_buttons(hits: Sequence[Hit]) -> list[dict[str, str]]:
    """Buttons for candidate hits, one per distinct label."""
    buttons: dict[str, dict[str, str]] = {}
    for hit in hits:
        button = candidate_button(hit)
        buttons.setdefault(button["title"], button)
    return list(buttons.values())


def close_runners_up(hits: Sequence[Hit], ratio: float = 0.9, most: int = 2) -> list[Hit]:
    """Hits after the first whose fused score is within ratio of it (a close decision)."""
    if len(hits) < 2 or hits[0].score <= 0:
        return []
    return [h for h in hits[1 : 1 + most] if h.score >= ratio * hits[0].score]


def is_short(text: str) -> bool:
    """A question too short to be sure what is meant (a word or two)."""
    letters = [c for c in text if c.isalnum()]
    return len(letters) <= 4 if any("\u4e00" <= c <= "\u9fff" for c in letters) else len(text.split()) <= 1


@dataclass(frozen=True)
class Reply:
    """What the bot does with a searched message, before any Rasa or desk concern.

    kind: 'answer' (text is the bubble, hit what it cites, buttons close runners-up), 'clarify' (a short
    question that several places could answer: buttons name them), 'abstain' (nothing matches well
    enough) or 'prompt' (no words at all: emoji or punctuation). The evaluation also records what
    kb.desk.rules.route decided before any search ('handoff', 'greet', 'thanks', 'no_words') as the kind of a
    reply without text."""

    kind: str
    text: str = ""
    hit: Hit | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)

    @property
    def body(self) -> str:
        """What the customer reads of an answer, without its source line ('' for other kinds)."""
        if self.kind != "answer":
            return ""
        return re.split(r"\n(?:来源：|Source: )", self.text, maxsplit=1)[0].removeprefix(ENGLISH_LEAD + "\n")


def reply_for(message: str, result: SearchResult | None) -> Reply:
    """The bot's reply to a message and its search result (None when the message has no words and was
    not searched): the action sends it, the evaluation scores it and the hit-test page shows it."""
    if result is None or not has_words(message):
        return Reply("prompt")
    hits = result.hits
    if hits and is_short(result.query) and len({h.article_id + h.section for h in hits[:3]}) > 1:
        return Reply("clarify", buttons=candidate_buttons(hits[:3]))
    if result.decision.answer and hits:
        runners_up = close_runners_up(hits)
        return Reply("answer", answer_text(hits[0], result.query), hits[0], candidate_buttons(runners_up))
    return Reply("abstain")
