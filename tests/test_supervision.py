"""The supervisor's figures: availability, handle times, utilisation, demand, staffing; the page."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from kb.demand import generate
from kb.desk import Desk
from kb.store import Store
from kb.supervision import Supervision, SupervisionError, queue_message

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, a Friday


def stamp(t: dt.datetime) -> str:
    return t.isoformat()


def test_availability_and_utilisation(tmp_path):
    store = Store.open(tmp_path / "k.db")
    sup, desk = Supervision(store), Desk(store)
    assert sup.status("a1") == "away" and sup.available_agents() == []
    sup.set_status("a1", "available", stamp(NOW - dt.timedelta(hours=4)))
    sup.set_status("a1", "away", stamp(NOW - dt.timedelta(hours=2)))
    sup.set_status("a2", "available", stamp(NOW - dt.timedelta(hours=1)))
    with pytest.raises(SupervisionError):
        sup.set_status("a1", "asleep")
    assert sup.available_agents() == ["a2"] and sup.status("a1") == "away"
    ticket = desk.open_handoff("c1", "asked", "q")
    with store.db.conn:
        store.db["handoffs"].update(ticket.id, {"created_at": stamp(NOW - dt.timedelta(hours=3, minutes=1)),
                                                "claimed_at": stamp(NOW - dt.timedelta(hours=3)),
                                                "closed_at": stamp(NOW - dt.timedelta(hours=2, minutes=36)),
                                                "agent": "a1", "status": "closed"})
    times = sup.handle_times(NOW - dt.timedelta(days=1))
    assert times == {"handled": 1, "aht_seconds": 1440.0, "asa_seconds": 60.0}
    rows = {r["agent"]: r for r in sup.utilisation(NOW - dt.timedelta(hours=5), NOW)}
    assert rows["a1"]["available_seconds"] == 7200 and rows["a1"]["utilisation"] == 0.2  # 24 of 120 minutes
    assert rows["a2"]["available_seconds"] == 3600 and rows["a2"]["utilisation"] == 0.0


def test_synthetic_demand_has_the_daily_shape_and_staffing_follows_it(tmp_path):
    store = Store.open(tmp_path / "k.db")
    counts = generate(store, days=28, chats_per_peak_hour=40, end=NOW, seed=3)
    assert counts["conversations"] > 5000 and counts["handoffs"] > 500
    assert generate(Store.open(tmp_path / "again.db"), days=28, chats_per_peak_hour=40, end=NOW, seed=3) == counts
    sup = Supervision(store)
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


def test_queue_message():
    assert queue_message(1, 240) == "正在为您转接人工客服，您是下一位，预计等待约 4 分钟。人工客服接入前，您可以先把问题描述清楚。"
    assert "前面还有 2 位" in queue_message(3, 10) and "约 1 分钟" in queue_message(3, 10)
    assert "没有在线的人工客服" in queue_message(2, float("inf"))


def test_supervisor_page_and_agent_status(settings):
    import httpx

    from kb.accounts import Accounts
    from test_web_agent import console_token, sign_in
    from web import create_app

    store = Store.open(settings.db_path)
    generate(store, days=14, chats_per_peak_hour=20, seed=5)
    accounts = Accounts(store)
    accounts.add("boss1", "boss-pass-1", "supervisor")
    accounts.add("agent9", "agent-pass-9", "agent")
    app = create_app({"KEFU_SETTINGS": settings, "SECRET_KEY": "t",
                      "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[]))})
    agent = app.test_client()
    sign_in(agent, "agent9", "agent-pass-9")
    headers = {"X-CSRFToken": console_token(agent)}
    assert agent.get("/supervisor/").status_code == 403
    assert agent.post("/api/agent/status", json={"status": "napping"}, headers=headers).status_code == 400
    assert agent.post("/api/agent/status", json={"status": "available"}).status_code == 400  # no CSRF token
    assert agent.post("/api/agent/status", json={"status": "available"}, headers=headers).get_json() == {
        "status": "available"}
    assert "在线 · 点此离开" in agent.get("/agent/").get_data(as_text=True)
    boss = app.test_client()
    r = sign_in(boss, "boss1", "boss-pass-1")
    assert r.headers["Location"].endswith("/supervisor/")
    page = boss.get("/supervisor/").get_data(as_text=True)
    assert "agent9" in page and re.search(r'id="kpi-available">\d+<', page) and 'id="plan"' in page
    figures = json.loads(page.split('id="figures">', 1)[1].split("</script>", 1)[0])
    assert len(figures["plan"]) == 12 and len(figures["demand"]["handoffs"]) == 7
    assert any(u["agent"] == "demo-agent-1" for u in figures["utilisation"])
    assert boss.get("/curator/kb").status_code == 403 and boss.get("/supervisor/?weeks=x").status_code == 200
