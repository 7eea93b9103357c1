"""The agent console's desk records: canned replies curators keep, and closed tickets searched."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.canned import CannedReplies, CannedReplyError, CannedReplyNotFound
from kb.desk.history import HistoryQuery, HistoryQueryError, closed_tickets
from kb.desk.rules import DeskPolicy
from kb.desk.service import Desk
from kb.desk.supervision import Supervision

OPEN = DeskPolicy("00:00-24:00", "Asia/Shanghai", 300.0)


@pytest.fixture
def db(new_database, tmp_path):
    return new_database("kefu")


def test_canned_replies_are_added_found_changed_and_deleted(db):
    canned = CannedReplies(db)
    hours = canned.add("cur1", " 营业时间 ", "营业厅每天 9:00-18:00 营业，节假日照常。", "营业厅")
    canned.add("cur1", "挂失", "银行卡丢失请先拨打客服热线办理口头挂失。")
    canned.add("cur1", "100%_退款", "退款原路退回。")
    assert hours.title == "营业时间" and hours.author == "cur1"
    assert [r.title for r in canned.search()] == ["100%_退款", "挂失", "营业时间"]  # by category, then title
    assert [r.title for r in canned.search("口头挂失")] == ["挂失"]  # the text is searched too
    assert [r.title for r in canned.search("营业厅")] == ["营业时间"]
    assert [r.title for r in canned.search("%")] == ["100%_退款"]  # a literal %, not a wildcard
    assert [r.title for r in canned.search("_")] == ["100%_退款"]
    changed = canned.update(hours.id, "cur2", "营业时间", "营业厅每天 9:00-17:00 营业。", "")
    assert (changed.text, changed.category, changed.author) == ("营业厅每天 9:00-17:00 营业。", "", "cur2")
    canned.delete(hours.id)
    with pytest.raises(CannedReplyNotFound):
        canned.get(hours.id)
    with pytest.raises(CannedReplyNotFound):
        canned.update(hours.id, "cur1", "t", "x")


@pytest.mark.parametrize(
    "title, text, category, message",
    [
        ("", "x", "", "needs a title"),
        ("t", "  ", "", "needs a text"),
        ("t" * 61, "x", "", "title is longer than 60"),
        ("t", "x" * 1001, "", "text is longer than 1000"),
        ("t", "x", "c" * 31, "category is longer than 30"),
        (None, "x", "", "title must be text"),
        ("t", 5, "", "text must be text"),
    ],
)
def test_a_canned_reply_needs_a_title_and_a_text_within_limits(db, title, text, category, message):
    with pytest.raises(CannedReplyError, match=message):
        CannedReplies(db).add("cur1", title, text, category)


def closed(desk: Desk, conversation: str, question: str, agent: str, said: str, reason: str = "asked") -> int:
    ticket = desk.request_human(conversation, reason, question)
    desk.claim_chat(ticket.id, agent, "joined")
    desk.reply(ticket.id, agent, said)
    desk.close_chat(ticket.id, agent, "ended", lambda c: True)
    return ticket.id


def test_closed_tickets_are_searched_by_text_agent_date_and_reason(db):
    desk = Desk(db, OPEN)
    card = closed(desk, "c1", "银行卡被偷了怎么办", "王", "请先办理口头挂失。")
    fee = closed(desk, "c2", "年费怎么收", "李", "首年免年费。", reason="complaint")
    open_one = desk.request_human("c3", "asked", "挂失要带什么")  # still open: never in the history

    def found(**args: str) -> list[int]:
        return [t.id for t in closed_tickets(db, HistoryQuery.parse(args), "Asia/Shanghai")["tickets"]]

    assert found() == [fee, card]  # newest close first
    assert found(q="挂失") == [card]  # what the agent said, in the transcript
    assert found(q="年费怎么") == [fee]  # the ticket's question
    assert found(agent="李") == [fee] and found(reason="complaint") == [fee] and found(reason="asked") == [card]
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert found(**{"from": today.isoformat(), "to": today.isoformat()}) == [fee, card]
    assert found(**{"to": (today - dt.timedelta(days=1)).isoformat()}) == []
    assert open_one.id not in found(q="挂失")


def test_history_pages_and_counts_tickets_handled_before_a_transfer(db):
    desk = Desk(db, OPEN)
    ids = [closed(desk, f"p{i}", f"问题{i}", "王", f"答复{i}的内容") for i in range(5)]
    page = closed_tickets(db, HistoryQuery.parse({"page": "2"}), "Asia/Shanghai", per_page=2)
    assert [t.id for t in page["tickets"]] == [ids[2], ids[1]] and (page["total"], page["pages"]) == (5, 3)
    assert closed_tickets(db, HistoryQuery.parse({"page": "9"}), "Asia/Shanghai")["tickets"] == []
    ticket = desk.request_human("t1", "asked", "转来转去")
    desk.claim_chat(ticket.id, "赵", "joined")
    Supervision(db).set_status("钱", "available")
    desk.transfer(ticket.id, "赵", "钱", "transferring")
    desk.close_chat(ticket.id, "钱", "ended", lambda c: True)
    found = closed_tickets(db, HistoryQuery.parse({"agent": "赵"}), "Asia/Shanghai")["tickets"]
    assert [t.id for t in found] == [ticket.id]  # the agent who handed it on finds it too


@pytest.mark.parametrize(
    "args, message",
    [
        ({"from": "2026-13-01"}, "'from' must be a date"),
        ({"to": "yesterday"}, "'to' must be a date"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "'from' is after 'to'"),
        ({"reason": "bored"}, "reason must be one of"),
        ({"page": "0"}, "page must be"),
        ({"page": "-1"}, "page must be"),
        ({"q": "x" * 101}, "at most 100"),
    ],
)
def test_a_history_search_names_what_is_wrong(args, message):
    with pytest.raises(HistoryQueryError, match=message):
        HistoryQuery.parse(args)
