"""Staff sign-in and sign-out: hashed passwords, server-side sessions, failed sign-ins limited per account
name and per client address, every sign-in and failure in the audit log (roles on every endpoint:
web/access.py)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from kb.desk.accounts import MIN_PASSWORD, ROLES, AccountError, WrongPassword
from kb.desk.audit import Actor
from web.access import audit, role_required, signed_in_user
from web.db import accounts
from web.limits import LimitCounts, RateLimiter
from web.security import local_path

bp = Blueprint("auth", __name__)
WINDOW_SECONDS = 300
# Failed sign-ins in WINDOW_SECONDS: one account name from one address (a person mistyping, or someone
# guessing one password); one address, whatever the names (guessing many accounts: high enough that the
# staff behind one office NAT are not all locked out by one of them); one name from every address together
# (guessing spread over many addresses). Successful sign-ins never count, and every lock lifts by itself
# when its window has passed, so a locked name unlocks. One address alone cannot lock a name for everyone
# (the name's limit needs more failures than one address may make); an attacker with two or more addresses
# can, for as long as they keep failing: the price of limiting guesses spread over many addresses.
MAX_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
MAX_NAME_FAILURES = 30
MAX_NAME = 64


class LoginLimits:
    """The three limits on failed sign-ins, counted where counts says (web/limits.py)."""

    def __init__(self, counts: LimitCounts | None = None) -> None:
        self.name_here = RateLimiter(MAX_FAILURES, WINDOW_SECONDS, "login-name-address", counts)
        self.address = RateLimiter(MAX_ADDRESS_FAILURES, WINDOW_SECONDS, "login-address", counts)
        self.name = RateLimiter(MAX_NAME_FAILURES, WINDOW_SECONDS, "login-name", counts)

    def _keys(self, name: str, client: str) -> list[tuple[RateLimiter, str]]:
        return [(self.name_here, f"{name}\n{client}"), (self.address, client), (self.name, name)]

    def locked(self, name: str, client: str) -> bool:
        """Whether a sign-in as this name from this address must wait."""
        return any(limiter.retry_after(key) for limiter, key in self._keys(name, client))

    def failed(self, name: str, client: str) -> None:
        """Count one failed sign-in."""
        for limiter, key in self._keys(name, client):
            limiter.record(key)


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int]:
    """The sign-in form."""
    error = None
    if request.method == "POST":
        limits: LoginLimits = current_app.extensions["kefu_login_limiter"]
        client, name = request.remote_addr or "?", request.form.get("name", "")[:MAX_NAME]
        if limits.locked(name, client):
            return render_template("login.html", error="尝试次数过多，请 5 分钟后再试。"), 429
        staff = accounts()
        user = staff.verify(name, request.form.get("password", ""))
        if user:
            session.clear()
            session["token"] = staff.start_session(user["id"])
            audit("sign_in", "account", user["id"], f"from {client}", Actor.of(user))
            home = {"curator": url_for("curator.panel"), "supervisor": url_for("supervisor.view")}.get(
                user["role"], url_for("agent.console")
            )
            return redirect(local_path(request.args.get("next", "")) or home)
        limits.failed(name, client)  # failures only
        # a name no account has is not kept: people type their password into the name field
        known = staff.by_name(name)
        tried = Actor(known["id"], name) if known else Actor(None, "(unknown name)")
        audit("sign_in_failed", "account", tried.id or "", f"from {client}", tried)
        error = "用户名或密码错误。"
    return render_template("login.html", error=error), 200 if error is None else 401


@bp.post("/logout")
def logout() -> Response | BaseResponse:
    """Sign out: the session ends server-side, so a kept copy of the old cookie stops working."""
    accounts().end_session(session.get("token"))
    session.clear()
    return redirect(url_for("auth.login"))


NEW_PASSWORD_ERRORS = {"choose a password other than the current one": "新密码不能和当前密码相同。"}  # else: too short


@bp.route("/password", methods=["GET", "POST"])
@role_required(*ROLES)
def password() -> BaseResponse | tuple[str, int]:
    """A staff member changes their own password (after an admin's reset, or at will): the current one, the new
    one twice. Every other session of the account ends; this one goes on. A wrong current password counts as a
    failed sign-in (the same limits)."""
    user, error = signed_in_user(), None
    if request.method == "POST":
        limits: LoginLimits = current_app.extensions["kefu_login_limiter"]
        client = request.remote_addr or "?"
        if limits.locked(user["name"], client):
            return render_template("password.html", user=user, error="尝试次数过多，请 5 分钟后再试。"), 429
        new = request.form.get("new", "")
        if new != request.form.get("again", ""):
            error = "两次输入的新密码不一样。"
        else:
            try:
                accounts().change_password(user["name"], request.form.get("current", ""), new)
            except WrongPassword:
                limits.failed(user["name"], client)
                error = "当前密码不对。"
            except AccountError as exc:
                error = NEW_PASSWORD_ERRORS.get(str(exc), f"新密码至少要 {MIN_PASSWORD} 个字符。")
            else:
                session.clear()
                session["token"] = accounts().start_session(user["id"])
                flash("密码已修改；其他地方的登录已退出。")
                return redirect(url_for("auth.password"))
    return render_template("password.html", user=user, error=error), 200 if error is None else 400
