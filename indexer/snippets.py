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
    """The best-matching run of sentences (by matched characters), up to max_chars."""
    sentences = [(m.start(), m.end()) for m in SENTENCE.finditer(text) if m.group().strip()]
    if not sentences:
        return Snippet("", ())

    def matched(a: int, b: int) -> int:
        return sum(e - s for s, e in _spans(text[a:b], words))

    best = max(range(len(sentences)), key=lambda i: (matched(*sentences[i]), -i))
    a, b = sentences[best]
    for j in range(best + 1, len(sentences)):  # extend within the paragraph while sentences fit
        if sentences[j][1] - a > max_chars or "\n" in text[b : sentences[j][0]]:
            break
        b = sentences[j][1]
    piece = text[a:b].strip()
    if len(piece) > max_chars:
        piece = piece[: max_chars - 1] + "…"
    return Snippet(piece, tuple(_spans(piece, words)))
