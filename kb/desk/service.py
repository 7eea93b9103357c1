"""The Desk: the service desk's records over one database, and the workflows that span them, so the bot
(actions/) and the web app (web/) do each thing the same way: asking for a human (queued in service
hours, a callback outside them), the quoted wait, leaving a message for a callback, and an agent
claiming, answering and closing a chat, and the customer's rating of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from kb.database import Database
from kb.desk import DeskError
from kb.desk.conversations import Conversations
from kb.desk.gaps import Gaps
from kb.desk.ratings import Ratings
from kb.desk.rules import DeskPolicy
from kb.desk.supervision import Supervision
from kb.desk.tickets import Ticket, Tickets
from kb.model import HitRecord


class TicketNotFound(DeskError):
    """There is no such ticket."""


class TicketStateError(DeskError):
    """The ticket is not in a state that allows this (claimed already, closed, someone else's)."""


class Desk:
    """Tickets, gaps and conversations in one database, under the configured rules (DeskPolicy)."""

    def __init__(self, db: Database, policy: DeskPolicy):
        self.db, self.policy = db, policy
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
    ) -> Ticket:
        """Hand a conversation to a human: queued while agents are on duty, a callback ticket outside
        service hours (the one rule, kb.desk.rules). The conversation's open ticket if it has one."""
        return self.tickets.open(
            conversation_id, reason, question, passages, in_hours=self.policy.in_service_hours(when)
        )

    def quoted_wait(self, position: int, at: dt.datetime | None = None) -> float:
        """Seconds the customer at `position` in the queue can expect to wait (inf: no agent available),
        from the agents available and the handle time observed over the last four weeks."""
        return Supervision(self.db, self.policy.timezone).quoted_wait(
            position, at or dt.datetime.now(dt.UTC), default_aht=self.policy.default_handle_seconds
        )

    def leave_callback_message(self, conversation_id: str, text: str) -> bool:
        """Keep the customer's message on their open ticket (masked); False if they have none."""
        ticket = self.tickets.active(conversation_id)
        if ticket is None:
            return False
        self.tickets.set_contact(ticket.id, text)
        return True

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
        """The ticket, if this agent holds its chat; TicketNotFound or TicketStateError otherwise."""
        ticket = self.ticket(ticket_id)
        if ticket.status != "claimed" or ticket.agent != agent:
            raise TicketStateError("claim this ticket before replying")
        return ticket

    def reply(self, ticket_id: int, agent: str, text: str) -> dict:
        """An agent's message to the customer; TicketStateError unless the agent holds the chat."""
        ticket = self.held_by(ticket_id, agent)
        return self.conversations.add(ticket.conversation_id, "agent", text.strip())

    def close_chat(self, ticket_id: int, agent: str, announcement: str, resume: Callable[[str], bool]) -> bool:
        """End the human part: the ticket closes, the agent's answer is offered to curators as a candidate
        Q&A entry, the customer reads `announcement`, and resume(conversation_id) gives the conversation
        back to the bot. Returns what resume returned (whether the bot took it back)."""
        ticket = self.ticket(ticket_id)
        if ticket.status == "closed":
            raise TicketStateError("this ticket is closed already")
        conversation_id = ticket.conversation_id
        with self.db.transaction():  # all of it or none; the bot (another server) is called after
            self.tickets.close(ticket_id, agent)
            self.conversations.get_or_create(conversation_id)
            replies = [m["text"] for m in self.conversations.messages(conversation_id) if m["from"] == "agent"]
            if replies and ticket.question:
                answer = HitRecord(kind="agent", title=f"人工客服 {agent} 的回答", snippet="\n".join(replies)[:2000])
                self.gaps.log(conversation_id, ticket.question, "agent_answer", [answer])
            self.conversations.set_state(conversation_id, "closed")
            self.conversations.add(conversation_id, "system", announcement)
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
