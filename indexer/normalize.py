"""What a customer typed, made searchable: Traditional to Simplified, full width to half width, the
greeting and politeness around a question taken off, and in a long message the sentence that asks.

Plain functions over text; OpenCC (the Open Chinese Convert library, ``opencc`` on PyPI, config
``tw2sp``: Traditional with Taiwan phrasing to Simplified with mainland phrasing) does the conversion.
The retriever, the bot's dialogue decisions and the hit-test page all read a message through
``normalize_query``, so they agree on what was asked.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Greetings, politeness and lead-ins a customer puts before (or after) the question; taken off the ends only.
_LEAD = (
    r"(?:您好|你好|你们好|哈喽|哈啰|嗨|早上好|上午好|下午好|晚上好|在吗|在不在|有人吗|"
    r"(?:客服|亲爱的|亲|小姐姐|小哥哥)(?=[\s，,。.!！?？~～、:：])|"
    r"hi|hello|hey|dear|good (?:morning|afternoon|evening)|"
    r"请问一下|请问下|请问|麻烦问一下|麻烦问下|麻烦一下|麻烦您|麻烦你|麻烦|打扰一下|打扰了|不好意思|"
    r"我想问一下|我想问下|想问一下|想问下|想咨询一下|想咨询下|咨询一下|咨询下|问一下|问下|我想问|想问|"
    r"我想确认一下|想确认一下|确认一下|我想知道|想知道|想了解一下|想了解|了解一下|请教一下|请教|"
    r"please|excuse me|sorry|"
    r"谢谢|多谢|感谢|谢啦|thanks|thank you)"
)
_AFTER = r"[\s，,。.!！?？~～、:：…呀啊哈嘛哦噢啦]*"  # punctuation and particles after a greeting
LEADING = re.compile(rf"^(?:\s*{_LEAD}{_AFTER})+", re.I)
TRAILING = re.compile(
    r"(?:[\s，,。.!！~～]*(?:谢谢|多谢|感谢|谢啦|thanks|thank you|please|急|在线等|急急急)[\s，,。.!！~～]*)+$", re.I
)
GREETING_ONLY = re.compile(rf"^(?:\s*{_LEAD}{_AFTER})+$", re.I)

# A sentence that asks: a question mark, or a question word or particle.
ASKS = re.compile(
    r"[?？]|吗|么|呢|怎么|怎样|如何|多少|多久|多长|几[点天个次号岁年月日分小]|什么|啥|哪|是否|能否|能不能|可不可以|"
    r"可以.{0,8}[吗么]|有没有|会不会|要不要|\b(?:how|what|when|where|which|who|why|can|could|do|does|is|are)\b",
    re.I,
)
SENTENCES = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
LONG_MESSAGE = 50  # characters: a message longer than this is read for the sentence that asks
SHORT_SENTENCE = 6  # a question sentence with fewer letters than this takes the sentence before it along


@dataclass(frozen=True)
class NormalizedQuery:
    """A message as searched.

    original: as typed; text: what is searched (never empty when the message has any word);
    steps: what was done, in words a curator reads on the hit-test page ('繁体转简体', …)."""

    original: str
    text: str
    steps: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def _converter():  # built on first use, never at import
    import opencc

    return opencc.OpenCC("tw2sp")


# Where OpenCC leaves a variant the documents do not use (帐户 for 账户), the documents' form.
_VARIANTS = str.maketrans({"帳": "账", "帐": "账"})
_VARIANT_WORDS = re.compile(r"帐(?=[户号单目务款])")


def to_simplified(text: str) -> str:
    """Traditional Chinese (Taiwan or Hong Kong usage) in Simplified with mainland wording; Simplified
    text comes back unchanged."""
    if not any("\u3400" <= c <= "\u9fff" for c in text):
        return text
    converted = _converter().convert(text)
    return _VARIANT_WORDS.sub("账", converted)


def has_words(text: str) -> bool:
    """Whether a message has any letter or digit at all (emoji and punctuation alone have none)."""
    return any(c.isalnum() for c in text)


def strip_pleasantries(text: str) -> str:
    """The message without the greeting, politeness and thanks around it ('' when that is all it is)."""
    if GREETING_ONLY.match(text):
        return ""
    inner = TRAILING.sub("", LEADING.sub("", text)).strip(" ，,。.!！?？~～、:：")
    return inner if has_words(inner) else ""


def is_pleasantry(text: str) -> bool:
    """Whether a message is only a greeting, politeness or thanks (nothing to look up)."""
    return has_words(text) and not strip_pleasantries(unicodedata.normalize("NFKC", text))


def question_sentence(text: str) -> str:
    """In a long message, the last sentence that asks (with the sentence before it when it is short);
    a short message, or one that asks nowhere, comes back whole."""
    if len(text) <= LONG_MESSAGE:
        return text
    sentences = [m.group().strip() for m in SENTENCES.finditer(text) if has_words(m.group())]
    asking = [i for i, s in enumerate(sentences) if ASKS.search(s)]
    if not asking:
        return text
    i = asking[-1]
    picked = strip_pleasantries(sentences[i]) or sentences[i]
    if sum(c.isalnum() for c in picked) < SHORT_SENTENCE and i > 0:
        picked = sentences[i - 1] + picked
    return picked


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def normalize_query(text: str) -> NormalizedQuery:
    """What a message asks, ready to search (text already cleaned of control characters; see
    indexer.hits.clean_query). Steps are skipped when they would leave nothing to search."""
    steps = []
    out = unicodedata.normalize("NFKC", text)
    if _letters(out) != _letters(text):
        steps.append("全角转半角")
    simplified = to_simplified(out)
    if simplified != out:
        steps.append("繁体转简体")
        out = simplified
    inner = strip_pleasantries(out)
    if inner and _letters(inner) != _letters(out):
        steps.append("去掉问候和客套话")
        out = inner
    asked = question_sentence(out)
    if _letters(asked) != _letters(out):
        steps.append("长消息取提问句")
        out = asked
    return NormalizedQuery(text, out, tuple(steps))
