"""Agent-answer candidates: what an agent taught a customer in a live chat, offered to curators as a draft
Q&A entry. Each agent reply is paired with the customer message it answers (the latest one before it that
asks something), and only what carries knowledge is kept: greetings, names and salutations ('陈先生您好'),
the agent's own actions ('已为您登记'), sign-offs and lines asking for contact details are taken out.

A candidate is only ever a gap (kb.desk.gaps, reason 'agent_answer'): it becomes a Q&A entry when a curator
saves it from their form, never by itself."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kb.desk.privacy import mask_personal_data
from kb.desk.rules import wants_human
from kb.phrasing import asks

MAX_ANSWER = 2000
MIN_KNOWLEDGE_CHARS = 10  # letters left after cleaning: below this a reply said nothing a customer could reuse

# A sentence, with its end mark; a line break ends one too.
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
# At the start of a reply: '陈先生您好，', '王女士，', '您好！', '亲，'.
SALUTATION = re.compile(
    r"^\s*(?:(?:尊敬的)?[\u4e00-\u9fff]{1,3}(?:先生|女士|小姐|老师|同学)(?:您好|你好)?|您好|你好|亲(?:爱的)?|hi|hello)"
    r"[，,！!。.~～\s]*",
    re.I,
)
# A sentence that is courtesy, not content.
COURTESY = re.compile(
    r"^(?:我是|这里是|很高兴|非常高兴|感谢您?的?(?:耐心|等待|来电|咨询|理解|支持|配合)|谢谢您?的?|不客气|"
    r"抱歉让您久等|让您久等|久等了|请稍等|稍等|麻烦您?稍等|好的|嗯|明白了?|收到|"
    r"(?:请问)?(?:您)?还有(?:其他|别的|什么)|祝您|再见|欢迎(?:您)?再次|如有(?:其他|任何)?(?:问题|疑问)|"
    r"有什么(?:可以|能)(?:帮|为)您)"
)
# The agent's own doing for this customer, which teaches nothing: '已为您登记', '我这边帮您查一下'.
OWN_ACTION = re.compile(r"^(?:我(?:这边|们这边)?|这边)?(?:已经?|正在|马上|稍后|先)?(?:为您|帮您|给您)")
# Taking the chat over, which teaches nothing: '（由我）接手您的问题', '我来跟进'.
TAKING_OVER = re.compile(
    r"(?:接手|接管|跟进)(?:您的|你的)?(?:问题|会话|咨询)?[。！!]?$|^(?:由我|我来)(?:为您)?(?:处理|跟进|接手)"
)
# Asking the customer for a way to reach them, or giving the agent's own: '请问您方便留一个能联系到您的电话吗',
# '稍后给您回电', a number the customer gave (masked already: '[手机号]').
CONTACT = re.compile(
    r"(?:留|提供|告诉|发).{0,10}(?:电话|手机|号码|联系方式|微信|邮箱)|(?:电话|手机|号码|联系方式).{0,12}(?:吗|么|[?？])|"
    r"联系(?:到)?(?:您|我)|(?:给|向)您回(?:电|拨)|回电给您|\[(?:手机号|电话|邮箱|身份证号|银行卡号)\]"
)
# Customer messages that ask nothing worth pairing with: '在吗？', '你好', '好的谢谢'.
CHITCHAT = re.compile(r"在吗|在不在|有人吗|你好|您好|谢谢|多谢|好的|嗯|哦|请问|[?？!！。，,\s]")


@dataclass(frozen=True)
class Candidate:
    """A customer question and the cleaned answer an agent gave it (masked, at most MAX_ANSWER characters)."""

    question: str
    answer: str


def clean_reply(text: str) -> str:
    """An agent's reply without its salutation ('陈先生您好'), without courtesy clauses at the start or end of a
    sentence ('好的，', '，祝您生活愉快'), without clauses about contact details and sentences about the agent's
    own doing;
    '' when nothing else is left. '陈先生您好，挂失请拨打热线。请问您方便留个电话吗？' -> '挂失请拨打热线。'"""
    kept = []
    for line in (text or "").split("\n"):
        for sentence in SENTENCE.findall(line.strip()):
            clauses = [c for c in re.split(r"(?<=[，,；;])", sentence.strip()) if c.strip() and not CONTACT.search(c)]
            while clauses and _is_courtesy(clauses[0]):
                clauses.pop(0)
            while clauses and _is_courtesy(clauses[-1]):
                clauses.pop()
            core = re.sub(r"^(?:那|那么|另外|此外|同时)[，,]?", "", "".join(clauses).strip())
            if core.endswith(("？", "?")):  # the agent asking the customer ('请问卡是在哪个网点被吞的？'): no answer
                continue
            if core and not OWN_ACTION.match(core) and not TAKING_OVER.search(core):
                kept.append(core if core[-1] in "。！？!?；;" else core.rstrip("，,") + "。")
    return "".join(kept).strip()


def _is_courtesy(clause: str) -> bool:
    """A clause that only greets, names the customer, thanks, acknowledges or signs off."""
    rest = SALUTATION.sub("", clause.strip())
    return not rest.strip("，,。.！!；;~～ ") or bool(COURTESY.match(rest))


def carries_knowledge(answer: str) -> bool:
    """Whether a cleaned answer says enough to be worth a Q&A entry (MIN_KNOWLEDGE_CHARS letters or more)."""
    return sum(c.isalnum() for c in answer) >= MIN_KNOWLEDGE_CHARS


def asks_something(text: str) -> bool:
    """Whether a customer message asks a question an answer could be about: it asks (kb.phrasing.asks), is
    not a short request for a person, and is more than chit-chat ('在吗？', '你好，请问')."""
    text = (text or "").strip()
    if not asks(text) or (len(text) <= 8 and wants_human(text)):
        return False
    return sum(c.isalnum() for c in CHITCHAT.sub("", text)) > 3


def candidates(messages: Iterable[Mapping[str, str]], fallback_question: str) -> list[Candidate]:
    """The Q&A candidates of a transcript (messages oldest first, each with 'from' and 'text'): every agent
    reply paired with the latest customer message before it that asks something (fallback_question, the
    ticket's, when none does), replies to one question joined in order, cleaned (clean_reply) and masked;
    only those that carry knowledge, in the order their questions were asked."""
    answers: dict[str, list[str]] = {}
    question = fallback_question.strip()
    for m in messages:
        if m["from"] == "customer" and asks_something(m["text"]):
            question = m["text"].strip()
        elif m["from"] == "agent" and question and (cleaned := clean_reply(m["text"])):
            answers.setdefault(question, []).append(cleaned)
    found = []
    for asked, parts in answers.items():
        answer = mask_personal_data("\n".join(parts))[:MAX_ANSWER]
        if carries_knowledge(answer):
            found.append(Candidate(mask_personal_data(asked), answer))
    return found
