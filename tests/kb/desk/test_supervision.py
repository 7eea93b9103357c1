"""The supervisor's figures: availability, handle times, utilisation, demand, staffing; the page."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.demand import generate
from kb.desk.rules import ALWAYS_OPEN
from kb.desk.supervision import Supervision, SupervisionError, queue_outcomes, quoted_minutes
from kb.desk.tickets import Tickets

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, a Friday
HOURS = "08:00-22:00"


def stamp(t: dt.datetime) -> str:
    return t.isoformat()


def test_availability_and_utilisation(new_database, tmp_path):
    db = new_database("k")
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


def test_synthetic_demand_has_the_daily_shape_and_staffing_follows_it(new_database, tmp_path):
    db = new_database("k")
    counts = generate(db, days=28, chats_per_peak_hour=40, end=NOW, seed=3)
    assert counts["conversations"] > 5000 and counts["handoffs"] > 500
    assert generate(new_database("again"), days=28, chats_per_peak_hour=40, end=NOW, seed=3) == counts
    assert counts["abandoned"] > 0 and counts["callbacks"] > 0  # the demo shows every tile
    sup = Supervision(db, "Asia/Shanghai", HOURS)
    demand = sup.demand(4, NOW)
    friday = demand["chats"][4]
    assert friday[10] > 10 * max(friday[3], 0.1) and sum(demand["chats"][6]) < sum(demand["chats"][0])
    times = sup.handle_times(NOW - dt.timedelta(weeks=4))
    assert 240 < times["aht_seconds"] < 360  # exponential, mean 300 s
    assert times["asa_seconds"] < 60  # a callback's night until opening is not a queued customer's wait
    service = sup.service_figures(NOW - dt.timedelta(weeks=4), NOW, 20)
    assert 0.5 < service["service_level"] < 1 and 0 < service["abandonment_rate"] < 0.2
    backlog = sup.callback_backlog(NOW)
    assert backlog["open"] == Tickets(db).count("callback") > 0 and backlog["oldest_seconds"] > 86400
    plan = sup.staffing(NOW, hours=12, target_share=0.8, target_seconds=20)
    by_hour = {p["hour"][-5:]: p for p in plan}
    assert by_hour["15:00"]["agents_needed"] > 0 and by_hour["15:00"]["handoffs_per_hour"] > 0
    assert [p["hour"][-5:] for p in plan if not p["open"]] == ["22:00", "23:00", "00:00", "01:00"]
    assert all("agents_needed" not in p for p in plan if not p["open"])
    assert by_hour["14:00"]["callbacks_per_hour"] == backlog["open"]  # open now: the backlog is due now
    assert all(p["service_level"] >= 0.8 for p in plan if p["open"])
    capped = sup.staffing(NOW, hours=12, max_occupancy=0.7)
    for c, p in zip(capped, plan):
        assert not p["open"] or (c["occupancy"] <= 0.7 and c["agents_needed"] >= p["agents_needed"])


def handoff(created: dt.datetime, status: str = "closed", waited: float | None = 10, handled: float = 300) -> dict:
    claimed = created + dt.timedelta(seconds=waited) if waited is not None else None
    return {
        "conversation_id": f"c-{created.isoformat()}",
        "reason": "asked",
        "question": "q",
        "passages": "[]",
        "status": status,
        "contact": "",
        "created_at": stamp(created),
        "claimed_at": stamp(claimed) if claimed else None,
        "closed_at": stamp(claimed + dt.timedelta(seconds=handled)) if claimed else None,
        "agent": "a1" if claimed else None,
    }


def test_the_plan_needs_no_agents_after_closing_and_puts_the_nights_callbacks_into_the_opening(new_database, tmp_path):
    db = new_database("k")
    at = dt.datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # Friday 21:00 in Shanghai, an hour before closing
    rows = []
    for day in range(1, 8):  # each weekday once: a chat at 21:10, handoffs at 22:15 and 23:30 after closing
        evening = at - dt.timedelta(days=day)
        rows += [handoff(evening + dt.timedelta(minutes=m)) for m in (10, 75, 150)]
    thursday_night = at - dt.timedelta(days=1) + dt.timedelta(minutes=160)
    rows += [handoff(thursday_night, "callback", None), handoff(thursday_night, "callback", None)]  # not returned
    with db.transaction():
        db["handoffs"].insert_all(rows, pk="id")

    round_the_clock = Supervision(db, "Asia/Shanghai", ALWAYS_OPEN).staffing(at, hours=12, weeks=1)
    assert round_the_clock[1]["hour"] == "11-27 22:00" and round_the_clock[1]["agents_needed"] >= 1  # the old plan

    plan = Supervision(db, "Asia/Shanghai", HOURS).staffing(at, hours=12, weeks=1, target_seconds=20)
    assert [p["hour"][-5:] for p in plan if not p["open"]] == [f"{h:02d}:00" for h in (22, 23, *range(8))]
    assert plan[1] == {"hour": "11-27 22:00", "open": False, "after_hours": 1.0}
    assert plan[2]["after_hours"] == 1.0 and all(p["after_hours"] == 0 for p in plan[3:11])
    assert plan[0]["handoffs_per_hour"] == 1.0 and plan[0]["callbacks_per_hour"] == 2.0  # the backlog, now
    opening = plan[11]
    assert opening["hour"] == "11-28 08:00" and opening["handoffs_per_hour"] == 0.0
    assert opening["callbacks_per_hour"] == 2.0 and opening["agents_needed"] >= 1  # Friday night's two
    assert opening["traffic"] == round(2 * 300 / 3600, 2)  # workload = count x handle time
    spread = Supervision(db, "Asia/Shanghai", "08:00-22:00").staffing(at, hours=13, weeks=1, callback_hours=2)
    assert spread[11]["callbacks_per_hour"] == spread[12]["callbacks_per_hour"] == 1.0


def test_service_level_and_abandonment_on_hand_made_chats():
    t0 = NOW - dt.timedelta(hours=1)

    def chat(status: str, waited: float | None = None, at: dt.datetime = t0) -> dict:
        claimed = stamp(at + dt.timedelta(seconds=waited)) if waited is not None else None
        return {"created_at": stamp(at), "claimed_at": claimed, "status": status}

    chats = [
        chat("closed", 10),
        chat("claimed", 20),  # on the target: answered within it
        chat("closed", 60),  # answered late
        chat("abandoned"),  # left the queue: a miss for the service level too
        chat("closed"),  # closed by an agent without being taken
        chat("queued", at=NOW - dt.timedelta(seconds=5)),  # still waiting, within the target: not counted yet
        chat("queued", at=NOW - dt.timedelta(seconds=100)),  # still waiting, past it: a miss
    ]
    figures = queue_outcomes(chats, 20, NOW)
    assert figures == {
        "queued": 7,
        "answered": 3,
        "answered_in_target": 2,
        "abandoned": 1,
        "decided": 6,
        "service_level": 0.333,
        "abandonment_rate": 0.143,
        "target_seconds": 20,
    }
    assert queue_outcomes(chats[:2], 5, NOW)["service_level"] == 0.0
    nothing = queue_outcomes([], 20, NOW)
    assert nothing["service_level"] is None and nothing["abandonment_rate"] is None


def test_the_tiles_count_chats_that_queued_in_the_range_and_the_open_callbacks(new_database, tmp_path):
    db = new_database("k")
    noon = NOW - dt.timedelta(hours=2)  # 12:00 in Shanghai
    night = NOW - dt.timedelta(hours=13)  # 01:00 in Shanghai: a callback, taken at opening seven hours later
    rows = [
        handoff(noon, waited=5),
        handoff(noon, waited=50),
        handoff(noon, "abandoned", None),
        handoff(night, waited=7 * 3600),
        handoff(NOW - dt.timedelta(days=9), waited=500),  # before the range
        handoff(NOW - dt.timedelta(days=3, hours=14), "callback", None),  # 00:00 three nights ago, still open
        handoff(NOW - dt.timedelta(hours=12), "callback", None),
    ]
    with db.transaction():
        db["handoffs"].insert_all(rows, pk="id")
    sup = Supervision(db, "Asia/Shanghai", HOURS)
    figures = sup.service_figures(NOW - dt.timedelta(weeks=1), NOW, 20)
    assert (figures["queued"], figures["answered_in_target"], figures["abandoned"]) == (3, 1, 1)
    assert figures["service_level"] == 0.333 and figures["abandonment_rate"] == 0.333
    assert sup.handle_times(NOW - dt.timedelta(weeks=1))["asa_seconds"] == 27.5  # the callback's night is not a wait
    backlog = sup.callback_backlog(NOW)
    assert backlog == {"open": 2, "oldest_at": rows[5]["created_at"], "oldest_seconds": (3 * 24 + 14) * 3600}
    assert not Tickets(db).claim(6, "a1")  # a callback is not claimed like a chat: it is called back
    Tickets(db).take_callback(6, "a1")
    Tickets(db).record_attempt(6, "a1", "reached", "", None)
    assert sup.callback_backlog(NOW)["open"] == 1


def test_the_quoted_wait_in_whole_minutes():
    assert quoted_minutes(240) == 4 and quoted_minutes(10) == 1 and quoted_minutes(150) == 2
    assert quoted_minutes(float("inf")) is None  # nobody available


def test_a_callback_the_customer_withdrew_is_no_demand_on_agents(new_database):
    db = new_database("k")
    sup, tickets = Supervision(db, "Asia/Shanghai", HOURS), Tickets(db)
    kept = tickets.open("c1", "asked", "卡被吞了", in_hours=False)
    withdrawn = tickets.open("c2", "asked", "银卡打几折", in_hours=False)
    tickets.close(withdrawn.id, outcome="withdrawn")  # '不用回电了': nobody calls
    with db.transaction():
        for t in (kept, withdrawn):
            db["handoffs"].update(t.id, {"created_at": stamp(NOW - dt.timedelta(hours=1))})
    hour = (NOW - dt.timedelta(hours=1)).astimezone(sup.zone)
    assert sup.demand(1, NOW)["handoffs"][hour.weekday()][hour.hour] == 1.0
    live, after = sup.handoff_grids(1, NOW)
    assert live[hour.weekday()][hour.hour] + after[hour.weekday()][hour.hour] == 1.0
