"""The supervisor view (role supervisor; admins too): demand, handle times, utilisation, the queue now,
and Erlang C staffing for the coming hours beside the agents available."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kb.desk import DeskError, DeskNotFound
from kb.desk.supervision import supervisor_view
from web import wording
from web.access import audit, role_required, signed_in_user
from web.db import database, desk, rasa, settings
from web.params import whole_number

bp = Blueprint("supervisor", __name__)


@bp.get("/supervisor/")
@role_required("supervisor")
def view() -> str:
    """Everything a supervisor needs to staff the human queue."""
    weeks_arg = request.args.get("weeks", "4")
    weeks = whole_number(weeks_arg, 1, 12) or 4
    configured = settings()
    figures = supervisor_view(
        database(),
        configured.timezone,
        dt.datetime.now(dt.UTC),
        weeks,
        configured.staffing_targets,
        service_hours=configured.service_hours,
    )
    held = desk().tickets.recent("claimed")  # chats an agent holds now: the supervisor may end one
    return render_template(
        "supervisor.html", user=signed_in_user(), weeks=weeks, settings=configured, held=held, **figures
    )


@bp.post("/supervisor/tickets/<int:ticket_id>/close")
@role_required("supervisor")
def close_chat(ticket_id: int) -> Response:
    """A supervisor ends a chat an agent holds (the agent is away, or the chat is stuck): the ticket closes and
    keeps its agent, the customer is told and the bot takes the conversation back, as when the agent closes
    it (kb.desk.service.Desk.close_chat). Back to the supervisor view with what happened; 404 for no such chat."""
    user = signed_in_user()
    try:
        resumed = desk().close_chat(ticket_id, user["name"], wording.CHAT_ENDED, rasa().handed_back, role=user["role"])
    except DeskNotFound:
        raise  # 404, as for any desk record that does not exist
    except DeskError as exc:
        flash(f"会话 #{ticket_id} 没有结束：{SUPERVISOR_ERRORS.get(str(exc), str(exc))}")
    else:
        audit("ticket_closed", "ticket", ticket_id, "by a supervisor")
        then = "，智能客服已接回。" if resumed else "；机器人暂时联系不上，客户下一句由系统接待。"
        flash(f"会话 #{ticket_id} 已结束{then}")
    return redirect(url_for("supervisor.view"))


SUPERVISOR_ERRORS = {  # kb.desk.service's refusals, as a supervisor reads them
    "this ticket is closed already": "它已经结束了。",
    "this ticket changed: look again": "它刚被转接或接入，请刷新后再看。",
}
