"""End to end: the real Rasa server and action server, over the REST channel, on the shipped base."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from kb.desk import Desk
from kb.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "kefu.tar.gz"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def bot(real_kb_settings, tmp_path_factory):
    """Start both servers; yields a function that sends one message and returns the bot's replies."""
    if not MODEL.is_file() or not RASA.is_file():
        pytest.fail("the Rasa model or venv is missing: run 'make test' (it trains the model first)")
    tmp = tmp_path_factory.mktemp("e2e")
    rasa_port, action_port = free_port(), free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n', encoding="utf-8")
    env = {**os.environ, "KEFU_DATA_DIR": str(real_kb_settings.data_dir), "KEFU_SERVICE_HOURS": "00:00-24:00",
           "KEFU_CONFIG": str(tmp / "none.toml")}
    logs = [open(tmp / "actions.log", "w"), open(tmp / "rasa.log", "w")]
    actions = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
                               cwd=ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT)
    rasa = subprocess.Popen([str(RASA), "run", "--enable-api", "--model", str(MODEL), "--endpoints", str(endpoints),
                             "--credentials", "bot/credentials.yml", "--port", str(rasa_port)],
                            cwd=ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", actions)
        wait_for(f"http://127.0.0.1:{rasa_port}/status", rasa)

        def say(sender: str, text: str) -> list[dict]:
            body = json.dumps({"sender": sender, "message": text}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", body,
                                             {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        yield say
    finally:
        for proc in (rasa, actions):
            proc.terminate()
            proc.wait(timeout=30)
        for log in logs:
            log.close()


def desk(settings) -> Desk:
    return Desk(Store.open(settings.db_path))


def conversation() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def test_greeting(bot):
    assert "客服助手" in texts(bot(conversation(), "你好"))


def test_cited_answer(bot):
    replies = bot(conversation(), "客服热线是24小时服务的吗")
    assert "7*24 小时" in texts(replies) and "来源：《中国银行业客户服务中心服务规范》" in texts(replies)
    assert any(r.get("custom", {}).get("sources") for r in replies)


def test_english_question_gets_a_chinese_source(bot):
    assert "7*24 小时" in texts(bot(conversation(), "Is the customer service hotline open around the clock?"))


def test_abstention_logs_a_gap(bot, real_kb_settings):
    sender = conversation()
    replies = bot(sender, "信用卡的年费怎么减免")
    assert "知识库里暂时没有" in texts(replies) or "超出了我能回答的范围" in texts(replies)
    assert any(b["payload"] == "/request_human" for r in replies for b in r.get("buttons", []))
    assert [g["question"] for g in desk(real_kb_settings).gaps() if g["conversation_id"] == sender] == ["信用卡的年费怎么减免"]


@pytest.mark.parametrize("gibberish", ["asdkjqwe zxmn", "啊啊啊啊啊啊", "😀😀😀"])
def test_gibberish_is_never_answered_with_a_passage(bot, gibberish):
    replies = bot(conversation(), gibberish)
    assert replies and "来源：" not in texts(replies)


def test_handoff_opens_a_ticket_and_pauses_the_bot(bot, real_kb_settings):
    sender = conversation()
    bot(sender, "营业部的员工可以泄露客户信息吗")
    replies = bot(sender, "转人工")
    assert "人工客服" in texts(replies) and ("下一位" in texts(replies) or "等待" in texts(replies))
    [ticket] = [t for t in desk(real_kb_settings).handoffs() if t["conversation_id"] == sender]
    assert ticket["status"] == "queued" and ticket["reason"] == "asked"
    assert ticket["question"] == "营业部的员工可以泄露客户信息吗" and ticket["passages"]
    assert bot(sender, "在吗？") == []  # paused: an agent has the conversation now
