"""The human side measured: demand by hour and weekday, handle and wait times, agent utilisation,
the agents each coming hour needs (Erlang C, kb.desk.staffing), and the wait a queued customer is quoted.
Figures only: how they are worded for a customer is in bot/domain.yml and web/wording.py.

Handoff tickets carry created_at (arrival), claimed_at, closed_at and agent; agents' available/away
changes are kept in agent_status (migration v8).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from kb.clock import now, parse, stamp
from kb.database import Database
from kb.desk import DeskError
from kb.desk.metrics import overview
from kb.desk.staffing import StaffingTargets, agents_needed, expected_wait
from kb.desk.tickets import Tickets, handling_spans

STATUSES = ("available", "away")
UTILISATION_TARGET = 0.7  # the knowledge base's own chapter: service is best around 70 % utilisation


class SupervisionError(DeskError):
    """A status or figure that cannot be recorded."""


class Supervision:
    """Figures for the supervisor view, from the database; local times in `timezone`."""

    def __init__(self, db: Database, timezone: str = "Asia/Shanghai"):
        self.db, self.timezone, self.zone = db, timezone, ZoneInfo(timezone)

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
            dict(zip(("created_at", "claimed_at", "closed_at", "agent", "status", "id"), r))
            for r in self.db.execute(
                "SELECT created_at, claimed_at, closed_at, agent, status, id FROM handoffs WHERE created_at >= ?",
                [stamp(since)],
            )
        ]

    def handle_times(self, since: dt.datetime) -> dict:
        """Average handle time (claim to close: a transferred chat's whole human part, as one contact) and
        average wait (arrival to claim), in seconds."""
        handled = [
            (parse(t["closed_at"]) - parse(t["claimed_at"])).total_seconds()
            for t in self._tickets(since)
            if t["claimed_at"] and t["closed_at"]
        ]
        waited = [
            (parse(t["claimed_at"]) - parse(t["created_at"])).total_seconds()
            for t in self._tickets(since)
            if t["claimed_at"]
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
        last `weeks` weeks, in local time."""
        since = at - dt.timedelta(weeks=weeks)
        grids = {}
        for name, sql in (
            ("chats", "SELECT created_at FROM conversations WHERE created_at >= ?"),
            ("handoffs", "SELECT created_at FROM handoffs WHERE created_at >= ?"),
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
    ) -> list[dict]:
        """For each coming hour: the expected handoffs (the average of that weekday and hour over the
        last weeks), the agents Erlang C says answer target_share within target_seconds, and what
        they would achieve. The handle time is the observed average, or default_aht without data."""
        handoffs = self.demand(weeks, at)["handoffs"]
        aht = self.handle_times(at - dt.timedelta(weeks=weeks))["aht_seconds"] or default_aht
        plan = []
        local = at.astimezone(self.zone).replace(minute=0, second=0, microsecond=0)
        for h in range(hours):
            hour = local + dt.timedelta(hours=h)
            rate = handoffs[hour.weekday()][hour.hour]
            need = agents_needed(rate, aht, target_share, target_seconds, max_occupancy)
            plan.append(
                {
                    "hour": hour.strftime("%m-%d %H:00"),
                    "handoffs_per_hour": rate,
                    "aht_seconds": round(aht),
                    "traffic": round(need.traffic, 2),
                    "agents_needed": need.agents,
                    "service_level": round(need.service_level, 3),
                    "average_wait_seconds": round(need.average_wait, 1),
                    "occupancy": round(need.occupancy, 3),
                }
            )
        return plan

    def quoted_wait(self, position: int, at: dt.datetime, weeks: int = 4, default_aht: float = 300.0) -> float:
        """Seconds the customer at `position` in the queue can expect to wait, from the agents available
        now and the observed handle time (the same figures the staffing uses)."""
        aht = self.handle_times(at - dt.timedelta(weeks=weeks))["aht_seconds"] or default_aht
        return expected_wait(position, len(self.available_agents()), aht)


def supervisor_view(
    db: Database, timezone: str, at: dt.datetime, weeks: int, targets: StaffingTargets
) -> dict[str, Any]:
    """Everything a supervisor needs to staff the human queue at `at`, over the last `weeks` weeks: the
    queue now (tickets by status), the agents available, handle and wait times, the 12-hour staffing plan,
    and the figures the charts draw (demand, containment, 7-day utilisation against the 70 % target)."""
    sup, tickets = Supervision(db, timezone), Tickets(db)
    plan = sup.staffing(
        at,
        hours=12,
        weeks=weeks,
        target_share=targets.share,
        target_seconds=targets.seconds,
        default_aht=targets.default_handle_seconds,
        max_occupancy=targets.max_occupancy,
    )
    return {
        "queue": {status: tickets.count(status) for status in ("queued", "claimed", "callback")},
        "available": sup.available_agents(),
        "times": sup.handle_times(at - dt.timedelta(weeks=weeks)),
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
