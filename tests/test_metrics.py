"""Dashboard figures: per local day, containment, handoff and abstention rates; the dashboard page."""
from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np

from indexer.clustering import gap_groups
from kb.conversations import Conversations
from kb.desk import Desk
from kb.metrics import daily_counts, local_days, overview, window_start
from kb.store import Store
from test_web_curator import curator  # noqa: F401

TODAY = dt.date(2026, 11, 27)


def seed(store: Store) -> None:
    """Four conversations over two local (Shanghai) days; one handed off; answers, abstentions, feedback."""
    db = store.db
    stamps = {"a": "2026-11-26T01:00:00+00:00", "b": "2026-11-26T17:00:00+00:00",  # b is 27 Nov in Shanghai
              "c": "2026-11-27T02:00:00+00:00", "d": "2026-11-27T03:00:00+00:00", "old": "2026-10-01T03:00:00+00:00"}
    for cid, stamp in stamps.items():
        db["conversations"].insert({"id": cid, "state": "bot", "created_at": stamp, "updated_at": stamp})
        if cid != "d":  # d never said anything: not counted
            db["messages"].insert({"conversation_id": cid, "sender": "customer", "text": "问", "extra": "{}",
                                   "created_at": stamp})
    sourced = json.dumps({"sources": [{"article_id": "x"}]})
    for cid in ("a", "b", "c"):
        db["messages"].insert({"conversation_id": cid, "sender": "bot", "text": "答", "extra": sourced,
                               "created_at": stamps[cid]})
    db["messages"].insert({"conversation_id": "c", "sender": "bot", "text": "你好", "extra": "{}",
                           "created_at": stamps["c"]})
    db["handoffs"].insert({"conversation_id": "c", "reason": "asked", "question": "q", "passages": "[]",
                           "status": "queued", "contact": "", "created_at": stamps["c"]})
    for reason in ("abstain", "negative_feedback"):
        db["gaps"].insert({"conversation_id": "b", "question": "q", "reason": reason, "hits": "[]",
                           "created_at": stamps["b"], "status": "open", "note": ""})
    for helpful in (1, 1, 0):
        db["feedback"].insert({"conversation_id": "a", "helpful": helpful, "question": "q", "answer_ref": "r",
                               "created_at": stamps["a"]})


def test_days_are_local_and_the_window_starts_at_local_midnight():
    days = local_days(3, "Asia/Shanghai", TODAY)
    assert days == [dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)]
    assert window_start(days[0], "Asia/Shanghai") == "2026-11-24T16:00:00+00:00"
    assert daily_counts(["2026-11-26T15:59:59+00:00", "2026-11-26T16:00:00+00:00", ""], days, "Asia/Shanghai") \
        == [0, 1, 1]


def test_overview_counts_and_rates(tmp_path):
    store = Store.open(tmp_path / "k.db")
    seed(store)
    figures = overview(store, days=2, timezone="Asia/Shanghai", today=TODAY)
    assert figures["days"] == ["2026-11-26", "2026-11-27"]
    assert figures["series"] == {"conversations": [1, 2], "handoffs": [0, 1], "answers": [1, 2],
                                 "abstentions": [0, 1]}
    t = figures["totals"]
    assert (t["conversations"], t["handoffs"], t["answers"], t["abstentions"]) == (3, 1, 3, 1)
    assert t["containment"] == 0.667 and t["handoff_rate"] == 0.333 and t["abstention_rate"] == 0.25
    assert t["feedback"] == 3 and t["helpful"] == 0.667
    empty = overview(Store.open(tmp_path / "empty.db"), days=7, today=TODAY)
    assert empty["totals"]["containment"] is None and empty["series"]["conversations"] == [0] * 7


def test_gap_groups_carry_a_daily_trend():
    rows = [{"id": i, "question": q, "conversation_id": f"c{i}", "reason": "abstain", "hits": [],
             "created_at": stamp} for i, (q, stamp) in enumerate([
                 ("停车收费吗", "2026-11-27T01:00:00+00:00"), ("停车要钱吗", "2026-11-26T01:00:00+00:00"),
                 ("停车收费吗", "2026-11-15T01:00:00+00:00"), ("几点开门", "2026-11-27T01:00:00+00:00")])]
    vectors = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    days = local_days(14, "Asia/Shanghai", TODAY)
    parking, opening = gap_groups(rows, vectors, days, "Asia/Shanghai")
    assert parking["count"] == 3 and parking["trend"][-2:] == [1, 1] and parking["trend"][1] == 1 and sum(parking["trend"]) == 3
    assert (parking["last_7"], parking["previous_7"]) == (2, 1) and opening["count"] == 1


def test_dashboard_page_shows_figures_charts_and_top_gaps(curator):  # noqa: F811
    client, _, desk, app = curator
    conversations = Conversations(desk.store)
    for cid in ("s1", "s2"):
        conversations.get_or_create(cid)
        conversations.add(cid, "customer", "营业厅几点开门")
        conversations.add(cid, "bot", "上午九点。", {"sources": [{"article_id": "hall-manual"}]})
    desk.open_handoff("s2", "asked", "转人工")
    desk.log_gap("s1", "<b>营业厅停车收费吗</b>", "abstain")
    page = client.get("/curator/dashboard").get_data(as_text=True)
    assert re.search(r'id="kpi-conversations">2<', page) and re.search(r'id="kpi-containment">50%<', page)
    assert re.search(r'id="kpi-handoff">50%<', page) and re.search(r'id="kpi-abstain">33%<', page)
    assert "chart-4.6.1.umd.min.js" in page and 'id="chart-volume"' in page
    assert "&lt;b&gt;营业厅停车收费吗&lt;/b&gt;" in page and "<b>营业厅停车收费吗</b>" not in page
    figures = json.loads(page.split('id="figures">', 1)[1].split("</script>", 1)[0])
    assert figures["series"]["conversations"][-1] == 2
    assert client.get("/curator/dashboard?days=abc").status_code == 200
    assert client.get("/static/vendor/chart-4.6.1.umd.min.js").status_code == 200


def test_stamps_are_shown_in_local_time():
    from web import local_time

    assert local_time("2026-11-27T05:54:03+00:00", "Asia/Shanghai") == "2026-11-27 13:54"
    assert local_time(None, "Asia/Shanghai") == "" and local_time("not a time", "UTC") == "not a time"
