"""Agent-answer candidates: each agent reply paired with the question it answers, cleaned of greetings, names,
sign-offs and contact lines, and kept only when it carries knowledge."""

from __future__ import annotations

import pytest

from kb.desk.candidates import Candidate, asks_something, candidates, clean_reply


def said(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"from": who, "text": text} for who, text in turns]


# The transcript behind the issue: a complaint asked before the handoff, then a stolen card in the live chat.
STOLEN_CARD = said(
    ("customer", "我要投诉，你们网点乱收费怎么处理？"),
    ("bot", "抱歉，知识库里暂时没有这个问题的答案。需要为您转人工客服吗？"),
    ("customer", "转人工"),
    ("system", "人工客服 小李 已接入"),
    ("agent", "陈先生您好，我是客服小李，很高兴为您服务。"),
    ("customer", "你好，在吗？"),
    ("agent", "在的，请讲。"),
    ("customer", "我的银行卡昨天被偷了，现在该怎么办？"),
    (
        "agent",
        "陈先生您好，银行卡被盗请您第一时间拨打客服热线办理口头挂失，口头挂失后5日内持本人有效身份证件到任一网点"
        "办理书面挂失。请问您方便留一个能联系到您的电话吗？",
    ),
    ("customer", "[手机号]"),
    ("agent", "好的，已为您登记，稍后给您回电。"),
    ("customer", "好的谢谢"),
    ("agent", "不客气，还有其他可以帮您的吗？祝您生活愉快，再见！"),
)


def test_the_stolen_card_answer_is_paired_with_the_stolen_card_question_and_nothing_personal_is_kept():
    [found] = candidates(STOLEN_CARD, "我要投诉，你们网点乱收费怎么处理？")
    assert found.question == "我的银行卡昨天被偷了，现在该怎么办？"
    assert found.answer.startswith("银行卡被盗请您第一时间拨打客服热线办理口头挂失")
    assert found.answer.endswith("办理书面挂失。")
    for personal in ("陈先生", "您好", "电话吗", "小李", "登记", "回电", "再见", "[手机号]"):
        assert personal not in found.answer, personal


def test_replies_to_two_questions_make_two_candidates_and_replies_to_one_are_joined():
    chat = said(
        ("customer", "信用卡年费怎么收？"),
        ("agent", "王女士您好！信用卡首年免年费。"),
        ("agent", "当年刷卡满6次可免次年年费。"),
        ("customer", "嗯"),  # asks nothing: the next reply still answers the annual fee
        ("agent", "另外，金卡的年费是每年300元。"),
        ("customer", "那最低还款额是多少？"),
        ("agent", "最低还款额为当期账单金额的10%，请按时还款以免影响征信。感谢您的咨询！"),
    )
    assert candidates(chat, "") == [
        Candidate("信用卡年费怎么收？", "信用卡首年免年费。\n当年刷卡满6次可免次年年费。\n金卡的年费是每年300元。"),
        Candidate("那最低还款额是多少？", "最低还款额为当期账单金额的10%，请按时还款以免影响征信。"),
    ]


def test_a_chat_of_courtesies_and_own_actions_offers_nothing():
    chat = said(
        ("customer", "帮我查下我的账户为什么被冻结了？"),
        ("agent", "您好，请稍等，我这边帮您查一下。"),
        ("agent", "已为您提交申请，请问您方便留个手机号吗？"),
        ("customer", "13812345678"),
        ("agent", "好的，感谢您的耐心等待，再见。"),
    )
    assert candidates(chat, "账户冻结") == []


def test_without_a_customer_question_the_ticket_question_is_used_and_numbers_are_masked():
    chat = said(("agent", "您好，扣费有误的，退款会在3个工作日内原路退回，可拨打 13812345678 查询进度。"))
    [found] = candidates(chat, "扣费不对")
    assert found.question == "扣费不对"
    assert "13812345678" not in found.answer and "3个工作日内原路退回" in found.answer


@pytest.mark.parametrize(
    "reply, kept",
    [
        ("陈先生您好，挂失请拨打热线。请问您方便留一个能联系到您的电话吗？", "挂失请拨打热线。"),
        ("好的，办理挂失需要本人身份证。", "办理挂失需要本人身份证。"),
        ("营业厅周末照常营业，祝您生活愉快！", "营业厅周末照常营业。"),
        ("亲，稍后给您回电。", ""),
        ("感谢您的耐心等待。\n手续费按每笔0.5%收取。", "手续费按每笔0.5%收取。"),
        # from a browser trial: the agent's own question and taking the chat over are not an answer
        (
            "请问卡是在哪个网点被吞的？银行卡被吞后，请带身份证到发卡网点领取。",
            "银行卡被吞后，请带身份证到发卡网点领取。",
        ),
        ("您好，我是小李，接手您的问题。", ""),
    ],
)
def test_clean_reply(reply, kept):
    assert clean_reply(reply) == kept


@pytest.mark.parametrize(
    "text, asking",
    [
        ("我的卡被偷了怎么办？", True),
        ("在吗？", False),
        ("你好，请问", False),
        ("转人工？", False),
        ("好的谢谢", False),
    ],
)
def test_which_customer_messages_ask_something(text, asking):
    assert asks_something(text) is asking
