"""The shipped knowledge base, indexed for real with the default models: answers, sources, abstentions."""

from __future__ import annotations

import pytest

from indexer.encoder import Encoder
from indexer.retriever import Retriever
from kb.database import Database
from kb.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def retriever(real_kb_settings):
    store = Store(Database.open(real_kb_settings.database))
    assert len(store.articles()) == 10 and len(store.passages()) > 50
    return Retriever.load(store, Encoder.all_from_settings(real_kb_settings), real_kb_settings)


@pytest.mark.parametrize(
    "question, expected, title",
    [
        ("客服热线是24小时的吗", "7*24 小时", "中国银行业客户服务中心服务规范"),
        ("营业部的员工可以泄露客户信息吗", "严禁私自泄露", "中国移动集团营业部工作执行手册"),
        ("考核不合格的员工怎么处理", "进行培训或调整岗位", "营运公司服务管理制度"),
        ("Is the customer service line open around the clock?", "7*24 小时", "中国银行业客户服务中心服务规范"),
    ],
)
def test_answers_with_source(retriever, question, expected, title):
    result = retriever.search(question)
    assert result.decision.answer, result.features
    top = result.hits[0]
    assert expected in (top.text + (top.quote or "")) and top.title == title


def test_cited_clause_is_reported(retriever):
    top = next(h for h in retriever.search("对考核不合格的员工会怎样").hits if h.kind == "passage")
    assert top.clause and "第十七条" in top.clause


@pytest.mark.parametrize(
    "question",
    [
        "你好",
        "谢谢",
        "asdkjqwe zxmn",
        "哈哈哈哈",
        "帮我订一张去北京的机票",
        "信用卡怎么提额",
        "What's the weather tomorrow?",
        "<script>alert(1)</script>",
    ],
)
def test_abstains_on_greetings_gibberish_and_unknowns(retriever, question):
    result = retriever.search(question)
    assert not result.decision.answer, (question, result.decision, result.features)


def test_scraper_leftovers_are_not_indexed(retriever):
    texts = "".join(p.text for p in retriever.passages.values())
    assert "下载文档前请自行甄别" not in texts and "相关文档" not in texts and "合集下载" not in texts


def test_a_runner_up_button_never_shows_the_answer_again(retriever):
    """A curated answer and the clause it rests on rank side by side: the clause is no button under the answer,
    nor the entry under the clause (a browser trial clicked one and read the same text twice)."""
    from indexer.replies import reply_for

    for question in ("考核不合格的员工会怎么处理", "客服电话半夜有人接吗"):
        result = retriever.search(question)
        top, runner_up = result.hits[0], result.hits[1]
        assert {top.kind, runner_up.kind} == {"faq", "passage"}, question  # an entry and its clause rank 1 and 2
        faq, passage = (top, runner_up) if top.kind == "faq" else (runner_up, top)
        assert faq.quote and faq.quote in passage.text, question
        reply = reply_for(question, result)
        assert reply.kind == "answer" and reply.buttons, question  # other close runners-up are still offered
        assert all(runner_up.ref not in b["payload"] for b in reply.buttons), question


@pytest.mark.parametrize("word", ["退款", "密码"])
def test_a_word_nothing_mentions_is_not_offered_unrelated_places(retriever, word):
    from indexer.replies import reply_for

    result = retriever.search(word)
    assert all(h.lexical == 0 for h in result.hits[:3])  # the cosine alone chose them
    assert reply_for(word, result).kind == "abstain"


def test_a_word_several_places_mention_offers_those_places(retriever):
    from indexer.replies import reply_for

    result = retriever.search("投诉")
    reply = reply_for("投诉", result)
    assert reply.kind == "clarify" and 2 <= len(reply.buttons) <= 3
    shown = [h for h in result.hits[:3] if h.ref in "".join(b["payload"] for b in reply.buttons)]
    assert shown and all("投诉" in h.text for h in shown)


def test_a_word_only_one_place_holds_is_that_place_not_three(retriever):
    from indexer.replies import reply_for

    result = retriever.search("问诊")
    [held] = [h for h in result.hits[:3] if h.lexical > 0]
    reply = reply_for("问诊", result)
    assert (
        reply.hit is held
        if reply.kind == "answer"
        else [b["payload"] for b in reply.buttons] == [f'/choose_candidate{{"ref":"{held.ref}"}}']
    )
