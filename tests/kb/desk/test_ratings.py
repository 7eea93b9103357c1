"""After an agent closes a chat the customer may rate it once; the dashboard's rating figures; and how long
a returning visitor's conversation is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.conversations import Conversations, kept
from kb.desk.metrics import ratings
from kb.desk.ratings import RatingError
from kb.desk.rules import DeskPolicy
from kb.desk.service import Desk, TicketNotFound, TicketStateError

OPEN = DeskPolicy("00:00-24:00", "Asia/Shanghai", 300.0)


@pytest.fixture
def desk(new_database, tmp_path):
    return Desk(new_database("kefu"), OPEN)


def closed_chat(desk: Desk, conversation: str, agent: str = "agent1") -> int:
    ticket = desk.request_human(conversation, "asked", "我要投诉")
    desk.claim_chat(ticket.id, agent, "已接入")
    desk.reply(ticket.id, agent, "您好")
    desk.close_chat(ticket.id, agent, "人工服务已结束", lambda c: True)
    return ticket.id


def test_a_closed_chat_is_due_for_a_rating_until_it_is_rated_once(desk):
    ticket_id = closed_chat(desk, "c1")
    assert desk.ratings.due("c1") == {"ticket": ticket_id, "agent": "agent1"}
    rating = desk.rate_chat("c1", ticket_id, 4, "  态度很好，电话13812345678  " + "好" * 600)
    assert rating["score"] == 4 and rating["agent"] == "agent1"
    assert rating["comment"].startswith("态度很好，电话[手机号]") and len(rating["comment"]) == 500
    assert desk.ratings.due("c1") is None
    with pytest.raises(TicketStateError, match="rated already"):
        desk.rate_chat("c1", ticket_id, 5)
    assert desk.ratings.get(ticket_id)["score"] == 4  # the first rating stands


def test_only_the_conversations_own_closed_human_chat_can_be_rated(desk):
    queued = desk.request_human("c2", "asked", "转人工")
    assert desk.ratings.due("c2") is None
    with pytest.raises(TicketStateError, match="closed"):
        desk.rate_chat("c2", queued.id, 5)  # still waiting
    desk.close_chat(queued.id, "主管", "结束", lambda c: True, role="supervisor")  # closed without anyone taking it
    assert desk.ratings.due("c2") is None
    with pytest.raises(TicketStateError):
        desk.rate_chat("c2", queued.id, 5)
    theirs = closed_chat(desk, "c3")
    with pytest.raises(TicketNotFound):
        desk.rate_chat("c2", theirs, 5)  # another customer's chat
    with pytest.raises(TicketNotFound):
        desk.rate_chat("c3", 999, 5)


def test_a_new_handoff_replaces_the_rating_asked_for(desk):
    closed_chat(desk, "c4")
    desk.request_human("c4", "asked", "又要人工")
    assert desk.ratings.due("c4") is None  # the latest ticket is open: nothing to rate now


@pytest.mark.parametrize("score", [0, 6, 2.5, "5", True, None])
def test_a_rating_is_a_whole_number_from_one_to_five(desk, score):
    ticket_id = closed_chat(desk, "c5")
    with pytest.raises(RatingError):
        desk.rate_chat("c5", ticket_id, score)
    assert desk.ratings.due("c5") is not None


def test_ratings_per_agent_and_per_local_day(desk):
    rows = [
        (1, "wang", 5, "2026-11-26T01:00:00+00:00"),
        (2, "wang", 3, "2026-11-26T17:00:00+00:00"),  # 27 Nov in Shanghai
        (3, "li", 4, "2026-11-27T02:00:00+00:00"),
        (4, "li", 1, "2026-10-01T02:00:00+00:00"),  # before the window
    ]
    for ticket, agent, score, at in rows:
        desk.db["ratings"].insert(
            {
                "handoff_id": ticket,
                "conversation_id": "c",
                "agent": agent,
                "score": score,
                "comment": "",
                "created_at": at,
            }
        )
    figures = ratings(desk.db, 3, "Asia/Shanghai", today=dt.date(2026, 11, 27))
    assert figures["total"] == {"count": 3, "average": 4.0}
    assert figures["agents"] == [
        {"agent": "wang", "count": 2, "average": 4.0},
        {"agent": "li", "count": 1, "average": 4.0},
    ]
    assert figures["days"] == [
        {"day": "2026-11-25", "count": 0, "average": None},
        {"day": "2026-11-26", "count": 1, "average": 5.0},
        {"day": "2026-11-27", "count": 2, "average": 3.5},
    ]


def test_a_conversation_is_kept_for_the_keep_time_after_its_last_activity():
    at = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    assert kept("2026-11-27T11:31:00+00:00", "bot", 30, at)
    assert not kept("2026-11-27T11:30:00+00:00", "bot", 30, at)
    assert not kept("2026-11-27T11:59:00+00:00", "closed", 0, at)  # 0: always fresh
    assert kept("2026-11-27T08:00:00+00:00", "queued", 30, at)  # someone will answer: kept however quiet
    assert kept("2026-11-27T08:00:00+00:00", "agent", 30, at)


def test_last_activity_is_the_latest_message_or_change_of_state(desk):
    conversations: Conversations = desk.conversations
    assert conversations.last_activity("nobody") is None
    conversations.get_or_create("c6")
    desk.db["conversations"].update(
        "c6", {"created_at": "2026-11-27T01:00:00+00:00", "updated_at": "2026-11-27T01:00:00+00:00"}
    )
    assert conversations.last_activity("c6") == "2026-11-27T01:00:00+00:00"
    desk.db["messages"].insert(
        {
            "conversation_id": "c6",
            "sender": "bot",
            "text": "x",
            "extra": "{}",
            "created_at": "2026-11-27T02:00:00+00:00",
        }
    )
    assert conversations.last_activity("c6") == "2026-11-27T02:00:00+00:00"
