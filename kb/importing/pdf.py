"""PDF through pdfplumber: lines with their positions, sizes and weights. Running headers, footers and page
numbers are dropped (the same text at the same edge of most pages); headings come from size and weight;
lines are joined back into paragraphs (a new one at a gap, an indent, or a clause or item number);
ruled tables become Markdown tables; a page without text is rendered and read by OCR."""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kb.importing import ImportFailed
from kb.importing.document import ParsedFile, markdown_table, ocr_text, tidy
from kb.importing.guard import ImportLimits
from kb.importing.ocr import recognise
from kb.importing.text import CLAUSE_OR_ITEM, SENTENCE_END

EDGE = 0.09  # the top and bottom 9 % of a page hold running headers, footers and page numbers
PAGE_NUMBER = re.compile(
    r"^(?:第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|[-—–\s]*\d+\s*[-—–\s]*|\d+\s*/\s*\d+|"
    r"page\s*\d+(?:\s*of\s*\d+)?)$",
    re.I,
)


@dataclass
class Line:
    """One line of a page: text, position (points from the top), left and right edge, character size, bold."""

    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    bold: bool
    page: int


@dataclass
class _Page:
    lines: list[Line] = field(default_factory=list)
    tables: list[tuple[float, str]] = field(default_factory=list)  # (top, Markdown table)
    ocr: list[str] | None = None


NUMBER_THEN_TEXT = re.compile(r"^((?:第[一二三四五六七八九十百零〇\d]+[条章节])|(?:\d+(?:\.\d+)+))(?=[\u4e00-\u9fff])")


def _line(raw: dict[str, Any], page: int) -> Line:
    chars = [c for c in raw.get("chars", []) if c.get("text", "").strip()] or raw.get("chars", [])
    size = statistics.median(c["size"] for c in chars) if chars else 0.0
    bold = bool(chars) and sum("bold" in c.get("fontname", "").lower() for c in chars) > len(chars) / 2
    # A generated number ('第一条', '3.2.1') stands apart from its text, but comes out glued to it.
    text = NUMBER_THEN_TEXT.sub(r"\1 ", raw["text"].strip())
    return Line(text, raw["top"], raw["bottom"], raw["x0"], raw["x1"], round(size, 1), bold, page)


def _inside(line: Line, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return line.top >= top - 1 and line.bottom <= bottom + 1 and line.x0 >= x0 - 1 and line.x1 <= x1 + 1


def _read_page(page: Any, number: int) -> _Page:
    found = _Page()
    boxes = []
    for table in page.find_tables():
        rows = [[(cell or "").replace("\n", "") for cell in row] for row in table.extract()]
        if len(rows) >= 2:
            boxes.append(table.bbox)
            found.tables.append((table.bbox[1], markdown_table(rows[0], rows[1:])))
    for raw in page.extract_text_lines(return_chars=True, strip=True):
        line = _line(raw, number)
        if line.text and not any(_inside(line, box) for box in boxes):
            found.lines.append(line)
    return found


def _key(line: Line) -> str:
    """What repeats in a running header or footer: the text with its numbers blurred, at its size (a
    title in the same words as the running header is larger)."""
    return re.sub(r"\d+", "#", line.text) + f"@{line.size}"


def _running(pages: list[_Page], heights: list[float]) -> set[str]:
    """Texts that stand at the top or bottom edge of most pages: running headers and footers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page, height in zip(pages, heights):
        edge = {_key(ln) for ln in page.lines if ln.top < height * EDGE or ln.bottom > height * (1 - EDGE)}
        seen.update(edge)
    return {text for text, count in seen.items() if count >= max(2, len(pages) // 2)}


def _is_furniture(line: Line, height: float, running: set[str]) -> bool:
    at_edge = line.top < height * EDGE or line.bottom > height * (1 - EDGE)
    return at_edge and (_key(line) in running or bool(PAGE_NUMBER.match(line.text)))


def _join(a: str, b: str) -> str:
    """Two pieces of one paragraph, split by a line or page break: no space between Chinese characters,
    one between Latin words, none after a hyphenated word's hyphen."""
    if a.endswith("-") and b[:1].islower():
        return a[:-1] + b
    if a[-1:].isascii() and a[-1:].isalnum() and b[:1].isascii() and b[:1].isalnum():
        return a + " " + b
    return a + b


def _blocks(lines: list[Line], placed: list[tuple[int, float, str]]) -> tuple[str, list[str]]:
    """(title, Markdown blocks) from body lines in reading order, and blocks placed by (page, top): tables
    and the text of pages read by OCR."""
    if not lines:
        return "", [block for _, _, block in sorted(placed)]
    body = Counter(ln.size for ln in lines for _ in ln.text).most_common(1)[0][0]
    right = statistics.quantiles([ln.x1 for ln in lines], n=10)[-1] if len(lines) >= 10 else max(ln.x1 for ln in lines)
    left = min(ln.x0 for ln in lines)
    gaps = [b.top - a.bottom for a, b in itertools.pairwise(lines) if a.page == b.page and 0 <= b.top - a.bottom < 40]
    gap = statistics.median(gaps) if gaps else 3.0
    title = ""
    first = lines[0]
    if first.page == 0 and first.size >= body * 1.3 and len(first.text) <= 60:
        title, lines = first.text, lines[1:]
    heading_sizes = sorted({ln.size for ln in lines if ln.size >= body * 1.12}, reverse=True)

    def heading(ln: Line) -> int | None:
        if len(ln.text) > 40 or ln.text[-1] in SENTENCE_END or CLAUSE_OR_ITEM.match(ln.text):
            return None
        if ln.size in heading_sizes:
            return min(2 + heading_sizes.index(ln.size), 4)
        return 3 if ln.bold and ln.size >= body else None

    blocks: list[str] = []
    pending = sorted(placed)
    current = ""
    previous: Line | None = None
    for ln in lines:
        while pending and (pending[0][0], pending[0][1]) < (ln.page, ln.top):
            if current:
                blocks.append(current)
                current = ""
            blocks.append(pending.pop(0)[2])
        level = heading(ln)
        starts = (
            level is not None
            or previous is None
            or CLAUSE_OR_ITEM.match(ln.text) is not None
            or ln.x0 > left + body * 1.5  # an indented first line
            or (previous.page == ln.page and ln.top - previous.bottom > gap * 1.8)
            # a sentence ending short of the margin, or at the foot of a page, ends its paragraph
            or (previous.text[-1:] in SENTENCE_END and (previous.x1 < right - body * 2 or previous.page != ln.page))
        )
        if starts and current:
            blocks.append(current)
            current = ""
        if level is not None:
            blocks.append(f"{'#' * level} {ln.text}")
            previous = ln
            continue
        current = _join(current, ln.text) if current else ln.text
        previous = ln
    if current:
        blocks.append(current)
    blocks += [table for _, _, table in pending]
    return title, blocks


def read_pdf(name: str, data: bytes, limits: ImportLimits) -> ParsedFile:
    """A PDF as an article; pages without a text layer are read by OCR, up to limits.max_ocr_pages."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    warnings: list[str] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        count = len(pdf.pages)
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; damaged files raise many kinds
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(cause, PDFPasswordIncorrect) or "password" in repr(cause).lower():
            raise ImportFailed(name, "PDF 设置了密码（已加密），请先去掉密码再导入。") from None
        raise ImportFailed(name, "PDF 已损坏或不完整，无法读取。") from None
    if count > limits.max_pages:
        pdf.close()
        raise ImportFailed(name, f"PDF 有 {count} 页，超过上限 {limits.max_pages} 页：请拆分后再导入。")
    pages, heights, ocr_pages = [], [], 0
    with pdf:
        for number, page in enumerate(pdf.pages):
            try:
                found = _read_page(page, number)
            except Exception:  # one damaged page must not lose the others
                warnings.append(f"第 {number + 1} 页无法读取，已跳过。")
                found = _Page()
            if sum(len(ln.text) for ln in found.lines) < 10 and not found.tables and page.images:
                if ocr_pages < limits.max_ocr_pages:
                    image = page.to_image(resolution=200).original
                    import numpy as np

                    found.ocr = recognise(np.asarray(image.convert("RGB")))
                    ocr_pages += 1
                elif page.images:
                    warnings.append(
                        f"第 {number + 1} 页是图片，超出每个文件 {limits.max_ocr_pages} 页的识别上限，未识别。"
                    )
            pages.append(found)
            heights.append(float(page.height))
    running = _running(pages, heights)
    lines = [ln for page, height in zip(pages, heights) for ln in page.lines if not _is_furniture(ln, height, running)]
    placed = [(n, top, table) for n, page in enumerate(pages) for top, table in page.tables]
    placed += [(n, 0.0, ocr_text(page.ocr, f"第 {n + 1} 页")) for n, page in enumerate(pages) if page.ocr]
    title, blocks = _blocks(lines, placed)
    body = "\n\n".join(blocks)
    if not body.strip():
        raise ImportFailed(name, "PDF 里没有文字，用文字识别也没有读出内容。")
    return ParsedFile(
        name, "article", title=title, body=tidy(body), pages=count, ocr_pages=ocr_pages, warnings=warnings
    )
