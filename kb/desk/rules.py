"""The desk's rules, decided in one place for the bot (actions/) and the web app (web/): whether agents
are on duty, whether a message asks for a person, why a handoff happens, and which customer message
an agent should look things up for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kb.phrasing import asks

# Asking for a person, in so many words: a verb of asking with 人工/真人 (客服 only after 转/接/换/给我), a
# complaint being made, or English.
HUMAN_WORDS = re.compile(
    r"(?:转|接|找|要|换|叫|请|给我|安排)(?:个|一下|一个)?(?:人工|真人|活人)|(?:转|接|换|给我|安排)(?:个|一下|一个)?客服|"
    r"我(?:要|想|得)?投诉|投诉你们|\b(?:human agent|real person|live agent)\b|"
    r"\b(?:want|need|get me|give me|connect me(?: to)?|transfer me(?: to)?|talk to|speak to|speak with|talk with)"
    r"\s+(?:(?:a|an|to|with|the)\s+)*(?:human|agent|person|operator|representative|someone)\b",
    re.I,
)
# Not wanting one: '不用转人工', '别转人工了'.
DECLINED = re.compile(r"(?:不用|不要|别|无需|不需要|不必)(?:再)?(?:帮我)?(?:转|接|找)?(?:个)?(?:人工|客服|真人)")
# A request phrased as a question is still a request ('能不能转人工', '可以帮我接人工吗', 'can I speak to …'), and
# so is one said outright beside a question on something else ('我要找人工客服，问一下…').
REQUEST_FORM = re.compile(
    r"(?:能不能|能否|可不可以|可以|能|麻烦|帮我|请|给我)(?:帮我|给我)?(?:转接|转|接|找)(?:个|一下)?(?:人工|真人|客服)|"
    r"(?:我要|我想|我需要|我得)(?:转接|转|接|找|换)?(?:个|一下)?(?:人工|真人)|"
    r"\b(?:can|could|may) i (?:speak|talk)\b",
    re.I,
)
# Rhetorical exasperation, not a question about anything: '怎么这么难', '为什么还不转'.
RHETORICAL = re.compile(r"(?:怎么|为什么|为啥)(?:这么|那么|还|老是|总是)")
# What a bare request looks like once politeness is gone: '人工', '人工呢', '人工服务吧', '客服！'.
BARE_REQUEST = re.compile(
    r"^(?:人工|人工服务|人工客服|客服|真人|human|agent|operator)[呢吧啊呀!！。.?？\s]*(?:please)?$", re.I
)
# Remarks on the human service itself (its menu option, its agents), not a request for it.
HUMAN_SERVICE_TOPIC = re.compile(r"人工(?:的)?(?:选项|那一?项|按键|键|菜单|入口|通道)|坐席|语音菜单|电话菜单|语音导航")
# A yes, a no or an 'ok' and nothing else ('好的', '嗯嗯', '不用了，谢谢', '先不用了', '好的👌'): what NLU's affirm must
# look like to be read as one, and a yes to the offer of a person. A short message NLU hears as a yes ('退款', '预付卡',
# '罚款') is a question. Words longest first and taken whole (an atomic group), so that a long message that is no
# acknowledgement fails at once instead of being split every possible way.
_ACK_WORDS = (
    "是|是的|是啊|对|对的|对啊|没错|好|好的|好啊|好吧|好嘞|好滴|行|行吧|行啊|可以|可以的|可以啊|要得|嗯|恩|哦|噢|喔|"
    "需要|要|要的|没问题|知道了|明白|了解|收到|谢谢|谢谢你|多谢|谢啦|麻烦|麻烦了|麻烦你|麻烦你了|"
    "转吧|转一下|帮我转|帮我转一下|帮我转接|转接吧|"
    "不|不是|不用|不要|不需要|不必|算了|没有|没了|没事|暂时不用|暂时不需要|先不用|暂时没有|就这样|那就这样|没别的|"
    "ok|okay|yes|yeah|yep|yup|sure|fine|please|go ahead|no|nope|thanks|thank you"
).split("|")
_ACK_WORD = "|".join(sorted(_ACK_WORDS, key=len, reverse=True))
ACKNOWLEDGEMENT = re.compile(rf"(?:(?>{_ACK_WORD})[了啦呀哈吧啊哒滴嗯呢哦]* ?)+", re.I)
MAX_ACKNOWLEDGEMENT = 24  # characters of words: longer is something else
# Of those, the ones that say yes (not only thanks: '谢谢' after an offer of a person is no yes) and those that say no.
YES_WORD = re.compile(
    r"是|对|好|行|可以|要得|嗯|恩|需要|要的?$|麻烦|转|\b(?:ok|okay|yes|yeah|yep|yup|sure|please|go ahead)\b", re.I
)
NO_WORD = re.compile(r"不|没|算了|\b(?:no|nope)\b", re.I)
# What feedback on an answer says: the 👍/👎 buttons (their payloads and emoji) and, in a message that asks nothing,
# words judging the answer ('没用' is feedback, '没用过的票能退吗' a question).
FEEDBACK_BUTTON = re.compile(r"^/feedback|👍|👎")
FEEDBACK_INTENTS = ("feedback_helpful", "feedback_unhelpful")  # NLU's and the buttons': Rasa's rules -> action_feedback
# Words judging that the answer did not help ('没什么用', '不对', 'wrong'), and that it did ('解决了', '不错').
_UNHELPFUL = (
    r"没用|没(?:什么|啥)用|没有用|不管用|答非所问|不是我要|不是我想|不是我问|说得不对|(?<![不没])错|不对|不准|不明白|看不懂|没解决|"
    r"\bnot help(?:ful|ed)\b|\bdid(?:n't| not) help\b|\bwrong\b|\buseless\b"
)
_HELPFUL = r"帮助|帮到|有用|回答得|解决了|明白了|懂了|不错|没错|\bhelp(?:ful|ed)\b"
UNHELPFUL_WORDS = re.compile(_UNHELPFUL, re.I)
FEEDBACK_WORDS = re.compile(f"{_UNHELPFUL}|{_HELPFUL}", re.I)
# Asking when the desk's people are there ('人工客服几点下班', '什么时候有人', '周末有人工吗', '客服几点下班', 'when are
# your agents available'): the desk's own service hours answer it, not a document's. The hotline itself
# ('客服热线是24小时的吗'), the human service's menu or phone number, and other things done by hand (人工窗口, 人工审核,
# 人工费) are the knowledge base's questions.
AGENT_SUBJECT = re.compile(
    r"人工(?!窗口|审核|售票|费|智能|办理|成本|服务费)|真人|坐席|座席|客服人员|客服专员|接线员|"
    # 客服 right before the time ('客服几点下班'), not a call centre's ('银行客服中心是几点到几点服务的'); not 你们
    # ('请问你们几点关门' asks a business hall's hours)
    r"客服(?!中心|热线|电话|专线)(?=.?(?:几点|上班|下班|什么时候))|"
    r"\b(?:agents?|humans?|real person|operators?)\b|\bcustomer service hours\b",
    re.I,
)
OPENING_HOURS = re.compile(
    r"几点|什么时候|何时|上班|下班|营业时间|服务时间|工作时间|值班|周末|晚上|夜里|半夜|节假日|24\s*小时|全天|"
    # English 'when' only as the question's ('when are …'), not 'when I call the hotline, …'; no bare 'open'
    r"\bwhen (?:are|is|do|does|will|can)\b|\bwhat time\b|\bhours\b|\bavailable\b|\bonline\b|"
    r"\bweekends?\b|\bat night\b",
    re.I,
)
AGENT_THERE = re.compile(
    r"有(?:没有)?人工(?:客服|服务)?(?:吗|么|嘛|呢)|有没有人工(?:客服|服务)?(?:[?？。]|$)|"
    r"\bdo you have (?:human|real)\b|"
    # '什么时候有人' alone: nothing else it could be about ('小区晚上有人值班吗' is about the estate's staff)
    r"^(?:那|请问|你们)*(?:什么时候|几点|周末|晚上|节假日)才?有人(?:在|值班|上班)?(?:吗|么|呢)?[?？。]*$",
    re.I,
)
HUMAN_INTENTS = ("request_human", "complaint")
HANDOFF_REASONS = ("asked", "could_not_answer", "complaint", "negative_feedback")


ALWAYS_OPEN = "00:00-24:00"


def service_window(hours: str) -> tuple[int, int]:
    """Service hours 'HH:MM-HH:MM' as (opening, closing) in minutes after local midnight (an end of 24:00
    is 1440)."""
    start, end = hours.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


def in_service_hours(hours: str, timezone: str, when: dt.datetime | None = None) -> bool:
    """Whether a moment (default now) falls inside 'HH:MM-HH:MM' local time in timezone (an end of 24:00
    means midnight; a window whose end is not after its start is never open)."""
    local = (when or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    start, end = service_window(hours)
    return start <= local.hour * 60 + local.minute < end


def open_minutes(hours: str, hour: int) -> int:
    """How many minutes of local hour `hour` (0-23, the hour from hour:00 to hour+1:00) fall inside service
    hours 'HH:MM-HH:MM': 60 for an hour the desk is open throughout, 0 for a closed one."""
    start, end = service_window(hours)
    return max(0, min(end, hour * 60 + 60) - max(start, hour * 60))


def opens_in(hours: str, hour: int) -> bool:
    """Whether the desk opens during local hour `hour` (0-23): the opening time falls in it. Never for a desk
    open round the clock (00:00-24:00) or never open (an end not after its start)."""
    start, end = service_window(hours)
    return end > start and (start, end) != (0, 1440) and start // 60 == hour


def next_opening(hours: str, timezone: str, after: dt.datetime | None = None) -> dt.datetime | None:
    """The first moment at or after `after` (default now) inside service hours ('HH:MM-HH:MM' local time in
    timezone): `after` itself while open, else the next opening, UTC; None for a window that never opens."""
    moment = (after or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if in_service_hours(hours, timezone, moment):
        return moment
    start = hours.split("-")[0]
    local = moment.astimezone(ZoneInfo(timezone))
    for days in range(2):
        day = local.date() + dt.timedelta(days=days)
        opening = dt.datetime.combine(day, dt.time(int(start[:2]), int(start[3:])), ZoneInfo(timezone))
        if opening >= local and in_service_hours(hours, timezone, opening):
            return opening.astimezone(dt.UTC)
    return None


@dataclass(frozen=True)
class DeskPolicy:
    """The desk as configured (settings service_hours, timezone, default_handle_seconds)."""

    service_hours: str
    timezone: str
    default_handle_seconds: float

    def in_service_hours(self, when: dt.datetime | None = None) -> bool:
        """Whether agents take chats at this moment (default now); outside, a handoff becomes a callback."""
        return in_service_hours(self.service_hours, self.timezone, when)

    def next_opening(self, after: dt.datetime | None = None) -> dt.datetime | None:
        """When agents are next on duty (`after` itself while they are; None if never): a callback's due time."""
        return next_opening(self.service_hours, self.timezone, after)


def explicitly_asks_for_human(text: str) -> bool:
    """Whether a message asks for a person in so many words: a button's request_human or complaint payload;
    a bare '人工'; or 转人工 / 我要投诉 / 'talk to a human' in a message that is not a question about the
    human service ('人工客服周末上班吗') unless it is a request phrased as one ('能不能转人工'), and not a
    refusal ('不用转人工'). Exasperation ('转人工！怎么这么难') is still a request."""
    text = (text or "").strip()
    if text.startswith(("/request_human", "/complaint")):
        return True
    core = re.sub(r"^(?:您好|你好|请问|麻烦|帮我|我要|我想|给我)[，,\s]*", "", text)
    if BARE_REQUEST.match(core):
        return True
    if DECLINED.search(text) or not HUMAN_WORDS.search(text):
        return False
    return bool(REQUEST_FORM.search(text)) or not asks_about(RHETORICAL.sub("", text))


def wants_human(text: str, intent: str | None = None) -> bool:
    """Whether to hand a message to a person:

    - asked for in so many words (explicitly_asks_for_human): always;
    - NLU says request_human or complaint and the message does not ask anything ('你们服务太差了'): yes;
    - a question, whatever NLU said ('人工坐席一般几点下班', '你们投诉一般多久给答复', '卖不卖…'): no; route
      answers it (the desk's own hours for the first, asks_agent_hours; the knowledge base for the others, which
      answers or says it cannot and offers a person, and logs a gap);
    - anything else: no."""
    if explicitly_asks_for_human(text):
        return True
    return intent in HUMAN_INTENTS and not DECLINED.search(text or "") and not asks_about(text)


def route(text: str, intent: str | None, pleasantry: bool) -> str:
    """What the bot does with a customer's message, before any search: one decision for the bot's actions
    and the hit-test page. text: as the bot receives it (Simplified, masked); intent: NLU's; pleasantry:
    whether the message is only a greeting or thanks (indexer.normalize.is_pleasantry). Returns 'handoff'
    (wants_human), 'no_words' (emoji or punctuation alone), 'greet' or 'thanks' (nothing else in it), 'ack'
    (NLU's yes that is only one, is_acknowledgement: '好的', not '退款'; NLU's no that asks nothing: '暂时不需要'),
    'desk_hours' (when the desk's people are there: asks_agent_hours, answered from the service hours), or
    'knowledge' (search the knowledge base: answer, clarify, or abstain and offer a person; a follow-up such as
    '那要是不满意呢' or a word such as '退款' that NLU took for a yes or no, too)."""
    if wants_human(text, intent):
        return "handoff"
    if not any(c.isalnum() for c in text or ""):
        return "no_words"
    if pleasantry:
        return "thanks" if intent == "thanks" else "greet"
    if (intent == "affirm" and is_acknowledgement(text)) or (intent == "deny" and not asks_about(text)):
        return "ack"
    if asks_agent_hours(text):
        return "desk_hours"
    return "knowledge"


def asks_agent_hours(text: str) -> bool:
    """Whether a message asks when (or whether) the desk's people are there: a person of the desk
    (AGENT_SUBJECT: 人工, 坐席, agent) with an opening-hours word (OPENING_HOURS: 几点, 下班, 周末, 'when are'),
    or '有人工吗', or '什么时候有人' alone. Answered from the desk's service hours (route's 'desk_hours'), not
    from a document."""
    text = text or ""
    return bool(AGENT_THERE.search(text) or (AGENT_SUBJECT.search(text) and OPENING_HOURS.search(text)))


ZONE_NAMES = {
    "Asia/Shanghai": "北京时间",
    "Asia/Hong_Kong": "香港时间",
    "Asia/Taipei": "台北时间",
    "Asia/Macau": "澳门时间",
}


def agent_hours_reply(in_hours: bool, agents_available: bool) -> str:
    """Which answer tells a customer when the desk's people are there (a response of bot/domain.yml): out of
    hours 'utter_agent_hours_closed' (a callback offered); in hours with an agent available 'utter_agent_hours_open'
    (转人工 now); in hours with none available 'utter_agent_hours_no_agent' (a wait likely, both offered)."""
    if not in_hours:
        return "utter_agent_hours_closed"
    return "utter_agent_hours_open" if agents_available else "utter_agent_hours_no_agent"


def zone_name(timezone: str, chinese: bool = True) -> str:
    """The service hours' time zone as a customer reads it: '北京时间' for Asia/Shanghai in a Chinese reply
    (ZONE_NAMES), else the IANA name."""
    return ZONE_NAMES.get(timezone, timezone) if chinese else timezone


def is_acknowledgement(text: str) -> bool:
    """Whether a message is only a yes, a no or an 'ok' (ACKNOWLEDGEMENT: '好的', '不用了，谢谢', 'ok'): what NLU's
    affirm or deny must be to be taken as one, and a button's /affirm or /deny. '退款' or '预付卡' alone, which NLU
    may hear as a yes, is not."""
    text = (text or "").strip()
    if text.startswith(("/affirm", "/deny")):
        return True
    words = "".join(c for c in text if c.isalnum() or c == " ").strip()  # emoji and punctuation aside
    return 0 < len(words) <= MAX_ACKNOWLEDGEMENT and bool(ACKNOWLEDGEMENT.fullmatch(re.sub(r"\s+", " ", words)))


def is_yes(text: str) -> bool:
    """Whether a message is only a yes (an acknowledgement with a yes word and no 'no' word: '好的，麻烦了', 'yes
    please', not '不用了，谢谢' or a bare '谢谢'): how the offer of a person is accepted, whatever NLU called it."""
    text = (text or "").strip()
    if text.startswith("/affirm"):
        return True
    return is_acknowledgement(text) and bool(YES_WORD.search(text)) and not NO_WORD.search(text)


def helpful(text: str, intent: str | None) -> bool:
    """Whether feedback (is_feedback) says the answer helped: a button by its payload or emoji, words by
    whether they judge it unhelpful (UNHELPFUL_WORDS: '没什么用', '不对'), else NLU's intent."""
    text = text or ""
    if FEEDBACK_BUTTON.search(text):
        return "feedback_helpful" in text or "👍" in text
    if FEEDBACK_WORDS.search(text):
        return not UNHELPFUL_WORDS.search(text)
    return intent == "feedback_helpful"


def is_feedback(text: str) -> bool:
    """Whether a message judges the last answer: a 👍/👎 button (FEEDBACK_BUTTON), or words judging it in a
    message that asks nothing (FEEDBACK_WORDS: '没用', '错了', '答非所问', 'helpful'). What NLU's feedback intents must
    be to be recorded as feedback: '那用别人的老年卡呢' or '没用过的票能退吗', which NLU may hear as a 👎, are
    questions."""
    text = text or ""
    return bool(FEEDBACK_BUTTON.search(text)) or (bool(FEEDBACK_WORDS.search(text)) and not asks_about(text))


def asks_about(text: str) -> bool:
    """Whether a message asks something (a question mark, a question word or particle, 'A不A' as in 卖不卖)
    or remarks on the human service itself ('电话菜单的人工选项藏得太深了'), rather than only making a request
    or a complaint."""
    text = text or ""
    return asks(text) or bool(HUMAN_SERVICE_TOPIC.search(text))


def handoff_reason(intent: str | None, offered_for: str | None = None) -> str:
    """Why a conversation goes to a human: a complaint; the customer accepting a human offered after
    an unanswered question or a 👎 (offered_for says which); otherwise they asked."""
    if intent == "complaint":
        return "complaint"
    if intent == "affirm" and offered_for in ("could_not_answer", "negative_feedback"):
        return offered_for
    return "asked"


def latest_question(messages: Iterable[Mapping[str, str]], fallback: str) -> str:
    """The customer's latest message that asks something (messages oldest first, each with 'from' and
    'text'): not a short request for a human, a button press or a greeting ('转人工', '👍', '在吗');
    fallback when there is none."""
    for m in reversed(list(messages)):
        text = m["text"].strip()
        letters = [c for c in text if c.isalnum()]
        if m["from"] != "customer" or len(letters) <= 3 or (len(text) <= 8 and wants_human(text)):
            continue
        return text
    return fallback
