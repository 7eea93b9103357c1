"""The agent console: the queue, claiming a chat, the transcript, replying live, notes, canned replies,
transferring, closing, the closed tickets' history, and policy lookups on the production retriever."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from indexer.hits import QueryError
from kb.clock import local, parse
from kb.desk.canned import CannedReplies
from kb.desk.history import HistoryQuery, closed_tickets
from kb.desk.rules import latest_question
from kb.desk.service import ContactNotAllowed
from kb.desk.supervision import STATUSES
from kb.desk.tickets import OUTCOMES
from web import wording
from web.access import audit, role_required, signed_in_user
from web.db import database, desk, rasa, retriever, settings, supervision

bp = Blueprint("agent", __name__)
STAMPS = ("created_at", "claimed_at", "closed_at", "due_at", "next_try_at", "at")


def localized(row: dict[str, Any]) -> dict[str, Any]:
    """A record with each stored stamp also as people read it in the configured time zone (setting timezone):
    'due_at' gains 'due_local', 'at' gains 'at_local' ('2026-11-28 08:00'; '' for none)."""
    zone = settings().timezone
    shown = {f"{k.removesuffix('_at')}_local": local(row[k], zone) for k in STAMPS if k in row}
    return {**row, **shown}


MAX_REPLY = 2000


def _text_field(name: str = "text") -> str:
    """A required text field of the JSON body, 1-MAX_REPLY characters (else 400)."""
    body = request.get_json(silent=True)
    text = body.get(name) if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
        abort(400, f"'{name}' must be 1-{MAX_REPLY} characters")
    return text


@bp.get("/agent/")
@role_required("agent")
def console() -> str:
    """The console page."""
    user = signed_in_user()
    return render_template("agent.html", user=user, status=supervision().status(user["name"]))


@bp.post("/api/agent/status")
@role_required("agent")
def set_status() -> Response:
    """The agent marks themselves available or away (the supervisor's staffing counts the available)."""
    body = request.get_json(silent=True)
    status = body.get("status") if isinstance(body, dict) else None
    if status not in STATUSES:
        abort(400, "'status' must be 'available' or 'away'")
    supervision().set_status(signed_in_user()["name"], status)
    return jsonify(status=status)


@bp.get("/api/agent/queue")
@role_required("agent")
def queue() -> Response:
    """Live chats waiting or taken, oldest first, with waiting time, reason and the customer's problem (callbacks
    are listed apart: /api/agent/callbacks); `created_local` is when it was opened, in the configured time zone
    (setting timezone)."""
    tickets = desk().tickets
    rows = sorted(
        (t for status in ("queued", "claimed") for t in tickets.recent(status, limit=200)),
        key=lambda t: t.id,
    )
    now, zone = dt.datetime.now(dt.UTC), settings().timezone
    return jsonify(
        tickets=[
            {
                "id": t.id,
                "status": t.status,
                "reason": t.reason,
                "question": t.question,
                "conversation_id": t.conversation_id,
                "agent": t.agent,
                "contact": t.contact,
                "waiting_seconds": int((now - parse(t.created_at)).total_seconds()),
                "created_local": local(t.created_at, zone),
            }
            for t in rows
        ]
    )


@bp.get("/api/agent/callbacks")
@role_required("agent")
def callbacks() -> Response:
    """Open callbacks, the one due first first: the problem, the number partly masked, the preferred time,
    when it is due (`due_local`: in the configured time zone), who is calling, and how many calls were tried."""
    tickets = desk().tickets
    return jsonify(
        callbacks=[
            localized({**t.as_dict(), "attempts": len(tickets.attempts(t.id)), "passages": []})
            for t in tickets.callbacks_due()
        ]
    )


@bp.get("/api/agent/tickets/<int:ticket_id>")
@role_required("agent")
def ticket(ticket_id: int) -> Response:
    """A ticket with the whole transcript, its notes (each with `created_local`, its time in the configured
    time zone), its call attempts and the passages the bot found."""
    service, zone = desk(), settings().timezone
    t = service.ticket(ticket_id)
    return jsonify(
        ticket=localized(t.as_dict()),
        messages=service.conversations.messages(t.conversation_id),
        notes=[{**n, "created_local": local(n["created_at"], zone)} for n in service.tickets.notes(ticket_id)],
        attempts=[localized(a) for a in service.tickets.attempts(ticket_id)],
    )


@bp.post("/api/agent/tickets/<int:ticket_id>/contact")
@role_required("agent", "supervisor")
def reveal_contact(ticket_id: int) -> Response:
    """The ticket's contact number in full, for its agent, a supervisor or an admin (403 for anyone else);
    every showing is recorded with who and when (the number itself is never logged)."""
    user = signed_in_user()
    try:
        number = desk().reveal_contact(ticket_id, user["name"], user["role"])
    except ContactNotAllowed as exc:
        abort(403, str(exc))
    current_app.logger.info("contact number of ticket #%s shown to %s (%s)", ticket_id, user["name"], user["role"])
    audit("contact_revealed", "ticket", ticket_id)
    response = jsonify(number=number)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/agent/tickets/<int:ticket_id>/take")
@role_required("agent")
def take_callback(ticket_id: int) -> Response:
    """Take a callback to call (403 if another agent has it, 409 if it is settled)."""
    taken = desk().take_callback(ticket_id, signed_in_user()["name"])
    audit("callback_taken", "ticket", ticket_id)
    return jsonify(ticket=taken.as_dict())


@bp.post("/api/agent/tickets/<int:ticket_id>/attempts")
@role_required("agent")
def record_attempt(ticket_id: int) -> Response:
    """How a callback's call went: {"outcome": reached | no_answer | wrong_number, "note": "…", "next_try":
    "YYYY-MM-DDTHH:MM" local time (no_answer only; default in two hours, moved into service hours)}. Reached
    and wrong_number close it."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    outcome, note, next_try = body.get("outcome"), body.get("note") or "", body.get("next_try") or None
    if outcome not in OUTCOMES:
        abort(400, f"'outcome' must be one of {', '.join(OUTCOMES)}")
    if not isinstance(note, str) or len(note) > 500:
        abort(400, "'note' must be text of at most 500 characters")
    service = desk()
    when = None
    if next_try is not None:
        try:
            when = dt.datetime.fromisoformat(str(next_try))
        except ValueError:
            abort(400, "'next_try' must be a date and time such as 2026-12-01T09:30")
        if not 2000 <= when.year <= 2999:
            abort(400, "'next_try' must be a date and time between 2000 and 2999")
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(service.policy.timezone))
    ticket = service.record_attempt(ticket_id, signed_in_user()["name"], outcome, note, when)
    audit("callback_attempt", "ticket", ticket_id, outcome)
    return jsonify(
        ticket=localized(ticket.as_dict()), attempts=[localized(a) for a in service.tickets.attempts(ticket_id)]
    )


@bp.post("/api/agent/tickets/<int:ticket_id>/notes")
@role_required("agent", "supervisor")
def add_note(ticket_id: int) -> Response:
    """An internal note on the ticket (the customer never sees it); open or closed tickets alike, by the
    ticket's agent, a supervisor or an admin (403 for anyone else)."""
    service, user = desk(), signed_in_user()
    service.ticket(ticket_id)  # 404 before looking at the body
    text = _text_field()
    return jsonify(note=service.add_note(ticket_id, user["name"], user["role"], text))


@bp.post("/api/agent/tickets/<int:ticket_id>/claim")
@role_required("agent")
def claim(ticket_id: int) -> Response:
    """Take a waiting chat: the customer is told an agent joined."""
    agent = signed_in_user()["name"]
    desk().claim_chat(ticket_id, agent, wording.agent_joined(agent))
    audit("ticket_claimed", "ticket", ticket_id)
    return jsonify(ok=True)


@bp.post("/api/agent/tickets/<int:ticket_id>/reply")
@role_required("agent")
def reply(ticket_id: int) -> Response:
    """Send the customer a message."""
    service, agent = desk(), signed_in_user()["name"]
    service.held_by(ticket_id, agent)  # no such ticket (404), another's (403), unclaimed (409) before the body (400)
    return jsonify(message=service.reply(ticket_id, agent, _text_field()))


@bp.post("/api/agent/tickets/<int:ticket_id>/close")
@role_required("agent", "supervisor")
def close(ticket_id: int) -> Response:
    """End the human part: the ticket closes and the bot takes the conversation back. Only the agent holding
    the chat (403 for another agent, 409 for a chat nobody claimed), or a supervisor or an admin."""
    user = signed_in_user()
    resumed = desk().close_chat(ticket_id, user["name"], wording.CHAT_ENDED, rasa().handed_back, role=user["role"])
    audit("ticket_closed", "ticket", ticket_id)
    return jsonify(ok=True, bot_resumed=resumed)


def _lookup(question: str, k: int = 5) -> dict[str, Any]:
    try:
        result = retriever().search(question, k=k)
    except QueryError as exc:
        abort(400, str(exc))
    return {
        "decision": {"answer": result.decision.answer, "confidence": result.decision.confidence},
        "hits": [h.to_dict() for h in result.hits],
    }


@bp.get("/api/agent/lookup")
@role_required("agent")
def lookup() -> Response:
    """Policy lookup with the production retriever: passages with source, clause and matched words."""
    return jsonify(_lookup(request.args.get("q", "")))


@bp.get("/api/agent/tickets/<int:ticket_id>/suggest")
@role_required("agent")
def suggest(ticket_id: int) -> Response:
    """Passages for the customer's latest question in this chat; for a callback, its problem (the latest message
    there is the number and a time: '[手机号]，明天下午三点以后')."""
    service = desk()
    t = service.ticket(ticket_id)
    if t.status == "callback" and t.question:
        question = t.question
    else:
        question = latest_question(service.conversations.messages(t.conversation_id), t.question)
    return jsonify(question=question, **_lookup(question, k=3))


# History, canned replies and transfers ----------------------------------------------------------------


@bp.get("/api/agent/history")
@role_required("agent")
def history() -> Response:
    """Closed tickets, newest first, a page at a time: ?q= (question or transcript), agent, from and to
    (local dates, YYYY-MM-DD), reason, page (400 for a value that cannot be used). A ticket opens read-only
    through /api/agent/tickets/<id>."""
    found = closed_tickets(database(), HistoryQuery.parse(request.args), settings().timezone)
    return jsonify(**{**found, "tickets": [localized(t.as_dict()) for t in found["tickets"]]})


@bp.get("/api/agent/canned")
@role_required("agent")
def canned() -> Response:
    """Canned replies whose title, text or category holds ?q= (all for none), to insert into the reply box."""
    query = request.args.get("q", "")[:100]
    return jsonify(replies=[r.as_dict() for r in CannedReplies(database()).search(query)])


@bp.get("/api/agent/agents")
@role_required("agent")
def available_agents() -> Response:
    """The other agents whose status is available: whom a chat can be transferred to."""
    me = signed_in_user()["name"]
    return jsonify(agents=[a for a in supervision().available_agents() if a != me])


@bp.post("/api/agent/tickets/<int:ticket_id>/transfer")
@role_required("agent")
def transfer(ticket_id: int) -> Response:
    """Hand the chat this agent holds to another available agent ({"to": name}); 409 if the caller does not
    hold it or the target is not available."""
    service, agent = desk(), signed_in_user()["name"]
    service.held_by(ticket_id, agent)  # 404, 403 or 409 before the body (400)
    to_agent = _text_field("to").strip()
    moved = service.transfer(ticket_id, agent, to_agent, wording.transferred(to_agent))
    audit("ticket_transferred", "ticket", ticket_id, f"{agent} -> {to_agent}")
    return jsonify(ticket=moved.as_dict())
