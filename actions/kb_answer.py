"""Answering from the knowledge base: answer with a source, clarify, or abstain and log a gap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import handoff_events, take_callback_message
from actions.services import KefuAction, Services, latest_intent
from indexer.hits import QueryError
from indexer.normalize import is_pleasantry
from indexer.replies import Reply, answer_text, reply_for
from kb.desk.rules import handoff_reason, route

if TYPE_CHECKING:
    from indexer.hits import Hit

ABSTAINS_BEFORE_HANDOFF = 2


def answer_with(
    hit: Hit, dispatcher: CollectingDispatcher, question: str, reply: Reply | None = None
) -> list[dict[str, Any]]:
    """Send one hit as an answer (reply_for's text and close candidates as buttons, or the hit's own text
    for a chosen candidate) and reset the abstain count."""
    buttons = reply.buttons if reply else []
    dispatcher.utter_message(
        text=reply.text if reply else answer_text(hit, question),
        buttons=buttons or None,
        json_message={"sources": [hit.record().as_dict()], "answer_ref": hit.ref},
    )
    return [
        SlotSet("last_answer_ref", hit.ref),
        SlotSet("last_question", question),
        SlotSet("abstain_count", 0.0),
        SlotSet("offered_human", False),
    ]


def respond(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, gap_reason: str = "abstain"
) -> list[dict[str, Any]]:
    """The whole turn for the latest user message, whatever NLU called it (greeting, thanks, a request for a
    person, a complaint, a question): a callback's message; else kb.desk.rules.route decides (a handoff, the
    prompt for a message without words, a greeting or thanks in kind) and a knowledge question gets the
    reply indexer.replies.reply_for makes of the search (answer, clarify, or abstain and offer a person)."""
    text = tracker.latest_message.get("text") or ""
    intent = latest_intent(tracker)
    if tracker.get_slot("handoff_reason") == "callback":
        return take_callback_message(services, dispatcher, tracker)
    decided = route(text, intent, is_pleasantry(text))
    if decided == "handoff":  # asked for in words, or NLU's request or complaint that asks nothing
        reason = handoff_reason(intent)
        # A complaint is itself what the agent needs to read; otherwise the question before the request.
        return handoff_events(services, dispatcher, tracker, reason, text if reason == "complaint" else None)
    if decided != "knowledge":  # no words: a prompt with the human button; a greeting or thanks in kind
        dispatcher.utter_message(
            response={"no_words": "utter_no_words", "thanks": "utter_thanks"}.get(decided, "utter_greet")
        )
        return []
    if services.retriever is None:  # the index cannot be loaded: say so; a human is still one tap away
        dispatcher.utter_message(response="utter_service_down")
        return []
    try:
        result = services.retriever.search(text)
    except QueryError:
        dispatcher.utter_message(response="utter_default")
        return []
    reply = reply_for(text, result)
    if reply.kind == "clarify":
        dispatcher.utter_message(response="utter_clarify", buttons=reply.buttons)
        return [SlotSet("last_question", text)]
    if reply.kind == "answer" and reply.hit is not None:
        return answer_with(reply.hit, dispatcher, text, reply=reply)
    hits = result.hits
    services.desk.gaps.log(tracker.sender_id, text, gap_reason, [h.record() for h in hits])
    count = (tracker.get_slot("abstain_count") or 0) + 1
    if count >= ABSTAINS_BEFORE_HANDOFF:
        dispatcher.utter_message(response="utter_handoff_after_abstains")
        return [
            SlotSet("abstain_count", 0.0),
            SlotSet("last_question", text),
            *handoff_events(services, dispatcher, tracker, "could_not_answer", question=text),
        ]
    dispatcher.utter_message(response="utter_out_of_scope" if gap_reason == "out_of_scope" else "utter_kb_no_answer")
    return [
        SlotSet("abstain_count", float(count)),
        SlotSet("last_question", text),
        SlotSet("offered_human", True),
        SlotSet("handoff_reason", "could_not_answer"),
    ]


class ActionKbAnswer(KefuAction):
    """Answers a knowledge question, or shows a candidate the customer picked."""

    def name(self) -> str:
        return "action_kb_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        services = self.services
        if latest_intent(tracker) == "choose_candidate":
            ref = next(tracker.get_latest_entity_values("ref"), None)
            question = tracker.get_slot("last_question") or ""
            hit = services.retriever.hit_for(ref, question) if ref and services.retriever else None
            if hit is None:
                dispatcher.utter_message(response="utter_default")
                return []
            return answer_with(hit, dispatcher, question)
        return respond(services, dispatcher, tracker)


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
