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
