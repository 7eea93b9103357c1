"""Handing a conversation to a human: a ticket, the queue position and wait, and the bot paused; outside
service hours a callback ticket instead (kb.desk decides which)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.callback import start_callback
from actions.services import KefuAction, Services, latest_intent
from indexer.followup import Topic
from kb.desk.callback import problem_words
from kb.desk.rules import explicitly_asks_for_human, handoff_reason, is_yes
from kb.desk.supervision import quoted_minutes
from kb.model import HitRecord

PASSAGES_ON_TICKET = 3


def _last_question(tracker: Tracker) -> str:
    return tracker.get_slot("last_question") or tracker.latest_message.get("text") or ""


def queue_response(position: int, minutes: int | None) -> tuple[str, dict[str, int]]:
    """The domain response (and its variables) that tells a queued customer their place (1 = next) and
    the wait in minutes (None: no agent is available)."""
    if minutes is None:
        return (
            ("utter_handoff_next_no_agent", {})
            if position <= 1
            else ("utter_handoff_queued_no_agent", {"ahead": position - 1})
        )
    return (
        ("utter_handoff_next", {"minutes": minutes})
        if position <= 1
        else ("utter_handoff_queued", {"ahead": position - 1, "minutes": minutes})
    )


def _passages_found(services: Services, question: str) -> list[HitRecord]:
    """What the retriever finds for the question, for the agent to start from."""
    if not question.strip() or services.retriever is None:
        return []
    try:
        return [h.record() for h in services.retriever.search(question).hits[:PASSAGES_ON_TICKET]]
    except ValueError:  # a question the retriever cannot search (QueryError)
        return []


def problem_of(tracker: Tracker, reason: str) -> str:
    """The customer's problem for a new ticket, in their words: the message that led to the handoff without
    its request for a person ('我的卡被吞了，转人工' → '我的卡被吞了'), a complaint whole, the question the bot
    could not answer or got a 👎 for; '' for a bare request ('转人工'): they are asked for it."""
    text = tracker.latest_message.get("text") or ""
    if reason == "complaint":
        return problem_words(text) or text
    if reason in ("could_not_answer", "negative_feedback"):
        return tracker.get_slot("last_question") or ""
    return "" if text.startswith("/") else problem_words(text)


def handoff_events(
    services: Services,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: str,
    question: str | None = None,
    callback: bool = False,
) -> list[dict[str, Any]]:
    """Open (or find) the conversation's ticket with the customer's problem (question, else problem_of) and
    the passages the bot found for it, tell the customer, and pause the bot while they wait; a callback
    (out of hours, or asked for) starts taking the callback down instead (actions.callback)."""
    question = problem_of(tracker, reason) if question is None else question
    found = _passages_found(services, question or _last_question(tracker))
    ticket = services.desk.request_human(tracker.sender_id, reason, question, found, callback=callback)
    if ticket.status == "callback":
        text = tracker.latest_message.get("text") or ""
        return [SlotSet("offered_human", False), *start_callback(services, dispatcher, ticket, text), *forget_topic()]
    position = ticket.position or 1
    response, values = queue_response(position, quoted_minutes(services.desk.quoted_wait(position)))
    dispatcher.utter_message(
        response=response, **values, json_message={"ticket": ticket.id, "state": "queued", "position": position}
    )
    return [SlotSet("offered_human", False), SlotSet("handoff_reason", None), *forget_topic(), ConversationPaused()]


def forget_topic() -> list[dict[str, Any]]:
    """Slot events that forget what the conversation was about: a person takes it from here, and when the bot
    speaks again it starts afresh (indexer.followup.Topic)."""
    return [SlotSet(name, value) for name, value in Topic.cleared().items()]


class ActionHandoff(KefuAction):
    """Hands the conversation to a human: asked for, after a complaint, or accepting an offer."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intent = latest_intent(tracker)
        text = tracker.latest_message.get("text") or ""
        if intent == "affirm" and not (is_yes(text) or explicitly_asks_for_human(text)):
            # a yes to the offer of a person must be one: '退款' heard as a yes is a question for the knowledge base
            return [FollowupAction("action_kb_answer")]
        reason = handoff_reason(intent, tracker.get_slot("handoff_reason"))
        return handoff_events(self.services, dispatcher, tracker, reason)
