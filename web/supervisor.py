"""The supervisor view (role supervisor; admins too): demand, handle times, utilisation, the queue now,
and Erlang C staffing for the coming hours beside the agents available."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from kb.desk.supervision import supervisor_view
from web.access import role_required, signed_in_user
from web.db import database, settings
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
    return render_template("supervisor.html", user=signed_in_user(), weeks=weeks, settings=configured, **figures)
