"""Evaluation metrics on tiny fixtures, with the README's definitions."""

from __future__ import annotations

import json

import pytest

from indexer.decision import Decision
from indexer.evaluate import (
    EvalDataError,
    answers,
    evaluate_faq,
    evaluate_questions,
    faq_protocol,
    load_pairs,
    load_questions,
    normalise,
)
from indexer.hits import Hit, SearchResult


class CannedRetriever:
    """Stands in for the retriever's interface: fixed hits and decisions per question."""

    def __init__(self, table):
        self.table = table

    def search(self, q, k=10):
        texts, answer = self.table.get(q, ([], False))
        hits = [Hit("passage", str(i), "a", "t", "s", None, t, t, [], 1.0, 0.9, 0.0) for i, t in enumerate(texts)]
        return SearchResult(q, hits[:k], Decision(answer, 0.5, ""), ms=2.0)


def test_normalise_ignores_width_case_space_and_punctuation():
    assert normalise("７＊２４ 小时，ABC") == normalise("7*24小时abc") == "724小时abc"
    assert answers("服务时间原则上应为 7*24 小时,可调整", ("7*24 小时",))
    assert not answers("服务时间为工作日", ("7*24 小时",))


def test_question_metrics():
    questions = load_questions_from(
        [
            {"q": "a", "expect": ["答案甲"]},  # rank 1, answered
            {"q": "b", "expect": ["答案乙"]},  # rank 3, answered (top is wrong)
            {"q": "c", "expect": ["答案丙"]},  # rank 1, abstained
            {"q": "d", "expect": ["答案丁"]},  # not found
            {"q": "x", "expect": None},  # abstained: right
            {"q": "y", "expect": None},  # answered: wrong
        ]
    )
    r = CannedRetriever(
        {
            "a": (["答案甲在此"], True),
            "b": (["无", "无", "答案乙"], True),
            "c": (["答案丙"], False),
            "d": (["无"], True),
            "x": (["无"], False),
            "y": (["无"], True),
        }
    )
    m, rows = evaluate_questions(r, questions)
    assert m["n_answerable"] == 4 and m["n_unanswerable"] == 2
    assert m["recall_at_1"] == 0.5 and m["recall_at_5"] == 0.75
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1) / 4, abs=1e-4)
    assert m["answer_accuracy"] == 0.25
    assert m["false_abstain_rate"] == 0.25 and m["abstain_rate_unanswerable"] == 0.5
    assert m["p50_ms"] == 2.0 and len(rows) == 6
    assert set(m) == {
        "n_answerable",
        "n_unanswerable",
        "recall_at_1",
        "recall_at_5",
        "mrr",
        "answer_accuracy",
        "reply_accuracy",
        "false_abstain_rate",
        "abstain_rate_unanswerable",
        "p50_ms",
        "p95_ms",
    }


def test_reply_accuracy_judges_the_sentences_the_customer_reads_not_the_passage():
    class QuotesTheOtherSentence(CannedRetriever):
        def search(self, q, k=10):
            filler = "经营者应当在经营场所显著位置公示退款的条件、流程和联系方式，并如实记录每一笔退款申请。" * 6
            text = f"第五条 退款申请应当在收到商品之日起七日内提出。{filler}经营者应当在十五日内退还货款。"
            snippet = "第五条 退款申请应当在收到商品之日起七日内提出。"
            hit = Hit("passage", "1", "a", "退货规定", "s", "第五条", text, snippet, [], 1.0, 0.9, 0.0)
            return SearchResult(q, [hit], Decision(True, 0.9, ""), ms=1.0)

    questions = load_questions_from(
        [{"q": "退款多久到账", "expect": ["十五日内退还"]}, {"q": "多久内可以申请退款", "expect": ["七日内提出"]}]
    )
    m, rows = evaluate_questions(QuotesTheOtherSentence({}), questions)
    assert m["answer_accuracy"] == 1.0  # the passage holds both answers
    assert m["reply_accuracy"] == 0.5  # the clause is too long to show whole: the customer reads one sentence
    assert [r["reply_right"] for r in rows] == [False, True]
    assert rows[0]["reply"].startswith("第五条 退款申请")


def load_questions_from(rows, tmp=None):
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "q.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return load_questions(path)


@pytest.mark.parametrize("line", ['{"q": "a"}', "not json", '{"q": 1, "expect": null}', '{"q": "a", "expect": []}'])
def test_bad_question_lines_name_the_line(tmp_path, line):
    (tmp_path / "q.jsonl").write_text('{"q": "ok", "expect": null}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"q\.jsonl:2"):
        load_questions(tmp_path / "q.jsonl")


def test_faq_protocol_and_metrics(tmp_path):
    (tmp_path / "p.tsv").write_text(
        "怎么还款\t如何还款\t1\n怎么还款\t还款方式\t1\n额度多少\t如何还款\t0\n如何还款\t怎么还款\t1\n", encoding="utf-8"
    )
    pool, queries = faq_protocol(load_pairs(tmp_path / "p.tsv"))
    assert pool == ["如何还款", "还款方式", "怎么还款"]
    assert queries == [("怎么还款", {"如何还款", "还款方式"})] * 2 + [("如何还款", {"怎么还款"})]

    def rank_pool(q, k):  # the query itself ranks first and must be skipped
        return [q, "还款方式", "如何还款", "怎么还款"], 1.0

    m = evaluate_faq(rank_pool, pool, queries)
    assert m["n_queries"] == 3 and m["pool_size"] == 3
    assert m["recall_at_1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 + 1 + 1 / 2) / 3, abs=1e-4)


def test_bad_pairs_file(tmp_path):
    (tmp_path / "p.tsv").write_text("a\tb\t1\na\tb\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"p\.tsv:2"):
        load_pairs(tmp_path / "p.tsv")


def test_candidates_on_a_question_it_cannot_answer_are_not_an_abstention_and_a_handoff_is_not_an_answer():
    class Canned(CannedRetriever):
        def search(self, q, k=10):
            hits = [
                Hit("passage", str(i), f"a{i}", "t", f"s{i}", None, "年费无关", "无关", [], 1.0, 0.9, 1.0)
                for i in range(3)
            ]
            return SearchResult(q, hits, Decision(q == "帮我转人工", 0.9, ""), ms=1.0)

    questions = load_questions_from([{"q": "年费", "expect": None}, {"q": "帮我转人工", "expect": ["无关"]}])

    def route(text, intent, pleasantry):
        return "handoff" if "人工" in text else "knowledge"

    m, rows = evaluate_questions(Canned({}), questions, route)
    assert rows[0]["reply_kind"] == "clarify" and m["abstain_rate_unanswerable"] == 0.0
    assert rows[1]["reply_kind"] == "handoff" and m["answer_accuracy"] == 0.0 and m["reply_accuracy"] == 0.0
