"""The chat API (the widget's backend and the one door to the bot) and the health check."""

from __future__ import annotations

import time

import httpx
from flask import Blueprint, Response, jsonify, render_template, request, url_for

from indexer.build import index_paths
from web import health
from web.chat_access import UNKNOWN, Refused, count, count_first, malformed, opened
from web.chat_service import MAX_ID, ChatInputError, ChatService, validate, validate_rating
from web.db import database_check, desk, rasa, settings
from web.params import whole_number

bp = Blueprint("chat", __name__)


CHAT_MAX_BYTES = 64 * 1024  # a chat message is at most 2,000 characters; staff forms may send whole articles


@bp.before_request
def small_bodies_only() -> None:
    """The public API takes small bodies; anything larger is refused (413) before it is read."""
    request.max_content_length = CHAT_MAX_BYTES


@bp.get("/")
def demo() -> str:
    """A demo page that embeds the widget with its one script tag."""
    return render_template("demo.html", widget_url=url_for("static", filename="kefu-widget.js", _external=True))


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon, and no 404 in every page's console."""
    return "", 204


@bp.errorhandler(Refused)
def refused(exc: Refused) -> tuple[Response, int]:
    """A refused chat call as JSON; 429 with Retry-After."""
    response = jsonify(error=exc.message, **({"retry_after": exc.retry_after} if exc.retry_after else {}))
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response, exc.status


@bp.post("/api/chat")
def chat() -> Response:
    """One customer message {"session"?, "text" | "payload" with its "label", "after"?}: without "session" it
    opens a conversation and the answer carries its "session" and "key" (once: later calls send the key as
    X-Kefu-Key). Returns the conversation's state and what the bot (or system) said (with "after", everything
    since that id); 404 for a wrong key or one that ended (the widget then starts a fresh conversation)."""
    try:
        message = validate(request.get_json(silent=True))
    except ChatInputError as exc:
        raise malformed(400, str(exc)) from None
    service, keep = desk(), settings().widget_keep_minutes
    key = None
    if message.session is None:
        count(None)
        session, key = service.conversations.start()
        count_first(session)
    else:
        session = message.session
        if opened(service.conversations, session, keep)["access"] != "live":
            raise malformed(404, UNKNOWN)
        count(session)
    started = time.perf_counter()
    chat_service = ChatService(service, rasa())
    try:
        body = chat_service.handle(session, message)
    except ChatInputError as exc:
        raise malformed(400, str(exc)) from None
    if key:
        body["key"] = key
    if message.after is not None:  # the widget's call: it forgets its key with the keep time
        body["keep_minutes"] = keep
    response = jsonify(body)
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"bot;dur={chat_service.bot_ms:.1f}, app;dur={total - chat_service.bot_ms:.1f}"
    return response


@bp.post("/api/chat/<session>/leave")
def leave(session: str) -> Response:
    """The customer stops waiting for an agent: the ticket is abandoned and the bot answers again. Returns
    {'session', 'state': 'bot', 'messages': [the system message]}; 404 for a wrong key, 409 if the
    conversation is not queued; rate-limited like a chat message."""
    service = desk()
    if opened(service.conversations, session, settings().widget_keep_minutes)["access"] != "live":
        raise malformed(404, UNKNOWN)
    count(session)
    return jsonify(ChatService(service, rasa()).leave_queue(session))


@bp.post("/api/chat/rating")
def rating() -> Response:
    """The customer rates the chat an agent closed: {"session", "ticket", "score" 1-5, "comment"?} with the
    conversation's key (ended by the close, it still rates that chat); once per chat (409 after that), 404 for
    a chat not of this conversation, rate-limited like messages."""
    try:
        session, ticket, score, comment = validate_rating(request.get_json(silent=True))
    except ChatInputError as exc:
        raise malformed(400, str(exc)) from None
    service = desk()
    opened(service.conversations, session, settings().widget_keep_minutes)
    count(session)
    stored = service.rate_chat(session, ticket, score, comment)  # the desk's errors become 404/409/400
    return jsonify(ok=True, ticket=stored["handoff_id"], score=stored["score"])


@bp.get("/api/chat/<session>")
def resume(session: str) -> Response:
    """The conversation a returning visitor sees when the widget loads: {"session", "state", "messages" (all,
    the customer's own too), "rating" (the chat to rate, or null), "keep_minutes"}; once its key has ended (an
    agent closed the chat, or it was quiet for longer than widget_keep_minutes) only {"session", "ended": true,
    "expired": true, "rating", "keep_minutes"} (the widget then starts a fresh one); 404 for a wrong key."""
    service, keep = desk(), settings().widget_keep_minutes
    conv = opened(service.conversations, session, keep)
    count(session, read=True)
    if conv["access"] != "live":
        return jsonify(
            session=session, ended=True, expired=True, rating=service.ratings.due(session), keep_minutes=keep
        )
    return jsonify(
        session=session,
        state=conv["state"],
        messages=service.conversations.messages(session, as_sent=True),
        rating=service.ratings.due(session),
        keep_minutes=keep,
    )


@bp.get("/api/chat/<session>/messages")
def messages(session: str) -> Response:
    """Polling: {"session", "state", "messages" after the id `after` (the customer's own too: another tab
    of the same site may have sent them), "rating" (the chat to rate, or null)}; once the key has ended, only
    the chat's last words and "ended": true."""
    after = whole_number(request.args.get("after", "0"), 0, MAX_ID)
    if after is None:
        raise malformed(400, "'after' must be a message id")
    service = desk()
    conv = opened(service.conversations, session, settings().widget_keep_minutes)
    count(session, read=True)
    live = conv["access"] == "live"
    said = (
        service.conversations.messages(session, after=after, as_sent=True)
        if live
        else service.conversations.last_words(session, conv["key_ended_at"], after)
    )
    extra = {} if live else {"ended": True}
    return jsonify(session=session, state=conv["state"], messages=said, rating=service.ratings.due(session), **extra)


@bp.get("/livez")
def livez() -> tuple[str, int, dict[str, str]]:
    """200 "ok" whenever this process serves requests, asking nothing else: the load balancer's check, so a
    dependency that hangs never takes every web instance out at once (/healthz is for people and monitors)."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Rasa, actions, index and database: each ok or not, checked at once within web.health.CHECK_SECONDS;
    503 if any is not."""
    configured, client = settings(), rasa()

    def actions() -> bool:
        return httpx.get(f"{configured.actions_url}/health", timeout=2.0).status_code == 200

    checks = health.checked({"rasa": client.healthy, "actions": actions, "database": database_check()})
    checks["index"] = all(p.is_file() for m in configured.models for p in index_paths(configured.index_dir, m)[:1])
    ok = all(checks.values())
    return jsonify(ok=ok, checks=checks), 200 if ok else 503
