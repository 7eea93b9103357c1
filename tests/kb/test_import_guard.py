"""Bad files get a clear reason naming the file, never a crash or a hang: corrupt, truncated, encrypted,
disguised, zip bombs, too many pages or rows, hostile names."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from kb.importing import ImportFailed
from kb.importing.guard import ImportLimits, safe_name
from kb.importing.reader import read_file

from servers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import"


def zip_bomb(inner: str) -> bytes:
    """A small zip that unpacks to 1 GB of zeros, named like an Office part."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(inner, "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(1024):
            member.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, inner", [("report.docx", "word/document.xml"), ("faq.xlsx", "xl/worksheets/sheet1.xml")]
)
def test_a_zip_bomb_dressed_as_an_office_file_is_refused_unopened(name, inner):
    data = zip_bomb(inner)
    assert len(data) < 2_000_000
    with pytest.raises(ImportFailed, match="压缩炸弹") as refused:
        read_file(name, data)
    assert refused.value.name == name


@pytest.mark.parametrize("name", ["property-rules.docx", "常见问题.xlsx", "metro-rules.pdf"])
def test_a_truncated_file_is_reported_as_damaged(name):
    data = (FIXTURES / name).read_bytes()
    with pytest.raises(ImportFailed, match=r"损坏|不完整"):
        read_file(name, data[: len(data) // 3])


def test_an_encrypted_pdf_says_so():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(FIXTURES / "metro-rules.pdf").pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ImportFailed, match="密码"):
        read_file("locked.pdf", out.getvalue())


def test_a_pdf_over_the_page_limit_is_refused_before_it_is_read():
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(501):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ImportFailed, match="501 页，超过上限 500 页"):
        read_file("huge.pdf", out.getvalue(), ImportLimits(max_pages=500))
    with pytest.raises(ImportFailed, match="没有文字"):  # under the limit: blank pages, and no picture to read
        read_file("blank.pdf", out.getvalue())


def test_a_sheet_with_100000_rows_stops_at_the_row_limit():
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["问题", "答案"])
    for n in range(100_000):
        sheet.append([f"问题{n}", f"答案{n}"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportFailed, match="超过 5000 行"):
        read_file("big.xlsx", out.getvalue())


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "空的"),
        ("tool.exe", b"MZ\x90\x00", "不支持的文件类型 .exe"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "不是文本文件"),
        ("fake.pdf", b"<html>not a pdf</html>", "不是 .pdf 格式"),
        ("fake.docx", b"plain text", "不是 .docx 格式"),
        ("big.txt", b"a" * (2 * 1024 * 1024 + 1), "文件太大"),
    ],
)
def test_files_that_are_not_what_they_say_get_a_reason(name, data, reason):
    with pytest.raises(ImportFailed, match=reason):
        read_file(name, data, ImportLimits(max_mb=2))


@pytest.mark.parametrize(
    "given, kept",
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\a\\报告.docx", "报告.docx"),
        (".hidden.txt", "hidden.txt"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("", "file"),
        ("..", "file"),
    ],
)
def test_file_names_lose_folders_and_control_characters(given, kept):
    assert safe_name(given) == kept


def test_a_csv_cell_over_128_kb_is_read_and_its_row_refused_as_too_long():
    answer = "营业厅" * 70_000  # 210,000 characters: past the csv module's default field limit
    data = f"问题,答案\n怎么挂失,拨打客服热线。\n怎么补卡,{answer}\n".encode()
    parsed = read_file("faq.csv", data)
    assert [f.question for f in parsed.faqs] == ["怎么挂失"]
    assert [(r.row, r.reason) for r in parsed.rejected] == [(3, "第 3 行答案太长（210000 字，上限 4000 字）")]


def test_a_csv_with_old_mac_line_ends_reads():
    parsed = read_file("faq.csv", "问题,答案\r怎么挂失,拨打客服热线。\r怎么补卡,到营业厅补办。\r".encode())
    assert [(f.row, f.question) for f in parsed.faqs] == [(2, "怎么挂失"), (3, "怎么补卡")]


def xlsx(build) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    build(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_sheet_is_read_only_as_wide_as_its_columns():
    """One stray cell in the last column (XFD) makes openpyxl pad every row to 16,384 cells; only the
    header's columns are read."""

    def build(sheet):
        sheet.append(["问题", "答案"])
        sheet.append(["怎么挂失", "拨打客服热线。"])
        sheet["XFD900"] = "备注"

    data = xlsx(build)
    assert len(data) < 10_000
    parsed = read_file("faq.xlsx", data)
    assert [f.question for f in parsed.faqs] == ["怎么挂失"] and not parsed.rejected and not parsed.warnings


def test_a_sheet_stops_after_a_thousand_empty_rows_and_says_so():
    def build(sheet):
        sheet.append(["问题", "答案"])
        sheet.append(["怎么挂失", "拨打客服热线。"])
        sheet["A1500"], sheet["B1500"] = "怎么补卡", "到营业厅补办。"

    parsed = read_file("faq.xlsx", xlsx(build))
    assert [f.question for f in parsed.faqs] == ["怎么挂失"]
    assert parsed.warnings == ["第 3 行起连续 1000 行是空行，后面没有再读：如果下面还有问答，请删去这些空行后再导入。"]


def soffice_processes(under: str) -> list[str]:
    """Command lines of live processes that mention the folder (a LibreOffice profile inside it)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = (Path("/proc") / pid / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if under in command:
            found.append(command.replace("\0", " "))
    return found


@pytest.mark.slow  # LibreOffice
def test_a_libreoffice_timeout_ends_every_process_it_started(tmp_path, monkeypatch):
    """soffice is a script that starts soffice.bin: on a timeout both end, not the script alone."""
    import tempfile

    from docx import Document

    from kb.importing import office

    doc = Document()
    table = doc.add_table(rows=10_000, cols=2)  # takes LibreOffice 10 s or more
    for row in table.rows:
        row.cells[0].text = "营业厅"
    doc.save(tmp_path / "slow.docx")
    monkeypatch.setattr(office, "TIMEOUT_SECONDS", 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the profile LibreOffice runs with goes here
    with pytest.raises(ImportFailed, match="转换超过 2 秒") as refused:
        read_file("slow.docx", (tmp_path / "slow.docx").read_bytes())
    assert refused.value.name == "slow.docx"
    deadline = time.monotonic() + 3
    while soffice_processes(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert soffice_processes(str(tmp_path)) == []


def test_without_libreoffice_the_word_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImportFailed, match="没有安装 LibreOffice") as refused:
        read_file("report.docx", (FIXTURES / "property-rules.docx").read_bytes())
    assert refused.value.name == "report.docx"


def test_a_document_longer_than_an_article_may_be_is_refused_with_its_length():
    text = "超长规程\n" + "第一条 营业厅应当公示服务项目和收费标准，接受客户监督。\n" * 15_000
    with pytest.raises(ImportFailed, match=r"正文有 4\d\d,\d{3} 字，超过一篇文章 400,000 字的上限.*拆分"):
        read_file("long.txt", text.encode())
