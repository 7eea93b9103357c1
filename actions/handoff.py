"""Handing a conversation to a human: a ticket, the queue position, and the bot paused."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import KefuAction, Services, latest_intent
from kb.supervision import queue_message, wait_now


def _last_question(tracker: Tracker) -> str:
    return tracker.get_slot("last_question") or tracker.latest_message.get("text") or ""


def handoff_events(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, reason: str,
                   question: str | None = None) -> list[dict[str, Any]]:
    """Open (or find) the conversation's ticket, tell the customer, and pause the bot in hours."""
    question = question or _last_question(tracker)
    try:
        hits = services.retriever.search(question).hits[:3] if question.strip() and services.retriever else []
    except ValueError:
        hits = []
    passages = [{"kind": h.kind, "id": h.id, "article_id": h.article_id, "title": h.title,
                 "section": h.section, "clause": h.clause, "score": h.score, "snippet": h.snippet} for h in hits]
    if not services.in_service_hours():
        ticket = services.desk.open_handoff(tracker.sender_id, reason, question, passages, in_hours=False)
        dispatcher.utter_message(response="utter_handoff_callback", hours=services.settings.service_hours,
                                 json_message={"ticket": ticket.id, "state": "callback"})
        return [SlotSet("offered_human", False), SlotSet("handoff_reason", "callback")]
    ticket = services.desk.open_handoff(tracker.sender_id, reason, question, passages, in_hours=True)
    position = ticket.position or 1
    dispatcher.utter_message(text=queue_message(position, wait_now(services.desk.store, services.settings, position)),
                             json_message={"ticket": ticket.id, "state": "queued", "position": position})
    return [SlotSet("offered_human", False), SlotSet("handoff_reason", None), ConversationPaused()]


def take_callback_message(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker):
    """Out of hours: keep the customer's message on their callback ticket."""
    ticket = services.desk.active_ticket(tracker.sender_id)
    if ticket:
        services.desk.set_contact(ticket.id, tracker.latest_message.get("text") or "")
    dispatcher.utter_message(response="utter_callback_noted")
    return [SlotSet("handoff_reason", None)]


class ActionHandoff(KefuAction):
    """Hands the conversation to a human: asked for, after a complaint, or accepting an offer."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        services = self.services
        intent = latest_intent(tracker)
        if intent == "complaint":
            reason = "complaint"
        elif intent == "affirm" and tracker.get_slot("handoff_reason") in ("could_not_answer", "negative_feedback"):
            reason = tracker.get_slot("handoff_reason")
        else:
            reason = "asked"
        # A complaint is itself what the agent needs to read; otherwise the question before the request.
        question = tracker.latest_message.get("text") if reason == "complaint" else None
        return handoff_events(services, dispatcher, tracker, reason, question)
