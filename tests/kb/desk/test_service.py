"""The Desk's workflows, which the bot and the web app both call: asking for a human in and out of service
hours, the quoted wait, a message for a callback, a customer leaving the queue, and an agent claiming,
answering and closing a chat."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.rules import DeskPolicy
from kb.desk.service import Desk, NotYourTicket, TicketNotFound, TicketStateError
from kb.desk.supervision import Supervision
from kb.model import HitRecord

OPEN, CLOSED = DeskPolicy("00:00-24:00", "Asia/Shanghai", 300.0), DeskPolicy("00:00-00:00", "Asia/Shanghai", 300.0)


@pytest.fixture
def db(new_database, tmp_path):
    return new_database("kefu")


def test_asking_for_a_human_queues_in_hours_and_takes_a_callback_outside(db):
    found = [HitRecord(kind="passage", id="7", title="规范", score=0.03)]
    queued = Desk(db, OPEN).request_human("c1", "asked", "营业厅几点开门", found)
    assert (queued.status, queued.position) == ("queued", 1) and queued.passages[0]["title"] == "规范"
    callback = Desk(db, CLOSED).request_human("c2", "asked", "请回电")
    assert (callback.status, callback.position) == ("callback", None)
    assert Desk(db, CLOSED).request_human("c1", "asked", "again").id == queued.id  # the open ticket, not a new one


def test_the_hours_are_those_of_the_moment_asked(db):
    daytime = DeskPolicy("08:00-22:00", "Asia/Shanghai", 300.0)
    at_night = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    assert Desk(db, daytime).request_human("c3", "asked", "q", when=at_night).status == "callback"


def test_the_quoted_wait_follows_the_agents_available(db):
    desk = Desk(db, OPEN)
    assert desk.quoted_wait(1) == float("inf")  # nobody on duty
    Supervision(db).set_status("a1", "available")
    assert desk.quoted_wait(1) == 0.0  # the one agent has no chat in hand: taken at once
    assert desk.quoted_wait(2) == 300.0  # the second waits for that chat to end
    desk.request_human("c1", "asked", "q")
    desk.claim_chat(desk.tickets.active("c1").id, "a1", "")
    assert desk.quoted_wait(2) == 600.0  # the agent is busy: two places, 300 s each
    Supervision(db).set_status("a2", "available")
    assert desk.quoted_wait(1) == 0.0  # a2 is free
    call = Desk(db, CLOSED).request_human("c5", "asked", "请回电")
    desk.take_callback(call.id, "a2")  # on the phone returning a callback: busy too
    assert desk.quoted_wait(2) == 300.0  # two agents busy: two places, 300 s each over two


def test_what_the_customer_adds_joins_the_problem_masked_never_replacing_it(db):
    desk = Desk(db, CLOSED)
    assert desk.add_to_problem("nobody", "x") is False
    ticket = desk.request_human("c4", "asked", "信用卡被盗刷了")
    assert desk.add_to_problem("c4", "明天上午打13812345678") is True
    assert desk.add_to_problem("c4", "卡是昨天丢的") is True
    assert desk.ticket(ticket.id).problem == "信用卡被盗刷了\n明天上午打[手机号]\n卡是昨天丢的"
    assert desk.request_human("c4", "asked", "还是没人理我").problem.endswith("\n还是没人理我")


def test_claim_reply_and_close(db):
    desk = Desk(db, OPEN)
    ticket = desk.request_human("c5", "asked", "扣费不对")
    with pytest.raises(TicketStateError, match="claim this ticket"):
        desk.reply(ticket.id, "王", "您好")
    assert desk.claim_chat(ticket.id, "王", "人工客服 王 已接入").status == "claimed"
    with pytest.raises(TicketStateError, match="not waiting"):
        desk.claim_chat(ticket.id, "李", "人工客服 李 已接入")
    with pytest.raises(NotYourTicket):
        desk.reply(ticket.id, "李", "我来")  # someone else's chat
    desk.reply(ticket.id, "王", "您好，多扣的费用会在3个工作日内原路退回，电话 13812345678 可联系我")
    resumed = []
    assert desk.close_chat(ticket.id, "王", "人工服务已结束", lambda c: resumed.append(c) or True) is True
    assert resumed == ["c5"] and desk.conversations.get("c5")["state"] == "closed"
    said = [(m["from"], m["text"]) for m in desk.conversations.messages("c5")]
    assert said[0] == ("system", "人工客服 王 已接入") and said[-1] == ("system", "人工服务已结束")
    [candidate] = desk.gaps.recent()
    assert candidate["reason"] == "agent_answer" and candidate["question"] == "扣费不对"
    assert candidate["hits"][0]["kind"] == "agent"
    assert candidate["hits"][0]["snippet"] == "多扣的费用会在3个工作日内原路退回。"  # no greeting, no number
    with pytest.raises(TicketStateError, match="closed already"):
        desk.close_chat(ticket.id, "王", "x", lambda c: True)
    with pytest.raises(TicketNotFound):
        desk.claim_chat(999, "王", "x")


def test_a_claim_or_close_that_fails_half_way_changes_nothing(db, monkeypatch):
    desk = Desk(db, OPEN)
    ticket = desk.request_human("c6", "asked", "转人工")

    def fails(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(desk.conversations, "add", fails)
    with pytest.raises(RuntimeError):
        desk.claim_chat(ticket.id, "王", "人工客服 王 已接入")
    assert desk.ticket(ticket.id).status == "queued" and desk.conversations.get("c6") is None
    monkeypatch.undo()
    desk.claim_chat(ticket.id, "王", "人工客服 王 已接入")
    monkeypatch.setattr(desk.conversations, "add", fails)
    with pytest.raises(RuntimeError):
        desk.close_chat(ticket.id, "王", "人工服务已结束", lambda c: True)
    assert desk.ticket(ticket.id).status == "claimed" and desk.conversations.get("c6")["state"] == "agent"


def test_a_customer_leaving_the_queue_abandons_the_ticket_and_goes_back_to_the_bot(db):
    desk = Desk(db, OPEN)
    ticket = desk.request_human("c7", "asked", "转人工")
    desk.conversations.get_or_create("c7")
    desk.conversations.set_state("c7", "queued")
    resumed = []
    message = desk.leave_queue("c7", "您已退出人工排队", lambda c: resumed.append(c) or True)
    assert message["from"] == "system" and message["text"] == "您已退出人工排队" and resumed == ["c7"]
    left = desk.ticket(ticket.id)
    assert (left.status, left.agent, left.position) == ("abandoned", None, None) and left.closed_at
    assert desk.conversations.get("c7")["state"] == "bot" and desk.tickets.active("c7") is None
    with pytest.raises(TicketStateError, match="not waiting in the queue"):
        desk.leave_queue("c7", "x", lambda c: True)  # left already
    with pytest.raises(TicketStateError, match="closed already"):
        desk.close_chat(ticket.id, "王", "x", lambda c: True)  # an agent cannot close it over the abandonment
    again = desk.request_human("c7", "asked", "还是转人工吧")
    assert again.id != ticket.id and again.status == "queued" and again.position == 1


def test_only_a_queued_customer_can_leave_the_queue(db):
    with pytest.raises(TicketStateError):
        Desk(db, OPEN).leave_queue("nobody", "x", lambda c: True)
    callback = Desk(db, CLOSED).request_human("c8", "asked", "请回电")
    with pytest.raises(TicketStateError):
        Desk(db, OPEN).leave_queue("c8", "x", lambda c: True)
    desk = Desk(db, OPEN)
    taken = desk.request_human("c9", "asked", "转人工")
    desk.claim_chat(taken.id, "王", "人工客服 王 已接入")  # the agent was quicker
    resumed = []
    with pytest.raises(TicketStateError):
        desk.leave_queue("c9", "x", resumed.append)
    assert resumed == [] and desk.ticket(taken.id).status == "claimed"
    assert desk.conversations.get("c9")["state"] == "agent" and desk.ticket(callback.id).status == "callback"


def test_leaving_the_queue_that_fails_half_way_changes_nothing(db, monkeypatch):
    desk = Desk(db, OPEN)
    ticket = desk.request_human("c10", "asked", "转人工")
    desk.conversations.get_or_create("c10")
    desk.conversations.set_state("c10", "queued")

    def fails(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(desk.conversations, "add", fails)
    with pytest.raises(RuntimeError):
        desk.leave_queue("c10", "您已退出人工排队", lambda c: True)
    assert desk.ticket(ticket.id).status == "queued" and desk.conversations.get("c10")["state"] == "queued"


def test_a_chat_is_transferred_only_by_its_agent_and_only_to_an_available_one(db):
    from kb.desk.service import TransferRefused

    desk = Desk(db, OPEN)
    ticket = desk.claim_chat(desk.request_human("t1", "asked", "信用卡年费怎么收").id, "王", "人工客服 王 已接入")
    with pytest.raises(TransferRefused, match="not available"):
        desk.transfer(ticket.id, "王", "李", "正在为您转接其他客服…")  # 李 never said they were available
    Supervision(db).set_status("李", "available")
    with pytest.raises(NotYourTicket):
        desk.transfer(ticket.id, "张", "李", "x")  # 张 does not hold the chat
    with pytest.raises(TransferRefused, match="another agent"):
        desk.transfer(ticket.id, "王", "王", "x")
    moved = desk.transfer(ticket.id, "王", "李", "正在为您转接其他客服…")
    assert (moved.agent, moved.status, moved.claimed_at) == ("李", "claimed", ticket.claimed_at)
    assert desk.conversations.messages("t1")[-1] == {
        "id": desk.conversations.messages("t1")[-1]["id"],
        "from": "system",
        "text": "正在为您转接其他客服…",
        "sources": [],
        "buttons": [],
    }
    assert [n["text"] for n in desk.tickets.notes(ticket.id)] == ["转接：王 → 李"]
    with pytest.raises(NotYourTicket):
        desk.reply(ticket.id, "王", "还在吗")  # 王 no longer holds it
    desk.reply(ticket.id, "李", "首年免年费。")
    Supervision(db).set_status("王", "available")
    with pytest.raises(NotYourTicket):
        desk.transfer(ticket.id, "王", "李", "x")


def test_a_transferred_chat_counts_for_each_agent_while_they_held_it(db):
    from kb.clock import stamp

    start = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
    at = {minutes: stamp(start + dt.timedelta(minutes=minutes)) for minutes in (0, 10, 25, 40)}
    ticket_id = db.insert(
        "handoffs",
        {
            "conversation_id": "u1",
            "reason": "asked",
            "question": "q",
            "passages": "[]",
            "status": "closed",
            "contact": "",
            "created_at": at[0],
            "claimed_at": at[0],
            "closed_at": at[40],
            "agent": "李",
        },
    )
    for minutes, (giver, taker) in ((10, ("王", "张")), (25, ("张", "李"))):
        db.insert(
            "ticket_transfers", {"handoff_id": ticket_id, "from_agent": giver, "to_agent": taker, "at": at[minutes]}
        )
    sup = Supervision(db)
    handled = {row["agent"]: row["handling_seconds"] for row in sup.utilisation(start, start + dt.timedelta(hours=1))}
    assert handled == {"王": 600, "张": 900, "李": 900}
    assert sup.handle_times(start)["aht_seconds"] == 2400.0  # the chat's whole human part, once


def test_a_second_human_chat_offers_only_its_own_answers_to_curators(db):
    desk = Desk(db, OPEN)
    first = desk.claim_chat(desk.request_human("two", "asked", "信用卡年费怎么收").id, "王", "joined")
    desk.reply(first.id, "王", "信用卡首年免年费，次年刷卡满六次免次年年费。")
    desk.close_chat(first.id, "王", "ended", lambda c: True)
    db.execute("UPDATE messages SET created_at = '2026-01-01T00:00:00+00:00'")  # the first chat was earlier
    second = desk.claim_chat(desk.request_human("two", "asked", "挂失要带什么证件").id, "李", "joined")
    desk.reply(second.id, "李", "挂失需要携带本人有效身份证件到任一网点办理。")
    desk.close_chat(second.id, "李", "ended", lambda c: True)
    offered = [g["question"] for g in desk.gaps.recent() if g["reason"] == "agent_answer"]
    assert sorted(offered) == ["信用卡年费怎么收", "挂失要带什么证件"]  # once each, not the first again
