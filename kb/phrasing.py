"""Whether a customer's sentence asks something: one pattern for the desk's rules (kb.desk.rules: a question
about human service is not a request for it) and for reading a message (indexer.normalize: the sentence that
asks in a long message). Plain regular expressions over Chinese and English."""

from __future__ import annotations

import re

# A question mark; a question word or particle; 'A不A' (卖不卖, 是不是); a handful of English question words. Not
# 没什么 / 没啥 ('没什么用', 'not much use') nor the 么 of 这么, 那么, 多么, 要么; 几 with a measure word asks
# ('银卡打几折'), not 好几遍, 十几块, 这几周, 前几天.
QUESTION = re.compile(
    r"[?？]|吗|(?<![什怎这那多要])么|呢|怎么|怎样|如何|多少|多久|多长|(?<![好十这前那])几[点天个次号岁年月日分小位折成块元项种类级楼层站趟周倍张份遍]|"
    r"(?<!没)(?<!没有)什么|(?<!没)啥|哪|是否|能否|有没有|"
    r"会不会|要不要|可以.{0,8}(?:吗|(?<![什怎这那多要])么)|一般|为啥|为什么|([\u4e00-\u9fff])不\1|"
    r"\b(?:how|what|when|where|which|who|why|is there|are there|do you|does)\b",
    re.I,
)


def asks(text: str) -> bool:
    """Whether text asks something (QUESTION)."""
    return bool(QUESTION.search(text or ""))
