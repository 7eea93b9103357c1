"""Word and its kin (.docx, .doc, .wps, .rtf, .odt) through LibreOffice, headless: its XHTML export keeps
headings from heading styles and outline levels (GB/T 1.1 templates' 章标题, 一级条标题 …), writes the numbers
Word generates from its numbering definitions (第十二条, 5.3, a)) as text, and keeps tables and pictures.
No Python library computes those numbers; LibreOffice renders them as Word does. A document too long for
the XHTML export (its XSLT runs out of recursion depth on a list of ~600 numbered paragraphs) is read from
LibreOffice's text export instead, which still writes the numbers; its headings are then found by their
numbering, and the curator is told."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from kb.importing import ImportFailed, Progress
from kb.importing.document import ParsedFile, tidy
from kb.importing.guard import check_zip
from kb.importing.text import structure
from kb.importing.web import html_to_markdown

ZIPPED = {".docx", ".odt"}
TIMEOUT_SECONDS = 300
LONG_DOCUMENT = (
    "这份文档太长，无法按样式导出：已按纯文本读取，标题按编号（第一章、第一条、1.2）识别，表格逐格成行，"
    "图片没有识别。请在预览里核对章节。"
)


def soffice(name: str) -> str:
    """The LibreOffice program; ImportFailed for the file name when the server has none."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise ImportFailed(name, "服务器上没有安装 LibreOffice，无法读取 Word 文件（make run 会安装它）。")
    return found


def _convert(name: str, program: str, work: str, source: Path, target: str) -> str | None:
    """The source exported by LibreOffice with the filter target ("html:XHTML Writer File:UTF8"), as text;
    None when LibreOffice wrote nothing."""
    out = Path(work) / "out"
    command = [
        program,
        f"-env:UserInstallation=file://{work}/profile",
        "--headless",
        "--norestore",
        "--convert-to",
        target,
        "--outdir",
        str(out),
        str(source),
    ]
    # soffice is a script that starts soffice.bin: in a session of its own, the whole group can be ended.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # (it may have ended just now)
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise ImportFailed(name, f"转换超过 {TIMEOUT_SECONDS} 秒仍未完成，已放弃。") from None
    written = list(out.glob("document.*")) if out.is_dir() else []
    if not written:
        return None
    text = written[0].read_text(encoding="utf-8", errors="replace")
    shutil.rmtree(out)
    return text


def export(name: str, data: bytes, suffix: str) -> tuple[str, str]:
    """(form, text): ("xhtml", the document as XHTML with images inlined), or ("text", its plain text with
    list numbers written out) when the XHTML export fails, as LibreOffice's XSLT export does on documents
    with more than about a thousand numbered paragraphs. A private LibreOffice instance (its own profile)
    does the work, so imports running at the same time do not wait on each other.

    Raises ImportFailed when LibreOffice is missing, times out, or cannot open the file."""
    if suffix in ZIPPED:
        check_zip(name, data)
    program = soffice(name)
    with tempfile.TemporaryDirectory(prefix="kefu-office-", ignore_cleanup_errors=True) as work:
        source = Path(work) / f"document{suffix}"
        source.write_bytes(data)
        xhtml = _convert(name, program, work, source, "html:XHTML Writer File:UTF8")
        if xhtml is not None:
            return "xhtml", xhtml
        text = _convert(name, program, work, source, "txt:Text (encoded):UTF8")
        if text is not None and text.strip():
            return "text", text
        raise ImportFailed(name, "无法打开这个文件：它可能已损坏、不完整或设置了密码。")


def _title(xhtml: str) -> str:
    """The document's title: its Title-styled paragraph, else the title in its properties."""
    styled = re.search(r'<p class="Title"[^>]*>(.*?)</p>', xhtml, re.S)
    if styled:
        return re.sub(r"<[^>]+>", "", styled.group(1)).strip()
    named = re.search(r"<title>(.*?)</title>", xhtml, re.S)
    text = named.group(1).strip() if named else ""
    return "" if text.lower() in ("", "no title specified") else text


def read_office(name: str, data: bytes, suffix: str, max_ocr: int, progress: Progress | None = None) -> ParsedFile:
    """A Word-family document as an article: title, Markdown body, at most max_ocr pictures read by OCR
    (progress(done, total) after each picture). Raises ImportFailed (see export) or when the document
    holds no text."""
    form, exported = export(name, data, suffix)
    if form == "text":
        title, body = structure(exported.lstrip("\ufeff"))
        if not body.strip():
            raise ImportFailed(name, "文档里没有文字。")
        return ParsedFile(name, "article", title=title, body=tidy(body), warnings=[LONG_DOCUMENT])
    title = _title(exported)
    xhtml = re.sub(r'<p class="Title"[^>]*>.*?</p>', "", exported, count=1, flags=re.S)
    body, ocr, warnings = html_to_markdown(xhtml, max_ocr, progress)
    if not body.strip():
        raise ImportFailed(name, "文档里没有文字，图片中也没有识别出文字。")
    return ParsedFile(name, "article", title=title, body=tidy(body), ocr_pages=ocr, warnings=warnings)
