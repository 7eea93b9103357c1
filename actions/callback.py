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
from kb.desk.callback import (
    call_time,
    gave_number,
    next_step,
    preferred_time,
    problem_words,
    tries_a_number,
    wants_callback,
    wants_other_number,
    withdraws,
    withdraws_then,
)
from kb.desk.rules import asks_about
from kb.desk.tickets import Ticket
from kb.phrasing import asks

# Answers the latest message from the knowledge base: the events if it answered, None (nothing said) if not.
Answerer = Callable[[], "list[dict[str, Any]] | None"]
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


def start_callback(
    services: Services, dispatcher: CollectingDispatcher, ticket: Ticket, text: str = ""
) -> list[dict[str, Any]]:
    """Open the exchange on a new callback ticket: out of hours say when agents are back (in hours, that one
    will call), then ask for what is missing (the problem, the number), or confirm a number already given.
    text: the message that asked, whose preferred time ('周六上午打') is kept."""
    policy = services.desk.policy
    if call_time(text):
        services.desk.set_preferred_time(ticket.id, call_time(text))
    state = {"ticket": ticket.id, "state": "callback"}
    if policy.in_service_hours():
        dispatcher.utter_message(response="utter_callback_start", json_message=state)
    else:
        dispatcher.utter_message(response="utter_handoff_callback", hours=policy.service_hours, json_message=state)
    step = next_step(bool(ticket.question), bool(ticket.contact))
    return [*_ask(dispatcher, ticket, step), SlotSet("handoff_reason", None)]


def callback_turn(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, answer: Answerer
) -> list[dict[str, Any]] | None:
    """The customer's message while a callback is open; None if there is none, or if the exchange is done and
    the message does not concern it (the caller answers as usual). A number the web app kept (the message's
    metadata holds its hint; the text only '[手机号]') is confirmed; a number it could not read is asked for
    again; 不用了 withdraws the callback; a knowledge question is answered and the exchange resumes; anything
    else is the problem in the customer's words."""
    ticket = callback_ticket(services, tracker)
    if ticket is None:
        return None
    text = tracker.latest_message.get("text") or ""
    step = tracker.get_slot("callback_step")
    if step is None and (not ticket.contact or not ticket.question) and not gave_number(text):
        step = next_step(bool(ticket.question), bool(ticket.contact))  # taken down while the bot was away
        if not problem_words(text) and not wants_other_number(text):
            return None
    if gave_number(text):
        if not (tracker.latest_message.get("metadata") or {}).get("contact"):  # not a number it could call
            return _ask(dispatcher, ticket, "contact", again=True)
        _take_down(services, ticket, text)
        return _ask(dispatcher, services.desk.ticket(ticket.id), "confirm")
    if tries_a_number(text):  # '12345', a digit short: no number anyone could call
        return _ask(dispatcher, ticket, "contact", again=True)
    if step is None:  # the exchange is done
        return _after(services, dispatcher, tracker, ticket, text)
    intent = latest_intent(tracker)
    rest = withdraws_then(text)
    if rest and asks_about(rest):  # '不用回电，我只是想问银卡打几折': withdrawn, the question a turn as usual
        services.desk.tickets.close(ticket.id, outcome="withdrawn")
        dispatcher.utter_message(response="utter_callback_withdrawn_then")
        return None
    if withdraws(text) or rest or (intent == "deny" and step != "confirm"):  # '不用了，谢谢', '不用，我自己去办'
        services.desk.tickets.close(ticket.id, outcome="withdrawn")
        dispatcher.utter_message(response="utter_callback_withdrawn")
        return [SlotSet("callback_step", None)]
    if step == "confirm":
        if wants_other_number(text) or intent == "deny":  # '不对', '号码错了'
            return _ask_new_number(dispatcher)
        if intent == "affirm":
            return _confirmed(services, dispatcher, ticket)
    return _words(services, dispatcher, ticket, text, step, answer)


def _after(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, ticket: Ticket, text: str
) -> list[dict[str, Any]] | None:
    """A message once the callback is taken down: another number is asked for, a time ('最好明天下午三点以后')
    becomes the preferred time, and asking for a call again is told it is registered, not started afresh;
    anything else is answered as usual (None)."""
    if wants_other_number(text):
        return _ask_new_number(dispatcher)
    when = call_time(text)
    if when:
        services.desk.set_preferred_time(ticket.id, when)
    if when or wants_callback(text, latest_intent(tracker)):
        return _confirmed(services, dispatcher, services.desk.ticket(ticket.id))
    return None


def _words(
    services: Services, dispatcher: CollectingDispatcher, ticket: Ticket, text: str, step: str, answer: Answerer
) -> list[dict[str, Any]]:
    """A message with no number during the exchange: a time alone is the preferred time (said back, and at the
    number's confirmation it lets the number stand); a question the
    knowledge base answers is answered (and, while the problem is awaited, is the problem); other words are
    the problem. Then on to what is still missing."""
    desk = services.desk
    if not problem_words(text):
        when = preferred_time(text)
        if not when:
            return _ask(dispatcher, ticket, step, again=True)
        desk.set_preferred_time(ticket.id, when)
        ticket = desk.ticket(ticket.id)
        if step == "confirm":  # the number read back was not disputed, the customer went on to when: it stands
            return _confirmed(services, dispatcher, ticket)
        dispatcher.utter_message(response="utter_callback_time_noted", when=ticket.preferred_time)
        return _ask(dispatcher, ticket, step)
    answered = answer()
    if step in ("problem", "problem_last") or answered is None:
        _take_down(services, ticket, text)  # also a question the bot answers: it is what a person should call about
    ticket = desk.ticket(ticket.id)
    if answered is None and asks(text):  # a question it cannot answer: said so, and kept for the agent
        dispatcher.utter_message(response="utter_callback_question_noted")
    if step in ("problem_last", "confirm") and answered is None:  # words after the number: it stands
        return _confirmed(services, dispatcher, ticket)
    if step == "problem_last":
        return [*(answered or []), *_confirmed(services, dispatcher, ticket)]
    if answered is not None:  # a knowledge question on the way: answered, then back to the exchange
        step = step if step in RESUME else next_step(True, bool(ticket.contact))
        dispatcher.utter_message(response=RESUME[step], contact=ticket.contact)
        return [*answered, SlotSet("callback_step", step)]
    return _ask(dispatcher, ticket, next_step(True, bool(ticket.contact)))


def add_after_exchange(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Once the callback is taken down, words the knowledge base could not answer are for the agent who will
    call: added to the problem (True), instead of logging a gap and offering a person again."""
    ticket = callback_ticket(services, tracker)
    if ticket is None:
        return False
    text = tracker.latest_message.get("text") or ""
    services.desk.tickets.add_to_problem(ticket.id, problem_words(text) or text)
    # a question nobody here could answer is said so (the agent will); other words are acknowledged
    dispatcher.utter_message(response="utter_callback_question_noted" if asks(text) else "utter_callback_added")
    return True


def _take_down(services: Services, ticket: Ticket, text: str) -> None:
    """The problem's words and the preferred time a message gives, onto the ticket."""
    words, when = problem_words(text), call_time(text)
    if words:
        services.desk.tickets.add_to_problem(ticket.id, words)
    if when:
        services.desk.set_preferred_time(ticket.id, when)


def _ask_new_number(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    dispatcher.utter_message(response="utter_callback_ask_new_number")
    return [SlotSet("callback_step", "contact")]


def _ask(dispatcher: CollectingDispatcher, ticket: Ticket, step: str, again: bool = False) -> list[dict[str, Any]]:
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
