"""PDF through pdfplumber: lines with their positions, sizes and weights. Running headers, footers and page
numbers are dropped (the same text at the same edge of most pages); headings come from size and weight;
lines are joined back into paragraphs (a new one at a gap, an indent, or a clause or item number);
ruled tables become Markdown tables, one table again when a page break splits it; a page without text is
rendered and read by OCR, and so are the pictures on a page with text (screenshots in a manual). Each page's
cached layout is let go once it is read, so a long PDF does not fill the memory."""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kb.importing import ImportFailed, Progress
from kb.importing.document import ParsedFile, markdown_table, ocr_text, tidy
from kb.importing.guard import ImportLimits, check_body
from kb.importing.ocr import MIN_SIDE, recognise
from kb.importing.text import CLAUSE_OR_ITEM, SENTENCE_END, join_lines

EDGE = 0.09  # the top and bottom 9 % of a page hold running headers, footers and page numbers
PAGE_NUMBER = re.compile(
    r"^(?:第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|[-—–\s]*\d+\s*[-—–\s]*|\d+\s*/\s*\d+|"
    r"page\s*\d+(?:\s*of\s*\d+)?)$",
    re.I,
)
RESOLUTION = 200  # dpi at which a scanned page is drawn for OCR
PICTURE_RESOLUTION = 300  # and a page with pictures on it: they are often drawn smaller than they were made
MAX_RENDER = 4000  # pixels on a drawn page's longest side: a poster-sized page is drawn at a lower resolution
PICTURE_SHARE = 0.03  # a picture on a page with text is read when it covers this much of the page (not an icon)


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
class _Table:
    """A ruled table of a page: its box (x0, top, x1, bottom) and its rows of cells."""

    box: tuple[float, float, float, float]
    rows: list[list[str]]


@dataclass
class _Page:
    lines: list[Line] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)  # one-row ones are text, unless they continue a table
    ocr: list[tuple[float, str]] = field(default_factory=list)  # (top, marked text) read from pictures


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
    for table in page.find_tables():
        rows = [[(cell or "").replace("\n", "") for cell in row] for row in table.extract()]
        if rows:
            found.tables.append(_Table(table.bbox, rows))
    boxes = [table.box for table in found.tables if len(table.rows) >= 2]
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
        edge = {_key(ln) for ln in page.lines if _at_edge(ln, height)}
        seen.update(edge)
    return {text for text, count in seen.items() if count >= max(2, len(pages) // 2)}


def _at_edge(line: Line, height: float) -> bool:
    return line.top < height * EDGE or line.bottom > height * (1 - EDGE)


def _is_furniture(line: Line, height: float, running: set[str]) -> bool:
    return _at_edge(line, height) and (_key(line) in running or bool(PAGE_NUMBER.match(line.text)))


def _blocks(lines: list[Line], placed: list[tuple[int, float, str]]) -> tuple[str, list[str]]:
    """(title, Markdown blocks) from body lines in reading order, and blocks placed by (page, top): tables
    and the text read by OCR from pages and pictures."""
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
        current = join_lines(current, ln.text) if current else ln.text
        previous = ln
    if current:
        blocks.append(current)
    blocks += [table for _, _, table in pending]
    return title, blocks


def _continue_tables(pages: list[_Page], heights: list[float], running: set[str]) -> None:
    """A table split by page breaks is one table again: a page's first table, with nothing but the
    running header above it, that has as many columns as the last table of the page before, with nothing
    but the footer below that one, gives its rows to it (less a header row repeated on each page). The
    one-row tables left are then dropped as tables: their lines are the page's text."""
    previous: _Table | None = None
    for page, height in zip(pages, heights):
        body = [ln for ln in page.lines if not _is_furniture(ln, height, running)]
        tables = sorted(page.tables, key=lambda t: t.box[1])
        continued = None
        if tables and previous and len(tables[0].rows[0]) == len(previous.rows[0]):
            continued = tables[0]
            if any(ln.bottom <= continued.box[1] for ln in body):
                continued = None
            else:
                previous.rows += continued.rows[1:] if continued.rows[0] == previous.rows[0] else continued.rows
                page.lines = [ln for ln in page.lines if not _inside(ln, continued.box)]
                body = [ln for ln in body if not _inside(ln, continued.box)]
        page.tables = [t for t in tables if t is not continued and len(t.rows) >= 2]
        last = tables[-1] if tables else None
        if last is None or any(ln.top >= last.box[3] for ln in body):
            previous = None
        elif last is not continued:  # (a table that went on over this whole page may go on again)
            previous = last if len(last.rows) >= 2 else None


def _pictures(page: Any, found: _Page, scan: bool) -> list[tuple[float, float, float, float]]:
    """The boxes of a page to read by OCR: the whole page when it is a scan, else its pictures that could
    hold text (at least MIN_SIDE pixels a side and PICTURE_SHARE of the page, outside the header and
    footer bands) and have none of the page's text on them (a background, a scan with a text layer)."""
    width, height = float(page.width), float(page.height)
    if not page.images:
        return []
    if scan:
        return [(0.0, 0.0, width, height)]
    boxes = []
    for image in page.images:
        x0, top = max(float(image["x0"]), 0.0), max(float(image["top"]), 0.0)
        x1, bottom = min(float(image["x1"]), width), min(float(image["bottom"]), height)
        big = (x1 - x0) * (bottom - top) >= PICTURE_SHARE * width * height
        sharp = min(image.get("srcsize") or (MIN_SIDE, MIN_SIDE)) >= MIN_SIDE
        banded = bottom < height * EDGE or top > height * (1 - EDGE)
        if big and sharp and not banded and not any(_inside(ln, (x0, top, x1, bottom)) for ln in found.lines):
            boxes.append((x0, top, x1, bottom))
    return boxes


def _read_pictures(
    page: Any, where: str, boxes: list[tuple[float, float, float, float]], dpi: int
) -> list[tuple[float, str]]:
    """(top, marked text) for each box of the page that OCR reads text in. The page is drawn once, at
    dpi, or less so that its longest side is at most MAX_RENDER pixels."""
    import numpy as np

    width, height = float(page.width), float(page.height)
    resolution = min(dpi, MAX_RENDER * 72 / max(width, height, 1.0))
    image = np.asarray(page.to_image(resolution=resolution).original.convert("RGB"))
    scale = image.shape[1] / width
    read = []
    for x0, top, x1, bottom in boxes:
        crop = image[int(top * scale) : int(bottom * scale), int(x0 * scale) : int(x1 * scale)]
        lines = recognise(np.ascontiguousarray(crop))
        if lines:
            read.append((top, ocr_text(lines, where, page=where.endswith("页"))))
    return read


def _ocr_page(page: Any, number: int, found: _Page, used: int, limit: int, warnings: list[str]) -> tuple[int, int]:
    """The page's pictures (the page itself, if a scan: next to no text, no table) read by OCR into
    found.ocr, while fewer than limit are used; (pictures read, pictures left out)."""
    scan = sum(len(ln.text) for ln in found.lines) < 10 and not found.tables
    try:
        boxes = _pictures(page, found, scan)
    except Exception:  # a damaged page: what could be read of it is kept
        return 0, 0
    taken = boxes[: max(limit - used, 0)]
    if scan and boxes and not taken:
        warnings.append(f"第 {number + 1} 页是图片，超出每个文件 {limit} 页的识别上限，未识别。")
        return 0, 0
    try:
        where, dpi = (f"第 {number + 1} 页", RESOLUTION) if scan else (f"第 {number + 1} 页图片", PICTURE_RESOLUTION)
        found.ocr = _read_pictures(page, where, taken, dpi) if taken else []
    except Exception:  # a page too large or too damaged to draw: its pictures only are lost
        warnings.append(f"第 {number + 1} 页无法渲染成图片，其中的图片没有识别。")
    return len(taken), len(boxes) - len(taken)


def _open(name: str, data: bytes) -> Any:
    """The PDF opened by pdfplumber; ImportFailed when it is encrypted or damaged."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        len(pdf.pages)
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; damaged files raise many kinds
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(cause, PDFPasswordIncorrect) or "password" in repr(cause).lower():
            raise ImportFailed(name, "PDF 设置了密码（已加密），请先去掉密码再导入。") from None
        raise ImportFailed(name, "PDF 已损坏或不完整，无法读取。") from None
    return pdf


def _read_pages(
    name: str, pdf: Any, limits: ImportLimits, progress: Progress | None
) -> tuple[list[_Page], list[float], int, list[str]]:
    """(pages, their heights, pictures read by OCR, warnings) of an open PDF, page by page, each let go
    of as soon as it is read; ImportFailed once the text read is longer than an article may be."""
    pages, heights, warnings, ocr_pages, skipped, chars = [], [], [], 0, 0, 0
    for number, page in enumerate(pdf.pages):
        try:
            found = _read_page(page, number)
        except Exception:  # one damaged page must not lose the others
            warnings.append(f"第 {number + 1} 页无法读取，已跳过。")
            found = _Page()
        read, left_out = _ocr_page(page, number, found, ocr_pages, limits.max_ocr_pages, warnings)
        ocr_pages, skipped = ocr_pages + read, skipped + left_out
        pages.append(found)
        heights.append(float(page.height))
        page.close()  # lets go of the page's layout and objects, which pdfplumber keeps
        # Text away from the edges stays in the body (but for the first line, the title perhaps), as tidy
        # leaves it: once that is too long, reading on is no use.
        kept = found.lines[1:] if number == 0 else found.lines
        chars += sum(len(tidy(ln.text)) - 1 for ln in kept if not _at_edge(ln, heights[-1]))
        check_body(name, chars, number + 1)
        if progress:
            progress(number + 1, len(pdf.pages))
    if skipped:
        warnings.append(f"还有 {skipped} 张图片超出每个文件 {limits.max_ocr_pages} 页（张）的识别上限，未识别。")
    return pages, heights, ocr_pages, warnings


def read_pdf(name: str, data: bytes, limits: ImportLimits, progress: Progress | None = None) -> ParsedFile:
    """A PDF as an article; pages without a text layer, and pictures on pages with one, are read by OCR,
    up to limits.max_ocr_pages in all; progress(pages read, pages) after each page. ImportFailed for an
    encrypted or damaged file, one over limits.max_pages or too long for an article, or one without text."""
    pdf = _open(name, data)
    count = len(pdf.pages)
    if count > limits.max_pages:
        pdf.close()
        raise ImportFailed(name, f"PDF 有 {count} 页，超过上限 {limits.max_pages} 页：请拆分后再导入。")
    with pdf:
        pages, heights, ocr_pages, warnings = _read_pages(name, pdf, limits, progress)
    running = _running(pages, heights)
    _continue_tables(pages, heights, running)
    lines = [ln for page, height in zip(pages, heights) for ln in page.lines if not _is_furniture(ln, height, running)]
    placed = [(n, t.box[1], markdown_table(t.rows[0], t.rows[1:])) for n, page in enumerate(pages) for t in page.tables]
    placed += [(n, top, text) for n, page in enumerate(pages) for top, text in page.ocr]
    title, blocks = _blocks(lines, placed)
    body = "\n\n".join(blocks)
    if not body.strip():
        raise ImportFailed(name, "PDF 里没有文字，用文字识别也没有读出内容。")
    return ParsedFile(
        name, "article", title=title, body=tidy(body), pages=count, ocr_pages=ocr_pages, warnings=warnings
    )
