"""Import throughput: pages a second for .docx and .pdf, rows a second for an .xlsx FAQ sheet, pages a second
read by OCR (a few lines a page, and a full A4 page of text scanned at 200 dpi), and the index build after
importing the four regulations of ../shared/kb-extra.

Makes its own large documents (the four kb-extra regulations as one Word file with automatic
numbering, and its PDF; the same twice over, too long for LibreOffice's styled export; a 5,000-row
sheet; 5 scanned pages; one full A4 page) with tests/fixtures/import/make_fixtures.py's tools, then times
kb.importing.read_file on each, 3 runs, median. Needs LibreOffice (make test installs it). --only ocr times
the two OCR rows alone (no LibreOffice).

    .venv/bin/python bench/bench_import.py [--runs 3] [--only ocr]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "import"))
import make_fixtures  # noqa: E402

from kb.importing.guard import ImportLimits  # noqa: E402
from kb.importing.reader import read_file  # noqa: E402

EXTRA = ROOT.parent / "shared" / "kb-extra"
REGULATIONS = [
    "shanghai-consumer-rights.md",
    "shanghai-prepaid-cards.md",
    "beijing-property-management.md",
    "shanghai-metro.md",
]


def timed(runs: int, work) -> float:
    """Median seconds of work() over runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def big_docx(path: Path, copies: int) -> None:
    """The four regulations, copies times over, as one Word file numbered by Word (第N条, （N）)."""
    from docx import Document

    doc = Document()
    chapter = make_fixtures.outline_style(doc, "章标题", 0, 16)
    articles = make_fixtures.add_numbering(doc, 51, [("chineseCounting", "第%1条"), ("chineseCounting", "（%2）")])
    for _ in range(copies):
        for name in REGULATIONS:
            title, blocks = make_fixtures.paragraphs(name, 10_000)
            doc.add_paragraph(title, style=chapter)
            for block in blocks:
                text = block.removeprefix("## ")
                paragraph = doc.add_paragraph(text.split(" ", 1)[-1] if block.startswith("第") else text)
                if block.startswith("第") and "条" in block[:8]:
                    make_fixtures.num_pr(paragraph._p, articles, 0)
    doc.save(path)


def pdf_pages(pdf: Path) -> int:
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        return len(document.pages)


def sheet(rows: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    page = book.create_sheet()
    page.append(["标准问题", "相似问题", "答案"])
    for n in range(rows):
        page.append([f"第{n}个问题怎么办理", f"问法甲{n}、问法乙{n}", f"第{n}个问题的答案：请到营业厅办理。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def scanned(path: Path, pages: int, work: Path) -> None:
    from PIL import Image

    _, blocks = make_fixtures.paragraphs("shanghai-prepaid-cards.md", 40)
    images = []
    for n in range(pages):
        lines = [b[:26] for b in blocks[n * 6 : n * 6 + 6]]
        make_fixtures.picture(work / f"page{n}.png", lines)
        images.append(Image.open(work / f"page{n}.png").convert("RGB"))
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150)


# A4 at 200 dpi, and how a page of a regulation is set on it: 34 lines of 33 characters (about 1,100), 12 pt.
A4_200DPI = (1654, 2339)
FULL_PAGE_LINES, LINE_CHARS, FONT_PX = 34, 33, 40


def full_page(path: Path) -> int:
    """One A4 page of the prepaid-card regulation's text as a 200 dpi grey scan (PNG); the characters on it
    (read: the Chinese characters OCR gave back, title and body)."""
    from PIL import Image, ImageDraw, ImageFont

    _, blocks = make_fixtures.paragraphs("shanghai-prepaid-cards.md", 60)
    text = "".join(blocks)
    lines = [text[i : i + LINE_CHARS] for i in range(0, LINE_CHARS * FULL_PAGE_LINES, LINE_CHARS)]
    image = Image.new("L", A4_200DPI, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(make_fixtures.FONT, FONT_PX)
    for n, line in enumerate(lines):
        draw.text((160, 200 + 58 * n), line, font=font, fill=0)
    image.save(path, dpi=(200, 200))
    return sum(len(line) for line in lines)


def ocr(work: Path, runs: int, limits: ImportLimits) -> dict:
    """The OCR rows: 5 pages of a few lines each in one PDF, and one full A4 page."""
    out = {}
    scanned(work / "scanned.pdf", 5, work)
    scan = (work / "scanned.pdf").read_bytes()
    seconds = timed(runs, lambda: read_file("scanned.pdf", scan, limits))
    out["ocr"] = {"pages": 5, "seconds": round(seconds, 2), "pages_per_s": round(5 / seconds, 2)}
    characters = full_page(work / "a4.png")
    page = (work / "a4.png").read_bytes()
    seconds = timed(runs, lambda: read_file("a4.png", page, limits))
    parsed = read_file("a4.png", page, limits)
    read = sum(1 for c in f"{parsed.title}{parsed.body}" if "\u4e00" <= c <= "\u9fff")
    out["ocr_full_page"] = {"characters": characters, "read": read, "seconds": round(seconds, 2)}
    return out


def index_build(work: Path) -> dict:
    """kefu import of the four regulations into a copy of the shipped base, on a fresh data folder."""
    import shutil

    kb = work / "kb"
    shutil.copytree(ROOT / "kb", kb)
    data = work / "var"
    kefu = [str(ROOT / ".venv" / "bin" / "kefu"), "--set", f"kb_dir={kb}", "--set", f"data_dir={data}"]
    subprocess.run([*kefu, "index", "build", "--json"], check=True, capture_output=True)
    started = time.perf_counter()
    out = subprocess.run(
        [*kefu, "import", "--json", *(str(EXTRA / n) for n in REGULATIONS)], check=True, capture_output=True, text=True
    ).stdout
    seconds = time.perf_counter() - started
    summary = json.loads(out)
    return {
        "documents": len(REGULATIONS),
        "texts_encoded": summary["encoded"],
        "seconds": round(seconds, 1),
        "texts_per_s": round(summary["encoded"] / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["ocr"], help="time the OCR rows alone")
    args = parser.parse_args()
    limits = ImportLimits(max_pages=5000, max_rows=100_000, max_ocr_pages=100)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only == "ocr":
            print(json.dumps(ocr(work, args.runs, limits), ensure_ascii=False, indent=2))
            return
        # once over: LibreOffice's styled (XHTML) export; twice over: too long for it, read from its text export
        for label, copies in (("docx", 1), ("docx_long", 2)):
            big_docx(work / f"{label}.docx", copies)
            pdf = make_fixtures.to_pdf(work / f"{label}.docx", work)
            pages = pdf_pages(pdf)
            docx_bytes, pdf_bytes = (work / f"{label}.docx").read_bytes(), pdf.read_bytes()
            seconds = timed(args.runs, lambda data=docx_bytes: read_file("regulations.docx", data, limits))
            parsed = read_file("regulations.docx", docx_bytes, limits)
            results[label] = {
                "pages": pages,
                "clauses": parsed.clauses,
                "text_export": bool(parsed.warnings),
                "seconds": round(seconds, 2),
                "pages_per_s": round(pages / seconds, 1),
            }
            if copies == 1:
                seconds = timed(args.runs, lambda data=pdf_bytes: read_file("regulations.pdf", data, limits))
                per_s = round(pages / seconds, 1)
                results["pdf"] = {"pages": pages, "seconds": round(seconds, 2), "pages_per_s": per_s}
        rows = sheet(5000)
        seconds = timed(args.runs, lambda: read_file("faq.xlsx", rows, limits))
        results["xlsx"] = {"rows": 5000, "seconds": round(seconds, 2), "rows_per_s": round(5000 / seconds)}
        results.update(ocr(work, args.runs, limits))
        results["index_build"] = index_build(work)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
