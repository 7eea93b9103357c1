"""Staff sign-in: hashed passwords, session cookies, roles on every endpoint, rate-limited logins."""
from __future__ import annotations

import functools
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from kb.accounts import Accounts

bp = Blueprint("auth", __name__)
MAX_FAILURES, WINDOW_SECONDS = 5, 300


class LoginLimiter:
    """At most MAX_FAILURES failed logins per client address in WINDOW_SECONDS."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        """Whether this client must wait before trying again."""
        with self._lock:
            q = self._failures[client]
            while q and q[0] < time.monotonic() - self.window:
                q.popleft()
            return len(q) >= self.limit

    def failed(self, client: str) -> None:
        """Count one failed attempt."""
        with self._lock:
            self._failures[client].append(time.monotonic())


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
        user_id = session.get("user_id")
        g.user = Accounts(store()).get(user_id) if user_id else None
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
        limiter: LoginLimiter = current_app.extensions["kefu_login_limiter"]
        client = request.remote_addr or "?"
        if limiter.blocked(client):
            return render_template("login.html", error="尝试次数过多，请 5 分钟后再试。"), 429
        from web.chat import store
        user = Accounts(store()).verify(request.form.get("name", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["user_id"] = user["id"]
            target = request.args.get("next", "")
            home = url_for("curator.panel") if user["role"] == "curator" else url_for("agent.console")
            return redirect(target if target.startswith("/") and not target.startswith("//") else home)
        limiter.failed(client)
        error = "用户名或密码错误。"
    return render_template("login.html", error=error), 200 if error is None else 401


@bp.post("/logout")
def logout():
    """Sign out (the old session cookie stops working)."""
    session.clear()
    return redirect(url_for("auth.login"))
