"""End to end: the real Rasa server and action server, over the REST channel, on the shipped base."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest

from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.conversations import Conversations
from kb.desk.service import Desk

from customer import Customer
from servers import listening, running_bot, running_web
from staff import console_token, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def running(real_kb_settings, tmp_path_factory):
    """Both servers on the shipped base."""
    with running_bot(real_kb_settings.data_dir, tmp_path_factory.mktemp("e2e")) as servers:
        yield servers


@pytest.fixture
def bot(running):
    """say(sender, text) -> the bot's replies over Rasa's REST channel."""
    return running.say


@pytest.fixture
def web(running, real_kb_settings):
    """The real Flask app talking to the real Rasa server."""
    from web import create_app

    settings = real_kb_settings.replace(rasa_host="127.0.0.1", rasa_port=running.rasa_port)
    return create_app({"KEFU_SETTINGS": settings, "TESTING": True}).test_client()


def desk(settings) -> Desk:
    return Desk(Database.open(settings.database), settings.desk_policy)


def conversation() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def test_greeting_names_what_the_knowledge_base_is_about(bot):
    said = texts(bot(conversation(), "你好"))
    # the shipped base's largest category, filled in by the action server (not Rasa's unfilled '{subjects}')
    assert "客服助手" in said and "直接问我服务运营课程、" in said and "{" not in said
    assert "You can ask me about 服务运营课程, " in texts(bot(conversation(), "hello"))


def test_cited_answer(bot):
    replies = bot(conversation(), "客服热线是24小时服务的吗")
    assert "7*24 小时" in texts(replies) and "来源：《中国银行业客户服务中心服务规范》" in texts(replies)
    assert any(r.get("custom", {}).get("sources") for r in replies)


def test_english_question_gets_a_chinese_source(bot):
    assert "7*24 小时" in texts(bot(conversation(), "Is the customer service hotline open around the clock?"))
    # one nothing answers hears so in English, with a person on offer
    replies = bot(conversation(), "Can you book me a flight ticket to Beijing?")
    assert texts(replies).startswith("Sorry") and "抱歉" not in texts(replies)
    assert any(b["payload"] == "/request_human" for r in replies for b in r.get("buttons", []))


@pytest.mark.parametrize("question", ["人工坐席一般几点下班", "你们投诉一般多久给答复", "你们卖不卖宠物粮"])
def test_a_question_about_human_service_or_complaints_is_never_a_handoff(bot, real_kb_settings, question):
    sender = conversation()
    replies = bot(sender, question)  # NLU hears request_human or complaint in these
    assert replies and not any(r.get("custom", {}).get("state") in ("queued", "callback") for r in replies)
    assert not [t for t in desk(real_kb_settings).tickets.recent() if t.conversation_id == sender]


def test_asked_when_agents_are_there_the_bot_says_the_desks_hours_through_rasa(bot):
    replies = bot(conversation(), "人工客服几点下班？")  # nobody has said they are available
    assert "人工客服的服务时间是每天 00:00-24:00（北京时间）" in texts(replies)
    assert [b["payload"] for r in replies for b in r.get("buttons", [])] == ["/request_human", "/request_callback"]


def test_abstention_logs_a_gap(bot, real_kb_settings):
    sender = conversation()
    replies = bot(sender, "信用卡的年费怎么减免")
    assert "知识库里暂时没有" in texts(replies) or "超出了我能回答的范围" in texts(replies)
    assert any(b["payload"] == "/request_human" for r in replies for b in r.get("buttons", []))
    assert [g["question"] for g in desk(real_kb_settings).gaps.recent() if g["conversation_id"] == sender] == [
        "信用卡的年费怎么减免"
    ]


@pytest.mark.parametrize("gibberish", ["asdkjqwe zxmn", "啊啊啊啊啊啊", "😀😀😀"])
def test_gibberish_is_never_answered_with_a_passage(bot, gibberish):
    replies = bot(conversation(), gibberish)
    assert replies and "来源：" not in texts(replies)


def test_handoff_opens_a_ticket_and_pauses_the_bot(bot, real_kb_settings):
    sender = conversation()
    bot(sender, "营业部的员工可以泄露客户信息吗")
    replies = bot(sender, "转人工")
    assert "人工客服" in texts(replies) and ("下一位" in texts(replies) or "等待" in texts(replies))
    [ticket] = [t for t in desk(real_kb_settings).tickets.recent() if t.conversation_id == sender]
    assert ticket.status == "queued" and ticket.reason == "asked"
    # a bare request is not a problem: the customer is asked for it (what they write while queued fills it);
    # the passages the bot found for the question before are there for the agent to start from
    assert ticket.question == "" and ticket.passages
    assert bot(sender, "在吗？") == []  # paused: an agent has the conversation now


def test_web_chat_api_through_the_real_bot(web):
    customer = Customer(web)
    body = customer.say(text="客服热线是24小时服务的吗")
    [answer] = body["messages"]
    assert body["state"] == "bot" and "7*24 小时" in answer["text"]
    assert answer["sources"][0]["title"] == "中国银行业客户服务中心服务规范"
    body = customer.say(payload="/request_human")
    assert body["state"] == "queued"
    [ack] = customer.say(text="在吗")["messages"]
    assert ack["from"] == "system" and "排在第" in ack["text"]  # the bot stays out of it; the wait is acknowledged


@pytest.fixture
def app(running, real_kb_settings):
    from web import create_app

    settings = real_kb_settings.replace(rasa_host="127.0.0.1", rasa_port=running.rasa_port)
    return create_app({"KEFU_SETTINGS": settings, "SECRET_KEY": "e2e"})


def test_after_an_agent_closes_the_bot_answers_each_message_once_and_a_human_is_still_reachable(app, real_kb_settings):
    accounts = Accounts(Database.open(real_kb_settings.database))
    if not accounts.by_name("e2e-agent"):
        accounts.add("e2e-agent", "e2e-agent-pass", "agent")
    customer, agent = Customer(app.test_client()), app.test_client()
    assert customer.say(text="转人工")["state"] == "queued"
    sender = customer.session
    sign_in(agent, "e2e-agent", "e2e-agent-pass")
    headers = {"X-CSRFToken": console_token(agent)}
    [ticket] = [t for t in agent.get("/api/agent/queue").get_json()["tickets"] if t["conversation_id"] == sender]
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=headers).status_code == 200
    agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "您好"}, headers=headers)
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/close", headers=headers).get_json()["bot_resumed"]
    assert customer.poll()["ended"] is True  # the widget forgets the closed chat's key: what follows is fresh
    customer.session = customer.key = None
    for question, expected in (
        ("投诉解决以后会有人回访吗", "回访"),
        ("投诉一般多久处理完", "暂时没有"),  # the passage it finds states no duration: said so, not guessed
        ("客服热线是24小时服务的吗", "7*24"),
        ("火星上能开户吗", "暂时没有"),
    ):
        body = customer.say(text=question)
        assert body["state"] == "bot" and len(body["messages"]) == 1, body  # one answer, not a loop of them
        assert expected in body["messages"][0]["text"]
    body = customer.say(payload="/request_human")
    assert body["state"] == "queued"


def test_hostile_messages_through_the_real_bot_get_a_reply_and_no_raw_numbers_reach_the_logs(web, running):
    for text in (
        "<script>alert(1)</script>",
        "'; DROP TABLE messages; --",
        "\u202e\ufffd\x01",
        "😀" * 500,
        "我的手机号是13812345678，身份证110101199003071234，请回电",
    ):
        customer = Customer(web)  # each its own: two abstentions in a row would rightly hand over to a human
        response = customer.post(text=text)
        assert response.status_code == 200 and response.get_json()["messages"], text
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in running.logs)
    assert "13812345678" not in logs and "110101199003071234" not in logs
    stored = [
        m["text"]
        for m in Conversations(Database.open(web.application.config["KEFU_SETTINGS"].database)).messages(
            customer.session
        )
        if m["from"] == "customer"
    ]
    assert "我的手机号是[手机号]，身份证[身份证号]，请回电" in stored


def test_follow_ups_through_the_real_bot_keep_the_topic_in_rasas_slots(bot):
    sender = conversation()
    assert "进行培训或调整岗位" in texts(bot(sender, "考核不合格的员工会被怎么处理"))
    after = texts(bot(sender, "下一条呢"))
    assert after.startswith("关于《营运公司服务管理制度》") and "对优秀员工给予奖励" in after
    assert "还有什么可以帮您" in texts(bot(sender, "好的"))  # a plain yes asks nothing
    other = conversation()
    assert "RACI" in texts(bot(other, "RACI模型是什么意思"))
    item = texts(bot(other, "那C呢"))
    assert "咨询到的人" in item and "负责人" not in item


def staff_client(app, settings, name: str, role: str):
    """A signed-in staff member's client with the console's CSRF header."""
    accounts = Accounts(Database.open(settings.database))
    if not accounts.by_name(name):
        accounts.add(name, f"{name}-pass-1", role)
    client = app.test_client()
    sign_in(client, name, f"{name}-pass-1")
    client.environ_base["HTTP_X_CSRFTOKEN"] = console_token(client)
    return client


def test_in_hours_a_live_takeover_keeps_the_problem_and_the_number_for_the_agent(app, running, real_kb_settings):
    customer = Customer(app.test_client())
    body = customer.say(text="我的信用卡昨天被盗刷了两笔，转人工")
    assert body["state"] == "queued"
    sender = customer.session
    customer.say(text="是在外地的商户刷的")
    agent = staff_client(app, real_kb_settings, "e2e-agent2", "agent")
    [ticket] = [t for t in agent.get("/api/agent/queue").get_json()["tickets"] if t["conversation_id"] == sender]
    assert ticket["question"] == "我的信用卡昨天被盗刷了两笔\n是在外地的商户刷的"  # the problem, not '转人工'
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim").status_code == 200
    agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "请留一个能联系到您的电话"})
    customer.say(text="13912345678")
    seen = agent.get(f"/api/agent/tickets/{ticket['id']}").get_json()
    assert seen["messages"][-1]["text"] == "[手机号]" and seen["ticket"]["contact"] == "139****5678"
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/contact").get_json() == {"number": "13912345678"}
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/close").get_json()["bot_resumed"]


def chatting(app):
    """A customer's widget on the web app, and say(text=… or payload=…): their message through it; the bot's
    reply, which must be the bot's (not a queue's)."""
    customer = Customer(app.test_client())

    def say(**body) -> str:
        reply = customer.say(**body)
        assert reply["state"] == "bot", reply
        return "\n".join(m["text"] for m in reply["messages"])

    return customer, say


@pytest.fixture(scope="module")
def night(real_kb_settings, tmp_path_factory):
    """Rasa and the action server out of service hours (never open), and the web app before them."""
    from web import create_app

    closed = real_kb_settings.replace(service_hours="00:00-00:00")
    with running_bot(closed.data_dir, tmp_path_factory.mktemp("night"), service_hours="00:00-00:00") as servers:
        settings = closed.replace(rasa_host="127.0.0.1", rasa_port=servers.rasa_port)
        yield servers, settings, create_app({"KEFU_SETTINGS": settings, "SECRET_KEY": "e2e"})


def test_out_of_hours_the_bot_takes_a_callback_down_and_the_number_never_reaches_rasa(night):
    servers, settings, app = night
    customer, say = chatting(app)

    assert "下班时间" in say(text="我的信用卡被盗刷了，转人工") and "手机号" in say(text="明天上午吧")
    confirm = say(text="打这个 139 8765 4321")
    assert "139****4321" in confirm and "号码对吗" in confirm
    assert "新的联系电话" in say(payload="/callback_change")
    assert "010****5678" in say(text="010-62345678")
    done = say(payload="/affirm")
    assert "已为您登记回电" in done and "010****5678" in done and "明天上午" in done
    assert "7*24" in say(text="客服热线是24小时服务的吗")  # the bot still answers questions
    assert "已补充到您的回电登记" in say(text="卡是前天在地铁上丢的")

    [ticket] = [t for t in desk(settings).tickets.recent() if t.conversation_id == customer.session]
    assert (ticket.status, ticket.contact, ticket.preferred_time) == ("callback", "010****5678", "明天上午")
    assert ticket.problem == "我的信用卡被盗刷了\n卡是前天在地铁上丢的"
    tracker = servers.tracker(customer.session)
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in servers.logs)
    for number in ("13987654321", "139 8765 4321", "62345678"):
        assert number not in json.dumps(tracker, ensure_ascii=False) and number not in logs

    agent = staff_client(app, settings, "night-agent", "agent")
    [due] = [c for c in agent.get("/api/agent/callbacks").get_json()["callbacks"] if c["id"] == ticket.id]
    assert due["contact"] == "010****5678" and due["question"] == ticket.problem
    assert agent.post(f"/api/agent/tickets/{ticket.id}/take").status_code == 200
    assert agent.post(f"/api/agent/tickets/{ticket.id}/contact").get_json() == {"number": "01062345678"}
    done = agent.post(f"/api/agent/tickets/{ticket.id}/attempts", json={"outcome": "reached"}).get_json()
    assert done["ticket"]["status"] == "closed" and done["ticket"]["outcome"] == "reached"


def test_declining_a_callback_with_a_question_after_it_withdraws_it_and_answers_through_rasa(night):
    servers, settings, app = night
    customer, say = chatting(app)
    assert "手机号" in say(text="我的信用卡被盗刷了，转人工")
    said = say(text="不用回电，我只是想问客服热线是24小时服务的吗")
    assert "已取消回电登记" in said and "7*24" in said
    [ticket] = [t for t in desk(settings).tickets.recent() if t.conversation_id == customer.session]
    assert (ticket.status, ticket.outcome) == ("closed", "withdrawn")
    # a discount is no call, whatever NLU makes of 打 ('银卡打几折' was heard as request_callback)
    assert "回电" not in say(text="银卡打几折")
    assert [t.id for t in desk(settings).tickets.recent() if t.conversation_id == customer.session] == [ticket.id]


def test_rasa_the_action_server_and_the_web_app_listen_on_loopback_only(running, real_kb_settings, tmp_path):
    with running_web(real_kb_settings.data_dir, running.rasa_port, tmp_path) as web_url:
        ports = {
            "rasa": running.rasa_port,
            "actions": running.system.ports["actions"],
            "web": int(web_url.rsplit(":", 1)[1]),
        }
        assert {name: listening(port) for name, port in ports.items()} == {name: {"127.0.0.1"} for name in ports}
        httpx.get(f"{web_url}/healthz", timeout=60)  # the web app asks Rasa's API, with the token
    assert running.system.rasa_token not in (tmp_path / "web.log").read_text(
        encoding="utf-8"
    )  # Rasa wants it in the URL


def test_rasas_http_api_answers_only_with_the_token(running, bot):
    sender = conversation()
    assert bot(sender, "你好")
    tracker = f"{running.rasa_url}/conversations/{sender}/tracker"
    pause = json.dumps([{"event": "pause"}]).encode()
    for request in (
        urllib.request.Request(tracker),
        urllib.request.Request(f"{tracker}/events", pause, {"Content-Type": "application/json"}),
        urllib.request.Request(f"{tracker}/events?token=wrong", pause, {"Content-Type": "application/json"}),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401, request.full_url
    assert bot(sender, "客服热线是24小时服务的吗")  # nothing paused it
    assert running.tracker(sender)["sender_id"] == sender  # with the token
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in running.logs)
    command_line = Path(f"/proc/{running.rasa.pid}/cmdline").read_text(errors="replace")  # what ps shows
    assert running.system.rasa_token not in logs and running.system.rasa_token not in command_line
    for secret in ("rasa_token", "rasa_tracker.db"):
        assert stat.S_IMODE((running.system.data_dir / secret).stat().st_mode) == 0o600, secret


def test_a_handed_off_conversation_stays_with_the_agent_across_a_rasa_restart(app, running, bot, real_kb_settings):
    customer = Customer(app.test_client())
    assert customer.say(text="转人工")["state"] == "queued"
    sender = customer.session
    agent = staff_client(app, real_kb_settings, "e2e-agent3", "agent")
    [ticket] = [t for t in agent.get("/api/agent/queue").get_json()["tickets"] if t["conversation_id"] == sender]
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim").status_code == 200
    running.restart_rasa()
    assert bot(sender, "在吗？") == []  # still paused: what the customer writes is the agent's to answer
    assert customer.say(text="还在吗")["state"] == "agent"  # and the web app hands it to the agent
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/close").get_json()["bot_resumed"]
    # The close resumed the conversation in the restarted Rasa (through its token-guarded API): it answers again.
    # (The customer's widget starts a fresh conversation after a close: the old key reads only the last words.)
    assert "7*24" in texts(bot(sender, "客服热线是24小时服务的吗"))


def test_a_callback_being_taken_down_continues_across_a_rasa_restart(night):
    servers, _, app = night
    _, say = chatting(app)
    assert "下班时间" in say(text="我的挂失卡片一直没有寄到，转人工") and "手机号" in say(text="下午都可以")
    confirm = say(text="我的号码是 137 1234 5678")
    assert "137****5678" in confirm and "号码对吗" in confirm
    servers.restart_rasa()
    done = say(payload="/affirm")  # the yes answers the question asked before the restart: the number is right
    assert "已为您登记回电" in done and "137****5678" in done and "下午" in done
