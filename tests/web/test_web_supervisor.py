"""The supervisor view through Flask's test client: roles, the agent's status, the page's figures."""

from __future__ import annotations

import json
import re

import httpx

from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.demand import generate
from web import create_app

from staff import console_token, sign_in


def test_supervisor_page_and_agent_status(settings):
    db = Database.open(settings.db_path)
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


def test_the_staffing_plan_is_in_the_configured_zone(settings):
    import datetime as dt
    from zoneinfo import ZoneInfo

    accounts = Accounts(Database.open(settings.db_path))
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
