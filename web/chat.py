"""The chat API (the widget's backend and the one door to the bot) and the health check."""

from __future__ import annotations

import math
import time

import httpx
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from indexer.build import index_paths
from web import wording
from web.chat_service import SESSION, ChatInputError, ChatService, validate
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
    """One customer message; returns the conversation state and what the bot (or system) said."""
    per_session, per_client = current_app.extensions["kefu_chat_limiters"]
    wait = per_client.hit(request.remote_addr or "?")  # every call counts, malformed ones too
    if wait:
        return _too_fast(wait)
    try:
        session, message, is_payload = validate(request.get_json(silent=True))
    except ChatInputError as exc:
        return jsonify(error=str(exc)), 400
    wait = per_session.hit(session)
    if wait:
        return _too_fast(wait)
    started = time.perf_counter()
    service = ChatService(desk(), rasa())
    response = jsonify(service.turn(session, message, is_payload))
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"bot;dur={service.bot_ms:.1f}, app;dur={total - service.bot_ms:.1f}"
    return response


@bp.post("/api/chat/<session>/leave")
def leave(session: str) -> Response | tuple[Response, int]:
    """The customer stops waiting for an agent: the ticket is abandoned and the bot answers again. Returns
    {'session', 'state': 'bot', 'messages': [the system message]}; 404 for an unknown session, 409 if the
    conversation is not queued; rate-limited like a chat message."""
    per_session, per_client = current_app.extensions["kefu_chat_limiters"]
    wait = per_client.hit(request.remote_addr or "?")
    if wait:
        return _too_fast(wait)
    if not SESSION.match(session):
        return jsonify(error="'session' must be 1-64 letters, digits, '-' or '_'"), 400
    wait = per_session.hit(session)
    if wait:
        return _too_fast(wait)
    service = desk()
    if service.conversations.get(session) is None:
        return jsonify(error="unknown session"), 404
    return jsonify(ChatService(service, rasa()).leave_queue(session))


def _too_fast(wait: float) -> tuple[Response, int]:
    seconds = math.ceil(wait)
    response = jsonify(error=wording.too_fast(seconds), retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response, 429


@bp.get("/api/chat/<session>/messages")
def messages(session: str) -> Response | tuple[Response, int]:
    """What the bot, agents or the system said after a message id (polling)."""
    after = request.args.get("after", "0")
    if not after.isdigit():
        return jsonify(error="'after' must be a message id"), 400
    conversations = desk().conversations
    conv = conversations.get(session) if SESSION.match(session) else None
    if conv is None:
        return jsonify(error="unknown session"), 404
    return jsonify(
        session=session,
        state=conv["state"],
        messages=conversations.messages(session, after=int(after), include_customer=False),
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
