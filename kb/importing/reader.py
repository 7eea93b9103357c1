"""One entry point: read_file(name, data) reads any supported file into a ParsedFile, choosing the reader
by the file's type and checking that its content is what its name says."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from kb.importing import ImportFailed, Progress
from kb.importing.document import ParsedFile, ocr_text, tidy
from kb.importing.guard import ImportLimits, check_body, check_size, safe_name

WORD = (".docx", ".doc", ".wps", ".rtf", ".odt")
SHEETS = (".xlsx", ".csv")
PICTURES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
SUPPORTED = (*WORD, ".pdf", *SHEETS, ".html", ".htm", ".md", ".markdown", ".txt", *PICTURES)
MAGIC = {
    ".pdf": (b"%PDF",),
    ".docx": (b"PK",),
    ".odt": (b"PK",),
    ".xlsx": (b"PK",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
    ".wps": (b"\xd0\xcf\x11\xe0", b"PK"),
    ".rtf": (b"{\\rtf",),
}


def suffix_of(name: str) -> str:
    """The lower-case extension of a file name ('' for none)."""
    return PurePath(name).suffix.lower()


def _check_content(name: str, data: bytes, suffix: str) -> None:
    expected = MAGIC.get(suffix)
    if expected and not any(m in data[:1024] for m in expected):
        raise ImportFailed(name, f"文件内容不是 {suffix} 格式（可能已损坏，或扩展名被改过）。")


def read_file(
    name: str,
    data: bytes,
    limits: ImportLimits | None = None,
    columns: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ParsedFile:
    """Read one file; ImportFailed (with the file's name and the reason) when it cannot be imported,
    among others when its article would be longer than an article may be (guard.check_body).
    columns maps a sheet's roles to its columns (see kb.importing.sheets.parse_columns); progress(done,
    total) is told after each page of a PDF and each picture of a Word file or web page."""
    limits = limits or ImportLimits()
    name = safe_name(name)
    suffix = suffix_of(name)
    if suffix not in SUPPORTED:
        known = "、".join(s.lstrip(".") for s in (".docx", ".doc", ".pdf", ".xlsx", ".csv", ".html", ".md", ".txt"))
        hint = "（旧版 Excel 请另存为 .xlsx）" if suffix == ".xls" else ""
        raise ImportFailed(name, f"不支持的文件类型 {suffix or '（无扩展名）'}{hint}；可以导入 {known} 等。")
    check_size(name, data, limits)
    _check_content(name, data, suffix)
    parsed = _read(name, data, suffix, limits, columns, progress)
    check_body(name, len(parsed.body))
    return parsed


def _read(
    name: str,
    data: bytes,
    suffix: str,
    limits: ImportLimits,
    columns: Mapping[str, str] | None,
    progress: Progress | None,
) -> ParsedFile:
    if suffix in WORD:
        from kb.importing.office import read_office

        return read_office(name, data, suffix, limits.max_ocr_pages, progress)
    if suffix == ".pdf":
        from kb.importing.pdf import read_pdf

        return read_pdf(name, data, limits, progress)
    if suffix in SHEETS:
        from kb.importing.sheets import read_sheet

        return read_sheet(name, data, suffix, limits, columns)
    if suffix in (".html", ".htm"):
        from kb.importing.web import read_web_page

        return read_web_page(name, data, limits.max_ocr_pages, progress)
    if suffix in PICTURES:
        from kb.importing.ocr import recognise

        lines = recognise(data)
        if not lines:
            raise ImportFailed(name, "图片里没有识别出文字。")
        return ParsedFile(name, "article", body=tidy(ocr_text(lines, "第 1 页", page=True)), ocr_pages=1)
    from kb.importing.text import read_markdown, read_text

    return read_markdown(name, data) if suffix in (".md", ".markdown") else read_text(name, data)
