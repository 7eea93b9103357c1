"""Bad files get a clear reason naming the file, never a crash or a hang: corrupt, truncated, encrypted,
disguised, zip bombs, too many pages or rows, hostile names."""

from __future__ import annotations

import io
import zipfile

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
