"""What the web app itself says to customers (the bot's own wording is in bot/domain.yml).

The web app speaks when the bot cannot: Rasa is down or silent, the customer is waiting for an agent,
an agent joins or leaves. Where it says what the bot would say (the queue, a callback), the sentences
are the domain's responses word for word; tests/web/test_wording.py holds them together.
"""

from __future__ import annotations

from kb.desk.supervision import quoted_minutes

HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
CALLBACK_BUTTON = {"title": "预约回电", "payload": "/request_callback"}
BUTTON_LABELS = {
    "/request_human": "转人工",
    "/request_callback": "预约回电",
    "/callback_change": "修改号码",
    "/affirm": "对的",
    "/feedback_helpful": "👍",
    "/feedback_unhelpful": "👎",
    "/deny": "不用了",
}

NO_WORDS = "请问有什么可以帮您？可以直接输入您的问题，或者点「转人工」。"
BOT_DOWN = "抱歉，智能客服暂时无法回答，请稍后再试，或者转人工客服。"
SERVICE_DOWN = "抱歉，服务暂时不可用，请稍后再试。"  # the database cannot be reached: nothing can be kept now
QUEUED_ACK = "您的消息已收到，人工客服接入后会看到。"
CHAT_ENDED = "人工服务已结束，智能客服将继续为您服务。"
CALLBACK_NOTED = "已记录您的留言，我们会在服务时间内尽快与您联系。"  # the bot is down: no exchange, each message kept
LEFT_QUEUE = "您已退出人工排队，智能客服将继续为您服务。需要人工时可以再点「转人工」。"


def too_fast(seconds: int) -> str:
    """A customer over the chat rate limit."""
    return f"您发送得太快了，请 {seconds} 秒后再试。"


def transferred(agent: str) -> str:
    """An agent has handed the chat to another, who holds it from now on."""
    return f"已为您转接人工客服 {agent}，请问还有什么可以帮您？"


def agent_joined(agent: str) -> str:
    """An agent has claimed the chat."""
    return f"人工客服 {agent} 已接入，请问有什么可以帮您？"


def callback_offer(service_hours: str) -> str:
    """Out of service hours, a customer asking for a human is asked for their problem and number
    (= utter_handoff_callback followed by utter_callback_ask_problem)."""
    return (
        f"现在是人工客服下班时间（服务时间 {service_hours}），我先帮您登记，上班后由人工客服给您回电。"
        "请简单描述您遇到的问题，并留下手机号或座机号码。"
    )


def _place(position: int) -> str:
    return "您是下一位" if position <= 1 else f"您前面还有 {position - 1} 位客户在等待"


def _wait(wait_seconds: float) -> str:
    minutes = quoted_minutes(wait_seconds)
    if minutes is None:
        return "目前没有在线的人工客服，接入可能需要较长时间，您也可以稍后再来"
    return f"预计等待约 {minutes} 分钟"


def queue_message(position: int, wait_seconds: float) -> str:
    """A customer who has just joined the queue: their place (1 = next) and the expected wait
    (= the domain's utter_handoff_next / _queued / _next_no_agent / _queued_no_agent)."""
    return f"正在为您转接人工客服，{_place(position)}，{_wait(wait_seconds)}。人工客服接入前，您可以先把问题描述清楚。"


def still_queued(position: int, wait_seconds: float) -> str:
    """A queued customer's first message while they wait."""
    return f"{QUEUED_ACK}您排在第 {position} 位，{_wait(wait_seconds)}。"


def button_label(payload: str) -> str:
    """What a button press shows in the transcript: its label, or the intent's name."""
    intent = payload.split("{")[0]
    return BUTTON_LABELS.get(intent, intent.lstrip("/"))
