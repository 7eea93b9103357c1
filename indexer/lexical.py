"""The lexical leg: BM25 (bm25s) over jieba tokens, with a user dictionary of domain terms."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[\w\u3400-\u9fff]", re.U)
# Function words and question words that carry no topic.
STOPWORDS = frozenset(
    """
的 了 是 在 和 与 及 或 等 吗 呢 吧 啊 呀 么 嘛 哦 把 被 对 于 为 以 之 其 这 那 这个 那个 这些 那些 就 都 也 还 又
什么 怎么 怎么样 怎样 咋样 如何 谁 哪些 哪个 哪 哪里 为什么 为啥 为何 啥 咋 多少 几 几个 是否 能否 可以 能 会 要
需要 应该 有 没有 有没有 不行 行不行 能不能 可不可以 一些 怎么办 怎么弄 咋办
我 我们 你 你们 您 他 她 它 他们 请问 请 一下 一个 一种 时候 有些 主要 具体 分别 比如 如果 因为 所以 但是 而 则 并
a an the is are was were be to of in on at for by with and or what which who how why when where do does did can
should could would will i you we they it this that these those my your our about from as
""".split()
)


# Nouns that name no subject ('什么时候', '有什么办法').
VAGUE = frozenset("时候 时间 办法 东西 事情 情况 问题 意思 地方 人 钱 规定 一点".split())
# What masking left in a message ('电话[手机号]', kb.desk.privacy) and people's names: never what it is about.
PLACEHOLDER = re.compile(r"\[[^\[\]]{1,12}\]")
NAME_TAGS = ("nr", "nrfg", "nrt")


class Tokenizer:
    """jieba search-mode tokens, lower-cased, without punctuation or stopwords."""

    def __init__(self, user_dict: Path | None = None):
        self.user_dict = user_dict
        self._jieba = None
        self._pos: Any = None
        self._lock = threading.Lock()

    def _engine(self):
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    engine = jieba.Tokenizer()
                    engine.initialize()
                    if self.user_dict:
                        engine.load_userdict(str(self.user_dict))
                    self._jieba = engine
        return self._jieba

    def _tagger(self):
        """jieba's part-of-speech tagger on this tokenizer's dictionary, built once (building it reads the tag
        table: about 200 ms)."""
        if self._pos is None:
            engine = self._engine()
            with self._lock:
                if self._pos is None:
                    import jieba.posseg

                    self._pos = jieba.posseg.POSTokenizer(engine)
        return self._pos

    def words(self, text: str) -> list[str]:
        """jieba's plain cut of text (every character kept, no search-mode sub-words): where its words begin."""
        return self._engine().lcut(text)

    def in_dictionary(self, word: str) -> bool:
        """Whether jieba's dictionary (with the user dictionary) has word."""
        return bool(self._engine().FREQ.get(word))

    def tokens(self, text: str) -> list[str]:
        """The content tokens of text."""
        words = self._engine().lcut_for_search(text.lower())
        return [w for w in (w.strip() for w in words) if w and WORD.search(w) and w not in STOPWORDS]

    def _content_tagged(self, text: str) -> list[tuple[str, str]]:
        """A text's words with jieba's part-of-speech tags, lower-cased, without stopwords, vague words, people's
        names (nr…) or masking's placeholders ('[手机号]')."""
        tagged = [(w.strip().lower(), f) for w, f in self._tagger().lcut(PLACEHOLDER.sub("，", text))]
        tagged = [(w, f) for w, f in tagged if w and WORD.search(w) and w not in STOPWORDS and w not in VAGUE]
        return [(w, f) for w, f in tagged if f not in NAME_TAGS]

    def subject_terms(self, text: str) -> list[str]:
        """What a question is about: its nouns (jieba's part-of-speech tags n…, vn, l, eng of two letters or
        more, and the user dictionary's terms); its verbs when it has no noun ('投诉要多久回复' -> 投诉, 回复).
        Lower-cased, without stopwords, people's names (nr…) or masking's placeholders ('[手机号]'): these
        terms are kept in the bot's slots as the conversation's subject."""
        tagged = self._content_tagged(text)
        # 'x': a word of the user dictionary (kb/jieba), which the tagger does not know: a term of the domain.
        nouns = [w for w, f in tagged if f.startswith("n") or f in ("vn", "l", "x") or (f == "eng" and len(w) > 1)]
        return list(dict.fromkeys(nouns or [w for w, f in tagged if f.startswith("v")]))

    def acts(self, text: str, answer: str) -> list[str]:
        """The acts a question asks about that its answer holds: its verbs of two letters or more (jieba's tags
        v…, not vn), lower-cased, without stopwords, found in the answer's text ('在列车内可以吸烟吗' answered
        with '（二）吸烟、随地吐痰；' -> ['吸烟']; [] when the answer holds none)."""
        held = answer.lower()
        verbs = [w for w, f in self._content_tagged(text) if f.startswith("v") and f != "vn" and len(w) > 1]
        return list(dict.fromkeys(w for w in verbs if w in held))


def idf(documents: Sequence[Sequence[str]]) -> dict[str, float]:
    """Inverse document frequency, log((N + 1) / (df + 0.5)), of every token of tokenised documents."""
    df: dict[str, int] = {}
    for doc in documents:
        for token in set(doc):
            df[token] = df.get(token, 0) + 1
    n = len(documents)
    return {t: float(np.log((n + 1) / (d + 0.5))) for t, d in df.items()}


def cjk_share(text: str) -> float:
    """Share of a text's letters that are CJK characters (0 for English, 1 for Chinese)."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if CJK.match(c)) / len(letters) if letters else 0.0


def is_chinese(text: str) -> bool:
    """Whether a question is searched as Chinese: at least half its letters CJK ("VIP卡丢了" is, "RACI" is not).
    The one test the retriever, the decision's features and their explanation share."""
    return cjk_share(text) >= 0.5


class LexicalIndex:
    """BM25 over tokenised texts, addressed by the caller's ids."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.ids = np.zeros(0, dtype=np.int64)
        self._bm25: Any = None  # bm25s.BM25 once built
        self.idf: dict[str, float] = {}  # token -> inverse document frequency over the indexed texts

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> LexicalIndex:
        """Index texts under ids (replacing what was there)."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import: a line per build

        self.ids = np.asarray(list(ids), dtype=np.int64)
        self._bm25 = None
        if len(self.ids):
            corpus = [self.tokenizer.tokens(t) or ["\u2205"] for t in texts]
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)
        self.idf = idf(corpus) if len(self.ids) else {}
        return self

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every indexed text, in id order."""
        if self._bm25 is None or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._bm25.get_scores(query_tokens)

    def top(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) with a positive score, for already tokenised text."""
        s = self.scores(query_tokens)
        order = np.argsort(-s, kind="stable")[:k]
        order = order[s[order] > 0]
        return s[order], self.ids[order]

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) with a positive score."""
        return self.top(self.tokenizer.tokens(query), k)
