"""End to end on several instances (kefu topology: two action servers, two Rasa instances on PostgreSQL's
tracker store and Redis's lock store, two web instances, HAProxy in front): one customer's conversation goes
through every web instance and both Rasa instances, a handoff asked for on one web instance is claimed by an
agent signed in on the other, and one instance of each kind is killed (-9) mid-conversation. Nothing a 200
acknowledged is lost, and the conversation carries on."""

from __future__ import annotations

import re

import httpx
import pytest

from indexer.local_services import free_port
from indexer.servers import MODEL, RASA_PYTHON
from indexer.settings import load_settings
from indexer.topology import Topology
from web.rasa_client import instance_order

pytestmark = pytest.mark.slow

DEGRADED = "智能客服暂时无法回答"  # the web app's own reply when the bot cannot answer (web/wording.py)
AGENT, PASSWORD = "multi-agent", "multi-agent-pass-1"


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    """The whole set on a fresh data folder, agents on duty round the clock, one agent account."""
    if not MODEL.is_file() or not RASA_PYTHON.is_file():
        pytest.fail("the Rasa model or venv is missing: run 'make test' (it trains the model first)")
    root = tmp_path_factory.mktemp("topology")
    settings = load_settings(environ={}, overrides={"data_dir": root / "var", "service_hours": "00:00-24:00"})
    with Topology(settings, root / "run", public_port=free_port(), throwaway=True) as running:
        running.kefu(["users", "add", AGENT, "--role", "agent", "--password-stdin"], stdin=f"{PASSWORD}\n")
        yield running


class Widget:
    """A customer's widget that can send each call to a different door (a web instance or HAProxy)."""

    def __init__(self) -> None:
        self.session: str | None = None
        self.key: str | None = None
        self.acknowledged: list[str] = []  # every text a 200 accepted

    def say(self, base: str, text: str) -> dict:
        body = {"text": text, **({"session": self.session} if self.session else {})}
        headers = {"X-Kefu-Key": self.key} if self.key else {}
        response = httpx.post(f"{base}/api/chat", json=body, headers=headers, timeout=90)
        assert response.status_code == 200, (base, text, response.text)
        answer = response.json()
        self.session, self.key = answer.get("session", self.session), answer.get("key", self.key)
        self.acknowledged.append(text)
        return answer

    def transcript(self, base: str) -> list[dict]:
        response = httpx.get(
            f"{base}/api/chat/{self.session}/messages", params={"after": 0}, headers={"X-Kefu-Key": self.key or ""}
        )
        assert response.status_code == 200, response.text
        return response.json()["messages"]


def answered(answer: dict) -> str:
    """The bot's reply text; fails if the bot did not answer (the web app's fallback, or nothing)."""
    text = "\n".join(m.get("text") or "" for m in answer["messages"])
    assert answer["state"] == "bot" and text and DEGRADED not in text, answer
    return text


def signed_in_agent(base: str) -> tuple[httpx.Client, dict]:
    """An agent's browser signed in through this web instance, and the console's CSRF header."""
    agent = httpx.Client(base_url=base, timeout=30)
    login = agent.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    signed = agent.post("/login", data={"name": AGENT, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code in (302, 303), signed.text
    console = agent.get("/agent/")
    assert console.status_code == 200
    return agent, {"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', console.text).group(1)}


def rasa_tracker_texts(topology: Topology, name: str, session: str) -> list[str]:
    """What a Rasa instance's tracker (Rasa's store, shared in PostgreSQL) holds of the customer's messages."""
    token = (topology.settings.data_dir / "rasa_token").read_text().strip()
    tracker = httpx.get(f"{topology.url(name)}/conversations/{session}/tracker", params={"token": token}).json()
    return [e.get("text") for e in tracker["events"] if e.get("event") == "user"]


def test_a_conversation_survives_instances_of_every_kind_dying(topology):
    web1, web2, public = topology.url("web-1"), topology.url("web-2"), topology.public_url
    customer = Widget()

    # one conversation through each web instance and through HAProxy
    assert "7*24" in answered(customer.say(web1, "客服热线是24小时服务的吗"))
    assert "回访" in answered(customer.say(web2, "投诉解决以后会有人回访吗"))
    answered(customer.say(public, "营业部的员工可以泄露客户信息吗"))

    # the Rasa instance the conversation hashes to dies: the next message is answered by the other, which
    # holds the whole conversation (the tracker store is shared)
    home, other = (
        f"rasa-{i + 1}" for i in instance_order(customer.session, [topology.url("rasa-1"), topology.url("rasa-2")])
    )
    topology.kill(home)
    assert "7*24" in answered(customer.say(web2, "客服热线是24小时服务的吗"))
    assert rasa_tracker_texts(topology, other, customer.session) == customer.acknowledged

    # an action server dies: Rasa's calls go to the other through HAProxy
    topology.kill("actions-1")
    assert "回访" in answered(customer.say(public, "投诉解决以后会有人回访吗"))

    # a handoff asked for on web-2, claimed by an agent signed in on web-1
    assert customer.say(web2, "转人工")["state"] == "queued"
    agent, csrf = signed_in_agent(web1)
    [ticket] = [t for t in agent.get("/api/agent/queue").json()["tickets"] if t["conversation_id"] == customer.session]
    assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim", headers=csrf).status_code == 200

    # web-2 dies: the customer's messages reach the agent through HAProxy and through web-1
    topology.kill("web-2")
    assert customer.say(public, "我的问题是信用卡被冻结了")["state"] == "agent"
    assert customer.say(web1, "请尽快处理")["state"] == "agent"
    seen = [m["text"] for m in agent.get(f"/api/agent/tickets/{ticket['id']}").json()["messages"]]
    assert all(text in seen for text in customer.acknowledged), (customer.acknowledged, seen)
    reply = agent.post(f"/api/agent/tickets/{ticket['id']}/reply", json={"text": "已为您查询"}, headers=csrf)
    assert reply.status_code == 200

    # nothing a 200 acknowledged is lost: the customer's transcript holds every message, and the agent's reply
    transcript = [m["text"] for m in customer.transcript(public)]
    assert all(text in transcript for text in customer.acknowledged) and "已为您查询" in transcript

    # the agent closes (the bot takes the conversation back through the surviving Rasa) and the bot answers again
    closed = agent.post(f"/api/agent/tickets/{ticket['id']}/close", headers=csrf).json()
    assert closed["bot_resumed"] is True
    after = Widget()  # the closed chat's key has ended: the widget opens a fresh conversation
    assert "7*24" in answered(after.say(public, "客服热线是24小时服务的吗"))
