"""Answering from the knowledge base: answer with a source, clarify, or abstain and log a gap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.callback import add_after_exchange, callback_ticket, callback_turn
from actions.feedback import feedback_events
from actions.handoff import handoff_events
from actions.services import KefuAction, Services, latest_intent
from indexer.followup import Topic, Turn, converse, topic_after
from indexer.hits import QueryError
from indexer.lexical import is_chinese
from indexer.normalize import is_pleasantry
from indexer.replies import Reply, answer_text, whole_text
from kb.desk.callback import asks_for_call, wants_callback, withdraws_then
from kb.desk.rules import (
    FEEDBACK_INTENTS,
    agent_hours_reply,
    explicitly_asks_for_human,
    handoff_reason,
    helpful,
    is_feedback,
    is_yes,
    route,
    zone_name,
)

if TYPE_CHECKING:
    from indexer.hits import Hit

ABSTAINS_BEFORE_HANDOFF = 2


def answer_with(
    hit: Hit, dispatcher: CollectingDispatcher, question: str, reply: Reply | None = None, topic: Topic | None = None
) -> list[dict[str, Any]]:
    """Send one hit as an answer (reply_for's text and close candidates as buttons, or the hit's own text
    for a chosen candidate), keep what the conversation is now about (topic, indexer.followup) in the slots
    and reset the abstain count."""
    buttons = reply.buttons if reply else []
    dispatcher.utter_message(
        text=reply.text if reply else answer_text(hit, question),
        buttons=buttons or None,
        json_message={"sources": [hit.record().as_dict()], "answer_ref": hit.ref},
    )
    topic = topic or Topic(hit.article_id, hit.title, hit.section, hit.clause or "", hit.ref)
    return [
        *[SlotSet(name, value) for name, value in topic.slots().items()],
        SlotSet("last_question", question),
        SlotSet("abstain_count", 0.0),
        SlotSet("offered_human", False),
    ]


# A question asked in English hears that nothing answers it, or which topic it means, in English too.
ENGLISH = {
    "utter_clarify": "utter_clarify_en",
    "utter_handoff_after_abstains": "utter_handoff_after_abstains_en",
    "utter_greet": "utter_greet_en",
    "utter_out_of_scope": "utter_out_of_scope_en",
    "utter_kb_no_answer": "utter_kb_no_answer_en",
    "utter_agent_hours_open": "utter_agent_hours_open_en",
    "utter_agent_hours_closed": "utter_agent_hours_closed_en",
    "utter_agent_hours_no_agent": "utter_agent_hours_no_agent_en",
}


# How many of the knowledge base's subjects the greeting and 'outside what I can answer' name.
SUBJECTS_NAMED = 3


def subjects_phrase(subjects: list[str], english: bool = False) -> str:
    """What the bot says it can answer ('银行客服、电信营业厅、公司制度等'): the first SUBJECTS_NAMED of
    kb.store.Store.subjects, 等 / 'and more' when there are more; 我们的业务 / 'our services' when there are none."""
    if not subjects:
        return "our services" if english else "我们的业务"
    named = subjects[:SUBJECTS_NAMED]
    if english:
        return ", ".join(named) + (" and more" if len(subjects) > len(named) else "")
    return "、".join(named) + ("等" if len(subjects) > len(named) else "")


def in_language(response: str, text: str) -> str:
    """The response (a name in bot/domain.yml) for a message: its English one for a message not in Chinese."""
    return response if is_chinese(text) else ENGLISH.get(response, response)


def respond(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, gap_reason: str = "abstain"
) -> list[dict[str, Any]]:
    """The whole turn for the latest user message, whatever NLU called it (greeting, thanks, a request for a
    person, a complaint, a question): a callback's message; else kb.desk.rules.route decides (a handoff, the
    prompt for a message without words, a greeting or thanks in kind) and a knowledge question gets the
    reply indexer.replies.reply_for makes of the search (answer, clarify, or abstain and offer a person)."""
    text = tracker.latest_message.get("text") or ""
    waiting = callback_ticket(services, tracker)
    if waiting and services.desk.policy.in_service_hours() and explicitly_asks_for_human(text):
        services.desk.queue_instead(tracker.sender_id)  # agents are on duty: a chat now, not a call later
        return [SlotSet("callback_step", None), *handoff_events(services, dispatcher, tracker, "asked")]
    taken = callback_turn(services, dispatcher, tracker, lambda: _answer_only(services, dispatcher, tracker))
    if taken is not None:  # a callback being taken down, or a change to one
        return taken
    if waiting and callback_ticket(services, tracker) is None:
        # this message withdrew it, with a question after ('不用回电，我只是想问…'): the question is the turn,
        # whatever NLU made of the whole message
        rest = withdraws_then(text)
        turn = _respond(services, dispatcher, tracker, gap_reason, (rest, None) if rest else None)
        return [SlotSet("callback_step", None), *turn]
    if tracker.get_slot("callback_step"):  # the callback was settled meanwhile: a turn as usual
        return [SlotSet("callback_step", None), *_respond(services, dispatcher, tracker, gap_reason)]
    return _respond(services, dispatcher, tracker, gap_reason)


def _respond(
    services: Services,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    gap_reason: str,
    message: tuple[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """One turn on the latest message, or on message (text, NLU intent) instead: the part of it left to answer."""
    text, intent = message or (tracker.latest_message.get("text") or "", latest_intent(tracker))
    if tracker.get_slot("offered_human") and is_yes(text) and not asks_for_call(text):
        # a yes to the person just offered, whatever NLU called it ('好的，麻烦了' heard as request_callback)
        return handoff_events(
            services, dispatcher, tracker, handoff_reason("affirm", tracker.get_slot("handoff_reason"))
        )
    if tracker.get_slot("last_answer_ref") and intent not in FEEDBACK_INTENTS and is_feedback(text):
        # judging the answer just given in words NLU did not hear as feedback ('没什么用' as nlu_fallback): recorded
        # as a 👍/👎 would be, not searched as a follow-up
        return feedback_events(services, dispatcher, tracker, helpful(text, intent))
    if wants_callback(text, intent):  # asked to be called rather than wait (or out of hours)
        return handoff_events(services, dispatcher, tracker, "asked", callback=True)
    decided = route(text, intent, is_pleasantry(text))
    if decided == "ack":  # a plain yes or no that answers nothing asked: the bot asks what else it can do
        dispatcher.utter_message(response="utter_anything_else")
        return []
    if decided == "desk_hours":  # when the desk's people are there: its own hours, and whether it is open now
        desk = services.desk
        in_hours = desk.policy.in_service_hours()
        response = agent_hours_reply(in_hours, in_hours and desk.agents_available())
        zone = zone_name(desk.policy.timezone, is_chinese(text))
        dispatcher.utter_message(response=in_language(response, text), hours=desk.policy.service_hours, timezone=zone)
        return []
    if decided == "handoff":  # asked for in words, or NLU's request or complaint that asks nothing
        reason = handoff_reason(intent)
        # A complaint is itself what the agent needs to read; otherwise the question before the request.
        return handoff_events(services, dispatcher, tracker, reason, text if reason == "complaint" else None)
    if decided == "greet":  # in kind, naming what the knowledge base is about
        subjects = subjects_phrase(services.store.subjects(), english=not is_chinese(text))
        dispatcher.utter_message(response=in_language("utter_greet", text), subjects=subjects)
        return []
    if decided != "knowledge":  # no words: a prompt with the human button; thanks in kind
        dispatcher.utter_message(response="utter_thanks" if decided == "thanks" else "utter_no_words")
        return []
    if services.retriever is None:  # the index cannot be loaded: say so; a human is still one tap away
        dispatcher.utter_message(response="utter_service_down")
        return []
    before = Topic.from_slots(tracker.current_slot_values())
    try:  # the message read in its conversation: a follow-up searched with what the conversation is about
        reply, turn, topic = converse(text, before, services.retriever)
    except QueryError:
        dispatcher.utter_message(response="utter_default")
        return []
    # Not answered, the question's words may still have become the topic (converse): kept as the eval keeps them.
    kept = [SlotSet(name, value) for name, value in topic.slots().items()] if topic != before else []
    if reply.kind == "prompt":  # '下一条' or '为什么' with nothing before it: what would they like to know?
        dispatcher.utter_message(response="utter_no_words")
        return []
    if reply.kind == "clarify":
        dispatcher.utter_message(response=in_language("utter_clarify", text), buttons=reply.buttons)
        return [*kept, SlotSet("last_question", text)]
    if reply.kind == "answer" and reply.hit is not None:
        return answer_with(reply.hit, dispatcher, text, reply=reply, topic=topic)
    if add_after_exchange(services, dispatcher, tracker):  # for the agent who will call back, not a gap
        # the topic is not kept: what is said while a callback is taken down is for the agent, not a subject
        return [SlotSet("last_question", text)]
    hits = turn.result.hits
    services.desk.gaps.log(tracker.sender_id, text, gap_reason, [h.record() for h in hits])
    # A message NLU heard as a yes, a no or a judgement that the knowledge base cannot answer ('没有其他问题了') is
    # told so, but does not count towards handing the customer to a person unasked.
    counted = intent not in ("affirm", "deny", *FEEDBACK_INTENTS)
    count = (tracker.get_slot("abstain_count") or 0) + (1 if counted else 0)
    # A second answer in a row it cannot give hands the customer to a person when one can take the chat. Out of
    # hours that would be a callback they did not ask for (and no number to call), and with no agent available a
    # queue they did not ask for, the bot paused meanwhile: the offer of a person stays a button instead.
    desk = services.desk
    if counted and count >= ABSTAINS_BEFORE_HANDOFF and desk.policy.in_service_hours() and desk.agents_available():
        dispatcher.utter_message(response=in_language("utter_handoff_after_abstains", text))
        return [
            SlotSet("abstain_count", 0.0),
            SlotSet("last_question", text),
            *handoff_events(services, dispatcher, tracker, "could_not_answer", question=text),
        ]
    # 'Outside what I can answer' only when NLU says so and nothing found holds a word of the message ('帮我订机票');
    # a question on the documents' subject that they do not answer ('上海地铁末班车几点') hears that the knowledge
    # base has no answer yet, whatever NLU called it.
    beyond = gap_reason == "out_of_scope" and not any(h.lexical > 0 for h in hits[:3])
    if beyond:  # and what it can answer
        subjects = subjects_phrase(services.store.subjects(), english=not is_chinese(text))
        dispatcher.utter_message(response=in_language("utter_out_of_scope", text), subjects=subjects)
    else:
        dispatcher.utter_message(response=in_language("utter_kb_no_answer", text))
    return [
        *kept,
        SlotSet("abstain_count", float(count)),
        SlotSet("last_question", text),
        SlotSet("offered_human", True),
        SlotSet("handoff_reason", "could_not_answer"),
    ]


def _answer_only(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]] | None:
    """The latest message answered from the knowledge base if it has an answer (the events), else None with
    nothing said and no gap logged: for a question asked while a callback is being taken down."""
    text = tracker.latest_message.get("text") or ""
    if services.retriever is None or route(text, latest_intent(tracker), is_pleasantry(text)) != "knowledge":
        return None
    try:
        reply, _, topic = converse(text, Topic.from_slots(tracker.current_slot_values()), services.retriever)
    except QueryError:
        return None
    if reply.kind != "answer" or reply.hit is None:
        return None
    return answer_with(reply.hit, dispatcher, text, reply=reply, topic=topic)


class ActionKbAnswer(KefuAction):
    """Answers a knowledge question, or shows a candidate the customer picked."""

    def name(self) -> str:
        return "action_kb_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        services = self.services
        intent = latest_intent(tracker)
        ref = next(tracker.get_latest_entity_values("ref"), None)
        if intent == "show_all":  # the button names its answer; typed '查看全部' means the last one
            ref = ref or tracker.get_slot("last_answer_ref")
        if intent in ("choose_candidate", "show_all") and ref:
            question = tracker.get_slot("last_question") or ""
            hit = services.retriever.hit_for(ref, question) if services.retriever else None
            if hit is None or services.retriever is None:
                dispatcher.utter_message(response="utter_default")
                return []
            if intent == "show_all":  # the whole clause or list an answer had to trim: the topic stays
                dispatcher.utter_message(
                    text=whole_text(hit), json_message={"sources": [hit.record().as_dict()], "answer_ref": hit.ref}
                )
                return []
            # The picked candidate is now what the conversation is about, with the question's subject.
            before = Topic.from_slots(tracker.current_slot_values())
            tokenizer = services.retriever.tokenizer
            terms = tokenizer.subject_terms(question) if question else []
            topic = topic_after(Turn(_picked(hit)), before, terms, tokenizer.acts(question, hit.text))
            return answer_with(hit, dispatcher, question, topic=topic)
        return respond(services, dispatcher, tracker)


def _picked(hit: Hit):
    """A search result holding only a hit the customer picked (for indexer.followup.topic_after)."""
    from indexer.decision import Decision
    from indexer.hits import SearchResult

    return SearchResult("", [hit], Decision(True, 1.0, "picked by the customer"))


class ActionKefuFallback(KefuAction):
    """Low NLU confidence or out of scope: still try the knowledge base; log a gap when it has nothing."""

    def name(self) -> str:
        return "action_kefu_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        # As Rasa's core fallback this runs whenever the policies are unsure what comes next, which can
        # be straight after a reply: answer a message once, then always wait for the customer.
        if replied_since_last_message(tracker):
            return [FollowupAction("action_listen")]
        reason = "out_of_scope" if latest_intent(tracker) == "out_of_scope" else "nlu_fallback"
        return [*respond(self.services, dispatcher, tracker, gap_reason=reason), FollowupAction("action_listen")]


def replied_since_last_message(tracker: Tracker) -> bool:
    """Whether the bot has said something after the customer's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False


class ActionPleasantry(KefuAction):
    """A greeting or thanks: answered in kind, unless a question comes with it ('您好，想问下…'), which is
    then answered; emoji or punctuation alone gets the short prompt (respond decides)."""

    def name(self) -> str:
        return "action_pleasantry"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return respond(self.services, dispatcher, tracker)
