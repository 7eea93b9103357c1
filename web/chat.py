"""The chat API (the widget's backend and the one door to the bot) and the health check."""
from __future__ import annotations

import math
import time

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from kb.conversations import Conversations
from kb.desk import Desk
from kb.store import Store
from web.chat_service import SESSION, ChatInputError, ChatService, validate
from web.rasa_client import RasaClient

bp = Blueprint("chat", __name__)


CHAT_MAX_BYTES = 64 * 1024  # a chat message is at most 2,000 characters; staff forms may send whole articles


@bp.before_request
def small_bodies_only():
    """The public API takes small bodies; anything larger is refused (413) before it is read."""
    request.max_content_length = CHAT_MAX_BYTES


@bp.after_app_request
def allow_the_widget_anywhere(response):
    """The widget runs on other sites' pages: the customer API takes cross-origin calls (no cookies)."""
    if request.path.startswith("/api/chat"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


@bp.get("/")
def demo():
    """A demo page that embeds the widget with its one script tag."""
    return render_template("demo.html", widget_url=url_for("static", filename="kefu-widget.js", _external=True))


@bp.get("/favicon.ico")
def favicon():
    """No icon, and no 404 in every page's console."""
    return "", 204


def store() -> Store:
    """The request's store (closed on teardown)."""
    if "store" not in g:
        g.store = Store.open(current_app.config["KEFU_SETTINGS"].db_path)
    return g.store


def rasa() -> RasaClient:
    """The app's client for the configured Rasa server (one per app: its connections are reused)."""
    client = current_app.extensions.get("kefu_rasa")
    if client is None:
        settings = current_app.config["KEFU_SETTINGS"]
        client = RasaClient(settings.rasa_url, transport=current_app.config["RASA_TRANSPORT"])
        current_app.extensions["kefu_rasa"] = client
    return client


@bp.post("/api/chat")
def chat():
    """One customer message; returns the conversation state and what the bot (or system) said."""
    per_session, per_client = current_app.extensions["kefu_chat_limiters"]
    client = request.remote_addr or "?"
    wait = per_client.hit(client)  # every call counts, malformed ones too
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
    service = ChatService(Conversations(store()), Desk(store()), rasa(), current_app.config["KEFU_SETTINGS"])
    response = jsonify(service.turn(session, message, is_payload))
    total = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"bot;dur={service.bot_ms:.1f}, app;dur={total - service.bot_ms:.1f}"
    return response


def _too_fast(wait: float):
    seconds = math.ceil(wait)
    response = jsonify(error=f"您发送得太快了，请 {seconds} 秒后再试。", retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response, 429


@bp.get("/api/chat/<session>/messages")
def messages(session: str):
    """What the bot, agents or the system said after a message id (polling)."""
    after = request.args.get("after", "0")
    if not after.isdigit():
        return jsonify(error="'after' must be a message id"), 400
    conversations = Conversations(store())
    conv = conversations.get(session) if SESSION.match(session) else None
    if conv is None:
        return jsonify(error="unknown session"), 404
    return jsonify(session=session, state=conv["state"],
                   messages=conversations.messages(session, after=int(after), include_customer=False))


@bp.get("/healthz")
def healthz():
    """Rasa, actions, index and database: each ok or not; 503 if any is not."""
    import httpx

    settings = current_app.config["KEFU_SETTINGS"]
    checks = {"rasa": rasa().healthy()}
    try:
        checks["actions"] = httpx.get(f"{settings.actions_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        checks["actions"] = False
    try:
        checks["database"] = store().schema_version > 0
    except Exception:  # any database failure is "not ok" here, never a 500
        checks["database"] = False
    from indexer.build import index_paths
    checks["index"] = all(p.is_file() for m in settings.models for p in index_paths(settings.index_dir, m)[:1])
    ok = all(checks.values())
    return jsonify(ok=ok, checks=checks), 200 if ok else 503


def retriever():
    """The production retriever, loaded once per process on first use (models and indexes: seconds)."""
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever

    loaded = current_app.extensions.get("kefu_retriever")
    if loaded is None or loaded.stamp != store().index_stamp():  # first use, or re-indexed since
        settings = current_app.config["KEFU_SETTINGS"]
        encoders = [leg.encoder for leg in loaded.legs] if loaded else Encoder.all_from_settings(settings)
        loaded = Retriever.load(store(), encoders, settings)
        current_app.extensions["kefu_retriever"] = loaded
    return loaded
