"""The desk's rules, one place for the bot and the web app: service hours, who wants a human, why, and
which message is the customer's question."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.rules import (
    DeskPolicy,
    handoff_reason,
    in_service_hours,
    latest_question,
    open_minutes,
    opens_in,
    wants_human,
)


@pytest.mark.parametrize(
    "hours, hour_utc, expected",
    [
        ("08:00-22:00", 1, True),  # 09:00 in Shanghai
        ("08:00-22:00", 15, False),  # 23:00 in Shanghai
        ("00:00-24:00", 15, True),
        ("00:00-00:00", 1, False),  # never open
    ],
)
def test_service_hours_use_the_configured_time_zone(hours, hour_utc, expected):
    when = dt.datetime(2026, 11, 27, hour_utc, 0, tzinfo=dt.UTC)
    assert in_service_hours(hours, "Asia/Shanghai", when) is expected
    assert DeskPolicy(hours, "Asia/Shanghai", 300.0).in_service_hours(when) is expected


@pytest.mark.parametrize(
    "hours, hour, minutes, opens",
    [
        ("08:00-22:00", 7, 0, False),
        ("08:00-22:00", 8, 60, True),
        ("08:00-22:00", 21, 60, False),
        ("08:00-22:00", 22, 0, False),  # closed from 22:00
        ("08:30-21:15", 8, 30, True),  # half an hour open, and the desk opens in it
        ("08:30-21:15", 21, 15, False),
        ("00:00-24:00", 0, 60, False),  # round the clock: never "opens"
        ("00:00-24:00", 23, 60, False),
        ("09:00-09:00", 9, 0, False),  # never open
    ],
)
def test_an_hours_open_minutes_and_whether_the_desk_opens_in_it(hours, hour, minutes, opens):
    assert open_minutes(hours, hour) == minutes and opens_in(hours, hour) is opens


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("转人工", None, True),
        ("别废话了，给我转人工", "ask_kb", True),
        ("人工", None, True),
        ("人工呢", None, True),
        ("请给我转个人工", None, True),
        ("能不能转接人工", None, True),
        ("I want a human agent", None, True),
        ("", "request_human", True),
        ("你们太差了", "complaint", True),
        ("营业厅几点开门", "ask_kb", False),
        ("人工智能可以办理开户吗", None, False),
    ],
)
def test_wants_human_in_words_or_by_intent(text, intent, expected):
    assert wants_human(text, intent) is expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("坐席晚上几点就没人了", "request_human"),
        ("打电话找人工要按哪个键啊", "request_human"),
        ("语音导航里人工那一项太难找了", "request_human"),
        ("投诉之后大概几天有结果", "complaint"),
        ("what hours are your agents available?", "request_human"),
    ],
)
def test_a_question_about_human_service_goes_to_the_knowledge_base_whatever_nlu_said(text, intent):
    assert wants_human(text, intent) is False  # answered, or 'no answer' with a person offered and a gap logged


@pytest.mark.parametrize(
    "text, intent",
    [
        ("麻烦帮我接人工", "ask_kb"),
        ("我要投诉你们网点的经理", "complaint"),
        ("can I speak to a real person please", "ask_kb"),
        ("/request_human", "request_human"),
        ("客服！", "greet"),
    ],
)
def test_asking_for_a_person_in_words_hands_off_even_when_the_knowledge_base_could_answer(text, intent):
    assert wants_human(text, intent) is True


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("你们卖不卖宠物粮", "complaint", False),  # 'A不A' asks
        ("我上周去营业厅排了一个多小时队，态度也差。想问下营业厅晚上几点关门？", "complaint", False),
        ("你们的服务态度太差了，气死我了", "complaint", True),  # a complaint that asks nothing: a person
        ("没人管管吗", "complaint", False),
    ],
)
def test_nlu_complaint_hands_off_only_a_message_that_asks_nothing(text, intent, expected):
    assert wants_human(text, intent) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("人工客服周末上班吗", False),  # a question about the service
        ("开户需要客服审核吗", False),
        ("是真人在回复吗", False),
        ("我已经联系客服了但是还没退款", False),  # a narrative
        ("不用转人工，我自己看看", False),  # a refusal
        ("别转人工了", False),
        ("转人工转人工！！！怎么这么难", True),  # exasperation is still a request
        ("能不能转接人工", True),  # a request phrased as a question
        ("可以帮我接人工吗", True),
        ("帮我转个人工吧", True),
        ("我要找人工客服，问一下营业部多久开一次例会", True),  # said outright, beside another question
        ("我想问人工客服几点下班", False),
    ],
)
def test_asking_for_a_person_against_asking_about_one(text, expected):
    from kb.desk.rules import explicitly_asks_for_human

    assert explicitly_asks_for_human(text) is expected


def test_route_is_the_one_decision_before_any_search():
    from kb.desk.rules import route

    assert route("转人工", "ask_kb", False) == "handoff"
    assert route("你们太差了", "complaint", False) == "handoff"
    assert route("投诉多久有结果", "complaint", False) == "knowledge"
    assert route("🙏🙏", "thanks", False) == "no_words"
    assert route("谢谢你", "thanks", True) == "thanks" and route("你好呀", "greet", True) == "greet"
    assert route("你好，年费怎么收", "greet", False) == "knowledge"
    # NLU's yes or no is an 'ok' only when the message is one; a word it hears as a yes is a question
    assert route("好的，谢谢", "affirm", False) == "ack" and route("先不用了", "deny", False) == "ack"
    assert route("退款", "affirm", False) == "knowledge" and route("预付卡", "affirm", False) == "knowledge"
    assert route("暂时不需要", "deny", False) == "ack"  # a no that asks nothing, whatever its words


@pytest.mark.parametrize(
    "text, expected",
    [
        ("人工客服几点下班", True),
        ("那什么时候有人？", True),
        ("周末有人工吗", True),
        ("When are your agents available?", True),
        ("客服热线是24小时的吗", False),  # the hotline: the knowledge base's question
        ("电话菜单的人工选项藏得太深了", False),
        ("人工客服的电话是多少", False),
        ("小区晚上有人值班吗", False),  # the estate's staff, not the desk's
        ("When can I apply in person?", False),
        ("when I call the hotline, is the option to talk to a real person easy to find?", False),
        ("客服几点下班", True),
        ("银行客服中心是几点到几点服务的？", False),  # a call centre's hours: the knowledge base's question
        ("请问你们几点关门", False),  # a business hall's
        ("What are your customer service hours?", True),
        ("营业厅人工窗口几点下班", False),  # things done by hand are not the desk's people
        ("人工审核一般几点出结果", False),
        ("有没有人工客服电话", False),
        ("How do I open an account with an agent?", False),
    ],
)
def test_asking_when_the_desks_people_are_there(text, expected):
    from kb.desk.rules import asks_agent_hours, route

    assert asks_agent_hours(text) is expected
    assert (route(text, "request_human", False) == "desk_hours") is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("好的", True),
        ("嗯嗯", True),
        ("不用了，谢谢", True),
        ("OK", True),
        ("/affirm", True),
        ("行吧那就这样", True),
        ("退款", False),
        ("罚款", False),
        ("好的，那退款要多久", False),
        ("要发票", False),
        ("", False),
        ("好的呢", True),
        ("好的👌", True),
        ("yes please", True),
        ("好，帮我转一下", True),
        ("好吧" * 30 + "？", False),  # longer than any acknowledgement: refused at once, not split every way
        ("不要" * 1000 + "吗", False),
    ],
)
def test_an_acknowledgement_is_only_yes_no_or_ok(text, expected):
    from kb.desk.rules import is_acknowledgement

    assert is_acknowledgement(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("👎", True),
        ("/feedback_helpful", True),
        ("没用", True),
        ("答非所问", True),
        ("这不是我问的", True),
        ("that helped", True),
        ("那用别人的老年卡呢", False),
        ("逃票罚多少", False),
        ("错了", True),
        ("看不懂", True),
        ("没用过的票能退吗", False),  # judging words in a question are the question's
        ("明白了，那周末开门吗", False),
        ("这个回答没什么用", True),  # 没什么: 'not much', not 'what'
        ("没啥用", True),
    ],
)
def test_feedback_judges_the_answer(text, expected):
    from kb.desk.rules import is_feedback

    assert is_feedback(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("没什么问题了", False),
        ("这么贵", False),
        ("有没有什么优惠", True),
        ("能退么", True),
        ("那么退款要多久", True),
        ("银卡打几折", True),  # 几 with a measure word asks
    ],
)
def test_not_much_and_so_are_not_question_words(text, expected):
    from kb.phrasing import asks

    assert asks(text) is expected


def test_handoff_reason():
    assert handoff_reason("complaint") == "complaint"
    assert handoff_reason("affirm", "could_not_answer") == "could_not_answer"
    assert handoff_reason("affirm", "negative_feedback") == "negative_feedback"
    assert handoff_reason("affirm", "callback") == "asked" and handoff_reason("request_human") == "asked"


def test_latest_question_skips_requests_for_a_human_buttons_and_greetings():
    said = [{"from": "customer", "text": t} for t in ("营业厅几点开门", "转人工", "👍", "在吗", "我要人工")]
    assert latest_question(said, "fallback") == "营业厅几点开门"
    assert latest_question(said[1:], "fallback") == "fallback"


def test_the_hours_answer_says_whether_someone_can_take_the_chat_now():
    from kb.desk.rules import agent_hours_reply, zone_name

    assert agent_hours_reply(False, False) == "utter_agent_hours_closed"
    assert agent_hours_reply(True, True) == "utter_agent_hours_open"
    assert agent_hours_reply(True, False) == "utter_agent_hours_no_agent"
    assert zone_name("Asia/Shanghai") == "北京时间" and zone_name("Asia/Shanghai", chinese=False) == "Asia/Shanghai"
    assert zone_name("Europe/Berlin") == "Europe/Berlin"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("好的，麻烦了", True),
        ("yes please", True),
        ("嗯嗯", True),
        ("/affirm", True),
        ("谢谢", False),
        ("不用了，谢谢", False),
        ("不需要", False),
        ("退款", False),
    ],
)
def test_a_yes_is_an_acknowledgement_that_says_yes(text, expected):
    from kb.desk.rules import is_yes

    assert is_yes(text) is expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("👍", None, True),
        ("/feedback_unhelpful", "feedback_unhelpful", False),
        ("没什么用", "nlu_fallback", False),
        ("回答错了", "affirm", False),
        ("不错", None, True),  # 'not bad': good
        ("没错，解决了", None, True),
        ("not helpful", None, False),
    ],
)
def test_whether_feedback_says_the_answer_helped(text, intent, expected):
    from kb.desk.rules import helpful

    assert helpful(text, intent) is expected
