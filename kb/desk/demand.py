"""Synthetic demand for demos and tests: weeks of customer chats, handoffs and agents' shifts.

Arrivals follow a daily profile (a morning and an afternoon peak, a quieter evening, hardly
anyone at night) and a weekly one (busier Mondays, quieter weekends), drawn as a Poisson
process hour by hour; handle times are exponential. Seeded: the same seed gives the same data.
Everything is marked as synthetic: conversation ids start with 'demo-'.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

from kb.clock import stamp
from kb.database import Database

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
) -> dict[str, int]:
    """Write `days` days of synthetic demand ending at `end` (default now); returns counts."""
    rng, zone = random.Random(seed), ZoneInfo(timezone)
    end = (end or dt.datetime.now(dt.UTC)).astimezone(zone).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    conversations: list[dict] = []
    messages: list[dict] = []
    handoffs: list[dict] = []
    statuses: list[dict] = []
    free_at = dict.fromkeys(agents, start)
    hour = start
    while hour < end:
        if 8 <= hour.hour < 22:  # the agents' shift: available in service hours
            for a in agents:
                statuses.append({"agent": a, "status": "available", "at": stamp(hour)})
        elif hour.hour == 22:
            for a in agents:
                statuses.append({"agent": a, "status": "away", "at": stamp(hour)})
        mean = chats_per_peak_hour * HOURLY[hour.hour] * WEEKDAY[hour.weekday()]
        for _ in range(_poisson(rng, mean)):
            at = hour + dt.timedelta(seconds=rng.uniform(0, 3600))
            cid = f"demo-{seed}-{len(conversations)}"
            conversations.append({"id": cid, "state": "bot", "created_at": stamp(at), "updated_at": stamp(at)})
            question = rng.choice(QUESTIONS)
            messages.append(
                {"conversation_id": cid, "sender": "customer", "text": question, "extra": "{}", "created_at": stamp(at)}
            )
            if rng.random() < handoff_share and 8 <= at.hour < 22:
                agent = min(agents, key=lambda a: free_at[a])
                claimed = max(at + dt.timedelta(seconds=rng.uniform(5, 40)), free_at[agent])
                closed = claimed + dt.timedelta(seconds=rng.expovariate(1 / aht_seconds))
                free_at[agent] = closed
                handoffs.append(
                    {
                        "conversation_id": cid,
                        "reason": "asked",
                        "question": question,
                        "passages": "[]",
                        "status": "closed",
                        "contact": "",
                        "created_at": stamp(at),
                        "claimed_at": stamp(claimed),
                        "closed_at": stamp(closed),
                        "agent": agent,
                    }
                )
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
    return {"conversations": len(conversations), "handoffs": len(handoffs), "status_changes": len(statuses)}
