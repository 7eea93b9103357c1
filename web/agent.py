"""The agent console: the queue, claiming a chat, the transcript, replying live, closing."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from kb.conversations import Conversations
from kb.desk import Desk
from web.auth import current_user, role_required
from web.chat import rasa, retriever, store
from web.rasa_client import BotUnavailable

bp = Blueprint("agent", __name__)
MAX_REPLY = 2000


def _waiting_seconds(created_at: str) -> int:
    return int((dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(created_at)).total_seconds())


def _ticket_or_404(ticket_id: int) -> dict:
    ticket = Desk(store()).ticket(ticket_id)
    if ticket is None:
        abort(404, "no such ticket")
    return ticket


@bp.get("/agent/")
@role_required("agent")
def console():
    """The console page."""
    from kb.supervision import Supervision
    return render_template("agent.html", user=current_user(), status=Supervision(store()).status(current_user()["name"]))


@bp.post("/api/agent/status")
@role_required("agent")
def set_status():
    """The agent marks themselves available or away (the supervisor's staffing counts the available)."""
    from kb.supervision import STATUSES, Supervision

    body = request.get_json(silent=True)
    status = body.get("status") if isinstance(body, dict) else None
    if status not in STATUSES:
        abort(400, "'status' must be 'available' or 'away'")
    Supervision(store()).set_status(current_user()["name"], status)
    return jsonify(status=status)


@bp.get("/api/agent/queue")
@role_required("agent")
def queue():
    """Waiting and claimed tickets, oldest first, with waiting time, reason and question."""
    desk = Desk(store())
    rows = [t for status in ("queued", "callback", "claimed") for t in desk.handoffs(status, limit=200)]
    rows.sort(key=lambda t: t["id"])
    return jsonify(tickets=[{
        "id": t["id"], "status": t["status"], "reason": t["reason"], "question": t["question"],
        "conversation_id": t["conversation_id"], "agent": t["agent"], "contact": t["contact"],
        "waiting_seconds": _waiting_seconds(t["created_at"])} for t in rows])


@bp.get("/api/agent/tickets/<int:ticket_id>")
@role_required("agent")
def ticket(ticket_id: int):
    """A ticket with the whole transcript and the passages the bot found."""
    t = _ticket_or_404(ticket_id)
    return jsonify(ticket=t, messages=Conversations(store()).messages(t["conversation_id"]),
                   notes=Desk(store()).notes(ticket_id))


@bp.post("/api/agent/tickets/<int:ticket_id>/notes")
@role_required("agent")
def add_note(ticket_id: int):
    """An internal note on the ticket (the customer never sees it); open or closed tickets alike."""
    _ticket_or_404(ticket_id)
    body = request.get_json(silent=True) or {}
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
        abort(400, f"'text' must be 1-{MAX_REPLY} characters")
    return jsonify(note=Desk(store()).add_note(ticket_id, current_user()["name"], text))


@bp.post("/api/agent/tickets/<int:ticket_id>/claim")
@role_required("agent")
def claim(ticket_id: int):
    """Take a waiting chat: the customer is told an agent joined."""
    t = _ticket_or_404(ticket_id)
    user = current_user()
    if not Desk(store()).claim_handoff(ticket_id, user["name"]):
        abort(409, "this ticket is not waiting any more")
    conversations = Conversations(store())
    conversations.get_or_create(t["conversation_id"])
    conversations.set_state(t["conversation_id"], "agent")
    conversations.add(t["conversation_id"], "system", f"人工客服 {user['name']} 已接入，请问有什么可以帮您？")
    return jsonify(ok=True)


@bp.post("/api/agent/tickets/<int:ticket_id>/reply")
@role_required("agent")
def reply(ticket_id: int):
    """Send the customer a message."""
    t = _ticket_or_404(ticket_id)
    if t["status"] != "claimed" or t["agent"] != current_user()["name"]:
        abort(409, "claim this ticket before replying")
    body = request.get_json(silent=True) or {}
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
        abort(400, f"'text' must be 1-{MAX_REPLY} characters")
    message = Conversations(store()).add(t["conversation_id"], "agent", text.strip())
    return jsonify(message=message)


@bp.post("/api/agent/tickets/<int:ticket_id>/close")
@role_required("agent")
def close(ticket_id: int):
    """End the human part: the ticket closes and the bot takes the conversation back."""
    t = _ticket_or_404(ticket_id)
    if t["status"] == "closed":
        abort(409, "this ticket is closed already")
    Desk(store()).close_handoff(ticket_id, current_user()["name"])
    conversations = Conversations(store())
    conversations.get_or_create(t["conversation_id"])
    replies = [m["text"] for m in conversations.messages(t["conversation_id"]) if m["from"] == "agent"]
    if replies and t["question"]:  # offer the agent's answer to curators as a candidate Q&A entry
        Desk(store()).log_gap(t["conversation_id"], t["question"], "agent_answer",
                              [{"kind": "agent", "title": f"人工客服 {current_user()['name']} 的回答",
                                "snippet": "\n".join(replies)[:2000]}])
    conversations.set_state(t["conversation_id"], "closed")
    conversations.add(t["conversation_id"], "system", "人工服务已结束，智能客服将继续为您服务。")
    try:
        rasa().resume(t["conversation_id"])
        resumed = True
    except BotUnavailable:
        current_app.logger.warning("could not resume conversation %s in Rasa", t["conversation_id"])
        resumed = False
    return jsonify(ok=True, bot_resumed=resumed)


def _lookup(question: str, k: int = 5) -> dict:
    from indexer.retriever import QueryError
    try:
        result = retriever().search(question, k=k)
    except QueryError as exc:
        abort(400, str(exc))
    return {"decision": {"answer": result.decision.answer, "confidence": result.decision.confidence},
            "hits": [{"title": h.title, "section": h.section, "clause": h.clause, "snippet": h.snippet,
                      "highlights": h.highlights, "text": h.quote or h.text, "kind": h.kind, "ref": h.ref,
                      "score": round(h.score, 4)} for h in result.hits]}


@bp.get("/api/agent/lookup")
@role_required("agent")
def lookup():
    """Policy lookup with the production retriever: passages with source, clause and matched words."""
    return jsonify(_lookup(request.args.get("q", "")))


@bp.get("/api/agent/tickets/<int:ticket_id>/suggest")
@role_required("agent")
def suggest(ticket_id: int):
    """Passages for the customer's latest message in this chat."""
    t = _ticket_or_404(ticket_id)
    question = latest_question(Conversations(store()).messages(t["conversation_id"]), t["question"] or "")
    return jsonify(question=question, **_lookup(question, k=3))


def latest_question(messages: list[dict], fallback: str) -> str:
    """The customer's latest message that asks something: not a bare request for a human, a button
    press or a greeting ('转人工', '👍', '在吗'); the ticket's question when there is none."""
    for m in reversed(messages):
        text = m["text"].strip()
        letters = [c for c in text if c.isalnum()]
        if m["from"] != "customer" or len(letters) <= 3 or (len(text) <= 8 and "人工" in text):
            continue
        return text
    return fallback
