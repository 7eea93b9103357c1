"""Chunking: sentence ends, headings, clause numbers, offsets, limits."""

from __future__ import annotations

import pytest

from indexer.chunker import chunk_article
from kb.importing.document import OCR_END, OCR_MARK
from kb.model import Article


def article(body: str) -> Article:
    return Article("a", "标题", "类", "test", "2026-11-27", body)


def test_passages_keep_offsets_heading_and_clauses():
    body = "## 第三章 客户服务\n\n### 3.2 客户投诉处理\n\n3.2.1 对于客户的投诉,要及时进行记录。\n\n3.2.2 对于客户的合理投诉,要及时回访。\n"
    first, second = chunk_article(article(body), min_chars=100, max_chars=400)
    assert first.section == second.section == "3.2 客户投诉处理"
    assert (first.clauses, second.clauses) == (("3.2.1",), ("3.2.2",))  # one clause each, however short
    assert (first.clause, second.clause) == ("3.2.1", "3.2.2")
    assert all(body[p.start : p.end] == p.text for p in (first, second))
    assert first.context.startswith("标题 · 3.2 客户投诉处理\n") and first.lead == ""


def test_chinese_article_clause_numbers_are_found():
    body = "## 第六章 监督与考核\n\n第十六条 定期对员工进行服务考核。\n\n第十七条 对考核不合格的员工,进行培训或调整岗位。\n"
    assert [p.clauses for p in chunk_article(article(body))] == [("第十六条",), ("第十七条",)]


def test_a_clause_keeps_its_items_and_never_shares_a_passage_with_the_next():
    body = (
        "## 第二章 经营者\n\n第十二条 经营者应当遵守下列规定：\n\n（一）明码标价；\n\n（二）出具发票。\n\n"
        "违反前款规定的，依法处理。\n\n第十三条 经营者不得拒绝退款。\n"
    )
    twelve, thirteen = chunk_article(article(body))
    assert (
        twelve.clause == "第十二条"
        and twelve.text.endswith("违反前款规定的，依法处理。")
        and "（二）出具发票" in twelve.text
    )
    assert thirteen.text == "第十三条 经营者不得拒绝退款。" and thirteen.clause == "第十三条"


def test_a_long_clause_is_split_and_every_part_keeps_its_number_and_lead():
    items = "\n\n".join(
        f"（{n}）第{n}项具体要求的内容写在这里，要求经营者在规定期限内完成整改并书面报告。" for n in range(1, 13)
    )
    body = f"## 章\n\n第九十八条 物业管理区域内有下列行为之一的，由有关主管部门予以查处：\n\n{items}\n\n第九十九条 附则。\n"
    parts = chunk_article(article(body), max_chars=200)
    clause_parts = [p for p in parts if p.clause == "第九十八条"]
    assert len(clause_parts) > 2 and all(len(p.text) <= 200 for p in clause_parts)
    assert clause_parts[0].text.startswith("第九十八条") and clause_parts[0].lead == ""
    assert all(
        p.lead == "第九十八条 物业管理区域内有下列行为之一的，由有关主管部门予以查处：" for p in clause_parts[1:]
    )
    assert all(p.context.split("\n")[1] == p.lead for p in clause_parts[1:])  # the encoder sees the lead
    assert parts[-1].clause == "第九十九条" and "第九十九条" not in "".join(p.text for p in clause_parts)


def test_each_table_row_is_a_passage_under_its_header():
    body = (
        "## 服务网点\n\n5.2.1 各网点营业时间见公告。\n\n| 网点 | 营业时间 |\n|---|---|\n| 朝阳网点 | 工作日 9:00-17:00 |\n"
        "| 海淀网点 | 每天 9:00-18:00 |\n\n节假日另行公告。\n"
    )
    lead_in, chaoyang, haidian, after = chunk_article(article(body))
    assert lead_in.text == "5.2.1 各网点营业时间见公告。"
    assert chaoyang.text == "| 朝阳网点 | 工作日 9:00-17:00 |" and chaoyang.lead == "| 网点 | 营业时间 |"
    assert chaoyang.clause == haidian.clause == "5.2.1" and body[chaoyang.start : chaoyang.end] == chaoyang.text
    assert after.text == "节假日另行公告。" and after.lead == "5.2.1 各网点营业时间见公告。" and after.clause == "5.2.1"


def test_a_large_table_the_clause_before_it_does_not_speak_of_is_not_cited_as_that_clause():
    rows = "\n".join(
        f"| {name} | {rate} | 生日当月双倍积分及蛋糕券，另赠停车券一张 |"
        for name, rate in [("普卡", "无折扣"), ("银卡", "九五折"), ("金卡", "九折"), ("钻石卡", "八五折")]
    )
    table = f"| 会员等级 | 购物折扣 | 生日礼遇 |\n|---|---|---|\n{rows}"
    points = "第四条 会员每消费一元积一分，积分可在下次购物时抵扣现金，一百分抵一元。"
    passages = chunk_article(article(f"## 会员\n\n{points}\n\n{table}\n\n第五条 会员卡不得转借。\n"))
    gold = next(p for p in passages if "| 金卡 |" in p.text)
    assert gold.clause is None and gold.lead == "| 会员等级 | 购物折扣 | 生日礼遇 |" and gold.section == "会员"
    assert passages[0].clause == "第四条" and passages[-1].clause == "第五条"
    # the next clause's own table, after a picture in it, is that clause's (the verdict is each clause's own)
    fees = "| 项目 | 收费 |\n|---|---|\n" + "\n".join(
        f"| 补办第{n}次 | {n * 10}元，当场办结并出具收据 |" for n in range(1, 9)
    )
    picture = f"{OCR_MARK}\n\n补办须知\n\n{OCR_END}"
    body = f"## 会员\n\n{points}\n\n{table}\n\n第五条 补办会员卡的收费标准见下表。\n\n{picture}\n\n{fees}\n"
    assert {p.clause for p in chunk_article(article(body)) if "补办第" in p.text} == {"第五条"}
    # the same table after a clause that announces it, or speaks of what its header names, is the clause's
    for lead_in in ("第四条 各等级会员的购物折扣见下表。", "第四条 会员等级不同，购物折扣和生日礼遇也不同。"):
        owned = chunk_article(article(f"## 会员\n\n{lead_in}\n\n{table}\n"))
        assert next(p for p in owned if "| 金卡 |" in p.text).clause == "第四条", lead_in


def test_a_small_table_stays_with_the_line_that_introduces_it():
    table = "| 网点 | 营业时间 |\n|---|---|\n| 朝阳网点 | 工作日 9:00-17:00 |\n| 海淀网点 | 每天 9:00-18:00 |"
    body = f"## 服务网点\n\n5.2.1 各网点营业时间如下表：\n\n{table}\n\n5.2.2 节假日另行公告。\n"
    whole, next_clause = chunk_article(article(body))
    assert whole.text == f"5.2.1 各网点营业时间如下表：\n\n{table}" and whole.clause == "5.2.1"
    assert next_clause.text == "5.2.2 节假日另行公告。"
    rows = "\n".join(f"| 网点{n} | 每天 9:00-18:00，节假日另行公告 |" for n in range(40))  # too long to stay
    big = chunk_article(
        article(f"## 服务网点\n\n5.2.1 各网点营业时间如下表：\n\n| 网点 | 营业时间 |\n|---|---|\n{rows}\n")
    )
    assert big[0].text == "5.2.1 各网点营业时间如下表：" and len(big) == 41 and big[1].lead == "| 网点 | 营业时间 |"


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


def test_text_read_from_a_picture_is_its_own_passage_and_the_clause_goes_on_after_it():
    body = (
        "## 第二章 办理\n\n第五条 办理挂失需携带：\n\n（一）身份证；\n\n〔以下文字由图片识别〕\n\n营业时间调整通知\n\n"
        "二、补办银行卡需携带本人有效身份证件。\n\n〔以上文字由图片识别〕\n\n（二）银行卡。\n\n第六条 挂失当日生效。\n"
    )
    clause, picture, rest, next_clause = chunk_article(article(body))
    assert clause.text == "第五条 办理挂失需携带：\n\n（一）身份证；" and clause.clause == "第五条"
    assert picture.text == "营业时间调整通知\n\n二、补办银行卡需携带本人有效身份证件。" and picture.clause is None
    assert rest.text == "（二）银行卡。" and rest.clause == "第五条" and rest.lead == "第五条 办理挂失需携带："
    assert next_clause.clause == "第六条"


def test_a_clause_on_scanned_pages_runs_on_across_the_page_break():
    body = (
        "〔以下文字由图片识别：第 1 页〕\n\n第五条 办理挂失需携带：\n\n（一）身份证；\n\n"
        "〔以下文字由图片识别：第 2 页〕\n\n（二）银行卡。\n\n第六条 挂失当日生效。\n"
    )
    five, six = chunk_article(article(body))
    assert five.clause == "第五条" and five.text.startswith("第五条") and five.text.endswith("（二）银行卡。")
    assert six.text == "第六条 挂失当日生效。"
