"""The Desk: the service desk's records over one database, and the workflows that span them, so the bot
(actions/) and the web app (web/) do each thing the same way: asking for a human (queued in service
hours, a callback outside them), the quoted wait, the customer's problem and contact number on the ticket,
a customer leaving the queue, an agent claiming, answering and closing a chat, the customer's rating of it,
and calling a callback back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from kb.clock import stamp
from kb.database import Database
from kb.desk import DeskError, DeskNotFound
from kb.desk.callback import earliest_call
from kb.desk.candidates import candidates
from kb.desk.contacts import Contact, ContactVault
from kb.desk.conversations import Conversations
from kb.desk.gaps import Gaps
from kb.desk.ratings import Ratings
from kb.desk.rules import DeskPolicy
from kb.desk.supervision import Supervision
from kb.desk.tickets import CLOSED_STATUSES, Ticket, Tickets
from kb.model import HitRecord


class TicketNotFound(DeskNotFound):
    """There is no such ticket."""


class TicketStateError(DeskError):
    """The ticket is not in a state that allows this (claimed already, closed, someone else's)."""


class NotYourTicket(DeskError):
    """The ticket is another agent's (or nobody's yet): only its agent may act on it; supervisors and admins
    may close it."""


class ContactNotAllowed(DeskError):
    """This person may not see this ticket's contact number (not its agent, a supervisor or an admin)."""


class TransferRefused(TicketStateError):
    """A chat cannot go to that agent (themselves, or not available)."""


OVERRIDE_ROLES = ("supervisor", "admin")  # may see a ticket's number and close another agent's chat
CONTACT_ROLES = OVERRIDE_ROLES  # besides the ticket's own agent


class Desk:
    """Tickets, gaps and conversations in one database, under the configured rules (DeskPolicy). vault seals
    and opens contact numbers (kb.desk.contacts); only the web app, which receives them, needs one."""

    def __init__(self, db: Database, policy: DeskPolicy, vault: ContactVault | None = None):
        self.db, self.policy, self.vault = db, policy, vault
        self.tickets = Tickets(db)
        self.gaps = Gaps(db)
        self.conversations = Conversations(db)
        self.ratings = Ratings(db)

    def ticket(self, ticket_id: int) -> Ticket:
        """One ticket; TicketNotFound if there is none."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise TicketNotFound("no such ticket")
        return ticket

    def request_human(
        self,
        conversation_id: str,
        reason: str,
        question: str,
        passages: Sequence[HitRecord] | None = None,
        when: dt.datetime | None = None,
        callback: bool = False,
    ) -> Ticket:
        """Hand a conversation to a human: queued while agents are on duty, a callback ticket outside
        service hours (the one rule, kb.desk.rules) or when the customer asks to be called (callback), due
        when agents are next on duty. The conversation's open ticket if it has one (the question then joins
        its problem). A contact number the customer gave before goes onto the ticket."""
        in_hours = self.policy.in_service_hours(when) and not callback
        opening = None if in_hours else self.policy.next_opening(when)
        with self.db.transaction():  # one open ticket per conversation the web app started, asked at once
            self.conversations.lock(conversation_id)  # on two instances: the second joins the first's ticket
            existing = self.tickets.active(conversation_id)
            if existing is not None:
                self.tickets.add_to_problem(existing.id, question)
                return self.ticket(existing.id)
            ticket = self.tickets.open(
                conversation_id,
                reason,
                question,
                passages,
                in_hours=in_hours,
                contact=self.conversations.take_contact(conversation_id),
                due_at=stamp(opening) if opening else None,
            )
        return ticket

    def callback_instead(self, conversation_id: str) -> Ticket:
        """A queued customer who would rather be called back (no agent is free): their ticket becomes a
        callback, due now (agents are on duty). TicketStateError if they are not queued; the caller resumes
        the bot, which takes the callback down."""
        ticket = self.tickets.active(conversation_id)
        if ticket is None or ticket.status != "queued":
            raise TicketStateError("this conversation is not waiting in the queue")
        with self.db.transaction():
            self.db["handoffs"].update(ticket.id, {"status": "callback", "due_at": stamp(dt.datetime.now(dt.UTC))})
            self.conversations.set_state(conversation_id, "bot")
        return self.ticket(ticket.id)

    def set_preferred_time(self, ticket_id: int, when: str, now: dt.datetime | None = None) -> None:
        """When the customer would like to be called, in their words ('明天下午三点以后'): kept on the ticket, and a
        callback is due when it begins (kb.desk.callback.earliest_call in the desk's time zone), or when agents
        are next on duty if that is later; a later word wins ('周六上午', then '今天下午三点'). Words it cannot
        read leave the due time as it was."""
        self.tickets.set_preferred_time(ticket_id, when)
        ticket = self.ticket(ticket_id)
        if ticket.status != "callback":
            return
        moment = now or dt.datetime.now(dt.UTC)
        begins = earliest_call(when, moment.astimezone(ZoneInfo(self.policy.timezone)))
        if begins is not None:
            on_duty = self.policy.next_opening(moment) or moment
            self.db["handoffs"].update(ticket_id, {"due_at": stamp(max(begins, on_duty))})

    def queue_instead(self, conversation_id: str) -> Ticket:
        """A customer waiting for a callback asks for a person while agents are on duty: their callback becomes
        a queued chat (problem and number kept). TicketStateError if they have no open callback."""
        ticket = self.tickets.active(conversation_id)
        if ticket is None or ticket.status != "callback":
            raise TicketStateError("this conversation has no callback waiting")
        with self.db.transaction():
            self.db["handoffs"].update(ticket.id, {"status": "queued", "due_at": None, "agent": None})
        return self.ticket(ticket.id)

    def record_contact(self, conversation_id: str, contact: Contact) -> str:
        """Keep a contact number the customer typed, sealed: on their open ticket, else on the conversation
        until a ticket opens. Returns its hint ('138****5678'). DeskError if this desk has no vault."""
        if self.vault is None:
            raise DeskError("contact numbers cannot be kept: no contact key")
        sealed = self.vault.seal(contact.number)
        ticket = self.tickets.active(conversation_id)
        if ticket is not None:
            self.tickets.set_contact(ticket.id, sealed, contact.hint)
        else:
            self.conversations.hold_contact(conversation_id, sealed, contact.hint)
        return contact.hint

    def contact_hint(self, conversation_id: str) -> str:
        """The contact number the customer gave, partly masked: their open ticket's, else the one held on the
        conversation; '' if none."""
        ticket = self.tickets.active(conversation_id)
        if ticket is not None and ticket.contact:
            return ticket.contact
        return self.conversations.held_contact(conversation_id)[1]

    def reveal_contact(self, ticket_id: int, user: str, role: str) -> str:
        """The ticket's contact number in full, for its own agent, a supervisor or an admin, and the showing
        logged (Tickets.reveals). ContactNotAllowed for anyone else; TicketStateError if there is none."""
        ticket = self.ticket(ticket_id)
        if role not in CONTACT_ROLES and ticket.agent != user:
            raise ContactNotAllowed("only the ticket's agent, a supervisor or an admin may see this number")
        sealed = self.tickets.sealed_contact(ticket_id)
        if not sealed or self.vault is None:
            raise TicketStateError("this ticket has no contact number")
        number = self.vault.open(sealed)
        self.tickets.log_reveal(ticket_id, user, role)
        return number

    def take_callback(self, ticket_id: int, agent: str) -> Ticket:
        """An agent takes a callback to call; NotYourTicket if another agent has it, TicketStateError if it
        is settled."""
        ticket = self.ticket(ticket_id)
        if ticket.status == "callback" and ticket.agent not in (None, agent):
            raise NotYourTicket("another agent is calling this callback")
        if not self.tickets.take_callback(ticket_id, agent):
            raise TicketStateError("this callback is settled or another agent is calling")
        return self.ticket(ticket_id)

    def record_attempt(
        self, ticket_id: int, agent: str, outcome: str, note: str = "", next_try: dt.datetime | None = None
    ) -> Ticket:
        """The agent holding a callback says how the call went (kb.desk.tickets.OUTCOMES). A call nobody
        answered is due again at next_try, moved into service hours (default: in two hours). NotYourTicket if
        another agent took it, TicketStateError unless it is a callback this agent took."""
        ticket = self.ticket(ticket_id)
        if ticket.status == "callback" and ticket.agent not in (None, agent):
            raise NotYourTicket("another agent is calling this callback")
        if ticket.status != "callback" or ticket.agent != agent:
            raise TicketStateError("take this callback before recording a call")
        due = None
        if outcome == "no_answer":
            wanted = next_try or dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
            due = stamp(self.policy.next_opening(wanted) or wanted)
        self.tickets.record_attempt(ticket_id, agent, outcome, note, due)
        return self.ticket(ticket_id)

    def agents_available(self) -> bool:
        """Whether any agent's latest status is available (kb.desk.supervision): someone can take a chat now."""
        return bool(Supervision(self.db, self.policy.timezone, self.policy.service_hours).available_agents())

    def quoted_wait(self, position: int, at: dt.datetime | None = None) -> float:
        """Seconds the customer at `position` in the queue can expect to wait (inf: no agent available),
        from the agents available and the handle time observed over the last four weeks."""
        return Supervision(self.db, self.policy.timezone, self.policy.service_hours).quoted_wait(
            position, at or dt.datetime.now(dt.UTC), default_aht=self.policy.default_handle_seconds
        )

    def add_to_problem(self, conversation_id: str, text: str) -> bool:
        """Add the customer's words to their open ticket's problem (appended, masked); False if they have
        none."""
        ticket = self.tickets.active(conversation_id)
        if ticket is None:
            return False
        self.tickets.add_to_problem(ticket.id, text)
        return True

    def leave_queue(self, conversation_id: str, announcement: str, resume: Callable[[str], bool]) -> dict:
        """The customer stops waiting for an agent: their queued ticket becomes 'abandoned' (closed, no agent),
        the conversation goes back to the bot with `announcement` as a system message, and
        resume(conversation_id) un-pauses the bot (called after the database is written; what it returns is
        not needed here: a bot that cannot be reached answers the next message with the web app's fallback).
        Returns the announcement's message. TicketStateError if the conversation is not queued (no ticket,
        a callback, or an agent took it meanwhile)."""
        ticket = self.tickets.active(conversation_id)
        with self.db.transaction():  # the ticket and the conversation change together or not at all
            if ticket is None or not self.tickets.abandon(ticket.id):
                raise TicketStateError("this conversation is not waiting in the queue")
            self.conversations.get_or_create(conversation_id)
            self.conversations.set_state(conversation_id, "bot")
            message = self.conversations.add(conversation_id, "system", announcement)
        resume(conversation_id)
        return message

    def claim_chat(self, ticket_id: int, agent: str, announcement: str) -> Ticket:
        """An agent takes a waiting chat; the customer reads `announcement`. TicketStateError if it is not
        waiting any more. The ticket and the conversation change together or not at all."""
        ticket = self.ticket(ticket_id)
        with self.db.transaction():
            if not self.tickets.claim(ticket_id, agent):
                raise TicketStateError("this ticket is not waiting any more")
            self.conversations.get_or_create(ticket.conversation_id)
            self.conversations.set_state(ticket.conversation_id, "agent")
            self.conversations.add(ticket.conversation_id, "system", announcement)
        return self.ticket(ticket_id)

    def held_by(self, ticket_id: int, agent: str) -> Ticket:
        """The ticket, if this agent holds its chat; TicketNotFound, NotYourTicket (another agent holds it)
        or TicketStateError (nobody holds it) otherwise."""
        ticket = self.ticket(ticket_id)
        if ticket.status == "claimed" and ticket.agent != agent:
            raise NotYourTicket("another agent holds this chat")
        if ticket.status != "claimed":
            raise TicketStateError("claim this ticket before replying")
        return ticket

    def add_note(self, ticket_id: int, author: str, role: str, text: str) -> dict:
        """An internal note on a ticket, open or closed, by its agent, a supervisor or an admin; NotYourTicket
        for anyone else (an agent notes a waiting ticket by claiming it first)."""
        ticket = self.ticket(ticket_id)
        if role not in OVERRIDE_ROLES and ticket.agent != author:
            raise NotYourTicket("only the ticket's agent, a supervisor or an admin may add a note")
        return self.tickets.add_note(ticket_id, author, text)

    def transfer(self, ticket_id: int, agent: str, to_agent: str, announcement: str) -> Ticket:
        """The agent holding a chat hands it to another agent whose status is 'available' (kb.desk.supervision):
        the ticket's agent changes, the customer reads `announcement`, a note records from whom to whom.
        TransferRefused if the target is this agent or not available, TicketStateError if the agent does not
        hold the chat. Handle time: the ticket's (claim to close, the staffing's average) covers the whole
        human part across transfers; each agent's handling time (utilisation) counts from the moment they
        held it until they handed it on or closed it."""
        self.held_by(ticket_id, agent)
        if to_agent == agent:
            raise TransferRefused("choose another agent to transfer to")
        if Supervision(self.db, self.policy.timezone).status(to_agent) != "available":
            raise TransferRefused(f"{to_agent} is not available")
        ticket = self.ticket(ticket_id)
        with self.db.transaction():
            if not self.tickets.transfer(ticket_id, agent, to_agent):
                raise TicketStateError("claim this ticket before transferring it")
            self.tickets.add_note(ticket_id, agent, f"转接：{agent} → {to_agent}")
            self.conversations.get_or_create(ticket.conversation_id)
            self.conversations.add(ticket.conversation_id, "system", announcement)
        return self.ticket(ticket_id)

    def reply(self, ticket_id: int, agent: str, text: str) -> dict:
        """An agent's message to the customer; TicketStateError unless the agent holds the chat."""
        ticket = self.held_by(ticket_id, agent)
        return self.conversations.add(ticket.conversation_id, "agent", text.strip())

    def close_chat(
        self, ticket_id: int, agent: str, announcement: str, resume: Callable[[str], bool], role: str = "agent"
    ) -> bool:
        """End the human part: the ticket closes, each answer of the agent's that carries knowledge is offered
        to curators as a candidate Q&A entry with the question it answered (kb.desk.candidates: an open gap,
        reason 'agent_answer', published only if a curator saves it), the customer reads `announcement`, and
        resume(conversation_id) gives the conversation back to the bot. Returns what resume returned (whether
        the bot took it back). Only the agent holding the chat closes it (NotYourTicket for another agent;
        TicketStateError for a ticket nobody claimed: claim it first); a supervisor or an admin (role) may
        close any open chat, and the ticket keeps its agent, so handle times stay theirs."""
        ticket = self.ticket(ticket_id)
        if ticket.status in CLOSED_STATUSES:
            raise TicketStateError("this ticket is closed already")
        if ticket.status == "callback":
            raise TicketStateError("a callback is closed by recording how the call went")
        if role not in OVERRIDE_ROLES:
            if ticket.status != "claimed":
                raise TicketStateError("claim this ticket before closing it")
            if ticket.agent != agent:
                raise NotYourTicket("another agent holds this chat")
        holder = ticket.agent or ""
        conversation_id = ticket.conversation_id
        with self.db.transaction():  # all of it or none; the bot (another server) is called after
            if not self.tickets.close(ticket_id, ticket.agent, seen=ticket):  # closed or moved since it was read
                now_closed = self.ticket(ticket_id).status in CLOSED_STATUSES
                raise TicketStateError(
                    "this ticket is closed already" if now_closed else "this ticket changed: look again"
                )
            self.conversations.get_or_create(conversation_id)
            # this chat's messages only: an earlier human chat in the conversation offered its answers already
            this_chat = self.conversations.messages(conversation_id, since=ticket.created_at)
            for found in candidates(this_chat, ticket.question):
                answer = HitRecord(kind="agent", title=f"人工客服 {holder} 的回答", snippet=found.answer)
                self.gaps.log(conversation_id, found.question, "agent_answer", [answer])
            self.conversations.set_state(conversation_id, "closed")
            self.conversations.add(conversation_id, "system", announcement)
            self.conversations.forget_as_sent(conversation_id)
        return resume(conversation_id)

    def rate_chat(self, conversation_id: str, ticket_id: int, score: int, comment: str = "") -> dict:
        """The customer's rating (1-5, optional comment, masked) of a chat an agent held and closed, once per
        ticket; the stored rating. TicketNotFound if the ticket is not this conversation's, TicketStateError
        if its chat is not closed, was never held by an agent or was rated already, RatingError (kb.desk.ratings)
        for a bad score or comment."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.conversation_id != conversation_id:
            raise TicketNotFound("no such chat in this conversation")
        if ticket.status != "closed" or not ticket.claimed_at:
            raise TicketStateError("only a chat an agent has closed can be rated")
        rating = self.ratings.add(ticket, score, comment)
        if rating is None:
            raise TicketStateError("this chat has been rated already")
        return rating
