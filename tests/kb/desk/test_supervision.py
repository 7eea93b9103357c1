"""The supervisor's figures: availability, handle times, utilisation, demand, staffing; the page."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.database import Database
from kb.desk.demand import generate
from kb.desk.supervision import Supervision, SupervisionError, quoted_minutes
from kb.desk.tickets import Tickets

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, a Friday


def stamp(t: dt.datetime) -> str:
    return t.isoformat()


def test_availability_and_utilisation(tmp_path):
    db = Database.open(tmp_path / "k.db")
    sup, tickets = Supervision(db), Tickets(db)
    assert sup.status("a1") == "away" and sup.available_agents() == []
    sup.set_status("a1", "available", stamp(NOW - dt.timedelta(hours=4)))
    sup.set_status("a1", "away", stamp(NOW - dt.timedelta(hours=2)))
    sup.set_status("a2", "available", stamp(NOW - dt.timedelta(hours=1)))
    with pytest.raises(SupervisionError):
        sup.set_status("a1", "asleep")
    assert sup.available_agents() == ["a2"] and sup.status("a1") == "away"
    ticket = tickets.open("c1", "asked", "q")
    with db.transaction():
        db["handoffs"].update(
            ticket.id,
            {
                "created_at": stamp(NOW - dt.timedelta(hours=3, minutes=1)),
                "claimed_at": stamp(NOW - dt.timedelta(hours=3)),
                "closed_at": stamp(NOW - dt.timedelta(hours=2, minutes=36)),
                "agent": "a1",
                "status": "closed",
            },
        )
    times = sup.handle_times(NOW - dt.timedelta(days=1))
    assert times == {"handled": 1, "aht_seconds": 1440.0, "asa_seconds": 60.0}
    rows = {r["agent"]: r for r in sup.utilisation(NOW - dt.timedelta(hours=5), NOW)}
    assert rows["a1"]["available_seconds"] == 7200 and rows["a1"]["utilisation"] == 0.2  # 24 of 120 minutes
    assert rows["a2"]["available_seconds"] == 3600 and rows["a2"]["utilisation"] == 0.0


def test_synthetic_demand_has_the_daily_shape_and_staffing_follows_it(tmp_path):
    db = Database.open(tmp_path / "k.db")
    counts = generate(db, days=28, chats_per_peak_hour=40, end=NOW, seed=3)
    assert counts["conversations"] > 5000 and counts["handoffs"] > 500
    assert generate(Database.open(tmp_path / "again.db"), days=28, chats_per_peak_hour=40, end=NOW, seed=3) == counts
    sup = Supervision(db)
    demand = sup.demand(4, NOW)
    friday = demand["chats"][4]
    assert friday[10] > 10 * max(friday[3], 0.1) and sum(demand["chats"][6]) < sum(demand["chats"][0])
    times = sup.handle_times(NOW - dt.timedelta(weeks=4))
    assert 240 < times["aht_seconds"] < 360  # exponential, mean 300 s
    plan = sup.staffing(NOW, hours=12, target_share=0.8, target_seconds=20)
    by_hour = {p["hour"][-5:]: p for p in plan}
    assert by_hour["15:00"]["agents_needed"] > by_hour["01:00"]["agents_needed"]  # afternoon peak, night
    assert all(p["service_level"] >= 0.8 or p["handoffs_per_hour"] == 0 for p in plan)
    capped = sup.staffing(NOW, hours=12, max_occupancy=0.7)
    assert all(c["occupancy"] <= 0.7 and c["agents_needed"] >= p["agents_needed"] for c, p in zip(capped, plan))


def test_the_quoted_wait_in_whole_minutes():
    assert quoted_minutes(240) == 4 and quoted_minutes(10) == 1 and quoted_minutes(150) == 2
    assert quoted_minutes(float("inf")) is None  # nobody available
