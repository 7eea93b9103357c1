"""Staff accountability in the desk: agents' text masked once it leaves the live chat, ticket actions only
for the ticket's agent (supervisors and admins may close), and the audit log of staff actions."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.desk.audit import CLI, Actor, AuditLog
from kb.desk.retention import purge
from kb.desk.rules import DeskPolicy
from kb.desk.service import Desk, NotYourTicket, TicketStateError
from kb.desk.supervision import Supervision

OPEN = DeskPolicy("00:00-24:00", "Asia/Shanghai", 300.0)
CLOSED = DeskPolicy("00:00-00:00", "Asia/Shanghai", 300.0)


@pytest.fixture
def db(new_database, tmp_path):
    return new_database("kefu")


def claimed(desk: Desk, conversation: str, agent: str) -> int:
    ticket = desk.request_human(conversation, "asked", "扣费不对")
    desk.claim_chat(ticket.id, agent, f"人工客服 {agent} 已接入")
    return ticket.id


def test_agent_text_is_stored_masked_and_the_customer_reads_it_as_sent_only_while_the_chat_is_live(db):
    desk = Desk(db, OPEN)
    ticket_id = claimed(desk, "c1", "王")
    sent = desk.reply(ticket_id, "王", "您的退款会退到卡 6222 0212 3456 7890，有问题打 13812345678 找我")
    assert "13812345678" not in sent["text"] and "[手机号]" in sent["text"]
    stored = db.execute("SELECT text FROM messages WHERE id = ?", [sent["id"]]).fetchone()[0]
    assert "13812345678" not in stored and "6222" not in stored
    [staff_copy] = [m for m in desk.conversations.messages("c1") if m["from"] == "agent"]
    assert "13812345678" not in staff_copy["text"]
    [customer_copy] = [m for m in desk.conversations.messages("c1", as_sent=True) if m["from"] == "agent"]
    assert "13812345678" in customer_copy["text"]  # the customer reads the number the agent gave
    desk.close_chat(ticket_id, "王", "人工服务已结束", lambda c: True)
    everything = " ".join(str(r) for r in db.execute("SELECT * FROM messages").fetchall())
    assert "13812345678" not in everything and "6222" not in everything  # gone once the chat ends
    [after] = [m for m in desk.conversations.messages("c1", as_sent=True) if m["from"] == "agent"]
    assert "13812345678" not in after["text"]


def test_only_the_tickets_agent_may_reply_note_transfer_or_close(db):
    desk = Desk(db, OPEN)
    Supervision(db, "Asia/Shanghai").set_status("李", "available")
    ticket_id = claimed(desk, "c2", "王")
    with pytest.raises(NotYourTicket):
        desk.reply(ticket_id, "李", "我来")
    with pytest.raises(NotYourTicket):
        desk.add_note(ticket_id, "李", "agent", "看看")
    with pytest.raises(NotYourTicket):
        desk.transfer(ticket_id, "李", "王", "转接")
    with pytest.raises(NotYourTicket):
        desk.close_chat(ticket_id, "李", "结束", lambda c: True)
    assert desk.ticket(ticket_id).status == "claimed" and desk.ticket(ticket_id).agent == "王"
    assert desk.add_note(ticket_id, "王", "agent", "客户要退款")["author"] == "王"
    assert desk.add_note(ticket_id, "张主管", "supervisor", "已复核")["author"] == "张主管"


def test_a_supervisor_may_close_another_agents_chat_without_becoming_its_agent(db):
    desk = Desk(db, OPEN)
    ticket_id = claimed(desk, "c3", "王")
    desk.close_chat(ticket_id, "张主管", "结束", lambda c: True, role="supervisor")
    closed = desk.ticket(ticket_id)
    assert (closed.status, closed.agent) == ("closed", "王")


def test_a_queued_ticket_nobody_claimed_cannot_be_closed_by_an_agent(db):
    desk = Desk(db, OPEN)
    ticket = desk.request_human("c4", "asked", "转人工")
    with pytest.raises(TicketStateError, match="claim"):
        desk.close_chat(ticket.id, "李", "结束", lambda c: True)
    assert desk.ticket(ticket.id).status == "queued"
    desk.close_chat(ticket.id, "张主管", "结束", lambda c: True, role="admin")
    assert (desk.ticket(ticket.id).status, desk.ticket(ticket.id).agent) == ("closed", None)


def test_another_agents_callback_cannot_be_taken_or_recorded(db):
    desk = Desk(db, CLOSED)
    ticket = desk.request_human("c5", "asked", "请回电")
    desk.take_callback(ticket.id, "王")
    with pytest.raises(NotYourTicket):
        desk.take_callback(ticket.id, "李")
    with pytest.raises(NotYourTicket):
        desk.record_attempt(ticket.id, "李", "reached")
    assert desk.ticket(ticket.id).status == "callback"


def test_the_audit_log_keeps_who_did_what_to_which_record_newest_first_and_filtered(db):
    log = AuditLog(db)
    log.record(Actor(3, "王"), "ticket_claimed", "ticket", 7)
    log.record(CLI, "account_disabled", "account", 4, "李 客户电话13812345678")
    log.record(Actor(3, "王"), "contact_revealed", "ticket", 7)
    found = log.search()
    assert [r["action"] for r in found["rows"]] == ["contact_revealed", "account_disabled", "ticket_claimed"]
    assert found["total"] == 3 and found["rows"][0]["actor_id"] == 3 and found["rows"][0]["target_id"] == "7"
    assert "13812345678" not in found["rows"][1]["detail"] and found["rows"][1]["actor_name"] == "cli"
    assert [r["action"] for r in log.search(actor="王")["rows"]] == ["contact_revealed", "ticket_claimed"]
    assert [r["action"] for r in log.search(action="account_disabled")["rows"]] == ["account_disabled"]
    assert log.search(until=dt.date(2000, 1, 1))["total"] == 0
    paged = log.search(per_page=2, page=2)
    assert [r["action"] for r in paged["rows"]] == ["ticket_claimed"] and paged["pages"] == 2
    with pytest.raises(ValueError, match="action"):
        log.record(CLI, "made_up", "ticket", 1)


def test_retention_deletes_old_audit_rows_and_old_contact_reveals(db):
    log = AuditLog(db)
    log.record(CLI, "account_created", "account", 1)
    db.insert("contact_reveals", {"handoff_id": 1, "user": "王", "role": "agent", "at": "2001-01-01T00:00:00Z"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    counts = purge(db, 90, now=later)
    assert counts["audit_log"] == 1 and counts["contact_reveals"] == 1
    assert log.search()["total"] == 0


def test_a_supervisors_close_that_raced_with_a_transfer_changes_nothing(db, monkeypatch):
    desk = Desk(db, OPEN)
    ticket_id = claimed(desk, "c9", "王")
    seen = desk.ticket(ticket_id)  # the supervisor's view, read before the agent hands the chat on
    assert desk.tickets.transfer(ticket_id, "王", "李")
    monkeypatch.setattr(desk, "ticket", lambda _id: seen)
    with pytest.raises(TicketStateError, match="changed"):
        desk.close_chat(ticket_id, "boss", "人工服务已结束", lambda c: True, role="supervisor")
    monkeypatch.undo()
    after = desk.ticket(ticket_id)
    assert (after.status, after.agent) == ("claimed", "李")  # the new holder is not overwritten
    assert not [m for m in desk.conversations.messages("c9") if m["text"] == "人工服务已结束"]


def test_a_double_close_closes_once(db, monkeypatch):
    desk = Desk(db, OPEN)
    ticket_id = claimed(desk, "c10", "王")
    seen = desk.ticket(ticket_id)
    resumed = []
    desk.close_chat(ticket_id, "王", "人工服务已结束", resumed.append)
    views = iter([seen])  # the second click's read happened before the first close was written
    monkeypatch.setattr(desk, "ticket", lambda _id: next(views, None) or desk.tickets.get(_id))
    with pytest.raises(TicketStateError, match="closed already"):
        desk.close_chat(ticket_id, "王", "人工服务已结束", resumed.append)
    assert resumed == ["c10"]
    assert [m["text"] for m in desk.conversations.messages("c10")].count("人工服务已结束") == 1
