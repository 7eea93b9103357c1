"""HTML to a Markdown article body (markdownify), for web pages (their main content found by trafilatura)
and for what LibreOffice exports from Word. Headings, numbered clauses, items and tables are kept; text in
embedded pictures is read by OCR and marked as recognised."""

from __future__ import annotations

import base64
import re
from typing import Any

import charset_normalizer
from markdownify import MarkdownConverter

from kb.importing import ImportFailed, Progress
from kb.importing.document import ParsedFile, ocr_text, tidy
from kb.importing.ocr import as_image, recognise


class _Converter(MarkdownConverter):
    """markdownify as Kefu wants it: ATX headings, no list markers of its own (the numbers are in the text:
    LibreOffice writes Word's generated numbers as labels), pictures replaced by their recognised text (at
    most max_ocr of them read; the others counted in skipped)."""

    def __init__(self, max_ocr: int, pictures: int, progress: Progress | None, **options: Any):
        super().__init__(heading_style="ATX", table_infer_header=True, strip=["a"], **options)
        self.max_ocr, self.pictures, self.progress = max_ocr, pictures, progress
        self.seen = self.ocr_done = self.skipped = 0

    def convert_li(self, el: Any, text: str, parent_tags: Any = None, **kwargs: Any) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def convert_ol(self, el: Any, text: str, parent_tags: Any = None, **kwargs: Any) -> str:
        return "\n\n" + text + "\n\n"

    convert_ul = convert_ol

    def convert_span(self, el: Any, text: str, parent_tags: Any = None, **kwargs: Any) -> str:
        if any(c.startswith("ListLabel") for c in el.get("class") or []):
            return text.strip() + " "  # '第十二条', '5.3', 'a)' that Word generated
        return text

    def convert_title(self, el: Any, text: str, parent_tags: Any = None, **kwargs: Any) -> str:
        return ""

    def convert_img(self, el: Any, text: str, parent_tags: Any = None, **kwargs: Any) -> str:
        src = el.get("src") or ""
        if not src.startswith("data:image/") or ";base64," not in src:
            return ""
        self.seen += 1
        try:
            image = as_image(base64.b64decode(src.split(";base64,", 1)[1], validate=False))
        except ValueError:
            image = None
        lines: list[str] = []
        if image is not None and self.ocr_done < self.max_ocr:  # every picture read counts, text or not
            self.ocr_done += 1
            lines = recognise(image)
        elif image is not None:
            self.skipped += 1
        if self.progress:
            self.progress(self.seen, self.pictures)
        return "\n\n" + ocr_text(lines) + "\n\n" if lines else ""


def _header_rows(html: str) -> str:
    """Every table's first row as header cells, so each table keeps its column names (LibreOffice writes
    a Word table's header row as ordinary cells)."""
    from lxml import etree
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    for colgroup in list(root.iter("colgroup")):  # markdownify finds a header row only as the table's first child
        colgroup.drop_tree()
    for table in root.iter("table"):
        first = next(table.iter("tr"), None)
        for cell in first.findall("td") if first is not None else []:
            cell.tag = "th"
    return etree.tostring(root, encoding="unicode", method="html")


def html_to_markdown(html: str, max_ocr: int, progress: Progress | None = None) -> tuple[str, int, list[str]]:
    """(Markdown, pictures read by OCR, warnings) for an HTML document; at most max_ocr pictures are read,
    a warning says how many more were not; progress(done, total) after each embedded picture. The
    outermost headings become '##', under the article's own title."""
    html = re.sub(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>)?", "", html, flags=re.I)
    if "<table" in html:
        html = _header_rows(html)
    converter = _Converter(max_ocr, len(re.findall(r"<img[^>]+src=[\"']data:image/", html, re.I)), progress)
    markdown = converter.convert(html)
    levels = [len(m.group(1)) for m in re.finditer(r"^(#{1,6})\s", markdown, re.M)]
    shift = 2 - min(levels) if levels and min(levels) < 2 else 0
    if shift:
        markdown = re.sub(r"^(#{1,6})(?=\s)", lambda m: "#" * min(6, len(m.group(1)) + shift), markdown, flags=re.M)
    warnings = []
    if converter.skipped:
        warnings.append(f"还有 {converter.skipped} 张图片超出每个文件 {max_ocr} 张的识别上限，未识别。")
    return tidy(markdown), converter.ocr_done, warnings


def decode_html(name: str, data: bytes) -> str:
    """An HTML file's text: its declared charset, else UTF-8, else what charset-normalizer finds."""
    declared = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", data[:4096], re.I)
    for encoding in ([declared.group(1).decode("ascii")] if declared else []) + ["utf-8", "gb18030"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ImportFailed(name, "无法识别网页的文字编码。")
    return str(best)


def read_web_page(name: str, data: bytes, max_ocr: int, progress: Progress | None = None) -> ParsedFile:
    """A saved web page: its main content (no menus, sidebars or footers) as an article; at most max_ocr
    of its embedded pictures read by OCR (progress as html_to_markdown)."""
    import trafilatura

    html = decode_html(name, data)
    main = trafilatura.extract(
        html, output_format="html", include_tables=True, include_images=True, include_formatting=True, favor_recall=True
    )
    if not main:
        raise ImportFailed(name, "网页里没有找到正文。")
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata and metadata.title else "").strip()
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", main, re.S)
    if heading:  # the page's own first heading is its title; the <title> often carries the site's name too
        title = re.sub(r"<[^>]+>", "", heading.group(1)).strip()
        main = main[: heading.start()] + main[heading.end() :]
    body, ocr, warnings = html_to_markdown(main, max_ocr, progress)
    return ParsedFile(name, "article", title=title, body=tidy(body), ocr_pages=ocr, warnings=warnings)
