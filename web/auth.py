"""Staff sign-in and sign-out: hashed passwords, server-side sessions, rate-limited failures
(roles on every endpoint: web/access.py)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from web.db import accounts
from web.limits import RateLimiter
from web.security import local_path

bp = Blueprint("auth", __name__)
MAX_FAILURES, WINDOW_SECONDS = 5, 300  # failed logins per client address


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int]:
    """The sign-in form."""
    error = None
    if request.method == "POST":
        limiter: RateLimiter = current_app.extensions["kefu_login_limiter"]
        client = request.remote_addr or "?"
        if limiter.retry_after(client):
            return render_template("login.html", error="尝试次数过多，请 5 分钟后再试。"), 429
        staff = accounts()
        user = staff.verify(request.form.get("name", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["token"] = staff.start_session(user["id"])
            home = {"curator": url_for("curator.panel"), "supervisor": url_for("supervisor.view")}.get(
                user["role"], url_for("agent.console")
            )
            return redirect(local_path(request.args.get("next", "")) or home)
        limiter.record(client)  # failures only
        error = "用户名或密码错误。"
    return render_template("login.html", error=error), 200 if error is None else 401


@bp.post("/logout")
def logout() -> Response | BaseResponse:
    """Sign out: the session ends server-side, so a kept copy of the old cookie stops working."""
    accounts().end_session(session.get("token"))
    session.clear()
    return redirect(url_for("auth.login"))
