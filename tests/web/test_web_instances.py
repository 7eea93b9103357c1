"""Several web instances over one database (create_app twice with the same settings, as two waitress
processes behind a load balancer): whichever instance a request reaches, staff sessions, customers'
conversations, handoffs and (with Redis) rate limits work the same."""

from __future__ import annotations

import logging

import httpx
import pytest

from indexer.local_services import free_port, running, start_redis
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.tickets import Tickets
from web import create_app

from customer import Customer
from staff import console_token, sign_in


def rasa(request: httpx.Request) -> httpx.Response:
    """Rasa's REST channel: a customer asking for a person is queued (the ticket is opened by the test)."""
    if request.url.path.endswith("/tracker/events"):
        return httpx.Response(200, json={})
    return httpx.Response(200, json=[{"text": "正在为您转接人工客服", "custom": {"state": "queued"}}])


def two_instances(settings):
    """Web instances A and B on the same settings (data folder, database, secret key), each its own app."""
    return [create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(rasa)}) for _ in "AB"]


@pytest.fixture
def apps(settings):
    Accounts(Database.open(settings.database)).add("agent1", "agent-pass-1", "agent")
    return two_instances(settings)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = start_redis(tmp_path_factory.mktemp("redis"))
    with running(server):
        yield server.url


def moved(client, to_app):
    """The same browser's next request reaching another instance: a client of to_app with its cookies."""
    other = to_app.test_client()
    cookie = client.get_cookie("session")
    if cookie is not None:
        other.set_cookie("session", cookie.value)
    return other


def test_a_staff_session_started_on_one_instance_works_on_the_other_and_ends_on_both(apps):
    a, b = apps
    on_a = a.test_client()
    assert sign_in(on_a, "agent1", "agent-pass-1").status_code == 302
    on_b = moved(on_a, b)
    assert on_b.get("/api/agent/queue").status_code == 200
    on_b.post("/logout", data={"csrf_token": console_token(on_b)})
    assert moved(on_b, a).get("/api/agent/queue").status_code == 401  # signed out everywhere
    assert on_a.get("/api/agent/queue").status_code == 401  # the old cookie too: the session is gone


def test_a_conversation_moves_between_instances_and_a_handoff_claimed_on_one_is_polled_on_the_other(apps, settings):
    a, b = apps
    customer = Customer(a.test_client())
    assert customer.say(payload="/request_human")["state"] == "queued"
    Tickets(Database.open(settings.database)).open(customer.session, "asked", "营业厅几点开门")
    customer.client = b.test_client()  # the load balancer sends the next call elsewhere: the key still opens it
    customer.say(text="我还在等")
    agent = b.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    headers = {"X-CSRFToken": console_token(agent)}
    [ticket] = agent.get("/api/agent/queue").get_json()["tickets"]
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=headers).status_code == 200
    reply = {"text": "您好，营业厅每天上午九点开门。"}
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json=reply, headers=headers).status_code == 200
    customer.client = a.test_client()
    polled = customer.poll()
    assert polled["state"] == "agent" and polled["messages"][-1]["text"] == reply["text"]
    assert [m["from"] for m in polled["messages"]].count("customer") == 2  # nothing said on either was lost
    transcript = moved(agent, a).get(f"/api/agent/tickets/{ticket['id']}").get_json()["messages"]
    texts = [m["text"] for m in transcript]
    assert "我还在等" in texts and texts[-1] == reply["text"]


def say_three_times(settings):
    """A customer's two messages on A and a third on B, at two messages a minute; B's status."""
    a, b = two_instances(settings.replace(chat_limit_session=2))
    customer = Customer(a.test_client())
    assert [customer.post(text=f"第{i}个问题").status_code for i in (1, 2)] == [200, 200]
    customer.client = b.test_client()
    return customer.post(text="第3个问题").status_code


def test_with_redis_a_rate_limit_counted_on_one_instance_holds_on_the_other(settings, redis_url):
    assert say_three_times(settings.replace(redis_url=redis_url)) == 429


def test_without_redis_each_instance_limits_on_its_own(settings):
    assert say_three_times(settings) == 200  # documented: redis_url unset, each process counts its own


def test_an_unreachable_redis_lets_the_chat_through_with_one_warning_without_its_password(settings, caplog):
    caplog.set_level(logging.WARNING, logger="web.limits")
    unreachable = f"redis://:Rd-s3cret@127.0.0.1:{free_port()}/0"
    a, _ = two_instances(settings.replace(redis_url=unreachable, chat_limit_session=2))
    customer = Customer(a.test_client())
    assert [customer.post(text=f"第{i}个问题").status_code for i in range(4)] == [200] * 4  # fails open
    warnings = [r.getMessage() for r in caplog.records if r.name == "web.limits"]
    assert len(warnings) == 1 and "not enforced" in warnings[0]
    assert "s3cret" not in caplog.text and "redis://:***@127.0.0.1" in warnings[0]
