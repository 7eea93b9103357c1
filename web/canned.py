"""The curator's canned-replies page: add, edit and delete the short texts agents insert into their
replies (kb.desk.canned). Plain forms with CSRF tokens, as the other staff forms; a refused save shows the
page again with what was typed and why (400)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kb.desk.canned import MAX_CATEGORY, MAX_TEXT, MAX_TITLE, CannedReplies, CannedReplyError
from web.access import audit, role_required, signed_in_user
from web.db import database

bp = Blueprint("canned", __name__)


def _page(error: str | None = None, editing: int | None = None, status: int = 200) -> tuple[str, int]:
    """The page: every canned reply, the add form, and (after a refused save) what was typed and why."""
    return (
        render_template(
            "canned.html",
            user=signed_in_user(),
            replies=CannedReplies(database()).search(""),
            error=error,
            editing=editing,
            typed=request.form if error else {},
            limits={"title": MAX_TITLE, "text": MAX_TEXT, "category": MAX_CATEGORY},
        ),
        status,
    )


@bp.get("/curator/canned")
@role_required("curator")
def page() -> tuple[str, int]:
    """Every canned reply, with forms to add, edit and delete."""
    return _page()


@bp.post("/curator/canned")
@role_required("curator")
def add() -> Response | tuple[str, int]:
    """A new canned reply from the form (title, text, category)."""
    form = request.form
    try:
        reply = CannedReplies(database()).add(
            signed_in_user()["name"], form.get("title", ""), form.get("text", ""), form.get("category", "")
        )
    except CannedReplyError as exc:
        return _page(error=str(exc), status=400)
    audit("canned_changed", "canned_reply", reply.id, f"added: {reply.title}")
    flash(f"已添加快捷回复「{reply.title}」。")
    return redirect(url_for("canned.page"))


@bp.post("/curator/canned/<int:reply_id>")
@role_required("curator")
def edit(reply_id: int) -> Response | tuple[str, int]:
    """Save a changed canned reply (404 if it is gone)."""
    form = request.form
    try:
        reply = CannedReplies(database()).update(
            reply_id, signed_in_user()["name"], form.get("title", ""), form.get("text", ""), form.get("category", "")
        )
    except CannedReplyError as exc:
        return _page(error=str(exc), editing=reply_id, status=400)
    audit("canned_changed", "canned_reply", reply_id, f"edited: {reply.title}")
    flash(f"已保存快捷回复「{reply.title}」。")
    return redirect(url_for("canned.page"))


@bp.post("/curator/canned/<int:reply_id>/delete")
@role_required("curator")
def delete(reply_id: int) -> Response:
    """Remove a canned reply (404 if it is gone)."""
    CannedReplies(database()).delete(reply_id)
    audit("canned_changed", "canned_reply", reply_id, "deleted")
    flash("已删除快捷回复。")
    return redirect(url_for("canned.page"))
