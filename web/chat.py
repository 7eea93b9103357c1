"""The chat API (the widget's backend and the one door to the bot) and the health check."""

from __future__ import annotations

import datetime as dt
import math
import time

import httpx
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from indexer.build import index_paths
from kb.desk.conversations import kept
from web import wording
from web.chat_service import SESSION, ChatInputError, ChatService, validate, validate_rating
from web.db import database, desk, rasa, settings

bp = Blueprint("chat", __name__)


CHAT_MAX_BYTES = 64 * 1024  # a chat message is at most 2,000 characters; staff forms may send whole articles


@bp.before_request
def small_bodies_only() -> None:
    """The public API takes small bodies; anything larger is refused (413) before it is read."""
    request.max_content_length = CHAT_MAX_BYTES


@bp.after_app_request
def allow_the_widget_anywhere(response: Response) -> Response:
    """The widget runs on other sites' pages: the customer API takes cross-origin calls (no cookies)."""
    if request.path.startswith("/api/chat"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


@bp.get("/")
def demo() -> str:
    """A demo page that embeds the widget with its one script tag."""
    return render_template("demo.html", widget_url=url_for("static", filename="kefu-widget.js", _external=True))


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon, and no 404 in every page's console."""
    return "", 204


@bp.post("/api/chat")
def chat() -> Response | tuple[Response, int]:
    """One customer message {"session", "text" | "payload" with its "label", "after"?}; returns the
    conversation's state and what the bot (or system) said (with "after", everything since that id)."""
    wait = _client_too_fast()
    if wait:
        return _too_fast(wait)
    try:
        message = validate(request.get_json(silent=True))
    except ChatInputError as exc:
        return jsonify(error=str(exc)), 400
    wait = _session_too_fast(message.session)
    if wait:
        return _too_fast(wait)
    started = time.perf_counter()
    service = ChatService(desk(), rasa())
    body = service.handle(message)
    if message.after is not None:  # the widget's call: it expires its session id with the keep time
        body["keep_minutes"] = settings().widget_keep_minutes
    response = jsonify(body)
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"bot;dur={service.bot_ms:.1f}, app;dur={total - service.bot_ms:.1f}"
    return response


@bp.post("/api/chat/<session>/leave")
def leave(session: str) -> Response | tuple[Response, int]:
    """The customer stops waiting for an agent: the ticket is abandoned and the bot answers again. Returns
    {'session', 'state': 'bot', 'messages': [the system message]}; 404 for an unknown session, 409 if the
    conversation is not queued; rate-limited like a chat message."""
    wait = _client_too_fast()
    if wait:
        return _too_fast(wait)
    if not SESSION.match(session):
        return jsonify(error="'session' must be 1-64 letters, digits, '-' or '_'"), 400
    wait = _session_too_fast(session)
    if wait:
        return _too_fast(wait)
    service = desk()
    if service.conversations.get(session) is None:
        return jsonify(error="unknown session"), 404
    return jsonify(ChatService(service, rasa()).leave_queue(session))


@bp.post("/api/chat/rating")
def rating() -> Response | tuple[Response, int]:
    """The customer rates the chat an agent closed: {"session", "ticket", "score" 1-5, "comment"?}; once per
    chat (409 after that), 404 for a chat not of this session, rate-limited like messages."""
    wait = _client_too_fast()
    if wait:
        return _too_fast(wait)
    try:
        session, ticket, score, comment = validate_rating(request.get_json(silent=True))
    except ChatInputError as exc:
        return jsonify(error=str(exc)), 400
    wait = _session_too_fast(session)
    if wait:
        return _too_fast(wait)
    stored = desk().rate_chat(session, ticket, score, comment)  # the desk's errors become 404/409/400
    return jsonify(ok=True, ticket=stored["handoff_id"], score=stored["score"])


def _client_too_fast() -> float:
    """Count a call from this address (malformed ones too); the wait if it is over the limit."""
    return float(current_app.extensions["kefu_chat_limiters"][1].hit(request.remote_addr or "?"))


def _session_too_fast(session: str) -> float:
    """Count a call for this session; the wait if it is over the limit."""
    return float(current_app.extensions["kefu_chat_limiters"][0].hit(session))


def _too_fast(wait: float) -> tuple[Response, int]:
    seconds = math.ceil(wait)
    response = jsonify(error=wording.too_fast(seconds), retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response, 429


@bp.get("/api/chat/<session>")
def resume(session: str) -> Response | tuple[Response, int]:
    """The conversation a returning visitor sees when the widget loads: {"session", "state", "messages" (all,
    the customer's own too), "rating" (the chat to rate, or null), "keep_minutes"}; or {"session",
    "expired": true, "keep_minutes"} once it has been quiet for longer than widget_keep_minutes (the widget
    then starts a fresh one); 404 for an unknown session."""
    service = desk()
    conv = service.conversations.get(session) if SESSION.match(session) else None
    if conv is None:
        return jsonify(error="unknown session"), 404
    keep = settings().widget_keep_minutes
    last = service.conversations.last_activity(session) or ""
    if not kept(last, conv["state"], keep, dt.datetime.now(dt.UTC)):
        return jsonify(session=session, expired=True, keep_minutes=keep)
    return jsonify(
        session=session,
        state=conv["state"],
        messages=service.conversations.messages(session, as_sent=True),
        rating=service.ratings.due(session),
        keep_minutes=keep,
    )


@bp.get("/api/chat/<session>/messages")
def messages(session: str) -> Response | tuple[Response, int]:
    """Polling: {"session", "state", "messages" after the id `after` (the customer's own too: another tab
    of the same site may have sent them), "rating" (the chat to rate, or null)}."""
    after = request.args.get("after", "0")
    if not after.isdigit():
        return jsonify(error="'after' must be a message id"), 400
    service = desk()
    conv = service.conversations.get(session) if SESSION.match(session) else None
    if conv is None:
        return jsonify(error="unknown session"), 404
    return jsonify(
        session=session,
        state=conv["state"],
        messages=service.conversations.messages(session, after=int(after), as_sent=True),
        rating=service.ratings.due(session),
    )


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Rasa, actions, index and database: each ok or not; 503 if any is not."""
    configured = settings()
    checks = {"rasa": rasa().healthy()}
    try:
        checks["actions"] = httpx.get(f"{configured.actions_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        checks["actions"] = False
    try:
        checks["database"] = database().schema_version > 0
    except Exception:  # any database failure is "not ok" here, never a 500
        checks["database"] = False
    checks["index"] = all(p.is_file() for m in configured.models for p in index_paths(configured.index_dir, m)[:1])
    ok = all(checks.values())
    return jsonify(ok=ok, checks=checks), 200 if ok else 503
