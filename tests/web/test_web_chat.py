"""The chat API through Flask's test client, with Rasa behind a mock transport (and down)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from kb.database import Database
from kb.desk.contacts import ContactVault
from kb.desk.conversations import Conversations
from kb.desk.tickets import Tickets
from web import create_app, wording

from customer import age, customer


class FakeRasa:
    """Rasa's REST channel as seen on the wire: records what it got, answers as told."""

    def __init__(self):
        self.received, self.resumed, self.down, self.silent = [], [], False, False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path.endswith("/tracker/events"):  # RasaClient.resume
            self.resumed.append(request.url.path.split("/")[2])
            return httpx.Response(200, json={})
        if self.silent:  # what Rasa answers when its action server is down
            return httpx.Response(200, json=[])
        if request.url.path == "/status":
            return httpx.Response(200, json={})
        body = json.loads(request.content)
        self.received.append(body)
        if body["message"] in ("/request_human", "转人工"):
            return httpx.Response(
                200,
                json=[
                    {"recipient_id": body["sender"], "text": "正在为您转接人工客服，您是下一位"},
                    {"recipient_id": body["sender"], "custom": {"state": "queued", "ticket": 1}},
                ],
            )
        return httpx.Response(
            200,
            json=[
                {
                    "recipient_id": body["sender"],
                    "text": "服务时间原则上应为 7*24 小时。\n\n来源：《规范》 基本要求",
                    "buttons": [{"title": "相关条款", "payload": '/choose_candidate{"ref":"passage:1"}'}],
                },
                {"recipient_id": body["sender"], "custom": {"sources": [{"title": "规范", "section": "基本要求"}]}},
            ],
        )


@pytest.fixture
def rasa():
    return FakeRasa()


@pytest.fixture
def app(settings, rasa):
    settings = settings.replace(actions_host="127.0.0.1", actions_port=9)  # nothing listens there
    return create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(rasa), "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def test_answer_with_sources_and_buttons(client, rasa, settings):
    response = customer(client, "s1").post(text="客服几点下班？")
    assert response.status_code == 200
    body = response.get_json()
    assert body["session"] == customer(client, "s1").session and body["state"] == "bot"
    [message] = body["messages"]
    assert message["from"] == "bot" and "7*24 小时" in message["text"]
    assert message["sources"] == [{"title": "规范", "section": "基本要求"}]
    assert message["buttons"][0]["payload"].startswith("/choose_candidate")
    assert rasa.received == [{"sender": customer(client, "s1").session, "message": "客服几点下班？"}]
    transcript = Conversations(Database.open(settings.database)).messages(customer(client, "s1").session)
    assert [m["from"] for m in transcript] == ["customer", "bot"]


def test_handoff_queues_and_later_messages_go_to_the_agent_not_the_bot(client, rasa):
    body = customer(client, "s2").post(payload="/request_human").get_json()
    assert body["state"] == "queued" and "人工" in body["messages"][0]["text"]
    body = customer(client, "s2").post(text="我等着呢").get_json()
    [ack] = body["messages"]  # the first message while waiting is acknowledged with the place in the queue
    assert body["state"] == "queued" and ack["from"] == "system" and "人工客服接入后会看到" in ack["text"]
    body = customer(client, "s2").post(text="还要多久").get_json()
    assert body == {
        "session": customer(client, "s2").session,
        "state": "queued",
        "messages": [],
    }  # not once per message
    assert [r["message"] for r in rasa.received] == ["/request_human"]


def test_bot_down_gives_a_clear_reply_and_the_human_option(client, rasa, settings):
    rasa.down = True
    body = customer(client, "s3").post(text="客服几点下班？").get_json()
    [message] = body["messages"]
    assert message["from"] == "system" and "暂时无法回答" in message["text"]
    assert message["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    body = customer(client, "s3").post(payload="/request_human").get_json()
    assert body["state"] == "queued" and "您是下一位" in body["messages"][0]["text"]
    assert Tickets(Database.open(settings.database)).recent()[0].conversation_id == customer(client, "s3").session


def test_bot_down_out_of_hours_offers_a_callback_not_a_queue_place(settings, rasa):
    closed = settings.replace(service_hours="00:00-00:00", actions_host="127.0.0.1", actions_port=9)  # never open
    client = create_app(
        {"KEFU_SETTINGS": closed, "RASA_TRANSPORT": httpx.MockTransport(rasa), "TESTING": True}
    ).test_client()
    rasa.down = True
    body = customer(client, "night").post(text="转人工").get_json()
    [offer] = body["messages"]
    assert body["state"] == "bot" and "下班时间" in offer["text"] and "留下手机号或座机号码" in offer["text"]
    assert not any(words in offer["text"] for words in ("您是下一位", "前面还有", "排在第", "预计等待"))
    tickets = Tickets(Database.open(closed.database))
    [ticket] = tickets.recent()
    assert (
        ticket.status == "callback"
        and ticket.conversation_id == customer(client, "night").session
        and ticket.position is None
    )
    body = customer(client, "night").post(text="请明天上午回电 13812345678").get_json()
    assert body["state"] == "bot" and "已记录您的留言" in body["messages"][0]["text"]
    body = customer(client, "night").post(text="信用卡被盗刷了").get_json()
    assert "已记录您的留言" in body["messages"][0]["text"]  # later messages are added, not replacing
    ticket = tickets.recent()[0]
    assert ticket.problem == "请明天上午回电 [手机号]\n信用卡被盗刷了" and ticket.contact == "138****5678"
    vault = ContactVault.in_folder(closed.data_dir)
    assert vault.open(tickets.sealed_contact(ticket.id)) == "13812345678"  # for the agent who calls back
    assert "13812345678" not in str(rasa.received)  # the bot never had it


def test_bot_down_a_typed_request_for_a_human_queues_too(client, rasa):
    rasa.down = True
    body = customer(client, "typed").post(text="人工").get_json()
    assert body["state"] == "queued" and "您是下一位" in body["messages"][0]["text"]


def test_a_silent_bot_still_gets_the_customer_a_reply(client, rasa):
    rasa.silent = True
    [message] = customer(client, "s6").post(text="客服几点下班？").get_json()["messages"]
    assert "暂时无法回答" in message["text"] and message["buttons"][0]["payload"] == "/request_human"


def test_polling_returns_later_messages(client, settings):
    customer(client, "s4").post(text="你好")
    conversations = Conversations(Database.open(settings.database))
    last = conversations.messages(customer(client, "s4").session)[-1]["id"]
    conversations.add(customer(client, "s4").session, "agent", "您好，我是客服小王")
    body = customer(client, "s4").get("/messages", after=last).get_json()
    assert [(m["from"], m["text"]) for m in body["messages"]] == [("agent", "您好，我是客服小王")]
    assert client.get("/api/chat/nobody/messages").status_code == 404
    assert customer(client, "s4").get("/messages", after="x").status_code == 400


@pytest.mark.parametrize(
    "body, status",
    [
        (None, 400),
        ([], 400),
        ({"session": "s"}, 400),
        ({"session": "s", "text": ""}, 400),
        ({"session": "s", "text": "x" * 2001}, 400),
        ({"session": "../etc", "text": "hi"}, 400),
        ({"session": "s", "text": 5}, 400),
        ({"session": "s", "payload": "<script>"}, 400),
    ],
)
def test_bad_input_is_a_clear_400(client, body, status):
    response = client.post(
        "/api/chat", data=json.dumps(body) if body is not None else b"\xff\xfe", content_type="application/json"
    )
    assert response.status_code == status and "error" in response.get_json()


def test_oversized_request_is_refused(client):
    response = client.post("/api/chat", data=b"{" + b" " * 70_000 + b"}", content_type="application/json")
    assert response.status_code == 413 and "error" in response.get_json()
    assert client.get("/api/chat").status_code == 405 and "error" in client.get("/api/chat").get_json()


def test_customer_text_is_masked_in_the_transcript(client, settings):
    customer(client, "s5").post(text="我的手机13812345678")
    assert (
        Conversations(Database.open(settings.database)).messages(customer(client, "s5").session)[0]["text"]
        == "我的手机[手机号]"
    )


def test_healthz_reports_each_part(client, rasa):
    body = client.get("/healthz").get_json()
    assert body["checks"]["rasa"] is True and body["checks"]["database"] is True
    assert body["checks"]["actions"] is False and body["checks"]["index"] is False  # neither runs here
    rasa.down = True
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["checks"]["rasa"] is False


def test_livez_answers_for_the_balancer_without_asking_anything_else(settings):
    asked = []

    def recorded(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(recorded), "SECRET_KEY": "t"})
    response = app.test_client().get("/livez")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    assert asked == []  # a blackholed Rasa, database or action server never makes every web instance DOWN


def test_healthz_answers_within_its_deadline_when_rasa_hangs(settings, monkeypatch):
    from web import health

    released = threading.Event()

    def blackholed(request: httpx.Request) -> httpx.Response:
        released.wait(30)  # a mock transport has no timeout: without a deadline /healthz waits for this
        return httpx.Response(200, json={})

    monkeypatch.setattr(health, "CHECK_SECONDS", 0.5)
    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(blackholed), "SECRET_KEY": "t"})
    try:
        response = app.test_client().get("/healthz")
    finally:
        released.set()
    assert response.status_code == 503
    assert response.get_json()["checks"]["rasa"] is False and response.get_json()["checks"]["database"] is True


def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    page = client.get("/").get_data(as_text=True)
    assert page.count("<script") == 1 and "/static/kefu-widget.js" in page and 'lang="zh-CN"' in page
    widget = client.get("/static/kefu-widget.js")
    assert widget.status_code == 200 and "转人工" in widget.get_data(as_text=True)
    assert "innerHTML" not in widget.get_data(as_text=True).split("root.innerHTML =", 1)[1]  # text only via textContent


def test_rate_limiter_counts_each_key_in_a_moving_window_and_names_apart():
    import time

    from web.limits import LimitCounts, RateLimiter

    counts = LimitCounts()
    limiter = RateLimiter(2, 1, "test", counts)
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert 0 < limiter.hit("a") <= 1 and limiter.retry_after("a") > 0
    assert limiter.hit("b") == 0  # per key
    assert RateLimiter(2, 1, "other", counts).hit("a") == 0  # per limiter, in the same counts
    deadline = time.monotonic() + 10
    while limiter.retry_after("a") and time.monotonic() < deadline:  # the window moves on: wait for it
        time.sleep(0.05)
    assert limiter.hit("a") == 0
    assert RateLimiter(0, 60, "off").hit("x") == 0  # 0: no limit


def test_chat_is_rate_limited_per_session_and_per_client(settings):
    limited = settings.replace(chat_limit_session=3, chat_limit_client=5)
    app = create_app(
        {
            "KEFU_SETTINGS": limited,
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[{"text": "好的"}])),
        }
    )
    client = app.test_client()
    codes = [customer(client, "fast").post(text="你好").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = customer(client, "fast").post(text="你好")
    assert (
        refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0 and "太快" in refused.get_json()["error"]
    )
    other = client.post("/api/chat", json={"text": "你好"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # another customer is not held up
    codes = [customer(client, f"s{i}").post(text="你好").status_code for i in range(3)]
    assert codes[-1] == 429  # one address, many sessions: the per-client limit
    messages = [m["text"] for m in customer(client, "fast").get("/messages", after=0).get_json()["messages"]]
    assert messages.count("好的") == 3  # refused messages never reached the bot


def test_the_bot_reads_traditional_characters_in_simplified_and_the_transcript_keeps_what_was_typed(app, client, rasa):
    customer(client, "tw1").post(text="請問營業廳幾點關門？電話13812345678")
    assert rasa.received[-1]["message"] == "请问营业厅几点关门？电话[手机号]"  # what Rasa's NLU was trained on
    with app.app_context():
        from web.db import desk

        first = desk().conversations.messages(customer(client, "tw1").session)[0]
    assert first["from"] == "customer" and first["text"].startswith("請問營業廳幾點關門？")  # as typed


@pytest.mark.parametrize("text", ["🙏🙏", "。。。", "？！"])
def test_a_message_without_words_gets_the_prompt_without_asking_the_bot(client, rasa, text):
    body = customer(client, "nw1").post(text=text).get_json()
    [message] = body["messages"]
    assert message["text"] == wording.NO_WORDS and message["buttons"] == [wording.HUMAN_BUTTON]
    assert rasa.received == []


def test_a_number_is_kept_sealed_for_the_ticket_and_the_bot_only_learns_one_was_given(client, rasa, settings):
    customer(client, "p1").post(text="我的电话是 139-1234-5678，卡被吞了")
    assert rasa.received[-1]["message"] == "我的电话是 [手机号]，卡被吞了"
    desk_db = Database.open(settings.database)
    assert Conversations(desk_db).messages(customer(client, "p1").session)[0]["text"] == "我的电话是 [手机号]，卡被吞了"
    sealed, shown = Conversations(desk_db).held_contact(customer(client, "p1").session)
    assert shown == "139****5678" and ContactVault.in_folder(settings.data_dir).open(sealed) == "13912345678"
    body = customer(client, "p1").post(payload="/request_human").get_json()
    assert body["state"] == "queued"
    # the fake bot opened no ticket: what a queued customer writes becomes the ticket's problem
    from kb.desk.service import Desk

    desk = Desk(desk_db, settings.desk_policy)
    ticket = desk.request_human(customer(client, "p1").session, "asked", "")
    assert ticket.contact == "139****5678"  # the number given before the ticket went onto it
    customer(client, "p1").post(text="信用卡被盗刷了两笔")
    customer(client, "p1").post(text="换个号码吧 010-62345678")
    ticket = desk.ticket(ticket.id)
    assert ticket.problem == "信用卡被盗刷了两笔\n换个号码吧 [电话]" and ticket.contact == "010****5678"
    assert not any("62345678" in r["message"] for r in rasa.received)


def test_a_queued_customer_with_no_agent_on_duty_can_ask_for_a_callback_instead(client, rasa, settings):
    body = customer(client, "q1").post(payload="/request_human").get_json()
    assert body["state"] == "queued"
    from kb.desk.service import Desk

    desk = Desk(Database.open(settings.database), settings.desk_policy)
    desk.request_human(customer(client, "q1").session, "asked", "")  # what the bot would have done
    [ack] = customer(client, "q1").post(text="有人吗").get_json()["messages"]
    assert ack["buttons"] == [wording.CALLBACK_BUTTON]  # nobody is available
    body = customer(client, "q1").post(payload="/request_callback").get_json()
    assert body["state"] == "bot" and rasa.received[-1] == {
        "sender": customer(client, "q1").session,
        "message": "/request_callback",
    }
    assert rasa.resumed == [customer(client, "q1").session]  # the bot, paused while they queued, takes it
    assert desk.tickets.active(customer(client, "q1").session).status == "callback"
    transcript = Conversations(Database.open(settings.database)).messages(customer(client, "q1").session)
    assert [m["text"] for m in transcript if m["from"] == "customer"] == ["转人工", "有人吗", "预约回电"]


def queue(client, settings, name: str) -> int:
    """The customer `name` asks for a human; the ticket the action server would have opened."""
    body = customer(client, name).post(payload="/request_human").get_json()
    assert body["state"] == "queued"
    return Tickets(Database.open(settings.database)).open(customer(client, name).session, "asked", "转人工").id


def test_leaving_the_queue_abandons_the_ticket_and_the_bot_answers_again(client, rasa, settings):
    ticket_id = queue(client, settings, "lq1")
    response = customer(client, "lq1").leave()
    assert response.status_code == 200
    body = response.get_json()
    assert body["session"] == customer(client, "lq1").session and body["state"] == "bot"
    [message] = body["messages"]
    assert message["from"] == "system" and message["text"] == wording.LEFT_QUEUE
    assert rasa.resumed == [customer(client, "lq1").session]  # Rasa's paused conversation is resumed
    ticket = Tickets(Database.open(settings.database)).get(ticket_id)
    assert ticket.status == "abandoned" and ticket.closed_at and ticket.agent is None
    body = customer(client, "lq1").post(text="营业厅几点开门").get_json()
    assert body["state"] == "bot" and rasa.received[-1]["message"] == "营业厅几点开门"
    polled = customer(client, "lq1").get("/messages", after=0).get_json()
    assert polled["state"] == "bot" and wording.LEFT_QUEUE in [m["text"] for m in polled["messages"]]
    again = customer(client, "lq1").leave()
    assert again.status_code == 409 and "not waiting in the queue" in again.get_json()["error"]


@pytest.mark.parametrize(
    "session, status",
    [("nobody-here", 404), ("bad%20id", 404), ("x" * 65, 404)],  # a malformed id is as unknown as any
)
def test_leaving_an_unknown_or_malformed_session_is_refused(client, session, status):
    response = client.post(f"/api/chat/{session}/leave")
    assert response.status_code == status and response.get_json()["error"]


def test_a_customer_with_the_bot_or_an_agent_cannot_leave_a_queue(client, settings):
    customer(client, "lq2").post(text="营业厅几点开门")
    assert customer(client, "lq2").leave().status_code == 409  # talking to the bot
    ticket_id = queue(client, settings, "lq3")
    Tickets(Database.open(settings.database)).claim(ticket_id, "王")
    assert customer(client, "lq3").leave().status_code == 409  # an agent took it first
    assert Tickets(Database.open(settings.database)).get(ticket_id).status == "claimed"


def test_leaving_the_queue_with_the_bot_down_still_goes_back_to_the_bot(client, rasa, settings):
    ticket_id = queue(client, settings, "lq4")
    rasa.down = True
    body = customer(client, "lq4").leave().get_json()
    assert body["state"] == "bot" and body["messages"][0]["text"] == wording.LEFT_QUEUE
    assert Tickets(Database.open(settings.database)).get(ticket_id).status == "abandoned"


def test_leaving_is_rate_limited_like_the_chat(settings):
    limited = settings.replace(chat_limit_session=2, chat_limit_client=50)
    app = create_app({"KEFU_SETTINGS": limited, "RASA_TRANSPORT": httpx.MockTransport(FakeRasa()), "TESTING": True})
    client = app.test_client()
    queue(client, limited, "lq5")
    codes = [customer(client, "lq5").leave().status_code for _ in range(2)]
    assert codes == [200, 429] and int(customer(client, "lq5").leave().headers["Retry-After"]) > 0


def test_a_returning_visitor_gets_the_whole_conversation_in_order(client):
    customer(client, "back1").post(text="客服几点下班？")
    customer(client, "back1").post(payload='/choose_candidate{"ref":"passage:1"}', label="相关条款")
    body = customer(client, "back1").get().get_json()
    said = [(m["from"], m["text"][:6]) for m in body["messages"]]
    assert said == [
        ("customer", "客服几点下班"),
        ("bot", "服务时间原则"),
        ("customer", "相关条款"),
        ("bot", "服务时间原则"),
    ]
    assert body["messages"][1]["sources"] == [{"title": "规范", "section": "基本要求"}]  # as first shown
    assert body["messages"][1]["buttons"][0]["title"] == "相关条款"
    assert body["state"] == "bot" and body["rating"] is None and body["keep_minutes"] == 30
    ids = [m["id"] for m in body["messages"]]
    assert ids == sorted(ids)
    assert customer(client, "nobody").get().status_code == 404 and client.get("/api/chat/..%2Fx").status_code == 404


def test_after_the_keep_time_a_returning_visitor_starts_afresh_unless_a_person_holds_the_chat(client, settings):
    customer(client, "gone1").post(text="客服几点下班？")
    age(settings, customer(client, "gone1").session, 29)
    assert "messages" in customer(client, "gone1").get().get_json()
    age(settings, customer(client, "gone1").session, 2)
    assert customer(client, "gone1").get().get_json() == {
        "session": customer(client, "gone1").session,
        "ended": True,  # the key opens it no more
        "expired": True,
        "rating": None,
        "keep_minutes": 30,
    }
    customer(client, "wait1").post(payload="/request_human")
    age(settings, customer(client, "wait1").session, 600)
    body = customer(client, "wait1").get().get_json()
    assert body["state"] == "queued" and body["messages"]  # queued: an agent may still answer


def test_the_keep_time_is_a_setting(settings, rasa):
    app = create_app(
        {
            "KEFU_SETTINGS": settings.replace(widget_keep_minutes=120),
            "RASA_TRANSPORT": httpx.MockTransport(rasa),
            "TESTING": True,
        }
    )
    client = app.test_client()
    body = customer(client, "k1").post(text="你好", after=0).get_json()
    assert body["keep_minutes"] == 120
    age(settings, customer(client, "k1").session, 90)
    assert customer(client, "k1").get().get_json()["keep_minutes"] == 120  # still kept at 90 minutes


def test_with_after_a_message_returns_everything_since_so_nothing_between_polls_is_lost(client, settings):
    customer(client, "q1").post(payload="/request_human")
    conversations = Conversations(Database.open(settings.database))
    seen = conversations.messages(customer(client, "q1").session)[-1]["id"]
    conversations.add(
        customer(client, "q1").session, "agent", "您好，我是客服小王"
    )  # said after the widget's last poll
    body = customer(client, "q1").post(text="在吗", after=seen).get_json()
    said = [(m["from"], m["text"]) for m in body["messages"]]
    assert said[:2] == [("agent", "您好，我是客服小王"), ("customer", "在吗")]  # and the id it was stored under
    assert all(m["id"] > seen for m in body["messages"]) and body["state"] == "queued"
    polled = customer(client, "q1").get("/messages", after=seen).get_json()
    assert [m["id"] for m in polled["messages"]] == [m["id"] for m in body["messages"]]  # polls see the same
    assert polled["rating"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"session": "s", "payload": "/request_human", "label": ""},
        {"session": "s", "payload": "/request_human", "label": 5},
        {"session": "s", "payload": "/request_human", "label": "x" * 101},
        {"session": "s", "text": "hi", "after": -1},
        {"session": "s", "text": "hi", "after": "3"},
        {"session": "s", "text": "hi", "after": True},
    ],
)
def test_a_bad_label_or_after_is_a_clear_400(client, body):
    response = client.post("/api/chat", json=body)
    assert response.status_code == 400 and "error" in response.get_json()


def test_a_button_is_kept_by_its_label_masked_and_by_its_name_without_one(client, settings, rasa):
    customer(client, "b1").post(text="客服几点下班？")  # the answer offers the candidate passage:1
    customer(client, "b1").post(payload='/choose_candidate{"ref":"passage:1"}', label="信用卡章程")
    customer(client, "b1").post(payload="/callback_change", label="回电 13812345678")
    customer(client, "b1").post(payload="/deny")
    said = [
        m["text"]
        for m in Conversations(Database.open(settings.database)).messages(customer(client, "b1").session)
        if m["from"] == "customer"
    ]
    assert said == ["客服几点下班？", "信用卡章程", "回电 [手机号]", "不用了"]
    assert rasa.received[1]["message"] == '/choose_candidate{"ref":"passage:1"}'  # the bot gets the payload


@pytest.mark.parametrize(
    "typed, digits, hint",
    [
        ("010-6234 5678", "62345678", "010****5678"),
        ("0755-8888 9999", "88889999", "075*****9999"),
        ("(010)62345678", "62345678", "010****5678"),
        ("138.1234.5678", "12345678", "138****5678"),
        ("１３８－１２３４－５６７８", "５６７８", "138****5678"),
        ("+86 139 1234 5678", "12345678", "139****5678"),
    ],
)
def test_every_number_kept_for_a_callback_is_masked_everywhere_else(client, rasa, settings, typed, digits, hint):
    session = f"fmt{abs(hash(typed)) % 10**6}"
    customer(client, session).post(text=f"请回电 {typed}")
    sent = rasa.received[-1]
    assert digits not in sent["message"] and sent["metadata"] == {"contact": hint}  # the bot: a hint, no number
    stored = Conversations(Database.open(settings.database)).messages(customer(client, session).session)[0]["text"]
    assert digits not in stored and ("[手机号]" in stored or "[电话]" in stored)


def test_a_number_asked_about_is_masked_but_not_kept_as_a_contact(client, rasa, settings):
    customer(client, "ask1").post(text="13812345678 这个号码给我发短信，是你们吗")
    assert rasa.received[-1] == {
        "sender": customer(client, "ask1").session,
        "message": "[手机号] 这个号码给我发短信，是你们吗",
    }
    assert Conversations(Database.open(settings.database)).held_contact(customer(client, "ask1").session) == ("", "")


@pytest.mark.parametrize("after", [10**20, -1, "5", 2.5, True])
def test_a_message_id_out_of_range_is_refused_before_anything_is_stored(client, rasa, settings, after):
    response = customer(client, "big1").post(text="你好", after=after)
    assert response.status_code == 400 and rasa.received == []
    assert Conversations(Database.open(settings.database)).get(customer(client, "big1").session) is None


@pytest.mark.parametrize(
    "typed, to_bot",
    [
        ('/feedback_unhelpful{"ref": "faq:never-shown"}', 'feedback_unhelpful{"ref": "faq:never-shown"}'),
        ("  //restart", "restart"),
        ("/request_human", "request_human"),
    ],
)
def test_typed_text_never_reaches_the_bot_as_a_button_payload(client, rasa, typed, to_bot):
    """Rasa reads a message starting with '/' as an intent with entities; only the buttons' payloads, checked
    against what the conversation was shown, may be one."""
    customer(client, "slash1").post(text=typed)
    assert rasa.received[-1]["message"] == to_bot
