"""Dashboard figures: per local day, containment, handoff and abstention rates."""

from __future__ import annotations

import datetime as dt
import json

from kb.database import Database
from kb.desk.metrics import daily_counts, local_days, overview, window_start

TODAY = dt.date(2026, 11, 27)


def seed(db: Database) -> None:
    """Four conversations over two local (Shanghai) days; one handed off; answers, abstentions, feedback."""
    stamps = {
        "a": "2026-11-26T01:00:00+00:00",
        "b": "2026-11-26T17:00:00+00:00",  # b is 27 Nov in Shanghai
        "c": "2026-11-27T02:00:00+00:00",
        "d": "2026-11-27T03:00:00+00:00",
        "old": "2026-10-01T03:00:00+00:00",
    }
    for cid, stamp in stamps.items():
        db["conversations"].insert({"id": cid, "state": "bot", "created_at": stamp, "updated_at": stamp})
        if cid != "d":  # d never said anything: not counted
            db["messages"].insert(
                {"conversation_id": cid, "sender": "customer", "text": "问", "extra": "{}", "created_at": stamp}
            )
    sourced = json.dumps({"sources": [{"article_id": "x"}]})
    for cid in ("a", "b", "c"):
        db["messages"].insert(
            {"conversation_id": cid, "sender": "bot", "text": "答", "extra": sourced, "created_at": stamps[cid]}
        )
    db["messages"].insert(
        {"conversation_id": "c", "sender": "bot", "text": "你好", "extra": "{}", "created_at": stamps["c"]}
    )
    db["handoffs"].insert(
        {
            "conversation_id": "c",
            "reason": "asked",
            "question": "q",
            "passages": "[]",
            "status": "queued",
            "contact": "",
            "created_at": stamps["c"],
        }
    )
    for reason in ("abstain", "negative_feedback"):
        db["gaps"].insert(
            {
                "conversation_id": "b",
                "question": "q",
                "reason": reason,
                "hits": "[]",
                "created_at": stamps["b"],
                "status": "open",
                "note": "",
            }
        )
    for helpful in (1, 1, 0):
        db["feedback"].insert(
            {"conversation_id": "a", "helpful": helpful, "question": "q", "answer_ref": "r", "created_at": stamps["a"]}
        )


def test_days_are_local_and_the_window_starts_at_local_midnight():
    days = local_days(3, "Asia/Shanghai", TODAY)
    assert days == [dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)]
    assert window_start(days[0], "Asia/Shanghai") == "2026-11-24T16:00:00+00:00"
    assert daily_counts(["2026-11-26T15:59:59+00:00", "2026-11-26T16:00:00+00:00", ""], days, "Asia/Shanghai") == [
        0,
        1,
        1,
    ]


def test_overview_counts_and_rates(new_database, tmp_path):
    db = new_database("k")
    seed(db)
    figures = overview(db, days=2, timezone="Asia/Shanghai", today=TODAY)
    assert figures["days"] == ["2026-11-26", "2026-11-27"]
    assert figures["series"] == {"conversations": [1, 2], "handoffs": [0, 1], "answers": [1, 2], "abstentions": [0, 1]}
    t = figures["totals"]
    assert (t["conversations"], t["handoffs"], t["answers"], t["abstentions"]) == (3, 1, 3, 1)
    assert t["containment"] == 0.667 and t["handoff_rate"] == 0.333 and t["abstention_rate"] == 0.25
    assert t["feedback"] == 3 and t["helpful"] == 0.667
    empty = overview(new_database("empty"), days=7, today=TODAY)
    assert empty["totals"]["containment"] is None and empty["series"]["conversations"] == [0] * 7


def test_an_answer_is_a_bot_message_whose_sources_are_a_list_with_something_in_it(database):
    extras = {
        "sourced": {"sources": [{"article_id": "x", "snippet": "含\u0000的文字"}]},
        "no sources": {"buttons": []},
        "empty sources": {"sources": []},
        "sources not a list": {"sources": "x"},
        "sources in a button": {"buttons": [{"sources": [1]}]},
    }
    stamp = "2026-11-27T02:00:00+00:00"
    database["conversations"].insert({"id": "c", "state": "bot", "created_at": stamp, "updated_at": stamp})
    for extra in [*extras.values(), "not json", "", None]:
        text = extra if extra is None or isinstance(extra, str) else json.dumps(extra, ensure_ascii=False)
        database.insert(
            "messages", {"conversation_id": "c", "sender": "bot", "text": "答", "extra": text, "created_at": stamp}
        )
    assert overview(database, days=1, today=TODAY)["totals"]["answers"] == 1
