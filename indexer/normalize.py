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

from kb.phrasing import asks

# Greetings, politeness and lead-ins a customer puts before (or after) the question; taken off the ends only.
_LEAD = (
    r"(?:您好|你好|你们好|哈喽|哈啰|嗨(?![皮])|早上好|上午好|下午好(?!像)|晚上好|在吗|在不在|有人吗|"
    r"(?:客服|亲爱的|亲|小姐姐|小哥哥)(?=[\s，,。.!！?？~～、:：])|"
    r"\b(?:hi|hello|hey there|hey|dear|good (?:morning|afternoon|evening)|please|excuse me|sorry)\b|"
    r"请问一下|请问下(?!午)|请问|麻烦问一下|麻烦问下(?!午)|麻烦一下|麻烦您|麻烦你|麻烦(?=[\s，,。!！])|"
    r"打扰一下|打扰了|不好意思|"
    r"我想问一下|我想问下(?!午)|想问一下|想问下(?!午)|想咨询一下|想咨询下(?!午)|咨询一下|咨询下(?!午)|"
    r"我想咨询|想咨询|咨询(?=[\s，,。!！?？]|$)|"
    r"问一下|问下(?![午载])|我想问|想问|(?:我)?(?:只是|就是|就|只|是)想(?:问|咨询|知道|了解)(?:一下|下(?!午))?|"
    r"我想确认一下|想确认一下|确认一下|我想知道|想知道|想了解一下|想了解|了解一下|请教一下|请教|"
    r"谢谢您|谢谢你|谢谢|多谢|非常感谢|太感谢了|感谢(?![信])|谢啦|辛苦了|辛苦啦|好的谢谢|"
    r"\b(?:thanks a lot|thanks|thank you)\b)"
)
_AFTER = r"[\s，,。.!！?？~～、:：…呀啊哈嘛哦噢啦]*"  # punctuation and particles after a greeting
LEADING = re.compile(rf"^(?:\s*{_LEAD}{_AFTER})+", re.I)
TRAILING = re.compile(
    r"(?:[\s，,。.!！~～]{0,8}(?:谢谢|多谢|感谢|谢啦|\bthanks|\bthank you|\bplease|急|在线等|急急急)"
    r"[\s，,。.!！~～]{0,8})+$",
    re.I,
)
GREETING_ONLY = re.compile(rf"^(?:\s*{_LEAD}{_AFTER})+$", re.I)

SENTENCES = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
LONG_MESSAGE = 50  # characters: a message longer than this is read for the sentence that asks
SHORT_SENTENCE = 8  # a question sentence with fewer letters than this takes the sentence before it along
# A question sentence whose subject is in the sentence before it: '这种情况…', '现在该怎么办'.
DEICTIC = re.compile(r"^(?:那|这|此|现在|该|它|他们|这样|这种|那种|这个|那个|这些|那些)")


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
_VARIANT_WORDS = re.compile(r"帐(?=[户号单目务款])")


def to_simplified(text: str) -> str:
    """Traditional Chinese (Taiwan or Hong Kong usage) in Simplified with mainland wording. Simplified text
    keeps its characters, though OpenCC's phrase table also turns Taiwan wording into mainland wording
    (支援 -> 支持, 程式 -> 程序)."""
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
    """Whether a message is only a greeting, politeness or thanks (nothing to look up): all of it is, or it
    starts with one and what is left is a word or two that asks nothing ('谢谢你', '你好呀小服')."""
    text = unicodedata.normalize("NFKC", text)[:200]
    if not has_words(text):
        return False
    inner = strip_pleasantries(text)
    if not inner:
        return True
    return bool(LEADING.match(text)) and len(_letters(inner)) <= 3 and not asks(inner)


def question_sentence(text: str) -> str:
    """In a long message, the last sentence that asks (with the sentence before it when it is short or its
    subject is there: '这种情况…', '现在该怎么办');
    a short message, or one that asks nowhere, comes back whole."""
    if len(text) <= LONG_MESSAGE:
        return text
    sentences = [m.group().strip() for m in SENTENCES.finditer(text) if has_words(m.group())]
    asking = [i for i, s in enumerate(sentences) if asks(s)]
    if not asking:
        return text
    i = asking[-1]
    picked = strip_pleasantries(sentences[i]) or sentences[i]
    if i > 0 and (sum(c.isalnum() for c in picked) < SHORT_SENTENCE or DEICTIC.match(picked)):
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
