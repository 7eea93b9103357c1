"""Snippets: the sentences of a passage that best match a question, with matched words marked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from indexer.asks import holds

SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*")


@dataclass(frozen=True)
class Snippet:
    """Plain text plus (start, end) spans of the words that matched the question."""

    text: str
    highlights: tuple[tuple[int, int], ...]

    def marked(self, left: str = "【", right: str = "】") -> str:
        """The text with each highlight wrapped in markers."""
        out, last = [], 0
        for a, b in self.highlights:
            out += [self.text[last:a], left, self.text[a:b], right]
            last = b
        return "".join([*out, self.text[last:]])


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for w in sorted(set(words), key=len, reverse=True):
        for m in re.finditer(re.escape(w.lower()), lowered):
            if not any(a < m.end() and m.start() < b for a, b in spans):
                spans.append((m.start(), m.end()))
    return sorted(spans)


# How much more a sentence counts when it holds what the question asks for (a time, an amount …): an English
# question's words reach the text only through a dictionary, so the kind weighs more (measured: docs/BENCHMARKS.md,
# "English questions read through a dictionary").
KIND_WEIGHT = 1.5
KIND_WEIGHT_ENGLISH = 3.0
# What a sentence must state to answer at all: asked how long, how much, what number, how to pay or who pays, the
# sentence that says it is the answer even when another matches more of the question's words ('鉴定的钱谁来出' ->
# '检测、鉴定的费用由经营者先行垫付…', not the clause's first sentence on who does the testing). Measured:
# docs/BENCHMARKS.md.
ANSWERING_KINDS = ("duration", "price", "amount", "phone", "payment", "party")


def make_snippet(
    text: str,
    words: list[str],
    max_chars: int = 160,
    asked: str | None = None,
    weights: Mapping[str, float] | None = None,
    kind_weight: float = KIND_WEIGHT,
) -> Snippet:
    """The best-matching run of sentences (by matched characters) within its paragraph, up to max_chars. A
    list goes with its lead: when the best sentence is on an item's or a table row's line, the line that
    introduces the list (ending in '：') comes first; when the run introduces a list, or starts from its
    lead, the items or rows that follow come after it, as far as max_chars allows and no further than the
    list goes. asked (indexer.asks.asks_for of the question): a sentence that holds what the question
    asks for (a duration, an amount, a list's lead …) counts kind_weight times as much; asked one of
    ANSWERING_KINDS, a sentence that states it and shares a word of two characters or more with the question
    is chosen over any that does not. weights (a word's inverse document frequency): a sentence scores the
    weights of the distinct words it holds instead of the characters matched (a word not again inside a
    longer one it also holds), so a rare word counts more than a common one."""
    sentences = [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]
    if not sentences:
        return Snippet("", ())

    rarest = max(weights.values(), default=1.0) if weights else 1.0

    def matched(a: int, b: int, besides: str = "") -> float:  # besides: words found there do not count
        if weights is None:
            return sum(e - s for s, e in _spans(text[a:b], [w for w in words if w.lower() not in besides]))
        piece = text[a:b].lower()
        found = {w for w in set(words) if w.lower() in piece}
        # a word counts once: not again through the shorter words jieba's search mode also cut it into
        # (语音菜单, 语音, 菜单), which made a long word outweigh two words of the question
        found = {w for w in found if not any(w != v and w.lower() in v.lower() for v in found)}
        return sum(len(w) * weights.get(w, rarest) for w in found if w.lower() not in besides)

    def shares(a: int, b: int) -> bool:  # a word of two characters or more: not 由, 出 or 来 alone
        piece = text[a:b].lower()
        return any(len(w) > 1 and w.lower() in piece for w in words)

    def score(i: int) -> float:
        a, b = sentences[i]
        sentence = text[a:b]
        kind_here = _introduces(sentence) if asked == "list" else holds(sentence, asked)
        return matched(a, b) * (kind_weight if kind_here else 1.0)

    best = max(range(len(sentences)), key=lambda i: (score(i), -i))
    if asked in ANSWERING_KINDS and not holds(text[slice(*sentences[best])], asked):
        held = [i for i, (a, b) in enumerate(sentences) if holds(text[a:b], asked) and shares(a, b)]
        if held:  # the best of the sentences that state what is asked and share a word with the question
            best = max(held, key=lambda i: (score(i), -i))
    a, b = sentences[best]
    for j in range(best + 1, len(sentences)):  # extend within the paragraph while sentences fit
        if sentences[j][1] - a > max_chars or "\n" in text[b : sentences[j][0]]:
            break
        b = sentences[j][1]
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    first = next(n for n, (s, e) in enumerate(lines) if s <= a < e)
    last = next(n for n, (s, e) in enumerate(lines) if s < b <= e)
    led, far = False, None
    if _is_item(text[slice(*lines[first])]):  # back up the list to the line that introduces it, if any
        for k in range(first - 1, -1, -1):
            line = text[slice(*lines[k])]
            if _introduces(line):
                if b - lines[k][0] <= max_chars:
                    a, led = lines[k][0], True
                else:
                    far = k
                break
            if not _is_item(line):
                break
    if far is not None:
        # An item far down a long list keeps the line it belongs to ('禁止下列行为：' … '（十）携带自行车…'), or
        # the item alone could read as allowed; the item from its number on; '……' marks the items not shown.
        rest = "\n……" if last + 1 < len(lines) and _is_item(text[slice(*lines[last + 1])]) else ""
        skipped = "\n……" if far < first - 1 else ""
        piece = f"{text[slice(*lines[far])].strip()}{skipped}\n{text[lines[first][0] : b].strip()}{rest}"
        if len(piece) <= max_chars:
            return Snippet(piece, tuple(_spans(piece, words)))
    cut = ""
    if led or _introduces(text[a:b]):  # down the list, to its end or as far as it fits
        items = []
        for k in range(last + 1, len(lines)):
            if not _is_item(text[slice(*lines[k])]):
                break
            items.append(k)
        shown = [k for k in items if lines[k][1] - a <= max_chars]
        b = lines[shown[-1]][1] if shown else b
        left = items[len(shown) :]
        # The list goes on past what fits: the item that holds the question's words the lead does not ('能带猫吗':
        # '（九）携带活禽以及猫、狗…' under '禁止下列行为：'), shown after the lead when it was left out; '……' marks
        # what is not shown.
        lead = text[a : lines[last][1]]
        fresh = {k: matched(*lines[k], besides=lead.lower()) for k in items}
        best_item = max(items, key=lambda k: (fresh[k], -k), default=None)
        if best_item in left and fresh[best_item] > 0:
            more = "\n……" if best_item != items[-1] else ""
            piece = f"{lead.strip()}\n……\n{text[slice(*lines[best_item])].strip()}{more}"
            if len(piece) <= max_chars:
                return Snippet(piece, tuple(_spans(piece, words)))
        cut = "\n……" if left else ""
    piece = text[a:b].strip()
    if len(piece) > max_chars:
        piece = piece[: max_chars - 1] + "…"
    elif cut and len(piece) + len(cut) <= max_chars:
        piece += cut
    return Snippet(piece, tuple(_spans(piece, words)))


# An item of a list ('（一）', '(1)', 'a)', '1)', '1.', '一、', '①', '- ') or a table row as read ('a · b').
ITEM = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[a-zA-Z\d]{1,2}[)）、]|\d{1,2}\.(?!\d)|[一二三四五六七八九十]+、|[①-⑳]|[-•*]\s)"
)


def _is_item(line: str) -> bool:
    return bool(ITEM.match(line)) or " · " in line


def _introduces(sentence: str) -> bool:
    """Whether a sentence introduces the lines after it: '应做到：', '收费标准如下表：'."""
    return sentence.rstrip().endswith(("：", ":"))
