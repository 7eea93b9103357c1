"""Reading a desk's own files (tests/fixtures/import, made from ../shared/kb-extra with real tools):
structure kept as agents cite it, tables with their headers, text in pictures read and marked."""

from __future__ import annotations

import re

import pytest

from indexer.chunker import clause_at
from indexer.importer import draft_article
from kb.importing import ImportFailed
from kb.importing.document import OCR_MARK
from kb.importing.reader import read_file

from servers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import"


def fixture_tools():
    """tests/fixtures/import/make_fixtures.py, the tools that made the fixtures."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(name: str, **kwargs):
    return read_file(name, (FIXTURES / name).read_bytes(), **kwargs)


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.split("\n\n") if p.strip()]


@pytest.mark.slow  # LibreOffice
def test_word_numbering_and_outline_headings_come_out_as_text():
    from docx import Document

    raw = [p.text for p in Document(str(FIXTURES / "property-rules.docx")).paragraphs]
    assert not any(t.startswith("第一条") for t in raw)  # the numbers are Word's, not in the paragraphs' text
    parsed = read("property-rules.docx")
    assert parsed.title == "北京市物业管理条例" and parsed.sections == ["第一章 总 则"]
    paras = paragraphs(parsed.body)
    assert "## 第一章 总 则" in paras
    assert any(p.startswith("第一条 为了构建党建引领社区治理框架下的物业管理体系") for p in paras)
    assert any(p.startswith("第六条 市住房和城乡建设主管部门履行下列职责") for p in paras)
    assert any(
        p.startswith("（一） 制定本市物业管理相关政策") or p.startswith("（一）制定本市物业管理相关政策") for p in paras
    )
    assert parsed.clauses >= 9 and parsed.tables == 1
    assert (
        "| 服务项目 | 收费标准 | 计费方式 |" in parsed.body
        and "| 住宅物业服务费 | 每月每平方米2.5元 | 按建筑面积 |" in parsed.body
    )


@pytest.mark.slow  # LibreOffice
def test_a_word_file_too_long_for_the_styled_export_is_read_as_text_with_its_numbers(tmp_path):
    """LibreOffice's XHTML export gives up on one list of about 600 numbered paragraphs or more (a long
    regulation); the import falls back to its text export, which still writes Word's numbers."""
    from docx import Document

    make_fixtures = fixture_tools()
    doc = Document()
    doc.add_paragraph("长条例", style="Title")
    chapter = make_fixtures.outline_style(doc, "章标题", 0, 16)
    articles = make_fixtures.add_numbering(doc, 51, [("chineseCounting", "第%1条"), ("chineseCounting", "（%2）")])
    doc.add_paragraph("第一章 总则", style=chapter)
    for n in range(1, 801):
        make_fixtures.num_pr(doc.add_paragraph(f"第{n}项规定的内容。")._p, articles, 0)
    doc.save(tmp_path / "long.docx")
    parsed = read_file("long.docx", (tmp_path / "long.docx").read_bytes())
    paras = paragraphs(parsed.body)
    assert parsed.title == "长条例" and parsed.sections == ["第一章 总则"]
    assert "第一条 第1项规定的内容。" in paras and "第八百条 第800项规定的内容。" in paras
    assert parsed.clauses == 800
    assert parsed.warnings and "太长" in parsed.warnings[0]


@pytest.mark.slow  # LibreOffice and OCR
def test_a_gbt_standard_keeps_its_clause_numbers_items_table_and_the_text_of_its_picture():
    parsed = read("branch-standard.docx")
    assert parsed.title == "银行营业网点服务规范"
    assert parsed.sections[4:] == ["5 营业时间", "5.1 对外公示", "5.2 节假日安排"]
    paras = paragraphs(parsed.body)
    assert "### 5.1 对外公示" in paras and "5.1.2 营业时间调整的，应提前十五日公告。" in paras
    assert "a) 至少保留一个网点正常营业；" in paras and "c) 保证自助设备正常运行。" in paras
    assert "| 朝阳网点 | 工作日 9:00-17:00 | 010-12345678 |" in parsed.body
    assert "（内部）" not in parsed.body  # the page header is not body text
    assert parsed.ocr_pages == 1 and OCR_MARK in parsed.body
    assert "周六上午九点至十二点办理挂失业务" in parsed.body.split(OCR_MARK, 1)[1]


def test_a_pdf_loses_its_running_header_and_page_numbers_and_joins_broken_lines():
    parsed = read("metro-rules.pdf")
    assert parsed.title == "上海市轨道交通管理条例" and parsed.pages == 3
    assert parsed.sections[:2] == ["第一章 总则", "第二章 规划和建设"]
    assert "上海市轨道交通管理条例" not in parsed.body  # the running header, once per page, is gone
    assert not re.search(r"第\s*\d+\s*页", parsed.body)
    source = (ROOT.parent / "shared" / "kb-extra" / "shanghai-metro.md").read_text(encoding="utf-8")
    article_four = next(p for p in source.split("\n\n") if p.startswith("第四条"))
    assert article_four in parsed.body  # a paragraph broken over several lines is whole again
    assert "| 服务项目 | 收费标准 | 计费方式 |" in parsed.body  # the table, with its header row


@pytest.mark.slow  # OCR
def test_a_scanned_page_is_read_by_ocr_and_marked():
    parsed = read("scanned-page.pdf")
    assert parsed.ocr_pages == 1 and parsed.body.startswith(OCR_MARK.replace("〕", "：第 1 页〕"))
    assert "第十四条单用途卡不记名的" in parsed.body.replace(" ", "") and "第十五条" in parsed.body


def test_a_web_page_keeps_its_main_content_only():
    parsed = read("consumer-rights.html")
    assert parsed.title == "上海市消费者权益保护条例"
    assert not any(w in parsed.body for w in ("首页", "新闻动态", "热门链接", "版权所有"))
    assert "## 第一章 总则" in paragraphs(parsed.body) and parsed.clauses >= 3
    assert "| 消费者投诉举报专线 | 12315 |" in parsed.body


def test_a_gbk_text_file_gets_its_chapters_as_headings_and_keeps_clauses_and_items():
    parsed = read("信用卡服务须知-gbk.txt")
    assert parsed.title == "信用卡服务须知"
    assert paragraphs(parsed.body) == [
        "## 第一章 挂失与冻结",
        "第一条 持卡人发现信用卡遗失、被盗的，应立即致电客服热线办理挂失。",
        "第二条 挂失后发生的交易由银行承担，但持卡人有下列情形之一的除外：",
        "（一）持卡人与他人恶意串通的；",
        "（二）持卡人未妥善保管密码的。",
        "## 第二章 年费",
        "第三条 普卡年费为每年100元，当年刷卡满6次免次年年费。",
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_in_any_of_its_usual_encodings_reads_the_same(encoding):
    text = "营业厅须知\n第一条 营业时间为每天九点至十八点。\n"
    assert read_file("notice.txt", text.encode(encoding)).body == "第一条 营业时间为每天九点至十八点。\n"


def test_a_faq_sheet_with_chinese_headers_reports_the_rows_it_did_not_import():
    parsed = read("常见问题.xlsx")
    assert parsed.kind == "faq" and [r.row for r in parsed.faqs] == [3, 4]
    first, second = parsed.faqs
    assert first.question == "预付卡商家关门了钱能退吗" and first.alternatives == (
        "老板跑路了卡里的钱怎么办",
        "店倒闭了余额能拿回来吗",
    )
    assert (
        second.alternatives == ("坐地铁能不能喝饮料", "车厢里能吃早饭吗") and second.article == "上海市轨道交通管理条例"
    )
    assert [(r.row, r.reason) for r in parsed.rejected] == [(5, "第 5 行缺少问题"), (6, "第 6 行缺少答案")]


def test_an_english_utf16_csv_and_columns_mapped_by_hand():
    parsed = read("faq-english-utf16.csv")
    assert [f.question for f in parsed.faqs] == ["How do I report a lost card?", "信用卡年费多少"]
    assert parsed.faqs[0].alternatives == ("lost my card", "card stolen")
    odd = "甲,乙,丙\n怎么挂失,打电话,打客服热线挂失\n".encode()
    with pytest.raises(ImportFailed, match="没有找到表头"):
        read_file("odd.csv", odd)
    mapped = read_file("odd.csv", odd, columns={"question": "A", "answer": "丙", "similar": "B"})
    assert [(f.question, f.answer, f.alternatives) for f in mapped.faqs] == [
        ("怎么挂失", "打客服热线挂失", ("打电话",))
    ]


def test_an_imported_plain_text_file_keeps_each_clause_its_own_and_its_first_line_as_title():
    text = "营业厅停车服务规定\n第一条 营业厅门前车位供办理业务的客户使用。\n第二条 超过两小时的按物业标准收费。\n第三条 夜间不得停放。\n"
    article = draft_article(read_file("parking-rules.txt", text.encode("gb18030")))
    assert article.title == "营业厅停车服务规定" and article.id == "parking-rules"
    assert article.body.split("\n\n")[1] == "第二条 超过两小时的按物业标准收费。"
    body = article.body
    assert clause_at(body, body.index("超过两小时")) == "第二条"
