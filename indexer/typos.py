"""Homophone typos corrected against the knowledge base's own words.

Customers type Chinese through pinyin input methods, so their typos are mostly a character of the same sound:
头诉 for 投诉, 监定 for 鉴定, 和同 for 合同, 导忙犬 for 导盲犬. Neither BM25 nor the encoders match those. A word of
the question is corrected when all of these hold:

- it is one of jieba's words of the question, or two or three of them side by side (so a correction never
  straddles a real word: 商家收集 is not read as 商 + 加收 + 集);
- it is neither in the knowledge base's vocabulary nor in jieba's dictionary (a real word is never "fixed":
  他们 stays 他们), and not made only of stopwords (把我);
- a word of the vocabulary has the same toneless pinyin (pypinyin) and differs from it in exactly one
  character; when several do, the commonest in the knowledge base (lowest IDF).

The vocabulary is the lexical index's (indexer.lexical.LexicalIndex.idf): what the knowledge base says, so a
new document's words are corrected to as soon as it is indexed. Measured in docs/BENCHMARKS.md (issue 12).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from indexer.lexical import STOPWORDS

CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
MAX_TOKENS = 3  # a typo splits a word into at most three of jieba's pieces (导/忙/犬)


def _sound(word: str) -> str:
    from pypinyin import lazy_pinyin  # imported on first use

    return " ".join(lazy_pinyin(word))


class Homophones:
    """Corrections of a question's words to the knowledge base's, by sound.

    vocabulary: word -> inverse document frequency (the lexical index's idf); segment: jieba's cut of a text
    (no search mode); known: whether jieba's dictionary has a word."""

    def __init__(
        self,
        vocabulary: Mapping[str, float],
        segment: Callable[[str], list[str]],
        known: Callable[[str], bool],
    ):
        self.vocabulary = {w: f for w, f in vocabulary.items() if CJK_WORD.match(w)}
        self.segment, self.known = segment, known
        self._by_sound: dict[str, list[str]] | None = None  # see warm

    def warm(self) -> None:
        """Index the vocabulary by sound now (about 0.4 s for 8,000 words), not on a customer's question."""
        self._sounds()

    def _sounds(self) -> dict[str, list[str]]:
        if self._by_sound is None:
            by_sound: dict[str, list[str]] = {}
            for word in self.vocabulary:
                by_sound.setdefault(_sound(word), []).append(word)
            self._by_sound = by_sound
        return self._by_sound

    def corrections(self, text: str) -> list[tuple[str, str]]:
        """(typed, corrected) for each word of text that is taken for a typo, in order; [] for none."""
        tokens = self.segment(text)
        fixes: list[tuple[str, str]] = []
        used: set[int] = set()
        for width in range(1, MAX_TOKENS + 1):
            for i in range(len(tokens) - width + 1):
                group = tokens[i : i + width]
                word = "".join(group)
                if used & set(range(i, i + width)) or not self._suspect(word, group):
                    continue
                near = [w for w in self._sounds().get(_sound(word), ()) if _one_apart(w, word)]
                if near:
                    fixes.append((word, min(near, key=lambda w: (self.vocabulary[w], w))))
                    used.update(range(i, i + width))
        return sorted(fixes, key=lambda fix: text.find(fix[0]))

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """text with its typos corrected, and the corrections made."""
        fixes = self.corrections(text)
        for typed, corrected in fixes:
            text = text.replace(typed, corrected)
        return text, fixes

    def _suspect(self, word: str, group: Iterable[str]) -> bool:
        return (
            bool(CJK_WORD.match(word))
            and word not in self.vocabulary
            and not self.known(word)
            and not all(t in STOPWORDS for t in group)
        )


def _one_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1
