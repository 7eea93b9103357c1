"""Rasa actions with a real Tracker, CollectingDispatcher, retriever and SQLite desk; whole event lists."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import ActionFeedback
from actions.handoff import ActionHandoff
from actions.kb_answer import ActionKbAnswer, ActionKefuFallback, ActionPleasantry, in_language, subjects_phrase
from actions.services import Services
from indexer.build import Indexer
from indexer.followup import Topic
from indexer.retriever import Retriever
from kb.database import Database
from kb.desk.contacts import ContactVault, find_contacts
from kb.desk.service import Desk
from kb.loader import load_knowledge_base
from kb.model import UNSORTED_CATEGORY, Article
from kb.store import Store

from domain import domain, rendered

SLOTS = {
    "offered_human": False,
    "handoff_reason": None,
    "abstain_count": 0.0,
    "last_answer_ref": None,
    "last_question": None,
    "ref": None,
    "topic_article": None,
    "topic_title": None,
    "topic_section": None,
    "topic_clause": None,
    "topic_terms": None,
    "topic_acts": None,
    "callback_step": None,
}


@pytest.fixture
def services(settings, encoder):
    settings = settings.replace(service_hours="00:00-24:00")
    db = Database.open(settings.database)
    store = Store(db)
    articles, faqs = load_knowledge_base(settings.kb_dir)
    Indexer(store, [encoder], settings).sync(articles, faqs)
    return Services(settings, store, Desk(db, settings.desk_policy), Retriever.load(store, [encoder], settings))


# A handoff forgets what the conversation was about (indexer.followup.Topic's slots).
FORGET = [SlotSet(name, None) for name in ("topic_article", "topic_title", "topic_section", "topic_clause")] + [
    SlotSet("last_answer_ref", None),
    SlotSet("topic_terms", None),
    SlotSet("topic_acts", None),
]


def tracker(text: str, intent: str = "ask_kb", entities=(), sender="c1", metadata=None, **slots) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}
    if metadata:
        message["metadata"] = metadata
    return Tracker(sender, {**SLOTS, **slots}, message, [], False, None, None, "action_listen")


def run(action, t: Tracker):
    """The messages as the customer reads them (responses filled from the domain) and the events."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    return [rendered(m) for m in dispatcher.messages], events


def test_answer_cites_its_source_and_resets_counters(services):
    messages, events = run(ActionKbAnswer(services), tracker("营业厅晚上几点关门？", abstain_count=1.0))
    [message] = messages
    assert "晚上六点关门" in message["text"]
    assert message["text"].endswith("来源：《营业厅工作手册》3.3 营业时间 · 3.3.1")
    [source] = message["custom"]["sources"]
    assert source["article_id"] == "hall-manual" and source["clause"] == "3.3.1"
    ref = message["custom"]["answer_ref"]
    assert events == [
        SlotSet("topic_article", "hall-manual"),
        SlotSet("topic_title", "营业厅工作手册"),
        SlotSet("topic_section", "3.3 营业时间"),
        SlotSet("topic_clause", "3.3.1"),
        SlotSet("last_answer_ref", ref),
        SlotSet("topic_terms", ["营业厅", "关门"]),
        SlotSet("topic_acts", None),
        SlotSet("last_question", "营业厅晚上几点关门？"),
        SlotSet("abstain_count", 0.0),
        SlotSet("offered_human", False),
    ]


def test_abstain_logs_a_masked_gap_and_offers_a_human(services):
    messages, events = run(ActionKbAnswer(services), tracker("帮我订一张去北京的机票，电话13812345678"))
    assert [m["response"] for m in messages] == ["utter_kb_no_answer"]
    terms = events[5]["value"]  # what the conversation is about now: the question's words, no article
    assert "机票" in terms and not any(any(c.isdigit() for c in t) for t in terms)  # the number is not a term
    assert events == [
        *[SlotSet(name, None) for name in Topic.SLOTS[:5]],
        SlotSet("topic_terms", terms),
        SlotSet("topic_acts", None),
        SlotSet("abstain_count", 1.0),
        SlotSet("last_question", "帮我订一张去北京的机票，电话13812345678"),
        SlotSet("offered_human", True),
        SlotSet("handoff_reason", "could_not_answer"),
    ]
    [gap] = services.desk.gaps.recent()
    assert gap["question"] == "帮我订一张去北京的机票，电话[手机号]" and gap["reason"] == "abstain"
    assert gap["conversation_id"] == "c1" and gap["hits"] and "score" in gap["hits"][0]


def agent_available(services, agent="a1"):
    from kb.desk.supervision import Supervision

    Supervision(services.desk.db).set_status(agent, "available")


def test_second_abstain_in_a_row_hands_off(services):
    agent_available(services)
    messages, events = run(ActionKbAnswer(services), tracker("帮我订一张机票", abstain_count=1.0))
    assert messages[0]["text"].startswith("抱歉，这个问题我连续没能回答上来")
    assert "您是下一位" in messages[1]["text"]
    assert events == [
        SlotSet("abstain_count", 0.0),
        SlotSet("last_question", "帮我订一张机票"),
        SlotSet("offered_human", False),
        SlotSet("handoff_reason", None),
        *FORGET,
        ConversationPaused(),
    ]
    [ticket] = services.desk.tickets.recent()
    assert ticket.reason == "could_not_answer" and ticket.status == "queued"


def test_with_no_agent_available_a_second_abstain_offers_a_person_instead_of_queueing(services):
    from kb.desk.supervision import Supervision

    Supervision(services.desk.db).set_status("a1", "away")  # on the roster, not taking chats
    messages, events = run(ActionKbAnswer(services), tracker("帮我订一张机票", abstain_count=1.0))
    assert [m["response"] for m in messages] == ["utter_kb_no_answer"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human", "/deny"]
    assert SlotSet("abstain_count", 2.0) in events and SlotSet("offered_human", True) in events
    assert not any(isinstance(e, dict) and e.get("event") == "pause" for e in events)
    assert services.desk.tickets.recent() == []
    # once an agent is available, the next unanswered question goes to them
    agent_available(services)
    messages, events = run(ActionKbAnswer(services), tracker("帮我订一张火车票", abstain_count=2.0))
    assert messages[0]["text"].startswith("抱歉，这个问题我连续没能回答上来")
    assert services.desk.tickets.recent()[0].reason == "could_not_answer" and events[-1] == ConversationPaused()


def test_fallback_logs_an_nlu_fallback_gap(services):
    run(ActionKefuFallback(services), tracker("asdkjh qweoiu", intent="nlu_fallback"))
    assert services.desk.gaps.recent()[0]["reason"] == "nlu_fallback"


def test_short_question_gets_clarifying_buttons(services):
    messages, events = run(ActionKbAnswer(services), tracker("服务"))
    [message] = messages
    assert message["response"] == "utter_clarify" and 2 <= len(message["buttons"]) <= 3
    assert all(b["payload"].startswith('/choose_candidate{"ref":"') for b in message["buttons"])
    assert events == [
        *[SlotSet(name, None) for name in Topic.SLOTS[:5]],
        SlotSet("topic_terms", ["服务"]),
        SlotSet("topic_acts", None),
        SlotSet("last_question", "服务"),
    ]


def test_choosing_a_candidate_shows_it(services):
    hit = services.retriever.search("客服中心的服务时间").hits[0]
    messages, events = run(
        ActionKbAnswer(services),
        tracker("", intent="choose_candidate", entities=[{"entity": "ref", "value": hit.ref}], last_question="服务"),
    )
    assert "来源：《" in messages[0]["text"] and SlotSet("last_answer_ref", hit.ref) in events
    messages, events = run(
        ActionKbAnswer(services),
        tracker("", intent="choose_candidate", entities=[{"entity": "ref", "value": "passage:1"}]),
    )
    assert messages[0]["response"] == "utter_default" and events == []


def test_request_for_a_human_opens_a_ticket_and_pauses(services):
    run(ActionHandoff(services), tracker("转人工", intent="request_human", sender="other"))
    messages, events = run(
        ActionHandoff(services), tracker("我要投诉你们", intent="complaint", last_question="营业厅几点开门")
    )
    assert "您前面还有 1 位客户在等待" in messages[0]["text"] and messages[0]["custom"]["position"] == 2
    assert "目前没有在线的人工客服" in messages[0]["text"]  # nobody has said they are available
    assert events == [SlotSet("offered_human", False), SlotSet("handoff_reason", None), *FORGET, ConversationPaused()]
    ticket = services.desk.tickets.recent()[0]
    assert ticket.reason == "complaint" and ticket.question == "我要投诉你们"
    assert ticket.conversation_id == "c1" and ticket.status == "queued"


def test_human_words_reach_a_ticket_whatever_the_intent(services):
    messages, events = run(ActionKbAnswer(services), tracker("别废话了，给我转人工", intent="ask_kb"))
    assert events[-1] == ConversationPaused() and services.desk.tickets.recent()[0].reason == "asked"


def test_accepting_the_offer_keeps_the_reason_and_the_found_passages(services):
    messages, events = run(
        ActionHandoff(services),
        tracker(
            "好的",
            intent="affirm",
            offered_human=True,
            handoff_reason="negative_feedback",
            last_question="营业厅几点开门",
        ),
    )
    ticket = services.desk.tickets.recent()[0]
    assert ticket.reason == "negative_feedback" and ticket.question == "营业厅几点开门"
    assert ticket.passages and ticket.passages[0]["article_id"] == "hall-manual"


@pytest.fixture
def night(services, tmp_path):
    """Out of service hours, with the web app's contact key (it keeps numbers; the bot sees '[手机号]'). The desk
    opens for one minute twelve hours from now, so that the tests never run inside it (a fixed '00:00-00:01'
    failed CI when a run reached 16:00 UTC, midnight in Shanghai) and still read a real opening time."""
    local = dt.datetime.now(ZoneInfo(services.desk.policy.timezone)) + dt.timedelta(hours=12)
    hours = f"{local:%H}:00-{local:%H}:01"
    services.desk.policy = dataclasses.replace(services.desk.policy, service_hours=hours)
    services.desk.vault = ContactVault.in_folder(tmp_path / "key")
    return services


def say(services, text, intent="ask_kb", step=None, number=None, **slots):
    """One customer message in the callback exchange: the web app keeps the number first and tells the bot its
    hint in the message's metadata, as it does."""
    kept = services.desk.record_contact("c1", find_contacts(number)[0]) if number else ""
    metadata = {"contact": kept} if kept else None
    messages, events = run(
        ActionKbAnswer(services), tracker(text, intent=intent, callback_step=step, metadata=metadata, **slots)
    )
    steps = [e["value"] for e in events if e.get("name") == "callback_step"]
    return [m.get("response") or m["text"] for m in messages], messages, (steps[-1] if steps else step)


def test_out_of_hours_the_bot_takes_the_problem_and_a_number_down_and_confirms_it(night):
    said, messages, step = say(night, "我的信用卡被盗刷了，转人工", intent="request_human")
    assert said == ["utter_handoff_callback", "utter_callback_ask_contact"] and step == "contact"
    assert f"服务时间 {night.desk.policy.service_hours}" in messages[0]["text"]
    ticket = night.desk.tickets.recent()[0]
    assert (ticket.status, ticket.problem, ticket.contact) == ("callback", "我的信用卡被盗刷了", "")
    said, messages, step = say(night, "明天上午吧", step=step)  # a time, not a number: said back, then asked on
    assert said == ["utter_callback_time_noted", "utter_callback_ask_contact"] and step == "contact"
    assert "明天上午回电" in messages[0]["text"]
    said, messages, step = say(night, "[手机号]", step=step, number="13812345678")
    assert said == ["utter_callback_confirm"] and step == "confirm"
    assert "拨打 138****5678" in messages[0]["text"] and [b["title"] for b in messages[0]["buttons"]] == [
        "对的",
        "修改号码",
    ]
    said, _, step = say(night, "/callback_change", intent="callback_change", step=step)
    assert said == ["utter_callback_ask_new_number"] and step == "contact"
    said, messages, step = say(night, "打这个 [电话]", step=step, number="010-62345678")
    assert said == ["utter_callback_confirm"] and "010****5678" in messages[0]["text"]
    said, messages, step = say(night, "/affirm", intent="affirm", step=step)
    assert said == ["utter_callback_registered"] and step is None
    assert "明天上午" in messages[0]["text"] and "010****5678" in messages[0]["text"]
    said, _, _ = say(night, "对了，卡是昨天下午在地铁上丢的", step=None)  # after: added for the agent, not a gap
    assert said == ["utter_callback_added"] and night.desk.gaps.recent() == []
    ticket = night.desk.ticket(ticket.id)
    assert ticket.problem == "我的信用卡被盗刷了\n对了，卡是昨天下午在地铁上丢的"
    assert (ticket.contact, ticket.preferred_time) == ("010****5678", "明天上午")
    assert night.desk.reveal_contact(ticket.id, "赵", "supervisor") == "01062345678"


def test_a_bare_request_asks_for_the_problem_and_a_question_on_the_way_is_answered(night):
    said, _, step = say(night, "转人工", intent="request_human")
    assert said == ["utter_handoff_callback", "utter_callback_ask_problem"] and step == "problem"
    assert night.desk.tickets.recent()[0].problem == ""
    said, messages, step = say(night, "营业厅晚上几点关门？", step=step)
    assert "晚上六点关门" in messages[0]["text"] and said[1:] == ["utter_callback_resume_contact"]
    assert step == "contact" and night.desk.tickets.recent()[0].problem == "营业厅晚上几点关门？"
    said, messages, step = say(night, "客服热线是24小时的吗", step=step)  # asked while the number is awaited
    assert said[-1] == "utter_callback_resume_contact" and step == "contact" and len(said) == 2
    said, _, step = say(night, "我的手机号是[手机号]，下午三点以后打", step=step, number="13912345678")
    assert said == ["utter_callback_confirm"]
    assert night.desk.tickets.recent()[0].preferred_time == "下午三点以后"


def test_a_number_given_with_the_request_is_confirmed_at_once_and_the_problem_asked_after(night):
    said, messages, step = say(night, "请给我回电话 [手机号]", intent="request_callback", number="13812345678")
    assert said == ["utter_handoff_callback", "utter_callback_confirm"] and "138****5678" in messages[1]["text"]
    said, _, step = say(night, "是的", intent="affirm", step=step)
    assert said == ["utter_callback_ask_problem_last"] and step == "problem_last"
    said, messages, step = say(night, "营业厅晚上几点关门？", step=step)  # answered, and the number not asked again
    assert "晚上六点关门" in messages[0]["text"] and said[-1] == "utter_callback_registered" and step is None
    assert night.desk.tickets.recent()[0].problem == "营业厅晚上几点关门？"


def test_the_customer_can_withdraw_the_callback_even_at_the_confirmation(night):
    _, _, step = say(night, "转人工", intent="request_human")
    said, _, step = say(night, "算了", intent="deny", step=step)
    assert said == ["utter_callback_withdrawn"] and step is None
    ticket = night.desk.tickets.recent()[0]
    assert (ticket.status, ticket.outcome) == ("closed", "withdrawn")
    _, _, step = say(night, "请回电 [手机号]", intent="request_callback", number="13812345678")
    assert step == "confirm"
    said, _, step = say(night, "不对", intent="deny", step=step)  # 'not that number'
    assert said == ["utter_callback_ask_new_number"] and step == "contact"
    _, _, step = say(night, "[手机号]", step=step, number="13912345678")
    said, _, step = say(night, "不用了", intent="deny", step=step)  # 'no call after all'
    assert said == ["utter_callback_withdrawn"] and night.desk.tickets.recent()[0].outcome == "withdrawn"


def test_declining_the_call_and_asking_something_else_withdraws_it_and_answers(night):
    _, _, step = say(night, "转人工", intent="request_human")
    said, messages, step = say(night, "不用回电，我只是想问营业厅晚上几点关门", intent="deny", step=step)
    assert said[0] == "utter_callback_withdrawn_then" and "晚上六点关门" in messages[1]["text"] and step is None
    ticket = night.desk.tickets.recent()[0]
    assert (ticket.status, ticket.outcome, ticket.problem) == ("closed", "withdrawn", "")


@pytest.mark.parametrize(
    "text, intent",
    [("银卡打几折", "request_callback"), ("金卡打折", "request_callback"), ("晚上能打客服电话吗", "request_callback")],
)
def test_nlus_request_callback_without_a_call_named_is_a_knowledge_turn(services, text, intent):
    # '打折' is a discount, not a call; '晚上能打客服电话吗' asks about one
    said, _, _ = say(services, text, intent=intent)
    assert not any(s.startswith("utter_callback") for s in said) and services.desk.tickets.recent() == []


def test_wants_callback_takes_the_button_words_and_nlu_with_a_call_named():
    from kb.desk.callback import wants_callback

    assert wants_callback("/request_callback", "request_callback")  # the 预约回电 button
    assert wants_callback("请给我回电话", None) and wants_callback("方便的时候打我电话", "request_callback")
    assert not wants_callback("银卡打几折", "request_callback") and not wants_callback("打印发票", "request_callback")


def test_a_number_the_web_app_could_not_keep_is_asked_for_again_and_buttons_are_not_a_problem(night):
    _, _, step = say(night, "转人工", intent="request_human")
    said, _, step = say(night, "/request_human", intent="request_human", step=step)  # the header button again
    assert said == ["utter_callback_ask_problem"] and night.desk.tickets.recent()[0].problem == ""
    _, _, step = say(night, "卡被吞了", step=step)
    said, messages, step = say(night, "[手机号]", step=step)  # '14012345678': masked, but no number to call
    assert said == ["utter_callback_ask_contact_again"] and step == "contact"
    assert [b["title"] for b in messages[0]["buttons"]] == ["不用回电了"]  # a way out


def test_a_callback_settled_meanwhile_leaves_the_bot_answering_as_usual(night):
    _, _, step = say(night, "我的卡被吞了，转人工", intent="request_human")
    ticket = night.desk.tickets.recent()[0]
    night.desk.tickets.close(ticket.id, outcome="withdrawn")  # e.g. an agent settled it
    said, messages, step = say(night, "营业厅晚上几点关门？", step=step)
    assert "晚上六点关门" in messages[0]["text"] and step is None


def test_in_hours_a_customer_who_asks_to_be_called_is_not_told_it_is_after_hours(services, tmp_path):
    services.desk.vault = ContactVault.in_folder(tmp_path / "key")
    said, messages, _ = say(services, "能给我回个电话吗，我的卡被吞了", intent="request_callback")
    assert said == ["utter_callback_start", "utter_callback_ask_contact"] and "下班" not in messages[0]["text"]
    assert services.desk.tickets.recent()[0].status == "callback"


def test_in_hours_the_ticket_holds_the_problem_not_the_request(services):
    run(ActionKbAnswer(services), tracker("我的卡被ATM吞了，转人工", intent="request_human"))
    assert services.desk.tickets.recent()[0].problem == "我的卡被ATM吞了"
    run(ActionKbAnswer(services), tracker("转人工", intent="request_human", sender="c2"))
    assert services.desk.tickets.recent()[0].problem == ""  # asked for while they wait (web app)
    run(ActionKbAnswer(services), tracker("你们服务太差了，乱扣我年费", intent="complaint", sender="c3"))
    assert services.desk.tickets.recent()[0].problem == "你们服务太差了，乱扣我年费"


def test_a_greeting_with_a_question_in_it_answers_the_question(services):
    messages, _ = run(ActionPleasantry(services), tracker("哈喽～麻烦问下，营业厅晚上几点下班呀", intent="greet"))
    [message] = messages
    assert "晚上六点关门" in message["text"] and "来源：《营业厅工作手册》" in message["text"]
    messages, _ = run(ActionPleasantry(services), tracker("你好呀", intent="greet"))
    assert [m["response"] for m in messages] == ["utter_greet"]
    assert f"您可以直接问我{subjects_phrase(services.store.subjects())}方面的问题" in messages[0]["text"]
    messages, _ = run(ActionPleasantry(services), tracker("多谢啦", intent="thanks"))
    assert [m["response"] for m in messages] == ["utter_thanks"]


def test_the_greeting_names_what_the_knowledge_base_is_about_imports_included(services):
    assert services.store.subjects()  # the test knowledge base has categories
    services.store.put_article(
        Article("metro-rules", "《上海市轨道交通管理条例》", UNSORTED_CATEGORY, "", "", "第一条 …")
    )
    messages, _ = run(ActionPleasantry(services), tracker("你好", intent="greet"))
    assert "上海市轨道交通管理条例" in messages[0]["text"] and "{subjects}" not in messages[0]["text"]
    assert UNSORTED_CATEGORY not in messages[0]["text"]  # an import's placeholder category names nothing
    messages, _ = run(ActionPleasantry(services), tracker("hello", intent="greet"))
    assert (
        messages[0]["response"] == "utter_greet_en"
        and "You can ask me about 上海市轨道交通管理条例" in messages[0]["text"]
    )
    messages, _ = run(ActionKefuFallback(services), tracker("帮我订张机票", intent="out_of_scope"))
    assert "我可以解答上海市轨道交通管理条例" in messages[0]["text"]


def test_the_subjects_are_named_three_at_most():
    assert subjects_phrase(["银行客服", "电信营业厅"]) == "银行客服、电信营业厅"
    assert subjects_phrase(["a", "b", "c", "d"]) == "a、b、c等"
    assert subjects_phrase(["a", "b", "c", "d"], english=True) == "a, b, c and more"
    assert subjects_phrase([]) == "我们的业务" and subjects_phrase([], english=True) == "our services"


@pytest.mark.parametrize("text, intent", [("🙏🙏", "thanks"), ("？？？", "nlu_fallback"), ("……", "ask_kb")])
def test_a_message_without_words_gets_a_prompt_and_the_human_button_not_candidates(services, text, intent):
    action = {"thanks": ActionPleasantry, "nlu_fallback": ActionKefuFallback, "ask_kb": ActionKbAnswer}[intent]
    messages, _ = run(action(services), tracker(text, intent=intent))
    [message] = messages
    assert message["response"] == "utter_no_words" and "转人工" in message["text"]
    assert [b["payload"] for b in domain()["responses"]["utter_no_words"][0]["buttons"]] == ["/request_human"]
    assert services.desk.gaps.recent() == [] and services.desk.tickets.recent() == []


def test_a_question_about_human_service_is_answered_and_a_request_for_one_hands_off(services):
    # NLU hears 人工 and says request_human; the knowledge base answers the question, so it is answered.
    messages, events = run(ActionKbAnswer(services), tracker("人工服务选项好找吗", intent="request_human"))
    assert "人工服务选项便于寻觅" in messages[0]["text"] and services.desk.tickets.recent() == []
    assert ConversationPaused() not in events
    # asking for one, in words, hands off whatever NLU said
    messages, events = run(ActionKbAnswer(services), tracker("麻烦帮我接个人工吧", intent="ask_kb"))
    assert events[-1] == ConversationPaused() and services.desk.tickets.recent()[0].reason == "asked"


def test_a_question_in_english_hears_in_english_that_nothing_answers_it(services):
    messages, _ = run(ActionKbAnswer(services), tracker("Can you book me a flight ticket to Beijing?"))
    [message] = messages
    assert message["response"] == "utter_kb_no_answer_en" and message["text"].startswith("Sorry, our documents")
    assert [b["payload"] for b in message["buttons"]] == ["/request_human", "/deny"]
    messages, _ = run(ActionKefuFallback(services), tracker("What is the weather like?", intent="out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope_en"]
    messages, _ = run(ActionKefuFallback(services), tracker("明天天气怎么样", intent="out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]
    # a second one in a row hands off, and says so in English
    agent_available(services)
    messages, _ = run(ActionKbAnswer(services), tracker("Can you book me a hotel too?", abstain_count=1.0))
    assert messages[0]["response"] == "utter_handoff_after_abstains_en"
    assert services.desk.tickets.recent()[0].reason == "could_not_answer"


def test_a_question_nlu_hears_as_a_complaint_goes_to_the_knowledge_base_not_to_a_queue(services):
    messages, events = run(ActionKbAnswer(services), tracker("你们卖不卖宠物粮", intent="complaint"))
    assert [m["response"] for m in messages] == ["utter_kb_no_answer"]  # 'no answer', a person offered
    assert services.desk.tickets.recent() == [] and services.desk.gaps.recent()[0]["question"] == "你们卖不卖宠物粮"
    messages, events = run(ActionKbAnswer(services), tracker("你们的服务态度太差了，气死我了", intent="complaint"))
    assert events[-1] == ConversationPaused() and services.desk.tickets.recent()[0].reason == "complaint"


def test_traditional_characters_and_a_long_message_are_answered_like_the_plain_question(services):
    messages, _ = run(ActionKbAnswer(services), tracker("請問營業廳晚上幾點關門？"))
    assert "晚上六点关门" in messages[0]["text"]
    long_message = (
        "我昨天下班以后专门跑过去想办业务，结果到了门口发现已经关了，白跑一趟，路上还堵了四十分钟，"
        "心情很不好。想确认一下营业厅晚上到底几点关门？"
    )
    messages, _ = run(ActionKbAnswer(services), tracker(long_message))
    assert "晚上六点关门" in messages[0]["text"]


def test_feedback(services):
    messages, events = run(ActionFeedback(services), tracker("👍", intent="feedback_helpful", last_answer_ref="faq:x"))
    assert messages[0]["response"] == "utter_feedback_thanks" and events == []
    messages, events = run(
        ActionFeedback(services),
        tracker("没用", intent="feedback_unhelpful", last_answer_ref="passage:7", last_question="营业厅几点开门"),
    )
    assert messages[0]["response"] == "utter_feedback_sorry"
    assert events == [SlotSet("offered_human", True), SlotSet("handoff_reason", "negative_feedback")]
    assert services.desk.gaps.recent()[0]["reason"] == "negative_feedback"
    rows = list(services.desk.db["feedback"].rows)
    assert [(r["helpful"], r["answer_ref"]) for r in rows] == [(1, "faq:x"), (0, "passage:7")]


@pytest.mark.parametrize(
    "text, intent, response",
    [("没什么用", "nlu_fallback", "utter_feedback_sorry"), ("不错，解决了", "ask_kb", "utter_feedback_thanks")],
)
def test_judging_words_nlu_did_not_hear_as_feedback_are_recorded_after_an_answer(services, text, intent, response):
    action = ActionKefuFallback if intent == "nlu_fallback" else ActionKbAnswer
    answered = {"last_answer_ref": "passage:7", "last_question": "营业厅几点开门"}
    messages, _ = run(action(services), tracker(text, intent=intent, **answered))
    assert [m["response"] for m in messages] == [response]  # not searched as a follow-up
    assert [r["answer_ref"] for r in services.desk.db["feedback"].rows] == ["passage:7"]
    # with no answer before it, the words are a message like any other
    messages, _ = run(action(services), tracker(text, intent=intent, sender="fresh"))
    assert messages[0].get("response") != response


def test_a_broken_index_keeps_the_previous_one_serving_and_a_missing_one_still_allows_a_human(services, encoder):
    from actions.services import load_retriever
    from indexer.build import index_paths

    serving = services.retriever
    services.encoders = [encoder]
    passages_file = index_paths(services.settings.index_dir, encoder.model_name)[0]
    passages_file.write_bytes(b"not an index")  # rebuilt from the database's embedding cache, unless:
    services.store.db.execute("DELETE FROM embeddings")
    services.store.set_index_state(passages_file.name, {"built_at": 1.0})  # as a new save would move the stamp
    load_retriever(services)
    assert services.retriever is serving and "embedding cache" in services.problem  # still answering from the old one
    messages, _ = run(ActionKbAnswer(services), tracker("营业厅晚上几点关门？"))
    assert "晚上六点关门" in messages[0]["text"]

    broken = Services(services.settings, services.store, services.desk, None, [encoder])  # a fresh action server
    load_retriever(broken)
    assert broken.retriever is None and "kefu index build" in broken.problem
    messages, events = run(ActionKbAnswer(broken), tracker("营业厅晚上几点关门？"))
    assert [m["response"] for m in messages] == ["utter_service_down"] and events == []
    messages, events = run(ActionHandoff(broken), tracker("转人工", intent="request_human"))
    assert "您是下一位" in messages[0]["text"] and ConversationPaused() in events
    assert services.desk.tickets.recent()[0].passages == []


def test_candidate_buttons_are_distinct_and_say_where_and_what():
    from types import SimpleNamespace

    from indexer.replies import answer_text, candidate_buttons

    def hit(ref, text, section="基本要求", clause=None, kind="passage", question=None):
        return SimpleNamespace(
            kind=kind,
            ref=ref,
            section=section,
            title="规范",
            clause=clause,
            snippet=text,
            text=text,
            question=question,
            article_id="a",
        )

    buttons = candidate_buttons(
        [
            hit("p:1", "服务时间原则上应为 7*24 小时"),
            hit("p:2", "人工服务选项便于寻觅"),
            hit("p:3", "服务时间原则上应为 7*24 小时"),
            hit("f:1", "答", kind="faq", question="几点下班？"),
        ]
    )
    assert [b["title"] for b in buttons] == [
        "基本要求：服务时间原则上应为7*24小…",
        "基本要求：人工服务选项便于寻觅…",
        "几点下班？",
    ]
    assert "\n\n" not in answer_text(
        SimpleNamespace(kind="faq", text="第一段\n\n第二段", snippet="", title="规范", section="基本要求", clause="1.1")
    )


def test_the_quoted_wait_comes_from_the_agents_available_and_the_handle_time(services):
    from kb.desk.supervision import Supervision

    sup = Supervision(services.desk.db)
    sup.set_status("a1", "available")
    sup.set_status("a2", "available")
    messages, _ = run(ActionHandoff(services), tracker("转人工", intent="request_human", sender="busy1"))
    assert "您是下一位，预计等待约 1 分钟" in messages[0]["text"]  # two agents with no chat: at once
    run(ActionHandoff(services), tracker("转人工", intent="request_human", sender="busy2"))
    for agent, sender in (("a1", "busy1"), ("a2", "busy2")):
        services.desk.claim_chat(services.desk.tickets.active(sender).id, agent, "")
    run(ActionHandoff(services), tracker("转人工", intent="request_human", sender="first"))
    messages, _ = run(ActionHandoff(services), tracker("转人工", intent="request_human", sender="second"))
    # Both agents busy, position 2, no handled chats yet: default_handle_seconds (300) x 2 / 2 = 5 minutes.
    assert "您前面还有 1 位客户在等待，预计等待约 5 分钟" in messages[0]["text"]


def test_a_restarted_action_server_mends_an_index_a_killed_build_left_behind(services, encoder):
    from actions.services import load_retriever
    from indexer.build import check_index

    store = services.store
    article = store.articles()[0]
    changed = article.__class__(**{**article.__dict__, "body": article.body + "\n\n营业厅每周一上午进行设备检修。\n"})
    Indexer(store, [encoder], services.settings).put_article(changed)  # committed, never saved: killed here
    assert check_index(store, services.settings)
    restarted = Services(services.settings, store, services.desk, None, [encoder])
    load_retriever(restarted)
    assert restarted.retriever is not None and check_index(store, services.settings) == []
    assert "设备检修" in restarted.retriever.search("营业厅什么时候检修设备").hits[0].text


def test_a_reply_carries_the_items_or_table_its_line_introduces_and_a_row_button_reads_as_cells():
    from types import SimpleNamespace

    from indexer.replies import answer_text, candidate_button
    from indexer.snippets import make_snippet
    from kb.model import readable_tables

    def hit(text, words, clause=None, section="5.2 节假日安排"):
        snip = make_snippet(readable_tables(text), words).text
        return SimpleNamespace(
            kind="passage",
            ref="p:1",
            section=section,
            title="规范",
            clause=clause,
            snippet=snip,
            text=text,
            lead="",
            question=None,
            article_id="a",
        )

    items = "5.2.1 节假日期间营业网点应做到：\n\na) 至少保留一个网点正常营业；\n\nb) 提前公告营业时间。"
    reply = answer_text(hit(items, ["节假日", "营业网点"], "5.2.1"))
    assert "应做到：" in reply and "a) 至少保留一个网点正常营业；" in reply and "b) 提前公告营业时间。" in reply
    reply = answer_text(hit(items, ["公告"], "5.2.1"))  # an item brings the line that introduces it
    assert reply.startswith("5.2.1 节假日期间营业网点应做到：")
    table = "5.2.2 各网点营业时间如下表：\n\n| 网点 | 营业时间 |\n|---|---|\n| 朝阳网点 | 工作日 9:00-17:00 |"
    reply = answer_text(hit(table, ["营业时间"], "5.2.2"))
    assert "网点 · 营业时间" in reply and "朝阳网点 · 工作日 9:00-17:00" in reply and "|" not in reply
    row = hit(
        "| 朝阳网点 | 工作日 9:00-17:00 |", ["朝阳"], "5.2.2"
    )  # a row passage, its snippet as the retriever makes it
    assert candidate_button(row)["title"] == "规范 5.2.2：朝阳网点 · 工作日9:00…"  # the document, then the clause
    clause = hit("第一条 持卡人应妥善保管。", ["持卡人"], "第一条", section="")
    assert candidate_button(clause)["title"] == "规范 第一条：持卡人应妥善保管。…"  # the number is not said twice


def _nlu_examples(intent: str) -> list[str]:
    import yaml

    from servers import ROOT

    data = yaml.safe_load((ROOT / "bot" / "data" / "nlu" / "chitchat.yml").read_text(encoding="utf-8"))
    block = next(b for b in data["nlu"] if b.get("intent") == intent)
    return [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("intent", ["greet", "thanks"])
def test_every_greeting_and_thanks_nlu_was_trained_on_is_answered_in_kind(services, intent):
    for text in _nlu_examples(intent):
        messages, _ = run(ActionPleasantry(services), tracker(text, intent=intent))
        expected = "utter_thanks" if intent == "thanks" else in_language("utter_greet", text)  # 'hello' in English
        assert [m["response"] for m in messages] == [expected], text
    assert services.desk.gaps.recent() == []  # none of them logged as a question the bot could not answer


def test_a_complaint_hands_off_through_the_knowledge_turn_with_its_own_words_on_the_ticket(services):
    messages, events = run(ActionKbAnswer(services), tracker("你们营业厅的人态度太差了", intent="complaint"))
    assert events[-1] == ConversationPaused()
    ticket = services.desk.tickets.recent()[0]
    assert ticket.reason == "complaint" and ticket.question == "你们营业厅的人态度太差了"


def test_a_follow_up_is_answered_from_the_topic_the_slots_carry_and_a_handoff_forgets_it(services):
    _, events = run(ActionKbAnswer(services), tracker("客户投诉要怎么记录和处理？"))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["topic_article"] == "hall-manual" and slots["topic_clause"] == "3.2.1"
    messages, events = run(ActionKbAnswer(services), tracker("下一条呢", **slots))
    [message] = messages
    assert message["text"].startswith("关于《营业厅工作手册》3.2 客户投诉处理 · 3.2.2：")
    assert "回访" in message["text"] and SlotSet("topic_clause", "3.2.2") in events
    # Without the conversation, the same words are not an answer about complaints.
    alone, _ = run(ActionKbAnswer(services), tracker("下一条呢"))
    assert "回访" not in alone[0]["text"]
    _, events = run(ActionKbAnswer(services), tracker("转人工", intent="request_human", **slots))
    assert all(e in events for e in FORGET)


def test_a_plain_no_gets_anything_else_and_a_no_that_asks_is_a_question(services):
    messages, events = run(ActionKbAnswer(services), tracker("不用了", intent="deny"))
    assert [m["response"] for m in messages] == ["utter_anything_else"] and events == []
    messages, _ = run(ActionKbAnswer(services), tracker("营业厅不是晚上才关门吗", intent="deny"))
    assert "晚上六点关门" in messages[0]["text"]


def test_a_word_nlu_hears_as_a_yes_is_a_question_not_an_ok(services):
    messages, _ = run(ActionKbAnswer(services), tracker("营业时间", intent="affirm"))
    assert messages[0].get("response") not in ("utter_anything_else", "utter_kb_no_answer")
    assert "营业厅" in messages[0]["text"] + "".join(b["title"] for b in messages[0].get("buttons", []))
    messages, events = run(ActionKbAnswer(services), tracker("嗯嗯好的", intent="affirm"))
    assert [m["response"] for m in messages] == ["utter_anything_else"] and events == []
    # a no that asks nothing is an 'ok' whatever its words ('暂时不需要'), as before
    messages, events = run(ActionKbAnswer(services), tracker("暂时不需要", intent="deny"))
    assert [m["response"] for m in messages] == ["utter_anything_else"] and events == []


def test_a_yes_nlu_heard_that_nothing_answers_does_not_count_towards_a_handoff(services):
    agent_available(services)
    messages, events = run(ActionKbAnswer(services), tracker("订机票", intent="affirm", abstain_count=1.0))
    assert [m["response"] for m in messages] == ["utter_kb_no_answer"] and SlotSet("abstain_count", 1.0) in events
    assert services.desk.tickets.recent() == []


def test_asked_when_agents_are_there_the_desk_says_its_own_hours(services):
    messages, _ = run(ActionKbAnswer(services), tracker("人工客服几点下班？", intent="request_human"))
    [said] = messages  # on duty by the clock, but nobody available: no promise of a person now
    assert said["response"] == "utter_agent_hours_no_agent" and "暂时没有在线的人工客服" in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/request_human", "/request_callback"]
    agent_available(services)
    messages, events = run(ActionKbAnswer(services), tracker("人工客服几点下班？", intent="request_human"))
    [said] = messages
    assert said["response"] == "utter_agent_hours_open" and "00:00-24:00（北京时间）" in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/request_human"] and events == []
    assert services.desk.tickets.recent() == [] and services.desk.gaps.recent() == []
    messages, _ = run(ActionKbAnswer(services), tracker("When are your agents available?"))
    assert messages[0]["response"] == "utter_agent_hours_open_en" and "(Asia/Shanghai)" in messages[0]["text"]


def test_asked_out_of_hours_when_agents_are_there_the_desk_offers_a_callback(night):
    messages, _ = run(ActionKbAnswer(night), tracker("你们周末有人工吗"))
    [said] = messages
    assert said["response"] == "utter_agent_hours_closed" and night.desk.policy.service_hours in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/request_callback"] and night.desk.tickets.recent() == []


def test_out_of_scope_on_the_documents_subject_says_the_knowledge_base_has_no_answer_yet(services):
    messages, _ = run(ActionKefuFallback(services), tracker("营业厅的停车场收费吗", intent="out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_kb_no_answer"]  # 营业厅 is what the documents are about
    assert services.desk.gaps.recent()[0]["reason"] == "out_of_scope"
    messages, _ = run(ActionKefuFallback(services), tracker("帮我订一张机票", intent="out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


def test_next_with_nothing_before_it_gets_the_prompt_not_a_gap(services):
    messages, events = run(ActionKbAnswer(services), tracker("下一条", abstain_count=1.0))
    assert [m["response"] for m in messages] == ["utter_no_words"] and events == []
    assert services.desk.gaps.recent() == [] and services.desk.tickets.recent() == []


def test_a_yes_to_the_offer_of_a_person_must_be_one(services):
    offered = {"offered_human": True, "handoff_reason": "could_not_answer", "last_question": "营业厅几点开门"}
    messages, events = run(ActionHandoff(services), tracker("营业厅几点关门", intent="affirm", **offered))
    assert messages == [] and events == [FollowupAction("action_kb_answer")]
    assert services.desk.tickets.recent() == []
    for yes in ("/affirm", "好的，麻烦了", "yes please"):
        messages, events = run(ActionHandoff(services), tracker(yes, intent="affirm", sender=yes, **offered))
        assert events[-1] == ConversationPaused() and services.desk.tickets.recent()[0].reason == "could_not_answer"


def test_a_yes_to_the_offered_person_is_one_whatever_nlu_called_it(services):
    offered = {"offered_human": True, "handoff_reason": "could_not_answer", "last_question": "营业厅几点开门"}
    messages, events = run(ActionKbAnswer(services), tracker("好的，麻烦了", intent="request_callback", **offered))
    assert events[-1] == ConversationPaused() and services.desk.tickets.recent()[0].status == "queued"
    assert services.desk.tickets.recent()[0].reason == "could_not_answer"
    # thanks alone, or a no, is not a yes
    for said in ("谢谢", "不用了，谢谢"):
        _, events = run(ActionKbAnswer(services), tracker(said, intent="thanks", sender=said, **offered))
        assert ConversationPaused() not in events
    assert len(services.desk.tickets.recent()) == 1


def test_a_question_nlu_hears_as_a_thumbs_down_is_a_question(services):
    said = tracker(
        "那营业厅周末开门吗", intent="feedback_unhelpful", last_answer_ref="passage:7", last_question="营业厅几点开门"
    )
    messages, events = run(ActionFeedback(services), said)
    assert messages == [] and events == [FollowupAction("action_kb_answer")]
    assert services.desk.gaps.recent() == [] and list(services.desk.db["feedback"].rows) == []
    messages, events = run(ActionFeedback(services), tracker("没有其他问题了", intent="feedback_unhelpful"))
    assert [m["response"] for m in messages] == ["utter_anything_else"] and events == []  # no judgement, no question
    assert list(services.desk.db["feedback"].rows) == []
    messages, _ = run(ActionFeedback(services), tracker("/feedback_unhelpful", intent="feedback_unhelpful"))
    assert messages[0]["response"] == "utter_feedback_sorry"


def test_show_all_sends_the_whole_answer_typed_or_from_the_button(services):
    _, events = run(ActionKbAnswer(services), tracker("营业厅晚上几点关门？"))
    ref = next(e["value"] for e in events if e["event"] == "slot" and e["name"] == "last_answer_ref")
    typed, _ = run(ActionKbAnswer(services), tracker("查看全部", intent="show_all", last_answer_ref=ref))
    button, _ = run(ActionKbAnswer(services), tracker("/show_all", intent="show_all", entities=[_ref(ref)]))
    assert typed == button and "节假日照常营业" in typed[0]["text"] and "来源：《营业厅工作手册》" in typed[0]["text"]


def _ref(ref: str) -> dict:
    return {"entity": "ref", "value": ref}


def test_words_at_the_confirmation_let_the_number_stand_and_later_times_are_kept(night):
    _, _, step = say(night, "我的卡被吞了，转人工，周六上午打", intent="request_human")
    assert night.desk.tickets.recent()[0].preferred_time == "周六上午"  # said with the request
    _, _, step = say(night, "[手机号]", step=step, number="13812345678")
    said, _, step = say(night, "补充一下，是在中关村支行的ATM上被吞的", step=step)
    assert said == ["utter_callback_registered"] and step is None  # not the same question again
    ticket = night.desk.tickets.recent()[0]
    assert ticket.problem.endswith("是在中关村支行的ATM上被吞的")
    said, messages, _ = say(night, "最好明天下午三点以后打给我", intent="request_callback", step=step)
    assert said == ["utter_callback_registered"] and "明天下午三点以后" in messages[0]["text"]  # not started afresh
    assert night.desk.tickets.recent()[0].preferred_time == "明天下午三点以后"


def test_a_time_given_when_the_problem_is_awaited_is_kept_and_the_problem_asked_again(night):
    _, _, step = say(night, "转人工", intent="request_human")
    said, messages, step = say(night, "周六上午吧", step=step)
    assert said == ["utter_callback_time_noted", "utter_callback_ask_problem"] and step == "problem"
    assert "周六上午回电" in messages[0]["text"] and night.desk.tickets.recent()[0].preferred_time == "周六上午"


def test_a_time_given_when_the_number_is_read_back_lets_the_number_stand(night):
    _, _, step = say(night, "信用卡被盗刷了，请给我回电话 [手机号]", intent="request_callback", number="13812345678")
    assert step == "confirm"
    said, messages, step = say(night, "明天下午三点以后吧", step=step)  # not the number's question again
    assert said == ["utter_callback_registered"] and step is None
    assert "明天下午三点以后" in messages[0]["text"] and "138****5678" in messages[0]["text"]
    assert night.desk.tickets.recent()[0].preferred_time == "明天下午三点以后"
    said, _, step = say(night, "嗯", step="confirm")  # nothing said to it: asked again
    assert said == ["utter_callback_confirm"] and step == "confirm"


def test_a_question_it_cannot_answer_is_said_so_and_a_number_it_cannot_call_is_asked_for_again(night):
    _, _, step = say(night, "我的卡被吞了，转人工", intent="request_human")
    said, _, step = say(night, "12345", step=step)
    assert said == ["utter_callback_ask_contact_again"] and night.desk.tickets.recent()[0].problem == "我的卡被吞了"
    said, _, step = say(night, "你们能帮我订一张去北京的机票吗？", step=step)
    assert said == ["utter_callback_question_noted", "utter_callback_ask_contact"] and step == "contact"
    assert night.desk.gaps.recent() == []  # for the agent who calls, not a gap


def test_a_question_about_calling_is_answered_and_a_request_in_words_is_a_callback(night):
    said, _, _ = say(night, "晚上能打客服电话吗", intent="request_callback")  # NLU's guess, but a question
    assert "utter_handoff_callback" not in said and night.desk.tickets.recent() == []
    said, _, _ = say(night, "信用卡被盗刷了，请给我回电话", intent="ask_kb", sender="c1")
    assert said[0] == "utter_handoff_callback" and night.desk.tickets.recent()[0].problem == "信用卡被盗刷了"


def test_in_hours_a_customer_waiting_for_a_callback_can_still_have_a_chat(services, tmp_path):
    services.desk.vault = ContactVault.in_folder(tmp_path / "key")
    say(services, "能给我回个电话吗，我的卡被吞了", intent="request_callback")
    said, messages, _ = say(services, "还是转人工吧", intent="request_human", step="contact")
    ticket = services.desk.tickets.recent()[0]
    assert ticket.status == "queued" and ticket.problem == "我的卡被吞了" and ticket.due_at is None
    assert "转接人工客服" in messages[-1]["text"]


def test_out_of_hours_two_unanswered_questions_do_not_open_a_callback_nobody_asked_for(night):
    run(ActionKbAnswer(night), tracker("帮我订一张机票"))
    said, _ = run(ActionKbAnswer(night), tracker("帮我订一张机票", abstain_count=1.0))
    assert [m.get("response") for m in said] == ["utter_kb_no_answer"] and night.desk.tickets.recent() == []
