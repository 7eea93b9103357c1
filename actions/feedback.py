"""👍/👎 on an answer: recorded against it; 👎 logs a gap and offers a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import KefuAction, Services, latest_intent
from kb.desk.rules import asks_about, helpful, is_feedback
from kb.model import HitRecord


class ActionFeedback(KefuAction):
    """Records whether the last answer helped."""

    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if not is_feedback(text):
            if asks_about(text):  # NLU heard a judgement in a question ('那用别人的老年卡呢'): a knowledge turn
                return [FollowupAction("action_kb_answer")]
            dispatcher.utter_message(response="utter_anything_else")  # '没有其他问题了': nothing to record
            return []
        return feedback_events(self.services, dispatcher, tracker, helpful(text, latest_intent(tracker)))


def feedback_events(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, was_helpful: bool
) -> list[dict[str, Any]]:
    """Record whether the last answer helped (the answer a 👍/👎 names, else the slot last_answer_ref); an
    unhelpful one logs a gap for curators and offers a person. Also for judging words NLU did not hear as
    feedback ('没什么用' as nlu_fallback: actions.kb_answer)."""
    ref = next(tracker.get_latest_entity_values("ref"), None) or tracker.get_slot("last_answer_ref") or ""
    question = tracker.get_slot("last_question") or ""
    services.desk.gaps.record_feedback(tracker.sender_id, was_helpful, question, ref)
    if was_helpful:
        dispatcher.utter_message(response="utter_feedback_thanks")
        return []
    services.desk.gaps.log(
        tracker.sender_id,
        question or "(未记录问题)",
        "negative_feedback",
        [HitRecord.from_ref(ref)] if ref else [],
    )
    dispatcher.utter_message(response="utter_feedback_sorry")
    return [SlotSet("offered_human", True), SlotSet("handoff_reason", "negative_feedback")]
