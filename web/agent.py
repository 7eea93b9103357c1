"""The agent console: the queue, claiming a chat, the transcript, replying live, notes, closing, and
policy lookups on the production retriever."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from indexer.hits import QueryError
from kb.clock import local, parse
from kb.desk.rules import latest_question
from kb.desk.supervision import STATUSES
from web import wording
from web.access import role_required, signed_in_user
from web.db import desk, rasa, retriever, settings, supervision
from web.rasa_client import BotUnavailable

bp = Blueprint("agent", __name__)
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
    """Waiting and claimed tickets, oldest first, with waiting time, reason and question; `created_local` is
    when it was opened, in the configured time zone (setting timezone)."""
    tickets = desk().tickets
    rows = sorted(
        (t for status in ("queued", "callback", "claimed") for t in tickets.recent(status, limit=200)),
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


@bp.get("/api/agent/tickets/<int:ticket_id>")
@role_required("agent")
def ticket(ticket_id: int) -> Response:
    """A ticket with the whole transcript, its notes (each with `created_local`, its time in the configured
    time zone) and the passages the bot found."""
    service, zone = desk(), settings().timezone
    t = service.ticket(ticket_id)
    return jsonify(
        ticket=t.as_dict(),
        messages=service.conversations.messages(t.conversation_id),
        notes=[{**n, "created_local": local(n["created_at"], zone)} for n in service.tickets.notes(ticket_id)],
    )


@bp.post("/api/agent/tickets/<int:ticket_id>/notes")
@role_required("agent")
def add_note(ticket_id: int) -> Response:
    """An internal note on the ticket (the customer never sees it); open or closed tickets alike."""
    service = desk()
    service.ticket(ticket_id)  # 404 before looking at the body
    text = _text_field()
    return jsonify(note=service.tickets.add_note(ticket_id, signed_in_user()["name"], text))


@bp.post("/api/agent/tickets/<int:ticket_id>/claim")
@role_required("agent")
def claim(ticket_id: int) -> Response:
    """Take a waiting chat: the customer is told an agent joined."""
    agent = signed_in_user()["name"]
    desk().claim_chat(ticket_id, agent, wording.agent_joined(agent))
    return jsonify(ok=True)


@bp.post("/api/agent/tickets/<int:ticket_id>/reply")
@role_required("agent")
def reply(ticket_id: int) -> Response:
    """Send the customer a message."""
    service, agent = desk(), signed_in_user()["name"]
    service.held_by(ticket_id, agent)  # no such ticket (404) or not this agent's chat (409) before the body (400)
    return jsonify(message=service.reply(ticket_id, agent, _text_field()))


@bp.post("/api/agent/tickets/<int:ticket_id>/close")
@role_required("agent")
def close(ticket_id: int) -> Response:
    """End the human part: the ticket closes and the bot takes the conversation back."""
    resumed = desk().close_chat(ticket_id, signed_in_user()["name"], wording.CHAT_ENDED, _resume_bot)
    return jsonify(ok=True, bot_resumed=resumed)


def _resume_bot(conversation_id: str) -> bool:
    """Give the conversation back to the bot; False (and a warning) if Rasa cannot be reached."""
    try:
        rasa().resume(conversation_id)
        return True
    except BotUnavailable:
        current_app.logger.warning("could not resume conversation %s in Rasa", conversation_id)
        return False


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
    """Passages for the customer's latest question in this chat."""
    service = desk()
    t = service.ticket(ticket_id)
    question = latest_question(service.conversations.messages(t.conversation_id), t.question)
    return jsonify(question=question, **_lookup(question, k=3))
