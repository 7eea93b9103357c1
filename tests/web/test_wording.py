"""The web app's own wording says what the bot says where they overlap (the queue, a callback), word for
word: the web app speaks for the bot when Rasa is down."""

from __future__ import annotations

import pytest

from actions.handoff import queue_response
from kb.desk.supervision import quoted_minutes
from web import wording

from domain import response_text


@pytest.mark.parametrize("position, wait_seconds", [(1, 240), (3, 10), (2, float("inf")), (1, float("inf")), (7, 1500)])
def test_the_queue_message_is_the_bots(position, wait_seconds):
    name, values = queue_response(position, quoted_minutes(wait_seconds))
    assert wording.queue_message(position, wait_seconds) == response_text(name, **values)


def test_the_callback_wording_is_the_bots():
    assert wording.callback_offer("08:00-22:00") == response_text(
        "utter_handoff_callback", hours="08:00-22:00"
    ) + response_text("utter_callback_ask_problem")


def test_the_prompt_for_a_message_without_words_is_the_bots():
    assert response_text("utter_no_words") == wording.NO_WORDS


def test_queue_message():
    assert (
        wording.queue_message(1, 240)
        == "正在为您转接人工客服，您是下一位，预计等待约 4 分钟。人工客服接入前，您可以先把问题描述清楚。"
    )
    assert "前面还有 2 位" in wording.queue_message(3, 10) and "约 1 分钟" in wording.queue_message(3, 10)
    assert "没有在线的人工客服" in wording.queue_message(2, float("inf"))


def test_buttons_show_their_label():
    assert wording.button_label("/request_human") == "转人工"
    assert wording.button_label('/feedback_helpful{"ref":"faq:x"}') == "👍"
    assert wording.button_label("/choose_candidate") == "choose_candidate"
