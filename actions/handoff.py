"""Handing a conversation to a human: a ticket, the queue position and wait, and the bot paused; outside
service hours a callback ticket instead (kb.desk decides which)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import KefuAction, Services, latest_intent
from indexer.followup import Topic
from kb.desk.rules import handoff_reason
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


def handoff_events(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, question: str | None = None
) -> list[dict[str, Any]]:
    """Open (or find) the conversation's ticket, tell the customer, and pause the bot while they wait."""
    question = question or _last_question(tracker)
    ticket = services.desk.request_human(tracker.sender_id, reason, question, _passages_found(services, question))
    if ticket.status == "callback":
        dispatcher.utter_message(
            response="utter_handoff_callback",
            hours=services.desk.policy.service_hours,
            json_message={"ticket": ticket.id, "state": "callback"},
        )
        return [SlotSet("offered_human", False), SlotSet("handoff_reason", "callback"), *forget_topic()]
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


def take_callback_message(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[dict[str, Any]]:
    """Out of hours: keep the customer's message on their callback ticket."""
    services.desk.leave_callback_message(tracker.sender_id, tracker.latest_message.get("text") or "")
    dispatcher.utter_message(response="utter_callback_noted")
    return [SlotSet("handoff_reason", None)]


class ActionHandoff(KefuAction):
    """Hands the conversation to a human: asked for, after a complaint, or accepting an offer."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        reason = handoff_reason(latest_intent(tracker), tracker.get_slot("handoff_reason"))
        # A complaint is itself what the agent needs to read; otherwise the question before the request.
        question = tracker.latest_message.get("text") if reason == "complaint" else None
        return handoff_events(self.services, dispatcher, tracker, reason, question)
