"""Staff sign-in, roles, CSRF and the agent's handoff flow through Flask's test client."""

from __future__ import annotations

import json

import httpx
import pytest

from kb.clock import local
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.conversations import Conversations
from kb.desk.gaps import Gaps
from kb.desk.service import Desk
from kb.desk.tickets import Tickets
from web import create_app

from customer import Customer
from staff import console_token, csrf_of, sign_in


@pytest.fixture
def resumed():
    return []


@pytest.fixture
def app(settings, resumed):
    def rasa(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            resumed.append(request.url.path)
            return httpx.Response(200, json={})
        return httpx.Response(200, json=[{"text": "正在为您转接人工客服", "custom": {"state": "queued"}}])

    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(rasa), "SECRET_KEY": "t"})
    accounts = Accounts(Database.open(settings.database))
    accounts.add("agent1", "agent-pass-1", "agent")
    accounts.add("curator1", "curator-pass-1", "curator")
    return app


def test_console_needs_an_agent(app):
    client = app.test_client()
    assert client.get("/agent/").status_code == 302
    assert client.get("/api/agent/queue").status_code == 401
    assert sign_in(client, "curator1", "curator-pass-1").status_code == 302
    assert client.get("/api/agent/queue").status_code == 403


def test_login_without_csrf_token_is_refused(app):
    response = app.test_client().post("/login", data={"name": "agent1", "password": "agent-pass-1"})
    assert response.status_code == 400


def test_wrong_passwords_are_rate_limited(app):
    client = app.test_client()
    statuses = [sign_in(client, "agent1", "wrong").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert sign_in(client, "agent1", "agent-pass-1").status_code == 429  # still waiting out the window


def test_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    response = sign_in(client, "agent1", "agent-pass-1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_claim_reply_close_and_the_customer_sees_it(app, settings, resumed):
    customer = Customer(app.test_client())
    body = customer.say(payload="/request_human")
    assert body["state"] == "queued"
    Tickets(Database.open(settings.database)).open(customer.session, "asked", "营业厅几点开门<script>alert(1)</script>")
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    token = console_token(agent)
    [ticket] = agent.get("/api/agent/queue").get_json()["tickets"]
    assert ticket["reason"] == "asked" and ticket["waiting_seconds"] >= 0
    headers = {"X-CSRFToken": token}
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim").status_code == 400  # no CSRF token
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=headers).status_code == 200
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=headers).status_code == 409
    assert (
        agent.post(
            f"/api/agent/tickets/{ticket['id']}/reply",
            json={"text": "您好，营业厅每天上午九点开门，节假日照常营业。"},
            headers=headers,
        ).status_code
        == 200
    )
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": ""}, headers=headers).status_code == 400
    polled = customer.poll()
    assert polled["state"] == "agent" and polled["messages"][-1] == {
        "id": polled["messages"][-1]["id"],
        "from": "agent",
        "text": "您好，营业厅每天上午九点开门，节假日照常营业。",
        "sources": [],
        "buttons": [],
    }
    assert customer.say(text="好的谢谢")["messages"] == []
    transcript = agent.get(f"/api/agent/tickets/{ticket['id']}").get_json()["messages"]
    assert [m["from"] for m in transcript][-2:] == ["agent", "customer"]
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/close", headers=headers).get_json()["bot_resumed"]
    assert resumed == [f"/conversations/{customer.session}/tracker/events"]
    [candidate] = Gaps(Database.open(settings.database)).recent()  # the agent's answer, offered to curators
    assert candidate["reason"] == "agent_answer" and candidate["question"] == "营业厅几点开门<script>alert(1)</script>"
    assert candidate["hits"][0]["snippet"] == "营业厅每天上午九点开门，节假日照常营业。"  # the greeting left out
    assert customer.poll()["state"] == "closed"


def test_agent_notes_stay_internal_and_are_masked(app, settings):
    customer = Customer(app.test_client())
    customer.say(payload="/request_human")
    ticket = Tickets(Database.open(settings.database)).open(customer.session, "complaint", "扣费不对")
    Tickets(Database.open(settings.database)).claim(ticket.id, "agent1")  # notes are the ticket's agent's
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    headers = {"X-CSRFToken": console_token(agent)}
    url = f"/api/agent/tickets/{ticket.id}/notes"
    assert agent.post(url, json={"text": "已核实"}).status_code == 400  # no CSRF token
    for bad in ({"text": ""}, {"text": "  "}, {"text": "x" * 2001}, {"text": 5}, ["x"]):
        assert agent.post(url, json=bad, headers=headers).status_code == 400, bad
    assert agent.post("/api/agent/tickets/9999/notes", json={"text": "x"}, headers=headers).status_code == 404
    note = agent.post(url, json={"text": "客户手机 13812345678，已退款"}, headers=headers).get_json()["note"]
    assert note["author"] == "agent1" and "13812345678" not in note["text"]
    agent.post(f"/api/agent/tickets/{ticket.id}/close", headers=headers)
    assert agent.post(url, json={"text": "三天后回访"}, headers=headers).status_code == 200  # closed tickets too
    notes = agent.get(f"/api/agent/tickets/{ticket.id}").get_json()["notes"]
    assert [n["text"] for n in notes][1] == "三天后回访"
    said = customer.poll()["messages"]
    assert said and all("退款" not in m["text"] and "回访" not in m["text"] for m in said)


def test_customer_script_is_never_rendered_as_html(app, settings):
    Tickets(Database.open(settings.database)).open("c9", "asked", "<script>alert(1)</script>")
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    page = agent.get("/agent/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page  # the page itself never embeds customer text
    assert "innerHTML" not in page  # and the console inserts text only through textContent


def test_logout_ends_the_session(app):
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    token = console_token(agent)
    kept = agent.get_cookie("session").value  # someone copied the cookie while signed in
    assert agent.post("/logout", data={"csrf_token": token}).status_code == 302
    assert agent.get("/api/agent/queue").status_code == 401
    replay = app.test_client()
    replay.set_cookie("session", kept)
    assert replay.get("/api/agent/queue").status_code == 401  # signing out ended it server-side


def test_sessions_end_after_idling(settings):
    import datetime as dt

    accounts = Accounts(Database.open(settings.database))
    user_id = accounts.add("idle1", "idle-pass-1", "agent")
    token = accounts.start_session(user_id)
    now = dt.datetime.now(dt.UTC)
    assert accounts.session_user(token, now + dt.timedelta(hours=7))["name"] == "idle1"
    assert accounts.session_user(token, now + dt.timedelta(hours=14)) is not None  # 7 h after the last activity
    assert accounts.session_user(token, now + dt.timedelta(hours=22, minutes=1)) is None  # 8 h idle
    assert accounts.session_user(token) is None  # and it is gone for good
    assert accounts.session_user("") is None and accounts.session_user(None) is None


@pytest.mark.slow
def test_policy_lookup_and_suggestions_use_the_production_retriever(real_kb_settings):
    settings = real_kb_settings
    app = create_app(
        {
            "KEFU_SETTINGS": settings,
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    accounts = Accounts(Database.open(settings.database))
    if not accounts.by_name("lookup1"):
        accounts.add("lookup1", "lookup-pass-1", "agent")
    agent = app.test_client()
    sign_in(agent, "lookup1", "lookup-pass-1")
    data = agent.get("/api/agent/lookup?q=考核不合格的员工怎么处理").get_json()
    top = data["hits"][0]
    assert top["title"] == "营运公司服务管理制度" and "第十七条" in (top["clause"] or "") + top["text"]
    assert top["highlights"] and data["decision"]["answer"] is True
    assert agent.get("/api/agent/lookup?q=").status_code == 400
    ticket = Tickets(Database.open(settings.database)).open("sugg1", "asked", "客服热线是24小时的吗")
    suggestion = agent.get(f"/api/agent/tickets/{ticket.id}/suggest").get_json()
    assert suggestion["question"] == "客服热线是24小时的吗" and "7*24" in suggestion["hits"][0]["text"]
    # a callback's: its problem, not the number and the time the customer said last
    callback = Tickets(Database.open(settings.database)).open("sugg2", "asked", "客服热线是24小时的吗", in_hours=False)
    Conversations(Database.open(settings.database)).add("sugg2", "customer", "[手机号]，明天下午三点以后")
    suggestion = agent.get(f"/api/agent/tickets/{callback.id}/suggest").get_json()
    assert suggestion["question"] == "客服热线是24小时的吗"


def test_suggestions_follow_the_latest_real_question():
    from kb.desk.rules import latest_question

    said = [{"from": "customer", "text": t} for t in ("营业厅几点开门", "转人工", "👍", "在吗")]
    assert latest_question(said, "ticket question") == "营业厅几点开门"
    assert latest_question(said[1:], "ticket question") == "ticket question"
    assert latest_question([*said, {"from": "agent", "text": "您好，请问有什么可以帮您"}], "") == "营业厅几点开门"


def test_a_callbacks_number_is_shown_to_its_agent_and_supervisors_only_and_each_showing_is_logged(
    settings, resumed, caplog
):
    night = settings.replace(service_hours="00:00-00:00")  # never open: every handoff is a callback

    def rasa(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            return httpx.Response(200, json={})
        body = json.loads(request.content)
        if "[手机号]" in body["message"]:  # what the bot does: a callback ticket for the conversation
            Desk(Database.open(night.database), night.desk_policy).request_human(body["sender"], "asked", "卡被吞了")
        return httpx.Response(200, json=[{"text": "我们将拨打 138****5678 给您回电，号码对吗？"}])

    app = create_app({"KEFU_SETTINGS": night, "RASA_TRANSPORT": httpx.MockTransport(rasa), "SECRET_KEY": "t"})
    accounts = Accounts(Database.open(night.database))
    for name, role in (("agent1", "agent"), ("agent2", "agent"), ("sup1", "supervisor"), ("cur1", "curator")):
        accounts.add(name, f"{name}-pass-1", role)
    Customer(app.test_client()).say(text="请回电 138 1234 5678，明天上午")
    staff = {}
    for name in ("agent1", "agent2", "sup1", "cur1"):
        staff[name] = app.test_client()
        sign_in(staff[name], name, f"{name}-pass-1")
        page = {"sup1": "/supervisor/", "cur1": "/curator/"}.get(name, "/agent/")
        staff[name].headers = {"X-CSRFToken": csrf_of(staff[name].get(page).get_data(as_text=True))}
    [callback] = staff["agent1"].get("/api/agent/callbacks").get_json()["callbacks"]
    assert callback["contact"] == "138****5678" and callback["status"] == "callback" and callback["due_at"]
    assert callback["due_local"] == local(callback["due_at"], night.timezone)  # the one clock
    assert "13812345678" not in json.dumps(callback)
    ticket_id = callback["id"]

    def reveal(name):
        return staff[name].post(f"/api/agent/tickets/{ticket_id}/contact", headers=staff[name].headers)

    assert reveal("agent1").status_code == 403  # nobody has taken it yet
    assert (
        staff["agent1"].post(f"/api/agent/tickets/{ticket_id}/take", headers=staff["agent1"].headers).status_code == 200
    )
    assert (
        staff["agent2"].post(f"/api/agent/tickets/{ticket_id}/take", headers=staff["agent2"].headers).status_code == 403
    )
    with caplog.at_level("INFO"):
        shown = reveal("agent1")
    assert shown.get_json() == {"number": "13812345678"} and shown.headers["Cache-Control"] == "no-store"
    assert reveal("agent2").status_code == 403 and reveal("sup1").get_json()["number"] == "13812345678"
    assert reveal("cur1").status_code == 403
    reveals = Tickets(Database.open(night.database)).reveals(ticket_id)
    assert [(r["user"], r["role"]) for r in reveals] == [("agent1", "agent"), ("sup1", "supervisor")]
    assert "13812345678" not in caplog.text and f"ticket #{ticket_id} shown to agent1" in caplog.text
    # the number never reached the bot, the transcript or a curator's page
    transcript = staff["agent1"].get(f"/api/agent/tickets/{ticket_id}").get_json()["messages"]
    assert transcript[0]["text"] == "请回电 [手机号]，明天上午"
    assert "13812345678" not in staff["sup1"].get("/supervisor/").get_data(as_text=True)
    for page in ("/curator/", "/api/curator/gaps", "/curator/dashboard"):
        shown = staff["cur1"].get(page)
        assert shown.status_code == 200 and "13812345678" not in shown.get_data(as_text=True), page
    agent = staff["agent1"]
    close = agent.post(f"/api/agent/tickets/{ticket_id}/close", headers=agent.headers)
    assert close.status_code == 409  # a callback is closed by recording how the call went
    for bad in (
        {"outcome": "maybe"},
        {"outcome": "no_answer", "next_try": "tomorrow"},
        {"outcome": "no_answer", "next_try": "9999-12-31T23:59"},
        {"outcome": "reached", "note": 5},
    ):
        assert (
            agent.post(f"/api/agent/tickets/{ticket_id}/attempts", json=bad, headers=agent.headers).status_code == 400
        )
    tried = agent.post(
        f"/api/agent/tickets/{ticket_id}/attempts",
        json={"outcome": "no_answer", "next_try": "2026-12-01T09:30"},
        headers=agent.headers,
    ).get_json()
    assert tried["ticket"]["status"] == "callback" and tried["ticket"]["agent"] is None
    assert (
        staff["agent2"].post(f"/api/agent/tickets/{ticket_id}/take", headers=staff["agent2"].headers).status_code == 200
    )
    done = (
        staff["agent2"]
        .post(
            f"/api/agent/tickets/{ticket_id}/attempts",
            json={"outcome": "reached", "note": "已挂失"},
            headers=staff["agent2"].headers,
        )
        .get_json()
    )
    assert done["ticket"]["status"] == "closed" and done["ticket"]["outcome"] == "reached"
    assert [a["outcome"] for a in done["attempts"]] == ["no_answer", "reached"]
    assert agent.get("/api/agent/callbacks").get_json()["callbacks"] == []


def agent_client(app, name: str, password: str):
    """A signed-in agent's client and the headers for its JSON calls."""
    client = app.test_client()
    sign_in(client, name, password)
    return client, {"X-CSRFToken": console_token(client)}


def test_a_chat_goes_only_to_an_available_agent_and_only_from_the_one_holding_it(app, settings):
    Accounts(Database.open(settings.database)).add("agent2", "agent-pass-2", "agent")
    customer = Customer(app.test_client())
    customer.say(payload="/request_human")
    Tickets(Database.open(settings.database)).open(customer.session, "asked", "信用卡年费怎么收")
    one, h1 = agent_client(app, "agent1", "agent-pass-1")
    two, h2 = agent_client(app, "agent2", "agent-pass-2")
    [ticket] = one.get("/api/agent/queue").get_json()["tickets"]
    url = f"/api/agent/tickets/{ticket['id']}/transfer"
    assert one.post(url, json={"to": "agent2"}, headers=h1).status_code == 409  # not claimed yet
    one.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=h1)
    assert one.get("/api/agent/agents").get_json() == {"agents": []}
    refused = one.post(url, json={"to": "agent2"}, headers=h1)
    assert refused.status_code == 409 and "not available" in refused.get_json()["error"]
    two.post("/api/agent/status", json={"status": "available"}, headers=h2)
    one.post("/api/agent/status", json={"status": "available"}, headers=h1)
    assert one.get("/api/agent/agents").get_json() == {"agents": ["agent2"]}  # never themselves
    assert two.post(url, json={"to": "agent1"}, headers=h2).status_code == 403  # agent2 does not hold it
    for bad in ({}, {"to": ""}, {"to": 5}, ["agent2"]):
        assert one.post(url, json=bad, headers=h1).status_code == 400, bad
    assert one.post(url, json={"to": "agent2"}).status_code == 400  # no CSRF token
    assert one.post("/api/agent/tickets/999/transfer", json={"to": "agent2"}, headers=h1).status_code == 404
    moved = one.post(url, json={"to": "agent2"}, headers=h1).get_json()["ticket"]
    assert moved["agent"] == "agent2" and moved["status"] == "claimed"
    said = customer.poll()["messages"]
    assert (
        said[-1]["from"] == "system" and said[-1]["text"] == "已为您转接人工客服 agent2，请问还有什么可以帮您？"
    )  # who holds it now
    assert one.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "x"}, headers=h1).status_code == 403
    assert two.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "您好"}, headers=h2).status_code == 200
    notes = two.get(f"/api/agent/tickets/{ticket['id']}").get_json()["notes"]
    assert [n["text"] for n in notes] == ["转接：agent1 → agent2"]


def test_closed_tickets_are_searched_and_open_with_their_transcript_and_notes(app, settings):
    from kb.desk.service import Desk

    desk = Desk(Database.open(settings.database), settings.desk_policy)
    for i, (question, said) in enumerate(
        (("银行卡被偷了怎么办", "请先办理口头挂失。"), ("年费怎么收", "首年免年费。"))
    ):
        ticket = desk.request_human(f"h{i}", "asked", question)
        desk.claim_chat(ticket.id, "agent1", "joined")
        desk.reply(ticket.id, "agent1", said)
        desk.tickets.add_note(ticket.id, "agent1", f"备注{i}")
        desk.close_chat(ticket.id, "agent1", "ended", lambda c: True)
    desk.request_human("h9", "asked", "挂失还要带什么")  # open: not history
    agent, _ = agent_client(app, "agent1", "agent-pass-1")
    page = agent.get("/api/agent/history?q=挂失").get_json()
    assert (page["total"], page["page"], page["pages"]) == (1, 1, 1)
    [found] = page["tickets"]
    assert found["question"] == "银行卡被偷了怎么办" and found["status"] == "closed" and found["agent"] == "agent1"
    assert [t["question"] for t in agent.get("/api/agent/history").get_json()["tickets"]] == [
        "年费怎么收",
        "银行卡被偷了怎么办",
    ]
    assert agent.get("/api/agent/history?agent=nobody").get_json()["tickets"] == []
    opened = agent.get(f"/api/agent/tickets/{found['id']}").get_json()
    assert [m["text"] for m in opened["messages"] if m["from"] == "agent"] == ["请先办理口头挂失。"]
    assert [n["text"] for n in opened["notes"]] == ["备注0"]
    for bad in (
        "from=2026-02-30",
        "to=x",
        "reason=bored",
        "page=0",
        "page=abc",
        "q=" + "x" * 101,
        "page=²",
        "to=9999-12-31",
    ):
        response = agent.get(f"/api/agent/history?{bad}")
        assert response.status_code == 400 and response.get_json()["error"], bad
    curator = app.test_client()
    sign_in(curator, "curator1", "curator-pass-1")
    assert curator.get("/api/agent/history").status_code == 403


def test_agents_find_canned_replies_to_insert(app, settings):
    from kb.desk.canned import CannedReplies

    canned = CannedReplies(Database.open(settings.database))
    canned.add("curator1", "挂失流程", "银行卡丢失请先拨打客服热线办理口头挂失。", "银行卡")
    canned.add("curator1", "营业时间", "营业厅每天 9:00-18:00 营业。")
    agent, _ = agent_client(app, "agent1", "agent-pass-1")
    assert [r["title"] for r in agent.get("/api/agent/canned").get_json()["replies"]] == ["营业时间", "挂失流程"]
    [found] = agent.get("/api/agent/canned?q=口头挂失").get_json()["replies"]
    assert found["title"] == "挂失流程" and found["text"].startswith("银行卡丢失")
    assert app.test_client().get("/api/agent/canned").status_code == 401


def _held_chat(app, settings) -> tuple[int, object, dict, Customer]:
    """A customer's chat handed off (the bot's action opens the ticket), claimed and answered by agent1:
    (ticket id, the agent's client, its headers, the customer)."""
    customer = Customer(app.test_client())
    customer.say(payload="/request_human", label="转人工")
    session = customer.session
    Tickets(Database.open(settings.database)).open(session, "asked", "转人工")
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    headers = {"X-CSRFToken": console_token(agent)}
    [ticket] = [t for t in agent.get("/api/agent/queue").get_json()["tickets"] if t["conversation_id"] == session]
    agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=headers)
    agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "您好"}, headers=headers)
    return ticket["id"], agent, headers, customer


def test_after_an_agent_closes_the_customer_is_asked_once_for_a_rating(app, settings):
    ticket, agent, headers, customer = _held_chat(app, settings)
    assert customer.poll()["rating"] is None  # not before closing
    agent.post(f"/api/agent/tickets/{ticket}/close", headers=headers)
    polled = customer.poll()
    assert polled["state"] == "closed" and polled["rating"] == {"ticket": ticket, "agent": "agent1"}
    assert customer.get().get_json()["rating"]["ticket"] == ticket  # after a reload too
    rated = customer.rate(ticket, 5, "很好 13812345678")
    assert rated.status_code == 200 and rated.get_json() == {"ok": True, "ticket": ticket, "score": 5}
    again = customer.rate(ticket, 1)
    assert again.status_code == 409 and "error" in again.get_json()
    assert customer.get().get_json()["rating"] is None
    [row] = Database.open(settings.database)["ratings"].rows
    assert (row["score"], row["agent"], row["comment"]) == (5, "agent1", "很好 [手机号]")


@pytest.mark.parametrize(
    "body, status",
    [
        ({"session": "rate2", "ticket": "TICKET", "score": 0}, 400),
        ({"session": "rate2", "ticket": "TICKET", "score": 6}, 400),
        ({"session": "rate2", "ticket": "TICKET", "score": "5"}, 400),
        ({"session": "rate2", "ticket": "TICKET", "score": 4.5}, 400),
        ({"session": "rate2", "ticket": "TICKET", "score": 5, "comment": "x" * 501}, 400),
        ({"session": "rate2", "ticket": "TICKET", "score": 5, "comment": ["x"]}, 400),
        ({"session": "rate2", "ticket": "x", "score": 5}, 400),
        ({"session": "../x", "ticket": "TICKET", "score": 5}, 400),
        ({"session": "someone-else", "ticket": "TICKET", "score": 5}, 404),
        ({"session": "rate2", "ticket": 99999, "score": 5}, 404),
        (["not", "an", "object"], 400),
    ],
)
def test_a_bad_rating_is_refused_clearly(app, settings, body, status):
    ticket, agent, headers, customer = _held_chat(app, settings)
    agent.post(f"/api/agent/tickets/{ticket}/close", headers=headers)
    if isinstance(body, dict):
        mine = {"ticket": ticket} if body.get("ticket") == "TICKET" else {}
        body = {**body, **mine, **({"session": customer.session} if body["session"] == "rate2" else {})}
    response = customer.client.post("/api/chat/rating", json=body, headers=customer.headers())
    assert response.status_code == status and "error" in response.get_json()


def test_a_chat_still_open_cannot_be_rated_and_ratings_are_rate_limited(settings):
    app = create_app(
        {
            "KEFU_SETTINGS": settings.replace(chat_limit_session=3),
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    customer = Customer(app.test_client())
    customer.say(payload="/request_human")  # counts against the conversation's limit: 2 more calls
    ticket = Tickets(Database.open(settings.database)).open(customer.session, "asked", "转人工")
    codes = [customer.rate(ticket.id, 5).status_code for _ in range(3)]
    assert codes == [409, 409, 429]


def test_a_clicked_button_shows_its_title_in_the_agents_transcript(app, settings):
    ticket, agent, _, customer = _held_chat(app, settings)
    customer.say(payload="/callback_change", label="信用卡章程 第五条")
    said = [
        m["text"] for m in agent.get(f"/api/agent/tickets/{ticket}").get_json()["messages"] if m["from"] == "customer"
    ]
    assert said == ["转人工", "信用卡章程 第五条"]


def test_the_console_shows_queue_and_note_times_in_the_configured_zone(app, settings):
    db = Database.open(settings.database)
    ticket = Tickets(db).open("tz1", "asked", "营业厅几点开门")
    db["handoffs"].update(ticket.id, {"created_at": "2026-11-27T17:30:00+00:00", "agent": "agent1"})
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    headers = {"X-CSRFToken": console_token(agent)}
    agent.post(f"/api/agent/tickets/{ticket.id}/notes", json={"text": "已回电"}, headers=headers)
    db.execute("UPDATE ticket_notes SET created_at = '2026-11-27T05:54:03+00:00'")
    [queued] = agent.get("/api/agent/queue").get_json()["tickets"]
    assert queued["created_local"] == "2026-11-28 01:30"  # Asia/Shanghai, the next day
    [note] = agent.get(f"/api/agent/tickets/{ticket.id}").get_json()["notes"]
    assert note["created_local"] == "2026-11-27 13:54" and note["created_at"] == "2026-11-27T05:54:03+00:00"
    page = agent.get("/static/agent.js").get_data(as_text=True)  # the console's script
    assert "n.created_local" in page and "toLocaleString" not in page  # the browser's own zone is not used


def test_an_index_not_built_is_a_503_telling_staff_to_build_it(app):
    # the settings' database has no index yet: the retriever cannot be loaded from it
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    response = agent.get("/api/agent/lookup", query_string={"q": "投诉怎么处理"})
    assert response.status_code == 503 and "kefu index build" in response.get_json()["error"]
    curator = app.test_client()
    sign_in(curator, "curator1", "curator-pass-1")
    page = curator.get("/curator/hit-test", query_string={"q": "投诉怎么处理"})
    assert page.status_code == 503 and "kefu index build" in page.get_data(as_text=True)
    assert "索引" in page.get_data(as_text=True)  # in Chinese, for people
