"""Gaps, handoff tickets and feedback in SQLite, with personal data masked before storing."""
from __future__ import annotations

import pytest

from kb.desk import Desk, DeskError
from kb.privacy import mask_personal_data
from kb.store import Store


@pytest.mark.parametrize("text, masked", [
    ("我的手机13812345678", "我的手机[手机号]"),
    ("手机 +86 138-1234-5678 打我", "手机 [手机号] 打我"),
    ("身份证110101199003071234号", "身份证[身份证号]号"),
    ("身份证 11010119900307123X", "身份证 [身份证号]"),
    ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
    ("卡号6222021234567890", "卡号[银行卡号]"),
    ("座机010-12345678", "座机[电话]"),
    ("邮箱 a.b@example.com", "邮箱 [邮箱]"),
    ("服务时间 7*24 小时，第3.2.1条，2026年", "服务时间 7*24 小时，第3.2.1条，2026年"),
])
def test_masking(text, masked):
    assert mask_personal_data(text) == masked


@pytest.fixture
def desk(tmp_path):
    return Desk(Store.open(tmp_path / "kefu.db"))


def test_gap_is_stored_masked_with_hits(desk):
    gap_id = desk.log_gap("c1", "我的卡6222021234567890被盗刷了", "abstain",
                          [{"id": "9", "title": "规范", "score": 0.01, "snippet": "…", "extra": "dropped"}])
    [gap] = desk.gaps()
    assert gap["id"] == gap_id and gap["question"] == "我的卡[银行卡号]被盗刷了"
    assert gap["hits"] == [{"kind": None, "id": "9", "article_id": None, "title": "规范", "section": None,
                            "clause": None, "score": 0.01, "dense": None, "snippet": "…"}]
    assert gap["reason"] == "abstain" and gap["status"] == "open" and gap["created_at"].endswith("+00:00")
    with pytest.raises(DeskError, match="gap reason"):
        desk.log_gap("c1", "x", "because")


def test_queue_positions_and_closing(desk):
    a = desk.open_handoff("c1", "asked", "转人工")
    b = desk.open_handoff("c2", "complaint", "我要投诉")
    assert (a.position, b.position) == (1, 2)
    assert desk.open_handoff("c1", "asked", "again").id == a.id  # one open ticket per conversation
    desk.close_handoff(a.id, agent="王")
    assert desk.queue_position(b.id) == 1 and desk.active_ticket("c1") is None
    assert desk.handoffs("closed")[0]["agent"] == "王"


def test_out_of_hours_ticket_is_a_callback_with_masked_contact(desk):
    t = desk.open_handoff("c3", "asked", "请回电", in_hours=False)
    assert t.status == "callback" and t.position is None
    desk.set_contact(t.id, "请打13812345678找我")
    assert desk.handoffs("callback")[0]["contact"] == "请打[手机号]找我"


def test_feedback(desk):
    desk.record_feedback("c1", False, "电话13812345678问的问题", "passage:1")
    row = next(desk.db["feedback"].rows)
    assert row["helpful"] == 0 and row["question"] == "电话[手机号]问的问题"
