"""The admin pages (role admin): staff accounts (disable, enable, delete, reset a password, change a role,
end sessions: kb.desk.accounts, which records each change in the audit log) and the audit log itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from kb.desk.accounts import ROLES, AccountError
from kb.desk.audit import ACTIONS, Actor
from web.access import role_required, signed_in_user
from web.db import accounts, audit_log
from web.params import whole_number

bp = Blueprint("admin", __name__)


def _page(error: str | None = None, temporary: tuple[str, str] | None = None, status: int = 200) -> Response:
    """The accounts page; temporary: (name, password) just reset, shown this once and never cached."""
    html = render_template(
        "admin_accounts.html",
        user=signed_in_user(),
        accounts=accounts().listed(),
        roles=ROLES,
        error=error,
        temporary=temporary,
    )
    response = Response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _account_or_404(name: str) -> str:
    found = accounts().by_name(name)
    if found is None or found.get("deleted_at"):
        abort(404, "no such account")
    return name


@bp.get("/admin/accounts")
@role_required("admin")
def accounts_page() -> Response:
    """Every account with its role, whether it is disabled and how many sessions it has signed in."""
    return _page()


@bp.post("/admin/accounts/<name>/<change>")
@role_required("admin")
def change_account(name: str, change: str) -> BaseResponse:
    """Disable, enable or delete an account, end its sessions, give it another role (form field role) or
    reset its password ('reset': a one-time temporary password, shown on this page only); 400 with the
    reason if refused (such as the last active admin), 404 for no such account."""
    staff, actor = accounts(), Actor.of(signed_in_user())
    changes: dict[str, Callable[[], object]] = {
        "disable": lambda: staff.disable(name, actor),
        "enable": lambda: staff.enable(name, actor),
        "delete": lambda: staff.delete(name, actor),
        "sessions": lambda: staff.end_sessions(name, actor),
        "role": lambda: staff.set_role(name, request.form.get("role", ""), actor),
        "reset": lambda: staff.reset_password(name, None, actor),
    }
    if change not in changes:
        abort(404)
    _account_or_404(name)
    try:
        done = changes[change]()
    except AccountError as exc:
        return _page(str(exc), status=400)
    if change == "reset":
        return _page(temporary=(name, str(done)))
    flash(f"{name}：已完成（{change}）。")
    return redirect(url_for("admin.accounts_page"))


def _date(field: str) -> dt.date | None:
    raw = request.args.get(field, "")
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, f"'{field}' must be a date such as 2026-11-30")


@bp.get("/admin/audit")
@role_required("admin")
def audit_page() -> str:
    """Staff actions newest first, filtered by actor, action and dates (UTC, YYYY-MM-DD), 50 a page."""
    actor, action, page = (
        request.args.get("actor", "")[:80],
        request.args.get("action", ""),
        request.args.get("page", "1"),
    )
    if action and action not in ACTIONS:
        abort(400, f"'action' must be one of {', '.join(ACTIONS)}")
    number = whole_number(page, 1)
    if number is None:
        abort(400, "'page' must be a number from 1")
    since, until = _date("from"), _date("to")
    found = audit_log().search(actor or None, action or None, since, until, number)
    filters = {"actor": actor, "action": action, "from": request.args.get("from", ""), "to": request.args.get("to", "")}
    return render_template("admin_audit.html", user=signed_in_user(), actions=ACTIONS, filters=filters, **found)
