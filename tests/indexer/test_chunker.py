"""Chunking: sentence ends, headings, clause numbers, offsets, limits."""

from __future__ import annotations

import pytest

from indexer.chunker import chunk_article
from kb.model import Article


def article(body: str) -> Article:
    return Article("a", "标题", "类", "test", "2026-11-27", body)


def test_passages_keep_offsets_heading_and_clauses():
    body = "## 第三章 客户服务\n\n### 3.2 客户投诉处理\n\n3.2.1 对于客户的投诉,要及时进行记录。\n\n3.2.2 对于客户的合理投诉,要及时回访。\n"
    [p] = chunk_article(article(body), min_chars=100, max_chars=400)
    assert p.section == "3.2 客户投诉处理"
    assert p.clauses == ("3.2.1", "3.2.2")
    assert p.clause == "3.2.1–3.2.2"
    assert body[p.start : p.end] == p.text
    assert p.context.startswith("标题 · 3.2 客户投诉处理\n")


def test_chinese_article_clause_numbers_are_found():
    body = "## 第六章 监督与考核\n\n第十六条 定期对员工进行服务考核。\n\n第十七条 对考核不合格的员工,进行培训或调整岗位。\n"
    [p] = chunk_article(article(body))
    assert p.clauses == ("第十六条", "第十七条")


def test_passages_never_cross_headings():
    body = "## 甲\n\n甲的内容。\n\n## 乙\n\n乙的内容。\n"
    passages = chunk_article(article(body))
    assert [(p.section, p.text) for p in passages] == [("甲", "甲的内容。"), ("乙", "乙的内容。")]


def test_long_paragraph_splits_at_sentence_ends_only():
    sentences = [f"第{i}句话讲的是服务规范中的一项要求内容。" for i in range(30)]
    body = "## 节\n\n" + "".join(sentences) + "\n"
    passages = chunk_article(article(body), min_chars=100, max_chars=200)
    assert len(passages) > 1
    assert all(len(p.text) <= 200 for p in passages)
    assert all(p.text.endswith("。") for p in passages)
    assert "".join(p.text for p in passages) == "".join(sentences)


def test_sentence_longer_than_limit_is_cut_at_a_comma():
    long_sentence = "，".join(f"这是第{i}个非常长的分句" for i in range(60)) + "。"
    passages = chunk_article(article("## 节\n\n" + long_sentence), min_chars=50, max_chars=120)
    assert all(len(p.text) <= 120 for p in passages)
    assert "".join(p.text for p in passages) == long_sentence
    assert passages[0].text.endswith("，")


def test_mixed_chinese_and_english_sentences():
    body = "## RACI模型\n\nRACI模型:用来描述角色和职责。Accountable means one owner! 负责人(Responsible)负责执行任务;\n"
    [p] = chunk_article(article(body), min_chars=10, max_chars=400)
    assert "Accountable means one owner!" in p.text
    split = chunk_article(article(body), min_chars=10, max_chars=40)
    assert [s.text for s in split] == [
        "RACI模型:用来描述角色和职责。",
        "Accountable means one owner!",
        "负责人(Responsible)负责执行任务;",
    ]


def test_small_paragraphs_are_merged_up_to_the_minimum():
    body = "## 节\n\n" + "\n\n".join(f"{i}. 短句{i}。" for i in range(1, 30)) + "\n"
    passages = chunk_article(article(body), min_chars=60, max_chars=200)
    assert all(len(p.text) >= 50 for p in passages[:-1])
    assert all(len(p.text) <= 200 for p in passages)


@pytest.mark.parametrize("body", ["", "\n\n  \n", "## 只有标题\n"])
def test_empty_articles_give_no_passages(body):
    assert chunk_article(article(body)) == []


def test_text_before_any_heading_has_an_empty_section():
    [p] = chunk_article(article("引言一句。\n"))
    assert p.section == "" and p.context == "标题\n引言一句。"


def test_passage_ids_are_stable_and_content_derived():
    body = "## 节\n\n内容一。\n"
    assert chunk_article(article(body))[0].id == chunk_article(article(body))[0].id
    assert chunk_article(article(body))[0].id != chunk_article(article("## 节\n\n内容二。\n"))[0].id


def test_clause_at_finds_the_paragraph_of_a_position():
    from indexer.chunker import clause_at

    text = "第十五条 公司设立。\n\n第十六条 定期考核。\n\n无编号的段落。"
    assert clause_at(text, 0) == "第十五条"
    assert clause_at(text, text.find("定期")) == "第十六条"
    assert clause_at(text, text.find("无编号")) is None


def test_a_passage_repeated_in_one_section_is_kept_once_with_unique_ids():
    body = "## 附则\n\n" + "\n\n".join(["本规范由客服中心负责解释，自发布之日起施行，未尽事宜另行规定。" * 3] * 4)
    passages = chunk_article(article(body), min_chars=100, max_chars=400)
    assert len({p.id for p in passages}) == len(passages) == 1
    assert [p.ordinal for p in passages] == list(range(len(passages)))
