"""The web app's request and response policy, in one place: where sign-in may send you (`local_path`), which
sites may call the widget's API (CORS, setting widget_origins), the session cookie (setting https_only), the
security headers and Cache-Control on every response, and JSON-only bodies for the JSON API."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from web.chat_access import malformed

# Staff pages and API answers: only this site's scripts, nothing framed, nothing embedded. Styles stay
# 'unsafe-inline': the templates carry <style> blocks and style attributes, and a style cannot run script.
STRICT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The demo page: the same, but sites that embed the widget may frame it (filled in per response).
DEMO_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
WIDGET_API = "/api/chat"
# The widget sends JSON and its conversation key; nothing else is asked of another site's page.
ALLOWED_HEADERS = "Content-Type, X-Kefu-Key"
# Multipart uploads are the only POSTs under /api/ that are not JSON.
NOT_JSON = {"kb_import.upload"}
JSON_MAX_BYTES = 64 * 1024  # the largest JSON body (a chat message, a Q&A entry); documents come as uploads
HSTS_SECONDS = 365 * 24 * 3600
JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}
JSON_TYPES[type(None)] = "null"


def init_app(app: Flask) -> None:
    """Register the policy on the app (from create_app, after its settings are known)."""
    settings = app.config["KEFU_SETTINGS"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https_only,
    )
    app.before_request(refuse_other_sites)
    app.before_request(json_bodies_only)
    app.after_request(secure_headers)
    app.register_error_handler(RequestEntityTooLarge, too_large)


def local_path(target: str) -> str | None:
    """`target` if it is a path to one of this site's pages (a GET route of the app, query allowed), else None.

    Browsers read '\\' as '/', drop tabs and newlines and follow '//host', and a proxy may decode '%2F': anything
    that could leave the site that way is refused rather than cleaned, and so is a path no page answers."""
    if not target.startswith("/") or target.startswith("//") or not target.isprintable() or " " in target:
        return None
    parts = urlsplit(target)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or "\\" in target or not path.isprintable() or path.startswith("//"):
        return None
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:  # no such page, a POST-only route, or a redirect to another spelling
        return None
    return target


def _allowed_origin(origin: str) -> str | None:
    """The Access-Control-Allow-Origin to answer a widget call from `origin` with, or None if not allowed."""
    listed = current_app.config["KEFU_SETTINGS"].site_origins
    if "*" in listed:
        return "*"
    return origin if origin.rstrip("/").lower() in listed else None


def _same_site(origin: str) -> bool:
    return urlsplit(origin).netloc == request.host


def refuse_other_sites() -> tuple[Response, int] | None:
    """A widget call from a page of a site not in widget_origins is refused (403) before it does anything:
    CORS alone would only hide the answer from that page, not stop a simple POST."""
    origin = request.headers.get("Origin")
    if not request.path.startswith(WIDGET_API) or not origin or _same_site(origin) or _allowed_origin(origin):
        return None
    return jsonify(error=f"pages of {origin} may not use this chat (setting widget_origins)"), 403


def json_bodies_only() -> tuple[Response, int] | None:
    """A POST with a body to a JSON endpoint must be a JSON object in UTF-8: anything else is a 400 that says
    so, before the view (which then only checks the fields). On the widget's API it counts as a malformed
    call of the address (web.chat_access: 429 once there are too many, apart from customers' real calls)."""
    if request.method != "POST" or not request.path.startswith("/api/") or request.endpoint in NOT_JSON:
        return None
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return None  # no body: the view says which fields are missing, or needs none
    if not request.is_json:
        return _not_json("send a JSON object (Content-Type: application/json)")
    request.max_content_length = JSON_MAX_BYTES  # larger: 413 before the body is read
    try:
        body = request.get_json()
    except (BadRequest, RecursionError):  # RecursionError: arrays nested thousands deep
        return _not_json("the body is not valid JSON in UTF-8")
    if not isinstance(body, dict):
        return _not_json(f"send a JSON object, not {JSON_TYPES.get(type(body), 'that')}")
    return None


def _not_json(message: str) -> tuple[Response, int]:
    if request.path.startswith(WIDGET_API):
        raise malformed(400, message)  # the chat blueprint answers it (400, or 429 with Retry-After)
    return jsonify(error=message), 400


def too_large(exc: RequestEntityTooLarge) -> tuple[Response | str, int]:
    """413 Payload Too Large with the limit named: JSON for API callers, the error page for people."""
    from web import PAGE_ERRORS

    limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=f"the body is larger than {limit // 1024} KB"), 413
    return render_template("error.html", code=413, message=PAGE_ERRORS[413]), 413


def secure_headers(response: Response) -> Response:
    """Headers on every response: no type guessing, no referrer to other sites, the content policy, no
    framing, HTTPS only when configured, CORS for the widget's API, and no-store on all but static files
    and the demo page (transcripts, staff pages and personal data must not stay in a browser's cache)."""
    settings = current_app.config["KEFU_SETTINGS"]
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if settings.https_only:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    if request.path.startswith("/static/"):
        return response
    if request.endpoint == "chat.demo":
        framers = " ".join(settings.site_origins)
        headers["Content-Security-Policy"] = f"{DEMO_POLICY} {framers}".rstrip()
        if not settings.site_origins:
            headers["X-Frame-Options"] = "SAMEORIGIN"
        return response
    headers["Content-Security-Policy"] = STRICT_POLICY
    headers["X-Frame-Options"] = "DENY"
    headers["Cache-Control"] = "no-store"
    if request.path.startswith(WIDGET_API):
        headers.add("Vary", "Origin")
        allowed = _allowed_origin(request.headers.get("Origin", ""))
        if allowed:
            headers["Access-Control-Allow-Origin"] = allowed
            headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            headers["Access-Control-Max-Age"] = "600"
    return response
