"""The supervisor view (role supervisor; admins too): demand, handle times, utilisation, the queue now,
and Erlang C staffing for the coming hours beside the agents available."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request

from kb.desk import Desk
from kb.metrics import overview
from kb.supervision import UTILISATION_TARGET, Supervision
from web.auth import current_user, role_required
from web.chat import store

bp = Blueprint("supervisor", __name__)


@bp.get("/supervisor/")
@role_required("supervisor")
def view():
    """Everything a supervisor needs to staff the human queue."""
    settings = current_app.config["KEFU_SETTINGS"]
    weeks = request.args.get("weeks", "4")
    weeks = int(weeks) if weeks.isdigit() and 1 <= int(weeks) <= 12 else 4
    at = dt.datetime.now(dt.timezone.utc)
    sup = Supervision(store(), settings.timezone)
    desk = Desk(store())
    queue = {status: len(desk.handoffs(status, limit=10000)) for status in ("queued", "claimed", "callback")}
    available = sup.available_agents()
    times = sup.handle_times(at - dt.timedelta(weeks=weeks))
    plan = sup.staffing(at, hours=12, weeks=weeks, target_share=settings.staffing_target_share,
                        target_seconds=settings.staffing_target_seconds, default_aht=settings.default_handle_seconds,
                        max_occupancy=settings.staffing_max_occupancy)
    figures = {"demand": sup.demand(weeks, at), "plan": plan,
               "containment": overview(store(), 7 * weeks, settings.timezone),
               "utilisation": sup.utilisation(at - dt.timedelta(days=7), at), "target": UTILISATION_TARGET}
    return render_template("supervisor.html", user=current_user(), weeks=weeks, queue=queue, available=available,
                           times=times, plan=plan, figures=figures, settings=settings)
