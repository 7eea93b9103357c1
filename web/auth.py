"""Staff sign-in: hashed passwords, session cookies, roles on every endpoint, rate-limited logins."""
from __future__ import annotations

import functools
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from kb.accounts import Accounts
from web.limits import RateLimiter

bp = Blueprint("auth", __name__)
MAX_FAILURES, WINDOW_SECONDS = 5, 300  # failed logins per client address


def secret_key(data_dir: Path) -> str:
    """The app's session-signing key, made once and kept beside the database."""
    path = Path(data_dir) / "secret_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def current_user() -> dict | None:
    """The signed-in staff member, or None."""
    if "user" not in g:
        from web.chat import store
        g.user = Accounts(store()).session_user(session.get("token"))
    return g.user


def role_required(*roles: str):
    """Only signed-in staff with one of these roles (admins pass everywhere)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401, "sign in first")
                return redirect(url_for("auth.login", next=request.path))
            if user["role"] not in roles and user["role"] != "admin":
                abort(403, "your role does not allow this")
            return view(*args, **kwargs)
        return wrapper
    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form."""
    error = None
    if request.method == "POST":
        limiter: RateLimiter = current_app.extensions["kefu_login_limiter"]
        client = request.remote_addr or "?"
        if limiter.retry_after(client):
            return render_template("login.html", error="尝试次数过多，请 5 分钟后再试。"), 429
        from web.chat import store
        user = Accounts(store()).verify(request.form.get("name", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["token"] = Accounts(store()).start_session(user["id"])
            target = request.args.get("next", "")
            home = {"curator": url_for("curator.panel"), "supervisor": url_for("supervisor.view")}.get(
                user["role"], url_for("agent.console"))
            return redirect(target if target.startswith("/") and not target.startswith("//") else home)
        limiter.record(client)  # failures only
        error = "用户名或密码错误。"
    return render_template("login.html", error=error), 200 if error is None else 401


@bp.post("/logout")
def logout():
    """Sign out: the session ends server-side, so a kept copy of the old cookie stops working."""
    from web.chat import store
    Accounts(store()).end_session(session.get("token"))
    session.clear()
    return redirect(url_for("auth.login"))
