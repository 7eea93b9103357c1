"""Synthetic demand for demos and tests: weeks of customer chats, handoffs and agents' shifts.

Arrivals follow a daily profile (a morning and an afternoon peak, a quieter evening, hardly
anyone at night) and a weekly one (busier Mondays, quieter weekends), drawn as a Poisson
process hour by hour; handle times are exponential. In service hours a handoff queues for the
agent free first; a customer whose patience (exponential, mean `patience_seconds`) runs out before
then leaves the queue (an 'abandoned' ticket). Outside them it becomes a callback, returned after the
next opening; those left since the last close, and one in ten older ones, are still open ('callback').
Agents are available in service hours. Seeded: the same seed gives the same data. Everything is marked
as synthetic: conversation ids start with 'demo-'.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

from kb.clock import stamp
from kb.database import Database
from kb.desk.rules import in_service_hours, service_window

# Relative chat volume by local hour of day (0-23) and by weekday (Monday first).
HOURLY = [
    0.05,
    0.03,
    0.02,
    0.02,
    0.02,
    0.05,
    0.15,
    0.4,
    0.8,
    1.0,
    1.0,
    0.9,
    0.6,
    0.7,
    0.95,
    1.0,
    0.9,
    0.7,
    0.55,
    0.6,
    0.65,
    0.5,
    0.3,
    0.12,
]
WEEKDAY = [1.2, 1.05, 1.0, 1.0, 0.95, 0.6, 0.5]
UNRETURNED_CALLBACKS = 0.1  # callbacks nobody has managed to return yet: the backlog's old end
QUESTIONS = [
    "客服热线是24小时服务的吗",
    "投诉一般多久处理完",
    "营业厅几点开门",
    "怎么办理宽带报装",
    "考核不合格的员工怎么处理",
    "营业部的员工可以泄露客户信息吗",
    "服务能力利用率多少最合适",
]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _next_opening(at: dt.datetime, hours: str) -> dt.datetime:
    """The first local moment at or after `at` when the desk opens ('HH:MM-HH:MM'; at must be local)."""
    start, _ = service_window(hours)
    opening = at.replace(hour=start // 60, minute=start % 60, second=0, microsecond=0)
    return opening if opening >= at else opening + dt.timedelta(days=1)


def _handoff(
    rng: random.Random,
    cid: str,
    question: str,
    at: dt.datetime,
    end: dt.datetime,
    free_at: dict[str, dt.datetime],
    service_hours: str,
    timezone: str,
    patience_rate: float,
    handle_rate: float,
) -> dict:
    """One handoff's ticket: in service hours taken by the agent free first (free_at is updated), or
    abandoned if the customer's patience runs out first; outside them a callback, returned after the next
    opening, or still open if that is after `end` (or for the share never reached, UNRETURNED_CALLBACKS)."""
    agent = min(free_at, key=lambda a: free_at[a])
    ticket: dict[str, str | None] = {"conversation_id": cid, "reason": "asked", "question": question}
    ticket |= {"passages": "[]", "contact": "", "created_at": stamp(at), "claimed_at": None, "closed_at": None}
    ticket |= {"agent": None, "due_at": None, "outcome": ""}
    if in_service_hours(service_hours, timezone, at):
        claimed = max(at + dt.timedelta(seconds=rng.uniform(3, 25)), free_at[agent])
        patience = dt.timedelta(seconds=rng.expovariate(patience_rate))
        if claimed - at > patience:
            return ticket | {"status": "abandoned", "closed_at": stamp(at + patience)}
    else:  # a callback, due at the opening (kb.desk.tickets): called, the call's time counted as handling
        ticket["due_at"] = stamp(_next_opening(at, service_hours))
        claimed = max(_next_opening(at, service_hours) + dt.timedelta(seconds=rng.uniform(0, 1800)), free_at[agent])
        if claimed >= end or rng.random() < UNRETURNED_CALLBACKS:
            return ticket | {"status": "callback"}
        ticket["outcome"] = "reached"
    free_at[agent] = claimed + dt.timedelta(seconds=rng.expovariate(handle_rate))
    return ticket | {
        "status": "closed",
        "claimed_at": stamp(claimed),
        "closed_at": stamp(free_at[agent]),
        "agent": agent,
    }


def generate(
    db: Database,
    days: int = 28,
    chats_per_peak_hour: float = 30.0,
    handoff_share: float = 0.15,
    aht_seconds: float = 300.0,
    agents: tuple[str, ...] = ("demo-agent-1", "demo-agent-2", "demo-agent-3"),
    timezone: str = "Asia/Shanghai",
    end: dt.datetime | None = None,
    seed: int = 1,
    service_hours: str = "08:00-22:00",
    patience_seconds: float = 300.0,
) -> dict[str, int]:
    """Write `days` days of synthetic demand ending at `end` (default now), the desk open in service_hours;
    returns counts of conversations, handoffs (abandoned and callbacks
    among them) and agents' status changes."""
    rng, zone = random.Random(seed), ZoneInfo(timezone)
    end = (end or dt.datetime.now(dt.UTC)).astimezone(zone).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    conversations: list[dict] = []
    messages: list[dict] = []
    handoffs: list[dict] = []
    statuses: list[dict] = []
    free_at = dict.fromkeys(agents, start)
    patience, aht = 1 / patience_seconds, 1 / aht_seconds  # the exponential draws' rates
    hour, was_open = start, False
    while hour < end:
        is_open = in_service_hours(service_hours, timezone, hour)
        if is_open or was_open:  # the agents' shift: available in service hours, away at closing
            status = "available" if is_open else "away"
            statuses.extend({"agent": a, "status": status, "at": stamp(hour)} for a in agents)
        was_open = is_open
        mean = chats_per_peak_hour * HOURLY[hour.hour] * WEEKDAY[hour.weekday()]
        arrivals = sorted(rng.uniform(0, 3600) for _ in range(_poisson(rng, mean)))  # in order: the queue is FIFO
        for at in (hour + dt.timedelta(seconds=offset) for offset in arrivals):
            cid = f"demo-{seed}-{len(conversations)}"
            conversations.append({"id": cid, "state": "bot", "created_at": stamp(at), "updated_at": stamp(at)})
            question = rng.choice(QUESTIONS)
            messages.append(
                {"conversation_id": cid, "sender": "customer", "text": question, "extra": "{}", "created_at": stamp(at)}
            )
            if rng.random() < handoff_share:
                handoffs.append(_handoff(rng, cid, question, at, end, free_at, service_hours, timezone, patience, aht))
            else:
                messages.append(
                    {
                        "conversation_id": cid,
                        "sender": "bot",
                        "text": "（演示数据）",
                        "extra": '{"sources": [{"article_id": "demo"}]}',
                        "created_at": stamp(at),
                    }
                )
        hour += dt.timedelta(hours=1)
    for a in agents:  # synthetic agents are never on duty now: they must not count in real staffing or waits
        statuses.append({"agent": a, "status": "away", "at": stamp(end)})
    with db.transaction():
        db["conversations"].insert_all(conversations, pk="id", ignore=True)
        db["messages"].insert_all(messages, pk="id")
        db["handoffs"].insert_all(handoffs, pk="id")
        db["agent_status"].insert_all(statuses, pk="id")
    kinds = [h["status"] for h in handoffs]
    return {
        "conversations": len(conversations),
        "handoffs": len(handoffs),
        "abandoned": kinds.count("abandoned"),
        "callbacks": kinds.count("callback"),
        "status_changes": len(statuses),
    }
