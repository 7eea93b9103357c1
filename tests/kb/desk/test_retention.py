"""Retention: old conversations and settled records go; live chats, open tickets and open gaps stay."""

from __future__ import annotations

import datetime as dt

from kb.database import Database
from kb.desk.conversations import Conversations
from kb.desk.gaps import Gaps
from kb.desk.retention import cutoff, purge
from kb.desk.tickets import Tickets

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
OLD, NEW = "2026-08-01T00:00:00+00:00", "2026-11-20T00:00:00+00:00"


def backdate(db: Database, table: str, row_id, **stamps) -> None:
    with db.transaction():
        db[table].update(row_id, stamps)


def test_cutoff():
    assert cutoff(30, NOW) == "2026-10-28T12:00:00+00:00"


def test_purge_deletes_only_what_is_old_and_settled(new_database, tmp_path):
    db = new_database("k")
    conversations, tickets, gaps = Conversations(db), Tickets(db), Gaps(db)
    for cid, state, stamp in (("old-bot", "bot", OLD), ("old-waiting", "queued", OLD), ("new", "bot", NEW)):
        conversations.get_or_create(cid)
        conversations.add(cid, "customer", "我的卡号 6222021234567890123")
        conversations.set_state(cid, state)
        backdate(db, "conversations", cid, updated_at=stamp, created_at=stamp)
    closed = tickets.open("old-bot", "asked", "q")
    tickets.close(closed.id, "a1")
    tickets.add_note(closed.id, "a1", "已处理")
    db.insert("ticket_transfers", {"handoff_id": closed.id, "from_agent": "a0", "to_agent": "a1", "at": OLD})
    backdate(db, "handoffs", closed.id, created_at=OLD, closed_at=OLD)
    waiting = tickets.open("old-waiting", "asked", "q")
    backdate(db, "handoffs", waiting.id, created_at=OLD)
    called = tickets.open("old-bot-2", "asked", "请回电", in_hours=False, contact=("sealed-number", "138****5678"))
    tickets.record_attempt(called.id, "a1", "no_answer", "", "2026-08-01T02:00:00+00:00")
    tickets.record_attempt(called.id, "a1", "reached", "已解决", None)
    backdate(db, "handoffs", called.id, created_at=OLD, closed_at=OLD)
    left = tickets.open("old-left", "asked", "q")
    assert tickets.abandon(left.id) and not tickets.abandon(left.id)  # a customer who left the queue
    backdate(db, "handoffs", left.id, created_at=OLD, closed_at=OLD)
    settled, backlog = gaps.log("old-bot", "q1", "abstain"), gaps.log("old-bot", "q2", "abstain")
    gaps.set_status([settled], "dismissed", "x")
    for gap in (settled, backlog):
        backdate(db, "gaps", gap, created_at=OLD)
    backdate(db, "feedback", gaps.record_feedback("old-bot", True, "q", "r"), created_at=OLD)
    gaps.record_feedback("new", True, "q", "r")
    for ticket, stamp in ((closed.id, OLD), (waiting.id, NEW)):  # a rating goes with its age, as feedback does
        db["ratings"].insert(
            {
                "handoff_id": ticket,
                "conversation_id": "c",
                "agent": "a1",
                "score": 5,
                "comment": "好",
                "created_at": stamp,
            }
        )

    counts = purge(db, 90, NOW)
    assert counts == {
        "messages": 1,
        "conversations": 1,
        "feedback": 1,
        "ticket_notes": 1,
        "callback_attempts": 2,
        "ticket_transfers": 1,
        "handoffs": 3,  # the sealed number goes with its ticket
        "gaps": 1,
        "ratings": 1,
        "contact_reveals": 0,
        "audit_log": 0,
    }
    assert tickets.attempts(called.id) == [] and "sealed-number" not in str(list(db["handoffs"].rows))
    assert conversations.get("old-bot") is None and conversations.messages("old-bot") == []
    assert conversations.get("old-waiting") and conversations.get("new")  # a chat still waiting for a human stays
    assert [t.id for t in tickets.recent()] == [waiting.id] and tickets.notes(closed.id) == []
    assert tickets.transfers(closed.id) == []
    assert [g["id"] for g in gaps.recent("open")] == [backlog] and len(gaps.recent(None)) == 1
    assert purge(db, 90, NOW) == dict.fromkeys(counts, 0)
    assert purge(db, 0, NOW) == {}
    assert purge(db, 1, NOW + dt.timedelta(days=30))["conversations"] == 1  # "new" ages out in its turn


def rasa_tracker(path, conversations: dict[str, float]) -> None:
    """A tracker store file as Rasa's SQLTrackerStore makes it (table events), each conversation with one event
    at the given Unix time."""
    import sqlite3

    with sqlite3.connect(path) as tracker:
        tracker.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) "
            "NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
        )
        for sender, at in conversations.items():
            tracker.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, '{}')", [sender, at]
            )


def senders(path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as tracker:
        return {row[0] for row in tracker.execute("SELECT sender_id FROM events")}


def test_the_bots_memory_of_old_conversations_goes_with_them_but_a_chat_with_an_agent_stays(tmp_path):
    from kb.desk.retention import purge_bot_tracker

    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    old, recent = (now - dt.timedelta(days=100)).timestamp(), (now - dt.timedelta(days=5)).timestamp()
    path = tmp_path / "rasa_tracker.db"
    rasa_tracker(path, {"old": old, "old-with-agent": old, "recent": recent})
    assert purge_bot_tracker(path, 90, keep={"old-with-agent"}, now=now) == 1
    assert senders(path) == {"old-with-agent", "recent"}
    assert purge_bot_tracker(path, 0, keep=set(), now=now) == 0  # 0 keeps everything
    assert purge_bot_tracker(tmp_path / "none.db", 90, keep=set(), now=now) == 0  # no file yet: nothing to do
    assert not (tmp_path / "none.db").exists()


def test_purge_with_bot_keeps_the_bots_memory_of_a_chat_still_with_an_agent(new_database, tmp_path):
    from kb.desk.retention import purge_with_bot

    db = new_database("kefu")
    conversations = Conversations(db)
    for conversation in ("gone", "with-agent"):
        conversations.get_or_create(conversation)
        backdate(db, "conversations", conversation, updated_at=OLD)
    conversations.set_state("with-agent", "agent")
    backdate(db, "conversations", "with-agent", updated_at=OLD)
    path = tmp_path / "rasa_tracker.db"
    rasa_tracker(path, {"gone": dt.datetime(2026, 8, 1, tzinfo=dt.UTC).timestamp(), "with-agent": 0.0})
    counts = purge_with_bot(db, 30, path, NOW)
    assert counts["conversations"] == 1 and counts["bot_conversations"] == 1
    assert senders(path) == {"with-agent"}
    assert "bot_conversations" not in purge_with_bot(db, 30, None, NOW)  # another database's own retention
