"""The human side measured: demand by hour and weekday, handle and wait times, agent utilisation,
the agents each coming hour needs (Erlang C, kb.desk.staffing), the achieved service level, abandonment
and callback backlog, and the wait a queued customer is quoted. Figures only: how they are worded for a
customer is in bot/domain.yml and web/wording.py.

Handoff tickets carry created_at (arrival), claimed_at, closed_at and agent; agents' available/away
changes are kept in agent_status (migration v8). A handoff created in service hours is a chat that
queued (a live chat); one created outside them became a callback (judged by today's service hours).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from kb.clock import now, parse, stamp
from kb.database import Database
from kb.desk import DeskError
from kb.desk.metrics import overview
from kb.desk.rules import ALWAYS_OPEN, in_service_hours, open_minutes, opens_in
from kb.desk.staffing import HourDemand, StaffingTargets, callbacks_due, expected_wait, hour_plan
from kb.desk.tickets import Tickets, handling_spans

STATUSES = ("available", "away")
UTILISATION_TARGET = 0.7  # the knowledge base's own chapter: service is best around 70 % utilisation
# The handoffs that make work for agents: not a callback the customer withdrew while it was taken down ('不用回电了',
# often after NLU took a question for a request for one), which nobody calls.
WORK_FOR_AGENTS = "COALESCE(outcome, '') <> 'withdrawn'"


class SupervisionError(DeskError):
    """A status or figure that cannot be recorded."""


class Supervision:
    """Figures for the supervisor view, from the database; local times in `timezone`, the desk open in
    `service_hours` ('HH:MM-HH:MM', local)."""

    def __init__(self, db: Database, timezone: str = "Asia/Shanghai", service_hours: str = ALWAYS_OPEN):
        self.db, self.timezone, self.zone = db, timezone, ZoneInfo(timezone)
        self.service_hours = service_hours

    def queued_chat(self, ticket: dict) -> bool:
        """Whether a handoff row was a chat that queued: never a callback (no due time: a callback ticket, out of
        hours or asked for, has one; kb.desk.tickets) and created in service hours."""
        return not ticket.get("due_at") and self.live(ticket["created_at"])

    def live(self, created_at: str) -> bool:
        """Whether a handoff created at this stamp was a chat that queued (in service hours), not a callback."""
        return in_service_hours(self.service_hours, self.timezone, parse(created_at))

    # Agents' availability -------------------------------------------------------

    def set_status(self, agent: str, status: str, at: str | None = None) -> None:
        """An agent marks themselves available or away."""
        if status not in STATUSES:
            raise SupervisionError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self.db.transaction():
            self.db["agent_status"].insert({"agent": agent, "status": status, "at": at or now()})

    def status(self, agent: str) -> str:
        """An agent's current status ('away' until they say otherwise)."""
        row = self.db.execute(
            "SELECT status FROM agent_status WHERE agent = ? ORDER BY at DESC, id DESC LIMIT 1", [agent]
        ).fetchone()
        return row[0] if row else "away"

    def available_agents(self) -> list[str]:
        """Agents whose latest status is available."""
        rows = self.db.execute(
            "SELECT agent, status FROM agent_status a WHERE id = (SELECT id FROM agent_status b "
            "WHERE b.agent = a.agent ORDER BY at DESC, id DESC LIMIT 1)"
        ).fetchall()
        return sorted(agent for agent, status in rows if status == "available")

    def available_seconds(self, since: dt.datetime, until: dt.datetime) -> dict[str, float]:
        """Seconds each agent was available within [since, until)."""
        rows = self.db.execute("SELECT agent, status, at FROM agent_status ORDER BY agent, at, id").fetchall()
        spans: dict[str, float] = defaultdict(float)
        by_agent: dict[str, list] = defaultdict(list)
        for agent, status, at in rows:
            by_agent[agent].append((status, parse(at)))
        for agent, changes in by_agent.items():
            for (status, start), nxt in zip(changes, [*changes[1:], (None, until)]):
                end = nxt[1]
                if status == "available":
                    spans[agent] += max(0.0, (min(end, until) - max(start, since)).total_seconds())
        return dict(spans)

    # Tickets ---------------------------------------------------------------------

    def _tickets(self, since: dt.datetime) -> list[dict]:
        return [
            dict(zip(("created_at", "claimed_at", "closed_at", "agent", "status", "id", "due_at"), r))
            for r in self.db.execute(
                "SELECT created_at, claimed_at, closed_at, agent, status, id, due_at FROM handoffs "
                "WHERE created_at >= ?",
                [stamp(since)],
            )
        ]

    def handle_times(self, since: dt.datetime) -> dict:
        """Average handle time (claim to close, callbacks too: a transferred chat's whole human part, as one
        contact) and average wait (arrival to claim, chats that queued in service hours only), in seconds; None
        without tickets."""
        handled = [
            (parse(t["closed_at"]) - parse(t["claimed_at"])).total_seconds()
            for t in self._tickets(since)
            if t["claimed_at"] and t["closed_at"]
        ]
        waited = [  # a callback's night until opening is not a queued customer's wait
            (parse(t["claimed_at"]) - parse(t["created_at"])).total_seconds()
            for t in self._tickets(since)
            if t["claimed_at"] and self.queued_chat(t)
        ]
        return {
            "handled": len(handled),
            "aht_seconds": sum(handled) / len(handled) if handled else None,
            "asa_seconds": sum(waited) / len(waited) if waited else None,
        }

    def utilisation(self, since: dt.datetime, until: dt.datetime) -> list[dict]:
        """Per agent: time available, time handling chats, and the share (target 70 %). A transferred chat
        counts for each agent while they held it (kb.desk.tickets.handling_spans)."""
        available = self.available_seconds(since, until)
        handling: dict[str, float] = defaultdict(float)
        early = since - dt.timedelta(days=1)
        transfers: dict[int, list[dict]] = defaultdict(list)
        for row in self.db["ticket_transfers"].rows_where("at >= ?", [stamp(early)], order_by="id"):
            transfers[row["handoff_id"]].append(row)
        for t in self._tickets(early):
            if not (t["agent"] and t["claimed_at"]):
                continue
            for agent, begun, ended in handling_spans(t["agent"], t["claimed_at"], t["closed_at"], transfers[t["id"]]):
                start, end = parse(begun), parse(ended) if ended else until
                handling[agent] += max(0.0, (min(end, until) - max(start, since)).total_seconds())
        return [
            {
                "agent": agent,
                "available_seconds": round(available.get(agent, 0.0)),
                "handling_seconds": round(handling.get(agent, 0.0)),
                "utilisation": (
                    round(handling.get(agent, 0.0) / available[agent], 3) if available.get(agent) else None
                ),
            }
            for agent in sorted(set(available) | set(handling))
        ]

    # Demand ----------------------------------------------------------------------

    def demand(self, weeks: int, at: dt.datetime) -> dict:
        """Average chats and handoffs per hour, for each weekday (0 = Monday) and hour of day, over the
        last `weeks` weeks, in local time (handoffs: WORK_FOR_AGENTS)."""
        since = at - dt.timedelta(weeks=weeks)
        grids = {}
        for name, sql in (
            ("chats", "SELECT created_at FROM conversations WHERE created_at >= ?"),
            ("handoffs", f"SELECT created_at FROM handoffs WHERE created_at >= ? AND {WORK_FOR_AGENTS}"),
        ):
            grid = [[0.0] * 24 for _ in range(7)]
            for (created,) in self.db.execute(sql, [stamp(since)]):
                local = parse(created).astimezone(self.zone)
                grid[local.weekday()][local.hour] += 1.0 / weeks
            grids[name] = [[round(v, 2) for v in row] for row in grid]
        return grids

    def staffing(
        self,
        at: dt.datetime,
        hours: int = 12,
        weeks: int = 4,
        target_share: float = 0.8,
        target_seconds: float = 20.0,
        default_aht: float = 300.0,
        max_occupancy: float = 1.0,
        callback_hours: int = 1,
    ) -> list[dict]:
        """For each coming hour (kb.desk.staffing.hour_plan): closed hours need no agents and show the
        handoffs expected out of hours (they become callbacks); open hours get the agents Erlang C says
        answer target_share within target_seconds, for the live handoffs expected (the average of that
        weekday and hour over the last weeks) plus the callbacks due: those expected out of hours since
        the previous close, and the open callback tickets now, spread over the first callback_hours open
        hours (callbacks_due). The handle time is the observed average, or default_aht without data."""
        live, after_hours = self.handoff_grids(weeks, at)
        aht = self.handle_times(at - dt.timedelta(weeks=weeks))["aht_seconds"] or default_aht
        targets = StaffingTargets(target_share, target_seconds, max_occupancy, default_aht, callback_hours)
        local = at.astimezone(self.zone).replace(minute=0, second=0, microsecond=0)
        slots = []
        for h in range(hours):
            hour = local + dt.timedelta(hours=h)
            slots.append(
                HourDemand(
                    hour.strftime("%m-%d %H:00"),
                    open_minutes(self.service_hours, hour.hour),
                    opens_in(self.service_hours, hour.hour),
                    live[hour.weekday()][hour.hour],
                    after_hours[hour.weekday()][hour.hour],
                )
            )
        due = callbacks_due(slots, Tickets(self.db).count("callback"), callback_hours)
        return [hour_plan(slot, callbacks, aht, targets) for slot, callbacks in zip(slots, due)]

    def handoff_grids(self, weeks: int, at: dt.datetime) -> tuple[list[list[float]], list[list[float]]]:
        """Average handoffs per hour for each weekday (0 = Monday) and local hour over the last `weeks` weeks,
        as two grids: those created in service hours (live chats) and those outside them (callbacks); a
        callback the customer withdrew is no work for an agent (WORK_FOR_AGENTS)."""
        live, after_hours = [[0.0] * 24 for _ in range(7)], [[0.0] * 24 for _ in range(7)]
        since = stamp(at - dt.timedelta(weeks=weeks))
        rows = self.db.execute(f"SELECT created_at FROM handoffs WHERE created_at >= ? AND {WORK_FOR_AGENTS}", [since])
        for (created,) in rows:
            local = parse(created).astimezone(self.zone)
            grid = live if self.live(created) else after_hours
            grid[local.weekday()][local.hour] += 1.0 / weeks
        return live, after_hours

    # Achieved service ------------------------------------------------------------

    def service_figures(self, since: dt.datetime, at: dt.datetime, target_seconds: float) -> dict:
        """What the queue achieved for the chats that queued (handoffs created in service hours, not waiting
        for a callback) from `since` to `at`: queue_outcomes's figures."""
        chats = [
            t
            for t in self._tickets(since)
            if parse(t["created_at"]) < at and t["status"] != "callback" and self.queued_chat(t)
        ]
        return queue_outcomes(chats, target_seconds, at)

    def callback_backlog(self, at: dt.datetime) -> dict:
        """The callback tickets still open at `at`: {'open': how many, 'oldest_at': the oldest one's stamp or
        None, 'oldest_seconds': its age in seconds or None}."""
        count, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM handoffs WHERE status = 'callback'"
        ).fetchone()
        age = round((at - parse(oldest)).total_seconds()) if oldest else None
        return {"open": int(count), "oldest_at": oldest, "oldest_seconds": age}

    def quoted_wait(self, position: int, at: dt.datetime, weeks: int = 4, default_aht: float = 300.0) -> float:
        """Seconds the customer at `position` in the queue can expect to wait, from the agents available
        now (those with no chat in hand take the first places at once) and the observed handle time (the
        same figures the staffing uses)."""
        aht = self.handle_times(at - dt.timedelta(weeks=weeks))["aht_seconds"] or default_aht
        available = self.available_agents()
        busy = {  # in a chat, or on the phone returning a callback they took
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT agent FROM handoffs WHERE status = 'claimed' "
                "OR (status = 'callback' AND agent IS NOT NULL)"
            )
        }
        free = sum(agent not in busy for agent in available)
        return expected_wait(position, len(available), aht, free)


def queue_outcomes(chats: Iterable[Mapping[str, Any]], target_seconds: float, at: dt.datetime) -> dict:
    """Service level and abandonment over chats that queued (each a mapping with the stamps created_at and
    claimed_at, and status), seen at `at`:

    - service level: chats answered (claimed) within target_seconds of arriving, over the chats whose
      outcome is known: answered, abandoned (short abandons too), closed unanswered, or still waiting past
      the target (one waiting less is not counted yet); None without any;
    - abandonment rate: chats whose customer left the queue before an agent took them (status
      'abandoned'), over all the chats that queued; None without any.

    Returns {'queued', 'answered', 'answered_in_target', 'abandoned', 'decided', 'service_level',
    'abandonment_rate', 'target_seconds'}; rates are 0-1, rounded to 3 places."""
    queued = answered = in_target = abandoned = decided = 0
    for chat in chats:
        queued += 1
        created = parse(chat["created_at"])
        if chat["claimed_at"]:
            answered += 1
            in_target += (parse(chat["claimed_at"]) - created).total_seconds() <= target_seconds
        elif chat["status"] == "abandoned":
            abandoned += 1
        elif chat["status"] == "queued" and (at - created).total_seconds() <= target_seconds:
            continue  # still within the target: neither a hit nor a miss yet
        decided += 1
    return {
        "queued": queued,
        "answered": answered,
        "answered_in_target": in_target,
        "abandoned": abandoned,
        "decided": decided,
        "service_level": round(in_target / decided, 3) if decided else None,
        "abandonment_rate": round(abandoned / queued, 3) if queued else None,
        "target_seconds": target_seconds,
    }


def supervisor_view(
    db: Database, timezone: str, at: dt.datetime, weeks: int, targets: StaffingTargets, *, service_hours: str
) -> dict[str, Any]:
    """Everything a supervisor needs to staff the human queue at `at`, over the last `weeks` weeks, with the
    desk open in `service_hours`: the queue now (tickets by status), the agents available, handle and wait
    times, the achieved service level and abandonment (queue_outcomes), the callback backlog, the 12-hour
    staffing plan (closed hours marked), and the figures the charts draw (demand, containment, 7-day
    utilisation against the 70 % target)."""
    sup, tickets = Supervision(db, timezone, service_hours), Tickets(db)
    since = at - dt.timedelta(weeks=weeks)
    plan = sup.staffing(
        at,
        hours=12,
        weeks=weeks,
        target_share=targets.share,
        target_seconds=targets.seconds,
        default_aht=targets.default_handle_seconds,
        max_occupancy=targets.max_occupancy,
        callback_hours=targets.callback_hours,
    )
    return {
        "queue": {status: tickets.count(status) for status in ("queued", "claimed", "callback")},
        "available": sup.available_agents(),
        "times": sup.handle_times(since),
        "service": sup.service_figures(since, at, targets.seconds),
        "backlog": sup.callback_backlog(at),
        "plan": plan,
        "figures": {
            "demand": sup.demand(weeks, at),
            "plan": plan,
            "containment": overview(db, 7 * weeks, timezone),
            "utilisation": sup.utilisation(at - dt.timedelta(days=7), at),
            "target": UTILISATION_TARGET,
        },
    }


def quoted_minutes(wait_seconds: float) -> int | None:
    """The wait as a customer is told it: whole minutes, at least 1; None when no agent is available."""
    if wait_seconds == float("inf"):
        return None
    return max(1, round(wait_seconds / 60))
