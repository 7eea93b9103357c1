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

from indexer.asks import asks_for
from indexer.chunker import CLAUSE, item_number
from indexer.lexical import CJK
from indexer.normalize import has_words
from indexer.snippets import ITEM as LIST_ITEM
from kb.model import readable_tables, table_cells, table_row_text

if TYPE_CHECKING:
    from indexer.hits import Hit, SearchResult

# A bubble's text: a whole clause up to this long (measured: 160 -> 240 characters took the cross-domain
# reply_accuracy from 0.375 to 0.42, the shipped base unchanged); a snippet is at most 160 (indexer.snippets).
MAX_BUBBLE = 240


# Chinese text's own punctuation where a document typed the ASCII mark: a comma, semicolon, colon, question or
# exclamation mark next to a Chinese character or mark (not 1,000, 9:00 or １,０００), brackets around Chinese words
# ('(一)'); a web or mail address is left whole.
_HAN = "\u3000-\u303f\u4e00-\u9fff\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_ASCII_MARK = re.compile(rf"(?<=[{_HAN}])[ \t]*([,;:?!]+)[ \t]*|[ \t]*([,;:?!]+)(?![\d:/])[ \t]*(?=[{_HAN}])")
_BRACKETED = re.compile(r"\(([^()\n]*[\u4e00-\u9fff][^()\n]*)\)")
_ADDRESS = re.compile(r"(?:https?://|www\.)[^\s，。；、）]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)


def chinese_punctuation(text: str) -> str:
    """text with ASCII punctuation that sits in Chinese turned full width ('小时,各单位' -> '小时，各单位',
    '职能:执行' -> '职能：执行', '(一)' -> '（一）'); numbers, times, English, web and mail addresses are left as
    they are ('1,000', '9:00', 'Responsible (R)', 'https://…/银行?a=1')."""
    pieces = _ADDRESS.split(text)
    addresses = _ADDRESS.findall(text)
    out = []
    for i, piece in enumerate(pieces):
        piece = _ASCII_MARK.sub(lambda m: "".join(_FULL[c] for c in m.group(1) or m.group(2)), piece)
        out.append(_BRACKETED.sub(r"（\1）", piece))
        if i < len(addresses):
            out.append(addresses[i])
    return "".join(out)


def source_line(hit: Hit) -> str:
    """'《title》section · clause' for citing a hit ('' for a Q&A entry that rests on no article); no space after
    the closing 》, as Chinese is set (and as the widget writes a source it shows apart). A heading's run of
    spaces ('第三章  经营者的义务', as documents set them) reads as one."""
    if not hit.title:
        return ""
    return f"《{hit.title}》" + " · ".join(re.sub(r"\s+", " ", x).strip() for x in (hit.section, hit.clause) if x)


def answer_body(hit: Hit, question: str = "") -> str:
    """What an answer says: the sentence about the item a question names, when the hit has one ('R 是什么' ->
    the line on Responsible); the curated answer; a table row under its column names; for a question asking
    which things ('哪些'), the list with the line that introduces it (trimmed: list_body); or the best-matching
    sentences, after the clause's number and lead sentence when the passage is a later part of a long clause."""
    item = asked_item(question)
    if item and (sentence := item_sentence(hit.text, item)):
        return sentence
    if hit.kind == "faq":
        return hit.text
    if table_cells(hit.text):
        return table_row_text(hit.lead, hit.text)
    text = readable_tables(hit.text)
    body = hit.snippet or text
    if question and asks_for(question) == "list" and (listed := list_body(text, body)):
        return f"{hit.lead}\n{listed[0]}" if hit.lead else listed[0]
    whole = _whole_clause(text, body)
    if whole and len(re.sub(r"\s*\n\s*", "\n", whole)) + len(hit.lead) <= MAX_BUBBLE:
        body = whole  # a clause short enough to read whole: its other sentence may be the one that answers
    return under_lead(hit.lead, body)


def under_lead(lead: str, body: str) -> str:
    """A later part of a long clause under the clause's number and lead sentence. A lead that introduces a list
    ('…履行下列交接义务，并且退出物业管理区域：') and a part that is not the list's items are kept apart by '……':
    joined, the part reads as the list ('…退出物业管理区域：原物业服务人应当…维持正常的物业管理秩序。')."""
    if not lead:
        return body
    first = body.lstrip().split("\n", 1)[0]
    gap = lead.rstrip().endswith(("：", ":")) and not _is_item_line(first)
    return f"{lead}\n……\n{body}" if gap else f"{lead}\n{body}"


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


def list_body(text: str, snippet: str, limit: int = MAX_BUBBLE) -> tuple[str, bool] | None:
    """The list a snippet belongs to, else the text's first list: the line that introduces it ('…包括：') and its
    items, as many whole items as fit in limit characters; and whether items were left out. None when the text
    has no list."""
    at = text.find(snippet.rstrip("…")[:20])
    if at < 0:
        return None
    lines = [(m.start(), m.group().strip()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    here = max((i for i, (start, _) in enumerate(lines) if start <= at), default=0)

    def introduces(i: int) -> bool:
        return lines[i][1].endswith(("：", ":")) and i + 1 < len(lines) and _is_item_line(lines[i + 1][1])

    lead = next((i for i in range(here, -1, -1) if introduces(i)), None)
    if lead is None or not all(_is_item_line(lines[j][1]) for j in range(lead + 1, here + 1)):
        # the snippet is outside any list: the passage's own list, if it has one ('应当履行下列义务：（一）…')
        lead = next((i for i in range(len(lines)) if introduces(i)), None)
    if lead is None:
        return None
    items = []
    for _, line in lines[lead + 1 :]:
        if not _is_item_line(line):
            break
        items.append(line)
    if not items:
        return None
    shown = [lines[lead][1]]
    for line in items:
        if sum(len(x) + 1 for x in shown) + len(line) > limit - 2:
            break
        shown.append(line)
    more = len(shown) - 1 < len(items)
    return "\n".join(shown) + ("\n……" if more else ""), more


def _is_item_line(line: str) -> bool:
    return bool(LIST_ITEM.match(line))


# An item a question names: a letter or two on its own ('RACI 里的 R', 'C 呢'), not a word of letters.
ITEM_IN_QUESTION = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,2})(?![A-Za-z0-9])")


def asked_item(question: str) -> str:
    """The item a question names, a letter standing alone ('R 是什么意思' -> 'R'), or ''."""
    found = ITEM_IN_QUESTION.findall(question or "")
    return found[0] if len(found) == 1 and CJK.search(question) else ""


def item_sentence(text: str, item: str) -> str:
    """The line (else the clause of a sentence) of text that defines an item named by its initial: the first
    whose term, before a colon or as a bracketed word, starts with those letters ('负责人(Responsible):负责执行…'
    for 'R'); '' when there is none."""
    word = re.compile(r"[(（]\s*" + re.escape(item) + r"[A-Za-z]*\s*[)）]|^\s*" + re.escape(item) + r"\b", re.I)
    for line in (x.strip() for x in text.split("\n")):
        head = re.split(r"[:：]", line, maxsplit=1)[0]
        if len(head) < len(line) and len(head) <= 30 and word.search(head):
            return line
    for piece in re.split(r"(?<=[。；;，,])", text):
        if word.search(piece[:30]):
            return piece.strip().rstrip("，,；;") + ("。" if not piece.strip().endswith("。") else "")
    return ""


ENGLISH_LEAD = "Here is what our documents say (quoted in Chinese):"
# A question why, and the words a text gives a reason or purpose with: a 'why' answered by a clause that gives
# none is told so before the rule, rather than read as if the rule were the reason.
WHY_QUESTION = re.compile(r"为什么|为啥|为何|凭什么|怎么会(?!员)|什么原因|啥原因|原因是(?!否)")
REASON = re.compile(
    r"(?<!原)因(?!故)|由于|为了|目的|以便|以免|以防|旨在|鉴于|起见|避免|防止|确保|保证(?!金)|保障|从而|否则|既.{1,30}又|"
    # '…，便于客户理解' gives a purpose; '选项便于寻觅' (easy to find) does not
    r"[，,；;]\s*(?:便于|有利于|有助于)"
)
NO_REASON = "没有找到写明的原因，以下是相关规定："
SHOW_ALL = "查看全部"


def answer_text(hit: Hit, question: str = "", followed: bool = False) -> str:
    """A chat-bubble answer: answer_body, then the source (none for an entry that rests on no article). A
    question asked in English gets the quoted Chinese framed in English: a line that says what follows,
    and 'Source:' for the citation. followed: the message was read with the conversation's topic
    (indexer.followup), so the source comes first and says what was understood: '关于《…》3.2 …：'."""
    body = chinese_punctuation(re.sub(r"\s*\n\s*", "\n", answer_body(hit, question).strip()))
    no_reason = hit.kind == "passage" and bool(WHY_QUESTION.search(question)) and not REASON.search(body)
    room = MAX_BUBBLE - (len(NO_REASON) + 1 if no_reason else 0)
    if len(body) > room:
        body = body[: room - 1] + "…"
    # One newline, not two: Rasa's REST channel cuts a text-only message at blank lines into bubbles.
    source = source_line(hit)
    if question and has_words(question) and not CJK.search(question):  # 'ATM在哪' is a Chinese question
        return f"{ENGLISH_LEAD}\n{body}" + (f"\nSource: {source}" if source else "")
    if followed and source and hit.clause and source.endswith(hit.clause):
        # the 关于 line names the clause, or the numbered item ('第4项'): the body need not repeat it ('4.')
        item = item_number(hit.clause)
        number = rf"{item}[.、．](?!\d)" if item is not None else rf"{re.escape(hit.clause)}(?![\d.])"
        body = re.sub(rf"^{number}\s*", "", body) or body
    body = f"{NO_REASON}\n{body}" if no_reason else body
    if followed and source:
        return f"{ABOUT}{source}：\n{body}"
    return f"{body}\n来源：{source}" if source else body


ABOUT = "关于"


def show_all_button(hit: Hit) -> dict[str, str]:
    """The button that shows a hit's whole text (an answer that had to leave items out)."""
    return {"title": SHOW_ALL, "payload": f'/show_all{{"ref":"{hit.ref}"}}'}


def whole_text(hit: Hit) -> str:
    """A hit's whole text with its source, for the 查看全部 button: the lead, the passage (tables read as
    rows) or the curated answer, untrimmed."""
    body = hit.text if hit.kind == "faq" else readable_tables(hit.text)
    body = chinese_punctuation(re.sub(r"\s*\n\s*", "\n", under_lead(hit.lead, body)).strip())
    source = source_line(hit)
    return f"{body}\n来源：{source}" if source else body


def candidate_button(hit: Hit) -> dict[str, str]:
    """A button that shows one candidate hit: the stored question, or where the passage is (the document's
    title and clause; the section, else the title, where there is no clause number) and how it starts, a table
    row as its cells."""
    if hit.kind == "faq" and hit.question:
        label = hit.question
    else:
        # the document first: candidates may come from several ('上海市轨道交通管理条例 第三十一条：…')
        place = (hit.title, hit.clause) if hit.clause else (hit.section or hit.title,)
        where = re.sub(r"\s+", " ", " ".join(x for x in place if x))
        text = readable_tables(hit.snippet or hit.text)  # a table row as its cells: '朝阳网点 · 工作日 9:00'
        start = " · ".join(re.sub(r"\s+", "", part) for part in text.split(" · "))
        if hit.clause and start.startswith(hit.clause):
            start = start[len(hit.clause) :]
        start = start.strip()[:14]
        label = f"{where}：{chinese_punctuation(start)}…" if start else where
    return {"title": label[:40], "payload": f'/choose_candidate{{"ref":"{hit.ref}"}}'}


def candidate_buttons(hits: Sequence[Hit]) -> list[dict[str, str]]:
    """Buttons for candidate hits, one per distinct label and one per clause (a long clause is indexed in parts:
    '第四十八条' twice would be no choice)."""
    buttons: dict[str, dict[str, str]] = {}
    clauses: set[tuple[str, str]] = set()
    for hit in hits:
        clause = (hit.article_id, hit.clause) if hit.clause else None
        if clause in clauses:
            continue
        if clause:
            clauses.add(clause)
        button = candidate_button(hit)
        buttons.setdefault(button["title"], button)
    return list(buttons.values())


def close_runners_up(hits: Sequence[Hit], ratio: float = 0.9, most: int = 2) -> list[Hit]:
    """Hits after the first whose fused score is within ratio of it (a close decision) and that hold a word of
    the question (a BM25 score above 0: fused ranks crowd together, and the cosine alone offered a table of
    contents), less those that say what the first says: another part of the same clause, a passage holding
    the paragraph a first-ranked Q&A entry rests on, or an entry resting on the first passage (its button
    would show the answer again)."""
    if len(hits) < 2 or hits[0].score <= 0:
        return []
    top = hits[0]
    close = [h for h in hits[1 : 1 + most] if h.score >= ratio * top.score and h.lexical > 0]
    same_clause = [h for h in close if h.clause and (h.article_id, h.clause) == (top.article_id, top.clause)]
    return [h for h in close if h not in same_clause and not (_rests_on(top, h) or _rests_on(h, top))]


def _rests_on(entry: Hit, passage: Hit) -> bool:
    """Whether a Q&A entry's answer rests on a paragraph of this passage (Hit.quote, found by the retriever)."""
    quote = entry.quote if entry.kind == "faq" and passage.kind == "passage" else None
    return quote is not None and quote != "" and quote in passage.text


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
    followed: bool = False

    @property
    def body(self) -> str:
        """What the customer reads of an answer, without its source line ('' for other kinds)."""
        if self.kind != "answer":
            return ""
        text = self.text
        if self.followed and text.startswith(ABOUT) and "\n" in text:  # the '关于《…》…：' line comes first
            text = text.split("\n", 1)[1]
        return re.split(r"\n(?:来源：|Source: )", text, maxsplit=1)[0].removeprefix(ENGLISH_LEAD + "\n")


def reply_for(message: str, result: SearchResult | None, followed: bool = False) -> Reply:
    """The bot's reply to a message and its search result (None when the message has no words and was
    not searched): the action sends it, the evaluation scores it and the hit-test page shows it. followed:
    the message was read with the conversation's topic (indexer.followup.Turn.followed)."""
    if result is None or not has_words(message):
        return Reply("prompt")
    hits = result.hits
    if not followed and hits and is_short(result.query) and len({h.article_id + h.section for h in hits[:3]}) > 1:
        # A word or two that several places could mean: the places that hold it (or the lexicon's words for it)
        # are offered; when none does ('退款' where nothing mentions refunds), the cosine alone chose them, and
        # three unrelated buttons would say nothing; one place holding it is answered when the decision answers.
        named = [h for h in hits[:3] if h.lexical > 0]
        if not named:
            return Reply("abstain")
        if len(named) > 1 or not result.decision.answer:
            return Reply("clarify", buttons=candidate_buttons(named))
    if result.decision.answer and hits:
        top = hits[0]
        buttons = candidate_buttons(close_runners_up(hits)) if not followed else []
        if top.kind == "passage" and answer_body(top, result.query).endswith("……"):  # a list left unfinished
            buttons = [show_all_button(top), *buttons]
        return Reply("answer", answer_text(top, result.query, followed), top, buttons, followed)
    return Reply("abstain")
