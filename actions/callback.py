"""Taking down a callback: the customer's problem and a number to call, in a short exchange the slot
`callback_step` keeps ('problem', 'contact', 'confirm', 'problem_last' after a confirmed number; None when
done), like a Rasa form whose slots live on the ticket. The number never reaches the bot: the web app keeps it
on the ticket and the bot reads back only its hint ('138****5678', kb.desk.service.Desk.contact_hint). A
knowledge question asked meanwhile is answered and the exchange goes on; a later message the knowledge base
cannot answer is added to the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import Services, latest_intent
from kb.desk.callback import gave_number, next_step, preferred_time, problem_words, wants_other_number, withdraws
from kb.desk.tickets import Ticket

# Tries to answer a message from the knowledge base: the events if it answered, None if it had no answer.
Answerer = Callable[[str], "list[dict[str, Any]] | None"]
PROMPTS = {
    "problem": "utter_callback_ask_problem",
    "problem_last": "utter_callback_ask_problem_last",
    "contact": "utter_callback_ask_contact",
}
RESUME = {"contact": "utter_callback_resume_contact", "confirm": "utter_callback_resume_confirm"}


def callback_ticket(services: Services, tracker: Tracker) -> Ticket | None:
    """The conversation's open callback ticket, if it has one."""
    ticket = services.desk.tickets.active(tracker.sender_id)
    return ticket if ticket is not None and ticket.status == "callback" else None


def start_callback(services: Services, dispatcher: CollectingDispatcher, ticket: Ticket) -> list[dict[str, Any]]:
    """Open the exchange on a new callback ticket: say when agents are back and ask for what is missing (the
    problem, the number), or confirm a number already given."""
    hours = services.desk.policy.service_hours
    state = {"ticket": ticket.id, "state": "callback"}
    step = next_step(bool(ticket.question), bool(ticket.contact))
    dispatcher.utter_message(response="utter_handoff_callback", hours=hours, json_message=state)
    return [*_ask(services, dispatcher, ticket, step), SlotSet("handoff_reason", None)]


def callback_turn(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, answer: Answerer
) -> list[dict[str, Any]] | None:
    """The customer's message while a callback is open: None if there is none (the caller answers as usual).
    During the exchange: a number given is confirmed, a change asked for, the problem taken down, a knowledge
    question answered; after it: a new number is confirmed, words the knowledge base cannot answer join the
    problem, anything else is answered as usual (None)."""
    ticket = callback_ticket(services, tracker)
    step = tracker.get_slot("callback_step")
    if ticket is None:
        return [SlotSet("callback_step", None)] if step else None
    text = tracker.latest_message.get("text") or ""
    intent = latest_intent(tracker)
    desk = services.desk
    if gave_number(text):  # the web app has put it on the ticket already
        _take_down(services, ticket, text)
        return _ask(services, dispatcher, desk.ticket(ticket.id), "confirm")
    if step is None:  # the exchange is done: only a change of number or words for the problem concern it
        if wants_other_number(text):
            dispatcher.utter_message(response="utter_callback_ask_new_number")
            return [SlotSet("callback_step", "contact")]
        return None
    if withdraws(text) and step != "confirm":
        desk.tickets.close(ticket.id, outcome="withdrawn")
        dispatcher.utter_message(response="utter_callback_withdrawn")
        return [SlotSet("callback_step", None)]
    if step == "confirm":
        if wants_other_number(text) or intent == "deny":
            dispatcher.utter_message(response="utter_callback_ask_new_number")
            return [SlotSet("callback_step", "contact")]
        if intent == "affirm" or not problem_words(text):
            return (
                _confirmed(services, dispatcher, ticket)
                if intent == "affirm"
                else _ask(services, dispatcher, ticket, "confirm")
            )
    words = problem_words(text)
    if not words:
        when = preferred_time(text)
        if when:
            desk.tickets.set_preferred_time(ticket.id, when)
        return _ask(services, dispatcher, desk.ticket(ticket.id), step, again=True)
    answered = answer(text)
    if step in ("problem", "problem_last") or answered is None:
        _take_down(services, ticket, text)  # also a question the bot answers: it is what a person should call about
    ticket = desk.ticket(ticket.id)
    if answered is not None:  # a knowledge question on the way: answered, then back to the exchange
        step = step if step in ("contact", "confirm") else next_step(True, bool(ticket.contact))
        dispatcher.utter_message(response=RESUME[step], contact=ticket.contact)
        return [*answered, SlotSet("callback_step", step)]
    if step == "problem_last":
        return _confirmed(services, dispatcher, ticket)
    return _ask(services, dispatcher, ticket, next_step(True, bool(ticket.contact)))


def add_after_exchange(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Once the callback is taken down, words the knowledge base could not answer are for the agent who will
    call: added to the problem (True), instead of logging a gap and offering a person again."""
    ticket = callback_ticket(services, tracker)
    if ticket is None:
        return False
    text = tracker.latest_message.get("text") or ""
    services.desk.tickets.add_to_problem(ticket.id, problem_words(text) or text)
    dispatcher.utter_message(response="utter_callback_added")
    return True


def _take_down(services: Services, ticket: Ticket, text: str) -> None:
    """The problem's words and the preferred time a message gives, onto the ticket."""
    words, when = problem_words(text), preferred_time(text)
    if words:
        services.desk.tickets.add_to_problem(ticket.id, words)
    if when:
        services.desk.tickets.set_preferred_time(ticket.id, when)


def _ask(
    services: Services, dispatcher: CollectingDispatcher, ticket: Ticket, step: str, again: bool = False
) -> list[dict[str, Any]]:
    """Ask for the step's answer (again: the customer gave nothing for it)."""
    if step == "confirm":
        dispatcher.utter_message(response="utter_callback_confirm", contact=ticket.contact)
    else:
        again_contact = again and step == "contact"
        dispatcher.utter_message(response="utter_callback_ask_contact_again" if again_contact else PROMPTS[step])
    return [SlotSet("callback_step", step)]


def _confirmed(services: Services, dispatcher: CollectingDispatcher, ticket: Ticket) -> list[dict[str, Any]]:
    """The number is right: if the problem is still missing ask for it, else say what happens next."""
    if not ticket.question:
        dispatcher.utter_message(response="utter_callback_ask_problem_last")
        return [SlotSet("callback_step", "problem_last")]
    when = ticket.preferred_time or f"服务时间（{services.desk.policy.service_hours}）内尽快"
    dispatcher.utter_message(response="utter_callback_registered", contact=ticket.contact, when=when)
    return [SlotSet("callback_step", None)]
