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
    # Paragraphs the PDF breaks over two lines are whole again; quoted from ../shared/kb-extra/shanghai-metro.md,
    # which the fixture was made from (a CI clone has no ../shared)
    assert (
        "第六条 本市优先发展城市轨道公共客运交通。本市各级人民政府应当对轨道交通的投资、建设和运营给予支持。"
        in parsed.body
    )
    assert (
        "市人民政府确定的轨道交通企业具体负责本市轨道交通的建设和运营，并按照本条例的授权实施行政处罚。"
        "轨道交通企业执法人员应当取得执法身份证件，规范执法、文明执法。" in parsed.body
    )
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


@pytest.mark.parametrize(
    "first_line",
    ["协商物业费时参考。", "第七十四条 物业服务合同期限届满前，业主依法共同决定续聘的", "（一）不得擅自改变用途；"],
)
def test_a_first_line_that_is_a_sentence_a_clause_or_an_item_is_no_title_the_file_name_is(first_line):
    # a scanned page's OCR starts mid-text: its first line would be shown to customers as the document's name
    text = f"{first_line}\n第七十五条 物业服务合同期限届满后，物业服务合同继续有效。\n"
    assert draft_article(read_file("beijing-page-17.txt", text.encode())).title == "beijing-page-17"


def test_blank_lines_elsewhere_do_not_glue_the_lines_of_a_block_together():
    text = (
        "营业厅须知\n\n第一章 总则\n\n第一条 营业时间为每天九点至十八点。\n第二条 节假日照常营业。\n\n"
        "Opening hours\nare posted at the door.\n\n本须知自发布之日起施行。\n解释权归营业厅。\n"
    )
    parsed = read_file("notice.txt", text.encode())
    assert paragraphs(parsed.body) == [
        "## 第一章 总则",
        "第一条 营业时间为每天九点至十八点。",
        "第二条 节假日照常营业。",
        "Opening hours are posted at the door.",
        "本须知自发布之日起施行。",
        "解释权归营业厅。",
    ]
    assert parsed.clauses == 2


def test_short_numbered_lines_after_a_lead_ending_in_a_colon_are_its_items_not_headings():
    text = "挂失须知\n第一章 办理\n办理挂失需要携带：\n1. 身份证\n2. 银行卡\n二、注意事项\n挂失后请尽快补卡。\n"
    parsed = read_file("lost.txt", text.encode())
    assert parsed.sections == ["第一章 办理", "二、注意事项"]
    assert paragraphs(parsed.body)[1:4] == ["办理挂失需要携带：", "1. 身份证", "2. 银行卡"]


@pytest.mark.slow  # LibreOffice
def test_a_table_broken_over_pdf_pages_stays_one_table_under_its_header(tmp_path):
    from docx import Document

    make_fixtures = fixture_tools()
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "营业网点一览（内部）"
    doc.add_paragraph("营业网点一览", style="Title")
    doc.add_paragraph("各网点的营业时间和电话如下表：")
    rows = [(f"第{n}网点", "工作日 9:00-17:00", f"010-{n:08d}") for n in range(1, 81)]
    make_fixtures.table(doc, [("网点", "营业时间", "电话"), *rows])
    doc.add_paragraph("以上时间如有调整，以网点公告为准。")
    doc.save(tmp_path / "branches.docx")
    pdf = make_fixtures.to_pdf(tmp_path / "branches.docx", tmp_path)
    parsed = read_file("branches.pdf", pdf.read_bytes())
    assert parsed.pages >= 2 and parsed.tables == 1
    table = [line for line in parsed.body.splitlines() if line.startswith("|")]
    assert table[0] == "| 网点 | 营业时间 | 电话 |" and len(table) == 2 + 80
    assert table[-1] == "| 第80网点 | 工作日 9:00-17:00 | 010-00000080 |"
    assert "内部" not in parsed.body and paragraphs(parsed.body)[-1] == "以上时间如有调整，以网点公告为准。"


@pytest.mark.slow  # LibreOffice and OCR
def test_a_picture_on_a_pdf_page_with_text_is_read_where_it_stands(tmp_path):
    from docx import Document
    from docx.shared import Cm

    from kb.importing.guard import ImportLimits

    make_fixtures = fixture_tools()
    make_fixtures.picture(tmp_path / "notice.png", ["营业厅服务公告", "一、周六上午九点至十二点办理挂失业务。"])
    doc = Document()
    doc.add_paragraph("网点服务手册", style="Title")
    doc.add_paragraph("第一条 网点应在醒目位置张贴服务公告。")
    doc.add_picture(str(tmp_path / "notice.png"), width=Cm(14))
    doc.add_paragraph("第二条 公告内容调整的，应提前十五日公告。")
    doc.save(tmp_path / "manual.docx")
    data = make_fixtures.to_pdf(tmp_path / "manual.docx", tmp_path).read_bytes()
    told = []
    parsed = read_file("manual.pdf", data, progress=lambda done, total: told.append((done, total)))
    paras = paragraphs(parsed.body)
    mark = OCR_MARK.replace("〕", "：第 1 页图片〕")
    assert parsed.ocr_pages == 1 and mark in paras and told == [(1, 1)]
    assert paras.index("第一条 网点应在醒目位置张贴服务公告。") < paras.index(mark)
    assert paras.index(mark) < paras.index("一、周六上午九点至十二点办理挂失业务。")
    assert paras.index("一、周六上午九点至十二点办理挂失业务。") < paras.index(
        "第二条 公告内容调整的，应提前十五日公告。"
    )
    unread = read_file("manual.pdf", data, ImportLimits(max_ocr_pages=0))
    assert OCR_MARK not in unread.body and unread.warnings == [
        "还有 1 张图片超出每个文件 0 页（张）的识别上限，未识别。"
    ]


def test_progress_is_told_after_each_pdf_page():
    told = []
    read("metro-rules.pdf", progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.slow  # OCR
def test_a_poster_sized_pdf_page_is_drawn_small_enough_to_read(tmp_path):
    """A 14,400-point page at 200 dpi would be a 40,000-pixel square (6 GB); it is drawn at 4,000."""
    from PIL import Image, ImageDraw, ImageFont

    make_fixtures = fixture_tools()
    image = Image.new("L", (1240, 1240), 255)
    ImageDraw.Draw(image).text(
        (80, 560), "第十四条 单用途卡应当记名。", font=ImageFont.truetype(make_fixtures.FONT, 60)
    )
    image.convert("RGB").save(tmp_path / "poster.pdf", resolution=1240 / 200)  # 200 inches a side
    parsed = read_file("poster.pdf", (tmp_path / "poster.pdf").read_bytes())
    assert parsed.ocr_pages == 1 and "单用途卡应当记名" in parsed.body


@pytest.mark.slow  # OCR
def test_a_pdf_page_that_cannot_be_drawn_is_skipped_with_a_warning(monkeypatch):
    """Drawing a page can run out of memory; the page is named and the others still import. (The
    MemoryError is made up here: a real one would need gigabytes.)"""
    import io

    import pdfplumber.page
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for name in ("metro-rules.pdf", "scanned-page.pdf"):
        for page in PdfReader(FIXTURES / name).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)

    def out_of_memory(page, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pdfplumber.page.Page, "to_image", out_of_memory)
    parsed = read_file("merged.pdf", out.getvalue())
    assert parsed.pages == 4 and parsed.warnings == ["第 4 页无法渲染成图片，其中的图片没有识别。"]
    assert parsed.sections[:2] == ["第一章 总则", "第二章 规划和建设"] and OCR_MARK not in parsed.body


@pytest.mark.slow  # LibreOffice and OCR
def test_pictures_past_the_ocr_limit_are_not_read_and_the_curator_is_told(tmp_path):
    """Photos hold no text, but reading each costs as much as reading a notice: every picture read counts."""
    import io

    import numpy as np
    from docx import Document
    from docx.shared import Cm
    from PIL import Image

    from kb.importing.guard import ImportLimits

    noise = np.random.default_rng(0)
    doc = Document()
    doc.add_paragraph("网点照片", style="Title")
    for n in range(30):
        doc.add_paragraph(f"第{n + 1}网点门面：")
        photo = io.BytesIO()
        Image.fromarray((noise.random((96, 128, 3)) * 255).astype("uint8")).save(photo, "PNG")
        doc.add_picture(io.BytesIO(photo.getvalue()), width=Cm(4))
    doc.save(tmp_path / "photos.docx")
    told = []
    parsed = read_file(
        "photos.docx",
        (tmp_path / "photos.docx").read_bytes(),
        ImportLimits(max_ocr_pages=2),
        progress=lambda done, total: told.append((done, total)),
    )
    assert parsed.ocr_pages == 2 and parsed.warnings == ["还有 28 张图片超出每个文件 2 张的识别上限，未识别。"]
    assert told[-1] == (30, 30)


def sheet_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        page = book.create_sheet(title)
        for row in rows:
            page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_every_worksheet_with_a_header_is_read_and_the_others_are_named():
    data = sheet_bytes(
        {
            "银行卡": [["问题", "答案"], ["怎么挂失", "拨打客服热线挂失。"]],
            "说明": [["本表由客服部维护，每季度更新。"]],
            "网点": [
                ["网点常见问题"],
                ["标准问题", "相似问题", "答案"],
                ["几点开门", "营业时间", "九点。"],
                ["周末开吗", "", ""],
            ],
            "Sheet3": [],
        }
    )
    parsed = read_file("faq.xlsx", data)
    assert [(f.row, f.question) for f in parsed.faqs] == [(2, "怎么挂失"), (3, "几点开门")]
    assert [(r.row, r.reason) for r in parsed.rejected] == [(4, "工作表「网点」第 4 行缺少答案")]
    assert parsed.warnings == ["工作表「说明」没有找到表头（需要“问题”和“答案”两列），已跳过。"]


def test_questions_and_answers_too_long_to_save_are_refused_by_row_not_cut():
    long_similar = "、".join([f"问法{n}" for n in range(55)] + ["长" * 301])
    rows = [
        ["问题", "相似问题", "答案"],
        ["问" * 301, "", "答案。"],
        ["怎么挂失", "", "答" * 4001],
        ["怎么补卡", long_similar, "到营业厅补办。"],
    ]
    parsed = read_file("faq.xlsx", sheet_bytes({"常见问题": rows}))
    assert [(r.row, r.reason) for r in parsed.rejected] == [
        (2, "第 2 行问题太长（301 字，上限 300 字）"),
        (3, "第 3 行答案太长（4001 字，上限 4000 字）"),
    ]
    (entry,) = parsed.faqs
    assert entry.row == 4 and entry.alternatives == tuple(f"问法{n}" for n in range(50))
    assert parsed.warnings == ["第 4 行有 6 个相似问题未导入（每个至多 300 字，每行至多 50 个）。"]


def test_an_imported_markdown_file_with_an_alias_bomb_in_its_front_matter_keeps_only_plain_values():
    from kb.importing.text import front_matter

    from hostile import ALIAS_BOMB

    meta, body = front_matter("bomb.md", f"---\n{ALIAS_BOMB}title: *i\nsource: 手册\n---\n正文。\n")
    assert meta == {} and body.startswith("---")  # refused whole: read as text, never expanded
