"""Snippets: the sentences of a passage that best match a question, with matched words marked."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def make_snippet(text: str, words: list[str], max_chars: int = 160) -> Snippet:
    """The best-matching run of sentences (by matched characters), up to max_chars: with the sentence that
    introduces it when the best is an item or a table row on its own line, and with the items or rows that
    follow when it introduces them (ends in '：'), as far as max_chars allows."""
    sentences = [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]
    if not sentences:
        return Snippet("", ())

    def matched(a: int, b: int) -> int:
        return sum(e - s for s, e in _spans(text[a:b], words))

    best = max(range(len(sentences)), key=lambda i: (matched(*sentences[i]), -i))
    a, b = sentences[best]
    for j in range(best - 1, -1, -1):  # an item or table row brings the line that introduces it, if it fits
        if "\n" not in text[sentences[j][1] : sentences[j + 1][0]]:
            break
        if _introduces(text[sentences[j][0] : sentences[j][1]]):
            if b - sentences[j][0] <= max_chars:
                a = sentences[j][0]
            break
    listing = _introduces(text[a:b])
    for j in range(best + 1, len(sentences)):  # extend within the paragraph, or down a list, while it fits
        if sentences[j][1] - a > max_chars:
            break
        if "\n" in text[b : sentences[j][0]] and not listing:
            break
        b = sentences[j][1]
        listing = listing or _introduces(text[sentences[j][0] : b])
    piece = text[a:b].strip()
    if len(piece) > max_chars:
        piece = piece[: max_chars - 1] + "…"
    return Snippet(piece, tuple(_spans(piece, words)))


def _introduces(sentence: str) -> bool:
    """Whether a sentence introduces the lines after it: '应做到：', '收费标准如下表：'."""
    return sentence.rstrip().endswith(("：", ":"))
