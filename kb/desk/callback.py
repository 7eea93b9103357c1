"""Reading a customer's messages while the bot takes down a callback: did they give a number, what is their
problem in their own words, when would they like the call, and what to ask next.

The bot never sees the number itself: the web app keeps it (kb.desk.contacts) and passes the message on with
the number masked ('[手机号]', '[电话]', kb.desk.privacy); the placeholder is how the bot learns one was given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import sys
import threading
from typing import Any

from kb.desk.rules import DECLINED, REQUEST_FORM, asks_about, explicitly_asks_for_human
from kb.phrasing import asks

NUMBER_GIVEN = re.compile(r"\[(?:手机号|电话)\]")
# Asking to be called, and the words around a number ('我的手机号是', '打这个号码').
CALL_ME = re.compile(
    r"(?:请|麻烦|能不能|能否|可不可以|可以|能|尽快|务必)?(?:给我|帮我)?(?:回(?:个)?电(?:话)?|回拨|打(?:电话)?给我|给我打(?:个)?电话|"
    r"电话联系我|联系我|call me(?: back)?)(?:吧|吗|呢)?"
    r"|(?:我的|我)(?:手机号码|手机号|手机|电话号码|电话|联系方式|号码|座机)(?:是|为|：|:)?"
    r"|(?:手机号码|手机号|电话号码|联系方式|号码)(?:是|为|：|:)"
    r"|(?:打|拨|拨打)(?:这个|此)(?:号码|号|电话)?|(?:转|分机)\d{1,6}"
    r"|(?:转|接|找|要|换|给我)(?:个|一下)?(?:人工|真人|客服)(?:客服|服务)?",
    re.I,
)
# Asking to be called, in so many words ('请给我回电话', '回电给我', '打给我'), not asking whether one will be
# ('你们会回电吗'): a request word or 'me' must be there.
CALL_REQUEST = re.compile(
    r"(?:请|麻烦|尽快|给我|帮我|能不能|能否|可以|可不可以)(?:给我|帮我)?回(?:个)?电|回(?:个)?电(?:话)?给我|回拨给我|"
    r"打(?:个)?电话给我|给我打(?:个)?电话|打给我|电话联系我|\bcall me\b",
    re.I,
)
# Giving a number to be called on: asking for a call, or saying whose number it is.
OFFERS = re.compile(
    r"回(?:个)?电|回拨|打(?:电话)?给我|给我打|打我(?:电话|手机)|联系我|call me|"
    r"我的?(?:手机号码|手机号|手机|电话号码|电话|联系方式|号码|座机)|(?:留|留下|登记)(?:个|一下)?(?:电话|号码|手机|联系方式)",
    re.I,
)
FILLER = re.compile(r"^[\s，,。.！!？?、；;：:~～…]+|[\s，,、；;：:~～…]+$")  # a question keeps its mark
# When the customer would like the call: a day and/or a part of the day and/or a clock time, with 前/后/以后.
_WEEKDAY = r"[一二三四五六日天]"
_DAY = rf"(?:今天|今晚|明天|明早|明晚|后天|周[一二三四五六日天末]|星期{_WEEKDAY}|礼拜{_WEEKDAY}|工作日|下周{_WEEKDAY}?)"
_PART = r"(?:早上|上午|中午|下午|傍晚|晚上|午休|白天)"
_CLOCK = r"(?:\d{1,2}|[一二两三四五六七八九十]{1,3})(?:[点:：时](?:半|\d{1,2}分?|[一二三四五]十分?)?)"
_AROUND = r"(?:以后|之后|以前|之前|前|后)"
PREFERRED_TIME = re.compile(
    rf"(?:{_DAY}\s*)?(?:{_PART}\s*)?{_CLOCK}(?:\s*(?:到|至|-|~)\s*{_CLOCK})?(?:以后|之后|以前|之前|前|后|左右)?"
    rf"|{_DAY}\s*{_PART}?{_AROUND}?|{_PART}{_AROUND}?|随时|什么时候都行"
)
# What is said around a time and nothing more ('下午都行', '这个时间之间打吧').
TIME_FILLER = re.compile(r"之间|都行|都可以|均可|比较方便|方便|有空|的时候|时间|再打|打|吧|我|的")
CALL_WORDS = re.compile(r"打|回电|回拨|联系|电话|致电|call", re.I)
# A call named, without which NLU's request_callback is no request for one ('银卡打折' heard as request_callback
# at 0.91: 打折 is a discount, not a call).
MENTIONS_CALL = re.compile(r"电话|回电|回拨|致电|来电|联系|打给|打过来|打我|给我打|\bcall|\bring\b|\bphone", re.I)
CHANGE_NUMBER = re.compile(
    r"^/callback_change|(?:修改|更改|改|换)(?:一下|个)?(?:号码|号|电话|手机)|号码(?:不对|错了)|不是这个号"
)
WITHDRAW = re.compile(r"^(?:不用了|算了|不需要了?|取消|取消回电|不用回电了?|不用打了)[了吧啊。.!！]*$")
# Declining the call, then saying what they want instead ('不用回电，我只是想问银卡打几折').
WITHDRAW_FIRST = re.compile(
    r"^(?:不用了?|算了|不需要了?|取消回电|(?:不用|不要|不需要|别)(?:回电|回电话|打电话|打给我|打了|给我打电话)了?)"
    r"[了吧啊]*[，,。.!！；;\s]+(?P<rest>.+)$",
    re.S,
)
_jionlp_lock = threading.Lock()


def offers_contact(text: str) -> bool:
    """Whether a message with a number in it gives it to be called on: it asks for a call or a person, or
    says it is theirs ('请回电 138…', '转人工，我电话 138…', '我的手机号是 …'), rather than asking about one."""
    return bool(OFFERS.search(text or "")) or explicitly_asks_for_human(text)


def call_time(text: str) -> str:
    """The preferred time a message gives for the call: a time said alone ('明天上午吧') or with calling
    ('周六上午打', '下午三点以后联系我'); '' for a time that is part of the story ('卡是昨天下午丢的')."""
    if problem_words(text) and not CALL_WORDS.search(text or ""):
        return ""
    return preferred_time(text)


def asks_for_call(text: str) -> bool:
    """Whether a message asks to be called back in so many words ('信用卡被盗刷了，请给我回电话'), and is not
    declining one ('不用回电了')."""
    text = text or ""
    return bool(CALL_REQUEST.search(text)) and not WITHDRAW.search(text) and "不用" not in text


def wants_callback(text: str, intent: str | None) -> bool:
    """Whether a message asks to be called back: the 预约回电 button, in so many words ('请给我回电话'), or NLU's
    request_callback on a message that names a call (MENTIONS_CALL) and does not ask about something ('晚上能打
    客服电话吗' and '银卡打几折' are questions for the knowledge base). One decision for the bot and the hit-test
    page."""
    text = text or ""
    if text.startswith("/request_callback"):  # the 预约回电 button
        return True
    return asks_for_call(text) or (
        intent == "request_callback" and bool(MENTIONS_CALL.search(text)) and not asks_about(text)
    )


def tries_a_number(text: str) -> bool:
    """Whether a message that holds no number anyone could call was still meant as one ('12345',
    '新号码是 1391234123'): a run of five or more digits."""
    return bool(re.search(r"\d[\d\s-]{3,}\d", NUMBER_GIVEN.sub("", text or "")))


def gave_number(text: str) -> bool:
    """Whether the message (as the bot receives it, numbers masked) held a phone number."""
    return bool(NUMBER_GIVEN.search(text or ""))


def preferred_time(text: str) -> str:
    """When the customer would like to be called, as they put it ('明天上午十点以后'); '' if they did not say,
    or if the time is part of a question about something else ('客服热线晚上能打通吗')."""
    if asks(text or "") and not OFFERS.search(text or "") and not CALL_ME.search(text or ""):
        return ""
    spans = [m.group(0).strip() for m in PREFERRED_TIME.finditer(text or "") if m.group(0).strip()]
    return " ".join(spans)[:60]


def earliest_call(when: str, now: dt.datetime) -> dt.datetime | None:
    """The moment a customer's preferred time ('明天下午三点以后', '周六上午', '下午三点到五点') begins, read by
    JioNLP's parse_time against now (an aware datetime in the desk's time zone; the result is in it too); None
    when it cannot be read, or does not begin after now ('十二点前', '随时', a time already past)."""
    if not (when or "").strip():
        return None
    jionlp = _jionlp()
    base = {"year": now.year, "month": now.month, "day": now.day, "hour": now.hour, "minute": now.minute}
    try:  # the wall clock itself, not a timestamp (which would go through the server's own time zone)
        parsed = jionlp.parse_time(when, time_base={**base, "second": now.second})
        start = dt.datetime.fromisoformat(parsed["time"][0]).replace(tzinfo=now.tzinfo)
    except Exception:  # any reading it cannot make is no time: the callback keeps its due time
        logging.getLogger(__name__).debug("no time read from %r", when)
        return None
    return start if start > now else None


def _jionlp() -> Any:
    """JioNLP, imported once (under a lock: its import prints a banner, silenced by swapping sys.stdout, which
    another thread must not see)."""
    with _jionlp_lock:
        if "jionlp" not in sys.modules:
            with contextlib.redirect_stdout(io.StringIO()):
                import jionlp  # noqa: F401
        return sys.modules["jionlp"]


def problem_words(text: str) -> str:
    """The message without the number, the request for a call or a person, and the time it names: what is
    left of the customer's problem in their words; '' if nothing of substance is left ('请回电 [手机号]') or it
    is a button's payload ('/request_human')."""
    if (text or "").startswith("/"):
        return ""
    text = NUMBER_GIVEN.sub(" ", text or "")
    for pattern in (REQUEST_FORM, CALL_ME):
        text = pattern.sub(" ", text)
    rest = TIME_FILLER.sub(" ", PREFERRED_TIME.sub(" ", text))
    rest = FILLER.sub("", re.sub(r"\s+", " ", rest)).strip()
    letters = [c for c in rest if c.isalnum()]
    return FILLER.sub("", re.sub(r"\s+", " ", text)).strip() if len(letters) >= 4 else ""


def wants_other_number(text: str) -> bool:
    """Whether the customer asks to change the number they gave ('修改号码', the button, '号码不对')."""
    return bool(CHANGE_NUMBER.search((text or "").strip()))


def withdraws(text: str) -> bool:
    """Whether the customer no longer wants the call ('不用了', '算了', '取消回电'), and says nothing else."""
    text = (text or "").strip()
    return bool(WITHDRAW.match(text)) or (bool(DECLINED.search(text)) and len(text) <= 8)


def withdraws_then(text: str) -> str:
    """What a message says after declining the call ('不用回电，我只是想问银卡打几折' -> '我只是想问银卡打几折'); ''
    when it does not start by declining one, or says nothing after it (withdraws)."""
    found = WITHDRAW_FIRST.match((text or "").strip())
    rest = found.group("rest").strip() if found else ""
    return rest if any(c.isalnum() for c in rest) else ""


def next_step(has_problem: bool, has_contact: bool) -> str:
    """What the bot asks for next: 'problem' (nothing yet, or only a number), 'contact' (the problem but no
    number), 'confirm' (a number to confirm)."""
    if has_contact:
        return "confirm"
    return "contact" if has_problem else "problem"
