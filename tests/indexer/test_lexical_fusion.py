"""BM25 over jieba tokens, the user dictionary, and reciprocal rank fusion."""

from __future__ import annotations

import pytest

from indexer.fusion import reciprocal_rank_fusion
from indexer.lexical import LexicalIndex, Tokenizer, cjk_share
from indexer.snippets import make_snippet


def test_tokens_drop_stopwords_and_punctuation():
    tokens = Tokenizer().tokens("请问客服中心的服务时间是多少？")
    assert "的" not in tokens and "？" not in tokens and "请问" not in tokens
    assert "服务" in tokens and "时间" in tokens
    # question words like 什么 and who: not what a follow-up is about (its own words, indexer.followup)
    assert Tokenizer().tokens("那系统平时谁来维护") == ["系统", "平时", "来", "维护"]
    assert "咋样" not in Tokenizer().tokens("被抓到会咋样")


def test_user_dictionary_keeps_domain_terms_whole(tmp_path):
    text = "服务能力利用率达到百分之七十"
    assert "服务能力利用率" not in Tokenizer().tokens(text)
    (tmp_path / "userdict.txt").write_text("服务能力利用率 50 n\n", encoding="utf-8")
    assert "服务能力利用率" in Tokenizer(tmp_path / "userdict.txt").tokens(text)


def test_bm25_ranks_the_matching_text_first():
    index = LexicalIndex(Tokenizer()).build(
        [11, 22, 33], ["营业厅每天上午九点开门。", "客户投诉要及时记录并回访。", "系统设计应充分考虑冗余。"]
    )
    scores, ids = index.search("投诉以后会回访吗", 3)
    assert ids.tolist() == [22] and scores[0] > 0
    assert index.search("完全无关的天气", 3)[1].tolist() == []


def test_empty_lexical_index():
    index = LexicalIndex(Tokenizer()).build([], [])
    assert len(index) == 0 and index.search("投诉", 3)[1].tolist() == []


def test_cjk_share():
    assert cjk_share("客服中心") == 1.0
    assert cjk_share("How many hours?") == 0.0
    assert cjk_share("RACI模型") == pytest.approx(2 / 6)
    assert cjk_share("123 ?!") == 0.0


def test_rrf_rewards_agreement_between_lists():
    fused = reciprocal_rank_fusion([(1.0, ["a", "b", "c"]), (1.0, ["c", "b", "d"])], k=60)
    assert [x for x, _ in fused] == ["c", "b", "a", "d"]  # c: 1/61 + 1/63 edges out b: 2/62
    scores = dict(fused)
    assert scores["b"] == pytest.approx(2 / 62)
    assert scores["a"] == pytest.approx(1 / 61) and scores["d"] == pytest.approx(1 / 63)


def test_rrf_weights_and_zero_weight_lists():
    fused = reciprocal_rank_fusion([(1.0, ["a"]), (0.0, ["z"]), (2.0, ["b"])], k=0)
    assert fused == [("b", 2.0), ("a", 1.0)]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([], k=-1)


def test_snippet_picks_the_matching_sentence_and_marks_words():
    text = "第一句讲营业时间。第二句讲客户投诉的回访要求。第三句讲系统冗余。"
    snip = make_snippet(text, ["投诉", "回访"], max_chars=14)
    assert snip.text.startswith("第二句讲客户投诉的回访要求。")
    assert snip.marked().startswith("第二句讲客户【投诉】的【回访】要求。")
    assert make_snippet("", ["x"]).text == ""


def test_a_snippet_takes_a_list_with_its_lead_and_nothing_that_is_not_the_list():
    from indexer.snippets import make_snippet

    items = "5.2.1 节假日期间营业网点应做到：\na) 至少保留一个网点正常营业；\nb) 提前公告营业安排。\n网点发生故障时应及时报修。"
    assert make_snippet(items, ["节假日"]).text == (
        "5.2.1 节假日期间营业网点应做到：\na) 至少保留一个网点正常营业；\nb) 提前公告营业安排。"
    )  # down the list, and not into the paragraph after it
    assert make_snippet(items, ["公告"]).text.startswith("5.2.1 节假日期间营业网点应做到：")  # an item brings its lead
    contact = "联系方式：\n客服电话 95588\n\n网点营业时间为每天九点到五点。"
    assert make_snippet(contact, ["营业时间"]).text == "网点营业时间为每天九点到五点。"  # not a list: no lead
    notice = "办理须知如下：\n\n请带好身份证。\n\n挂失后七日内可补卡。"
    assert make_snippet(notice, ["补卡"]).text == "挂失后七日内可补卡。"
