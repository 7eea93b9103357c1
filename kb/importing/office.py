"""Word and its kin (.docx, .doc, .wps, .rtf, .odt) through LibreOffice, headless: its XHTML export keeps
headings from heading styles and outline levels (GB/T 1.1 templates' 章标题, 一级条标题 …), writes the numbers
Word generates from its numbering definitions (第十二条, 5.3, a)) as text, and keeps tables and pictures.
No Python library computes those numbers; LibreOffice renders them as Word does."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from kb.importing import ImportFailed
from kb.importing.document import ParsedFile, tidy
from kb.importing.guard import check_zip
from kb.importing.web import html_to_markdown

ZIPPED = {".docx", ".odt"}
TIMEOUT_SECONDS = 300


def soffice() -> str:
    """The LibreOffice program; ImportFailed when the server has none."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise ImportFailed("LibreOffice", "服务器上没有安装 LibreOffice，无法读取 Word 文件（make run 会安装它）。")
    return found


def to_xhtml(name: str, data: bytes, suffix: str) -> str:
    """The document as XHTML with images inlined, converted by a private LibreOffice instance (its own
    profile, so imports running at the same time do not wait on each other)."""
    if suffix in ZIPPED:
        check_zip(name, data)
    program = soffice()
    with tempfile.TemporaryDirectory(prefix="kefu-office-") as work:
        source = Path(work) / f"document{suffix}"
        source.write_bytes(data)
        command = [
            program,
            f"-env:UserInstallation=file://{work}/profile",
            "--headless",
            "--norestore",
            "--convert-to",
            "html:XHTML Writer File:UTF8",
            "--outdir",
            str(Path(work) / "out"),
            str(source),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise ImportFailed(name, f"转换超过 {TIMEOUT_SECONDS} 秒仍未完成，已放弃。") from None
        converted = Path(work) / "out" / "document.html"
        if not converted.is_file():
            raise ImportFailed(name, "无法打开这个文件：它可能已损坏、不完整或设置了密码。")
        return converted.read_text(encoding="utf-8", errors="replace")


def _title(xhtml: str) -> str:
    """The document's title: its Title-styled paragraph, else the title in its properties."""
    styled = re.search(r'<p class="Title"[^>]*>(.*?)</p>', xhtml, re.S)
    if styled:
        return re.sub(r"<[^>]+>", "", styled.group(1)).strip()
    named = re.search(r"<title>(.*?)</title>", xhtml, re.S)
    text = named.group(1).strip() if named else ""
    return "" if text.lower() in ("", "no title specified") else text


def read_office(name: str, data: bytes, suffix: str, max_ocr: int) -> ParsedFile:
    """A Word-family document as an article: title, Markdown body, pictures read by OCR."""
    xhtml = to_xhtml(name, data, suffix)
    title = _title(xhtml)
    xhtml = re.sub(r'<p class="Title"[^>]*>.*?</p>', "", xhtml, count=1, flags=re.S)
    body, ocr = html_to_markdown(xhtml, max_ocr)
    if not body.strip():
        raise ImportFailed(name, "文档里没有文字，图片中也没有识别出文字。")
    return ParsedFile(name, "article", title=title, body=tidy(body), ocr_pages=ocr)
