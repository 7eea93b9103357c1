"""The customer's conversation key: a conversation is opened by the server, which hands back its public id
and a secret key; only that key reads or writes it, it stops working when the chat ends, and neither is
shown to curators. Also the read limits, malformed calls counted apart, anchored ids and button payloads."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.conversations import Conversations
from kb.desk.tickets import Tickets
from web import create_app

from customer import KEY_HEADER, Customer, age
from staff import console_token, sign_in

ANSWER = "服务时间原则上应为 7*24 小时。\n\n来源：《规范》 基本要求"


def bot(request: httpx.Request) -> httpx.Response:
    """Rasa as seen on the wire: a queue for a person, else an answer with a candidate button and a source."""
    if request.url.path.endswith("/tracker/events") or request.url.path == "/status":
        return httpx.Response(200, json={})
    body = json.loads(request.content)
    if body["message"] in ("/request_human", "转人工"):
        return httpx.Response(200, json=[{"text": "正在为您转接人工客服"}, {"custom": {"state": "queued"}}])
    return httpx.Response(
        200,
        json=[
            {"text": ANSWER, "buttons": [{"title": "相关条款", "payload": '/choose_candidate{"ref":"passage:7"}'}]},
            {"custom": {"sources": [{"kind": "faq", "id": "faq-hours", "title": "规范"}]}},
        ],
    )


def everything(db: Database) -> str:
    """Every value of every table as text: the whole database, on either engine."""
    return "\n".join(repr(tuple(row)) for table in db.table_names() for row in db.execute(f'SELECT * FROM "{table}"'))


def make_app(settings, **limits):
    settings = settings.replace(actions_host="127.0.0.1", actions_port=9, **limits)
    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(bot), "SECRET_KEY": "t"})
    Accounts(Database.open(settings.database)).add("agent1", "agent-pass-1", "agent")
    return app


@pytest.fixture
def app(settings):
    return make_app(settings)


def test_the_first_message_opens_a_conversation_with_a_server_made_id_and_a_key_stored_only_hashed(app, settings):
    customer = Customer(app.test_client())
    body = customer.say(text="客服几点下班？")
    assert body["state"] == "bot" and len(body["key"]) >= 43 and len(body["session"]) >= 16
    db = Database.open(settings.database)
    [row] = db["conversations"].rows_where("id = ?", [body["session"]])
    assert row["key_hash"] == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["key"] not in everything(db)
    assert customer.say(text="还有呢")["messages"]  # the key opens it again
    assert "key" not in customer.say(text="好的")  # handed out once, when it is made


def test_a_session_id_chosen_by_the_client_opens_nothing(app, settings):
    client = app.test_client()
    response = client.post("/api/chat", json={"session": "mine", "text": "客服几点下班？"})
    assert response.status_code == 404
    assert Conversations(Database.open(settings.database)).get("mine") is None


def test_another_conversations_key_or_no_key_reads_and_writes_nothing(app, settings):
    alice, mallory = Customer(app.test_client()), Customer(app.test_client())
    alice.say(payload="/request_human")
    mallory.say(text="你好")
    stolen = Customer(app.test_client())
    stolen.session = alice.session
    for key in (mallory.key, None, "x" * 43, alice.key + "a"):
        stolen.key = key
        answers = [
            stolen.get(),
            stolen.get("/messages", after=0),
            stolen.post(text="我是 alice"),
            stolen.leave(),
            stolen.rate(1, 1),
        ]
        assert [a.status_code for a in answers] == [404] * 5, key
        assert all(alice.session not in a.get_data(as_text=True) for a in answers)
    unknown = app.test_client().get("/api/chat/nobody-at-all", headers={KEY_HEADER: mallory.key})
    assert unknown.status_code == 404 and unknown.get_json() == stolen.get().get_json()  # nothing tells which
    said = [m["text"] for m in Conversations(Database.open(settings.database)).messages(alice.session)]
    assert "我是 alice" not in said and alice.poll()["state"] == "queued"


def test_neither_the_session_nor_the_key_reaches_curators(curator):
    client, _, desk, app = curator
    customer = Customer(app.test_client())
    customer.say(text="营业厅停车要收费吗")
    desk.gaps.log(customer.session, "营业厅停车要收费吗", "abstain")
    for page in ("/api/curator/gaps", "/curator/", "/curator/dashboard"):
        text = client.get(page).get_data(as_text=True)
        assert customer.session not in text and customer.key not in text, page
    [group] = client.get("/api/curator/gaps").get_json()["groups"]
    assert group["conversation_count"] == 1 and "conversations" not in group


def close_by_agent(app, session: str) -> int:
    """An agent claims the conversation's ticket and closes it; the ticket id."""
    agent = app.test_client()
    sign_in(agent, "agent1", "agent-pass-1")
    headers = {"X-CSRFToken": console_token(agent)}
    tickets = Tickets(Database.open(app.config["KEFU_SETTINGS"].database))
    ticket = tickets.active(session) or tickets.open(session, "asked", "营业厅几点开门")  # as the bot's action does
    agent.post(f"/api/agent/tickets/{ticket.id}/claim", headers=headers)
    agent.post(f"/api/agent/tickets/{ticket.id}/reply", json={"text": "已为您处理好了，再见"}, headers=headers)
    assert agent.post(f"/api/agent/tickets/{ticket.id}/close", headers=headers).status_code == 200
    return ticket.id


def test_when_an_agent_closes_the_chat_the_key_stops_opening_it_but_the_chat_can_be_rated(app):
    customer = Customer(app.test_client())
    customer.say(payload="/request_human", label="转人工")
    seen = customer.poll()["messages"][-1]["id"]
    ticket = close_by_agent(app, customer.session)
    last = customer.poll(after=seen)  # the widget's poll that finds the chat closed
    assert last["state"] == "closed" and last["ended"] is True and last["rating"]["ticket"] == ticket
    said = [(m["from"], m["text"]) for m in last["messages"]]
    assert said[-2:] == [("agent", "已为您处理好了，再见"), ("system", said[-1][1])]  # the last words reach it
    again = customer.poll(after=0)["messages"]  # but the transcript no longer does: nobody else's words
    assert again == last["messages"] and {m["from"] for m in again} == {"agent", "system"}
    reloaded = customer.get().get_json()
    assert reloaded["ended"] is True and "messages" not in reloaded and reloaded["rating"]["ticket"] == ticket
    assert customer.post(text="还有个问题").status_code == 404  # the old key writes nothing
    assert customer.rate(ticket, 5, "很好").status_code == 200
    old = customer.session
    customer.session = customer.key = None
    fresh = customer.say(text="还有个问题")
    assert fresh["session"] != old and fresh["state"] == "bot"


def test_when_the_keep_time_lapses_the_key_stops_opening_the_conversation(app, settings):
    customer = Customer(app.test_client())
    customer.say(text="客服几点下班？")
    age(settings, customer.session, 31)
    assert customer.get().get_json() == {
        "session": customer.session,
        "ended": True,
        "expired": True,
        "rating": None,
        "keep_minutes": 30,
    }
    assert customer.poll(after=0)["messages"] == []
    assert customer.post(text="在吗").status_code == 404


def test_polling_and_resuming_are_rate_limited_per_conversation_and_per_address(settings):
    app = make_app(settings, chat_limit_reads=3, chat_limit_reads_client=6)
    first, second = Customer(app.test_client()), Customer(app.test_client())
    first.say(text="你好")
    second.say(text="你好")
    answers = [first.get("/messages", after=0) for _ in range(3)] + [first.get()]
    assert [a.status_code for a in answers] == [200, 200, 200, 429] and int(answers[-1].headers["Retry-After"]) > 0
    assert [second.get().status_code for _ in range(3)] == [200, 200, 429]  # the address's 6 reads are spent
    assert second.post(text="还在吗").status_code == 200  # messages have their own limits


def test_malformed_calls_are_counted_apart_and_do_not_lock_out_customers_sharing_the_address(settings):
    app = make_app(settings, chat_limit_client=5, chat_limit_malformed=3)
    client = app.test_client()
    garbage = [
        client.post("/api/chat", data="{not json", content_type="application/json"),
        client.post("/api/chat", json=["hi"]),
        client.get("/api/chat/nobody/messages", headers={KEY_HEADER: "guess" * 9}),
        client.post("/api/chat", json={"text": ""}),
        client.get("/api/chat/nobody", headers={KEY_HEADER: "guess" * 9}),
    ]
    assert [r.status_code for r in garbage] == [400, 400, 404, 429, 429]
    customer = Customer(client)
    assert [customer.post(text="你好").status_code for _ in range(6)] == [200] * 5 + [429]


@pytest.mark.parametrize("session", ["abc\n", "abc%0A", "a" * 65])
def test_an_id_with_a_trailing_newline_is_refused_by_every_call(app, session):
    client = app.test_client()
    headers = {KEY_HEADER: "k" * 43}
    for response in (
        client.get(f"/api/chat/{session}", headers=headers),
        client.get(f"/api/chat/{session}/messages", headers=headers),
        client.post(f"/api/chat/{session}/leave", headers=headers),
    ):
        assert response.status_code in (400, 404)
    assert client.post("/api/chat", json={"session": "abc\n", "text": "hi"}, headers=headers).status_code == 400


def test_ids_are_checked_whole_everywhere():
    from kb.desk.accounts import NAME
    from kb.loader import ID_PATTERN
    from web.chat_service import KEY, SESSION

    for pattern in (NAME, ID_PATTERN, SESSION, KEY):
        good = "abcdefghij" * 5 if pattern is KEY else "abc"
        assert pattern.fullmatch(good) and not pattern.fullmatch(good + "\n")


@pytest.mark.parametrize(
    "payload",
    [
        '/greet{"x":"13812345678"}',
        "/greet",
        "/nlu_fallback",
        '/request_human{"ticket":"1"}',
        '/choose_candidate{"ref":"passage:13812345678"}',  # a candidate the bot never offered here
        '/feedback_helpful{"ref":"faq:other"}',
        '/show_all{"ref":"passage:7","x":1}',
    ],
)
def test_a_payload_no_button_of_this_conversation_carries_is_refused(app, settings, payload):
    customer = Customer(app.test_client())
    customer.say(text="客服几点下班？")
    response = customer.post(payload=payload, label="按钮")
    assert response.status_code == 400 and "payload" in response.get_json()["error"]
    said = [m["text"] for m in Conversations(Database.open(settings.database)).messages(customer.session)]
    assert "按钮" not in said


@pytest.mark.parametrize(
    "payload",
    [
        "/request_human",
        "/affirm",
        "/deny",
        "/callback_change",
        '/choose_candidate{"ref":"passage:7"}',
        '/feedback_helpful{"ref":"faq:faq-hours"}',
        '/feedback_unhelpful{"ref":"faq:faq-hours"}',
        "/feedback_helpful",
    ],
)
def test_the_payloads_the_widget_sends_are_accepted(app, payload):
    customer = Customer(app.test_client())
    customer.say(text="客服几点下班？")
    assert customer.post(payload=payload, label="按钮").status_code == 200
