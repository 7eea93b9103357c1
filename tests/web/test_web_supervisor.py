"""The supervisor view through Flask's test client: roles, the agent's status, the page's figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import httpx

from kb.clock import stamp
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.demand import generate
from web import create_app

from staff import console_token, sign_in


def test_supervisor_page_and_agent_status(settings):
    db = Database.open(settings.database)
    generate(db, days=14, chats_per_peak_hour=20, seed=5)
    accounts = Accounts(db)
    accounts.add("boss1", "boss-pass-1", "supervisor")
    accounts.add("agent9", "agent-pass-9", "agent")
    app = create_app(
        {
            "KEFU_SETTINGS": settings,
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    agent = app.test_client()
    sign_in(agent, "agent9", "agent-pass-9")
    headers = {"X-CSRFToken": console_token(agent)}
    assert agent.get("/supervisor/").status_code == 403
    assert agent.post("/api/agent/status", json={"status": "napping"}, headers=headers).status_code == 400
    assert agent.post("/api/agent/status", json={"status": "available"}).status_code == 400  # no CSRF token
    assert agent.post("/api/agent/status", json={"status": "available"}, headers=headers).get_json() == {
        "status": "available"
    }
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


def ticket(created: dt.datetime, status: str, waited: float | None = None) -> dict:
    claimed = stamp(created + dt.timedelta(seconds=waited)) if waited is not None else None
    return {
        "conversation_id": f"c-{created.timestamp()}-{status}",
        "reason": "asked",
        "question": "q",
        "passages": "[]",
        "status": status,
        "contact": "",
        "created_at": stamp(created),
        "claimed_at": claimed,
        "closed_at": claimed,
        "agent": "a1" if claimed else None,
    }


def test_the_page_shows_service_level_abandonment_backlog_and_marks_closed_hours(settings):
    zone = ZoneInfo(settings.timezone)
    now = dt.datetime.now(zone)
    opens = (now.hour + 3) % 24  # the desk is open one hour a day, three hours from now
    hours = f"{opens:02d}:00-{opens + 1:02d}:00"
    in_hours = (now - dt.timedelta(days=1)).replace(hour=opens, minute=30)
    db = Database.open(settings.database)
    rows = [ticket(in_hours, "closed", 5), ticket(in_hours, "closed", 8), ticket(in_hours, "closed", 90)]
    rows += [ticket(in_hours, "abandoned"), ticket(now - dt.timedelta(hours=2, minutes=5, seconds=30), "callback")]
    with db.transaction():
        db["handoffs"].insert_all(rows, pk="id")
    Accounts(db).add("boss2", "boss-pass-2", "supervisor")
    app = create_app(
        {
            "KEFU_SETTINGS": dataclasses.replace(settings, service_hours=hours),
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    boss = app.test_client()
    sign_in(boss, "boss2", "boss-pass-2")
    page = boss.get("/supervisor/?weeks=1").get_data(as_text=True)
    assert 'id="kpi-service-level">50%<' in page and "20 秒内接入 2/4 单" in page  # 2 of 4 in 20 s
    assert 'id="kpi-abandonment">25.0%<' in page and "排队中离开 1/4 单" in page
    assert 'id="kpi-backlog">1<' in page and 'id="kpi-backlog-oldest">2 小时 5 分<' in page
    plan = page.split('id="plan">', 1)[1].split("</table>", 1)[0]
    assert plan.count('<tr class="closed">') == 11 and plan.count("非服务时间") == 11
    opening = re.search(rf"<tr><td>[\d-]+ {opens:02d}:00</td><td>[\d.]+</td><td>([\d.]+)</td>", plan)
    assert opening and float(opening.group(1)) == 1.0  # the open callback, due at the opening
    assert re.search(r'<tr class="closed"><td>[\d-]+ [\d:]+</td><td colspan="8">非服务时间', plan)


def test_the_staffing_plan_is_in_the_configured_zone(settings):
    import datetime as dt
    from zoneinfo import ZoneInfo

    accounts = Accounts(Database.open(settings.database))
    accounts.add("boss2", "boss-pass-2", "supervisor")
    for zone in ("Asia/Shanghai", "America/New_York"):
        app = create_app(
            {
                "KEFU_SETTINGS": settings.replace(timezone=zone),
                "SECRET_KEY": "t",
                "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
            }
        )
        boss = app.test_client()
        sign_in(boss, "boss2", "boss-pass-2")
        before = dt.datetime.now(ZoneInfo(zone)).strftime("%m-%d %H:00")
        page = boss.get("/supervisor/").get_data(as_text=True)
        after = dt.datetime.now(ZoneInfo(zone)).strftime("%m-%d %H:00")
        figures = json.loads(page.split('id="figures">', 1)[1].split("</script>", 1)[0])
        assert figures["plan"][0]["hour"] in (before, after), zone  # the hour as people there read it
