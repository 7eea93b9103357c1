"""The admin pages (role admin): staff accounts (disable, enable, delete, reset a password, change a role,
end sessions: kb.desk.accounts, which records each change in the audit log) and the audit log itself."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from kb.desk.accounts import ROLES, AccountError
from kb.desk.audit import ACTIONS, Actor
from web.access import role_required, signed_in_user
from web.db import accounts, audit_log
from web.params import whole_number

bp = Blueprint("admin", __name__)
# What admins read for the audit log's actions and the accounts page's changes (the stored codes stay English).
ACTION_LABELS = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "contact_revealed": "查看客户号码",
    "ticket_claimed": "接入会话",
    "ticket_closed": "结束会话",
    "ticket_transferred": "转接会话",
    "callback_taken": "认领回电",
    "callback_attempt": "记录回电",
    "entry_saved": "保存知识",
    "entry_deleted": "删除知识",
    "entry_restored": "恢复历史版本",
    "entry_published": "发布问答",
    "file_imported": "导入文件",
    "lexicon_changed": "修改同义词",
    "canned_changed": "修改快捷回复",
    "account_created": "新建账号",
    "account_disabled": "停用账号",
    "account_enabled": "启用账号",
    "account_deleted": "删除账号",
    "role_changed": "修改角色",
    "password_reset": "重置密码",
    "password_changed": "本人修改密码",
    "sessions_ended": "强制退出",
}
CHANGE_LABELS = {
    "disable": "已停用",
    "enable": "已启用",
    "delete": "已删除",
    "sessions": "已强制退出",
    "role": "角色已修改",
}
ROLE_LABELS = {"agent": "坐席", "curator": "知识维护", "supervisor": "主管", "admin": "管理员"}
TARGET_LABELS = {
    "ticket": "工单",
    "account": "账号",
    "article": "文章",
    "faq": "问答",
    "lexicon": "同义词表",
    "canned_reply": "快捷回复",
    "import": "导入",
}
# The log keeps its details in English (for `kefu audit` and scripts); the page shows them in Chinese.
DETAIL_WORDS = {
    "reached": "已联系上",
    "no_answer": "无人接听",
    "wrong_number": "号码错误",
    "withdrawn": "客户已取消",
    "new": "新建",
    "edited": "修改",
    "deleted": "已删除",
    "by a supervisor": "由主管结束",
    "saved the whole list": "保存整张表",
    "nothing changed": "没有变化",
    "create": "新建",
    "update": "更新",
    "unchanged": "未变",
    "delete": "删除",
    **ROLE_LABELS,
}


def _words(text: str) -> str:
    """English words of the log ('create 7, update 1', 'agent -> supervisor') in Chinese."""
    said = re.sub(r"[a-z_]+(?: [a-z]+)*", lambda m: DETAIL_WORDS.get(m[0], m[0]), text)
    return said.replace(", ", "，").replace(" -> ", " → ")


def _counts(detail: str) -> str:
    """'names (create 7, update 1)' -> 'names（新建 7，更新 1）': only the log's own bracket at the end."""
    found = re.fullmatch(r"(.*) \(([^()]*)\)", detail, re.S)
    return f"{found[1]}（{_words(found[2])}）" if found else detail


def _prefixed(detail: str) -> str:
    found = re.fullmatch(r"(added|edited): (.+)", detail, re.S)
    return ("新增：" if found[1] == "added" else "修改：") + found[2] if found else DETAIL_WORDS.get(detail, detail)


def _last_words(detail: str) -> str:
    """'alice agent -> supervisor' -> 'alice 坐席 → 主管': the account's name stays as typed."""
    name, _, rest = detail.partition(" ")
    return f"{name} {_words(rest)}" if rest else detail


DETAILS: dict[str, Callable[[str], str]] = {
    "sign_in": lambda d: re.sub(r"^from ", "来自 ", d),
    "sign_in_failed": lambda d: re.sub(r"^from ", "来自 ", d),
    "callback_attempt": lambda d: DETAIL_WORDS.get(d, d),
    "ticket_closed": lambda d: DETAIL_WORDS.get(d, d),
    "ticket_transferred": lambda d: d.replace(" -> ", " → "),
    "entry_saved": lambda d: DETAIL_WORDS.get(d, d),
    "entry_restored": lambda d: re.sub(r"^revision (\d+)$", r"恢复到版本 \1", d),
    "file_imported": _counts,
    "lexicon_changed": _prefixed,
    "canned_changed": _prefixed,
    "account_created": _counts,
    "role_changed": _last_words,
}


def audit_detail(action: str, detail: str) -> str:
    """An audit row's detail as the page shows it: the log's own English words in Chinese, by action ('no_answer'
    -> 无人接听, 'from 127.0.0.1' -> 来自 127.0.0.1, '(create 7)' -> （新建 7）); what staff typed stays as it is."""
    shown = DETAILS.get(action)
    return shown(detail) if shown else detail


def _page(error: str | None = None, temporary: tuple[str, str] | None = None, status: int = 200) -> Response:
    """The accounts page; temporary: (name, password) just reset, shown this once and never cached."""
    html = render_template(
        "admin_accounts.html",
        user=signed_in_user(),
        accounts=accounts().listed(),
        roles=ROLES,
        role_labels=ROLE_LABELS,
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
    flash(f"{name}：{CHANGE_LABELS[change]}。")
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
    return render_template(
        "admin_audit.html",
        user=signed_in_user(),
        actions=ACTIONS,
        labels=ACTION_LABELS,
        targets=TARGET_LABELS,
        detail=audit_detail,
        filters=filters,
        **found,
    )
