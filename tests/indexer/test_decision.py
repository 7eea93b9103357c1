"""The answer/abstain decision: features, fitting, saving per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.decision import Calibration, Decision, explain, features_for, fit_calibration, load_negatives
from indexer.hits import Hit


def hit(text="客户投诉要及时回访。", dense=0.9, lexical=1.0, question=None):
    return Hit("passage", "1", "a", "营业厅手册", "3.2 投诉", None, text, text, [], 0.03, dense, lexical, question)


def test_features_for_a_matching_hit():
    f = features_for("投诉会回访吗", ["投诉", "回访"], [hit()], [np.array([0.9, 0.8, 0.8, 0.8])])
    assert f["coverage"] == 1.0 and f["agree"] == 1.0 and f["english"] == 0.0
    assert f["dense_margin"] == pytest.approx(0.1) and f["top_dense"] == pytest.approx(0.9)
    assert 0 < f["bigram_coverage"] <= 1


@pytest.mark.parametrize(
    "question, chinese",
    [("投诉会回访吗", True), ("VIP卡丢了", True), ("lost my VIP card", False), ("RACI矩阵", False)],
)
def test_agreement_is_weighed_apart_for_questions_not_searched_as_chinese(question, chinese):
    # the retriever searches a question as Chinese when half its letters are (is_chinese): the same test here
    f = features_for(question, [], [hit()], [np.array([0.9, 0.8])])
    assert (f["agree"], f["agree_en"]) == ((1.0, 0.0) if chinese else (0.0, 1.0))
    assert features_for(question, [], [hit(lexical=0.0)], [np.array([0.9, 0.8])])["agree_en"] == 0.0


def test_features_with_a_second_leg_and_no_hits():
    f = features_for("hello", [], [], [np.array([0.8, 0.79]), np.array([0.3, 0.1])])
    assert f["top_dense"] == 0.0 and f["english"] == 1.0
    assert f["top_dense_1"] == pytest.approx(0.3) and f["dense_margin_1"] == pytest.approx(0.2)


def test_fit_separates_and_is_monotone_in_evidence():
    rng = np.random.default_rng(0)
    rows = [
        {"coverage": float(c), "dense_margin": float(m)}
        for c, m in zip(
            np.r_[rng.uniform(0.6, 1, 30), rng.uniform(0, 0.4, 30)],
            np.r_[rng.uniform(0.03, 0.1, 30), rng.uniform(0, 0.03, 30)],
        )
    ]
    labels = [1] * 30 + [0] * 30
    cal = fit_calibration(rows, labels, "m")
    assert cal.weights["coverage"] > 0 and cal.weights["dense_margin"] > 0
    assert cal.decide({"coverage": 0.9, "dense_margin": 0.08}).answer
    assert not cal.decide({"coverage": 0.0, "dense_margin": 0.005}).answer
    with pytest.raises(ValueError, match="both"):
        fit_calibration(rows[:3], [1, 1, 1], "m")


def test_calibration_saved_per_model(tmp_path):
    Calibration({"coverage": 2.0}, -1.0, 0.6, "a").save(tmp_path)
    Calibration({"coverage": 3.0}, -2.0, 0.5, "b").save(tmp_path, {"examples": 10})
    a, b = Calibration.load(tmp_path, "a"), Calibration.load(tmp_path, "b")
    assert (a.weights, a.bias, a.threshold) == ({"coverage": 2.0}, -1.0, 0.6)
    assert b.weights == {"coverage": 3.0}
    assert Calibration.load(tmp_path, "b", threshold=0.9).threshold == 0.9


def test_uncalibrated_model_answers_only_clear_wording_matches(tmp_path):
    cal = Calibration.load(tmp_path, "unknown-model")
    assert cal.decide({"coverage": 0.8, "agree": 1.0}).answer
    assert not cal.decide({"coverage": 0.2, "agree": 1.0}).answer
    assert "calibrate" in cal.decide({"coverage": 0.8, "agree": 1.0}).reason


def test_a_question_asking_how_much_how_long_or_what_number_is_not_answered_by_a_text_without_one():
    # '退卡要交多少钱' against a clause that names no amount: however close its words, it is no answer
    question = "退卡要交多少钱"
    clause = hit("持卡人可以要求退卡，经营者应当退还余额。")
    feats = features_for(question, ["退卡", "多少钱"], [clause], [np.array([0.95, 0.7])])
    assert feats["kind_missing"] == 1.0
    sure = Calibration({"top_dense": 20.0}, -5.0, 0.5, "m")
    assert sure.confidence(feats) > 0.99
    decision = sure.decide(feats, "amount")
    assert not decision.answer and "amount" in decision.reason
    assert (
        not Calibration.load(Path("/nonexistent"), "m")
        .decide({**feats, "coverage": 1.0, "agree": 1.0}, "duration")
        .answer
    )
    # a count or a time is asked loosely ('几个小时', an English 'when'): the weights decide those
    assert sure.decide(feats, "count").answer and sure.decide(feats).answer
    # a text that states one answers
    priced = features_for(question, ["退卡"], [hit("退卡收取手续费20元。")], [np.array([0.95, 0.7])])
    assert priced["kind_missing"] == 0.0 and sure.decide(priced, "amount").answer
    # asked what something costs, a clause whose only amount is a fine does not answer it
    fined = features_for(
        "补办门禁卡要收多少钱", ["门禁卡"], [hit("违反规定的，处二万元以上五万元以下的罚款。")], [np.array([0.95, 0.7])]
    )
    assert fined["kind_missing"] == 1.0 and not sure.decide(fined, "price").answer
    # the hit-test page says why, in words
    assert "问题问的是金额或费用，但第一条结果里没有，所以不作答。" in explain(feats, "amount")
    assert "问题问的是价格或收费，但第一条结果里没有，所以不作答。" in explain(fined, "price")
    assert not any("不作答" in line for line in explain(feats, "count"))


def test_negatives_file_skips_comments(tmp_path):
    (tmp_path / "n.txt").write_text("# comment\n你好\n\n  hello  \n", encoding="utf-8")
    assert load_negatives(tmp_path / "n.txt") == ["你好", "hello"]


def test_who_pays_is_not_read_by_the_decision_it_was_calibrated_without():
    from indexer.asks import asks_for

    question = "鉴定的钱谁来出"
    feats = features_for(question, ["鉴定", "钱"], [hit("鉴定费用由经营者先行垫付。")], [np.array([0.9, 0.7])])
    assert asks_for(question) == "party" and feats["asks_kind"] == 0.0 and feats["kind_found"] == 0.0


def test_asked_how_to_pay_a_text_that_never_says_how_money_is_paid_is_no_answer():
    from indexer.asks import asks_for

    # '交罚款在哪里交': a fine stated is not a way to pay it, however close its words
    question = "交罚款在哪里交"
    assert asks_for(question) == "payment"  # not a place
    fine = features_for(question, ["罚款"], [hit("违反规定的，处五十元以上五百元以下罚款。")], [np.array([0.95, 0.7])])
    sure = Calibration({"top_dense": 20.0}, -5.0, 0.5, "m")
    assert fine["kind_missing"] == 1.0 and not sure.decide(fine, "payment").answer
    assert "问题问的是缴费或付款的方式，但第一条结果里没有，所以不作答。" in explain(fine, "payment")
    paid = features_for(question, ["罚款"], [hit("罚款可在银行柜台或网上缴纳。")], [np.array([0.95, 0.7])])
    assert paid["kind_missing"] == 0.0 and sure.decide(paid, "payment").answer
    assert asks_for("物业费怎么缴") == asks_for("how do I pay my water bill") == "payment"
    assert asks_for("罚款交哪里") == asks_for("Where can I pay the fine") == "payment"  # not a place, an amount
    # handing over or in, getting along, trading, explaining, an app's name: no payment asked
    assert {asks_for(q) for q in ("房子怎么交付", "怎么交流", "怎么交房", "作业怎么交", "如何支付宝绑卡")} == {None}
    assert asks_for("材料在哪里交") == "place"  # handing in, no money named


def test_an_answer_found_through_the_documents_structure_is_explained_as_such_not_by_similarity():
    from indexer.decision import BY_STRUCTURE, NAMED_CLAUSE, PENALTY, PENALTY_OF_ACT

    weak = {"idf_coverage": 0.1, "dense_margin": 0.0}  # the message's own search: it did not decide
    for reason in (NAMED_CLAUSE, PENALTY, PENALTY_OF_ACT):
        assert explain(weak, "amount", Decision(True, 1.0, reason)) == [BY_STRUCTURE[reason]]
    assert "用词差得较远" in explain(weak, None, Decision(False, 0.2, "nothing matches"))[0]
