"""Retention: old conversations and settled records go; live chats, open tickets and open gaps stay."""
from __future__ import annotations

import datetime as dt

from kb.conversations import Conversations
from kb.desk import Desk
from kb.retention import cutoff, purge
from kb.store import Store

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
OLD, NEW = "2026-08-01T00:00:00+00:00", "2026-11-20T00:00:00+00:00"


def backdate(store: Store, table: str, row_id, **stamps) -> None:
    with store.db.conn:
        store.db[table].update(row_id, stamps)


def test_cutoff():
    assert cutoff(30, NOW) == "2026-10-28T12:00:00+00:00"


def test_purge_deletes_only_what_is_old_and_settled(tmp_path):
    store = Store.open(tmp_path / "k.db")
    conversations, desk = Conversations(store), Desk(store)
    for cid, state, stamp in (("old-bot", "bot", OLD), ("old-waiting", "queued", OLD), ("new", "bot", NEW)):
        conversations.get_or_create(cid)
        conversations.add(cid, "customer", "我的卡号 6222021234567890123")
        conversations.set_state(cid, state)
        backdate(store, "conversations", cid, updated_at=stamp, created_at=stamp)
    closed = desk.open_handoff("old-bot", "asked", "q")
    desk.close_handoff(closed.id, "a1")
    desk.add_note(closed.id, "a1", "已处理")
    backdate(store, "handoffs", closed.id, created_at=OLD, closed_at=OLD)
    waiting = desk.open_handoff("old-waiting", "asked", "q")
    backdate(store, "handoffs", waiting.id, created_at=OLD)
    settled, backlog = desk.log_gap("old-bot", "q1", "abstain"), desk.log_gap("old-bot", "q2", "abstain")
    desk.set_gap_status([settled], "dismissed", "x")
    for gap in (settled, backlog):
        backdate(store, "gaps", gap, created_at=OLD)
    backdate(store, "feedback", desk.record_feedback("old-bot", True, "q", "r"), created_at=OLD)
    desk.record_feedback("new", True, "q", "r")

    counts = purge(store, 90, NOW)
    assert counts == {"messages": 1, "conversations": 1, "feedback": 1, "ticket_notes": 1, "handoffs": 1, "gaps": 1}
    assert conversations.get("old-bot") is None and conversations.messages("old-bot") == []
    assert conversations.get("old-waiting") and conversations.get("new")  # a chat still waiting for a human stays
    assert [t["id"] for t in desk.handoffs()] == [waiting.id] and desk.notes(closed.id) == []
    assert [g["id"] for g in desk.gaps("open")] == [backlog] and len(desk.gaps(None)) == 1
    assert purge(store, 90, NOW) == {k: 0 for k in counts}
    assert purge(store, 0, NOW) == {}
    assert purge(store, 1, NOW + dt.timedelta(days=30))["conversations"] == 1  # "new" ages out in its turn
