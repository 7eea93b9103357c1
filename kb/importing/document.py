"""What reading a file gives: an article body in Markdown, or a sheet's Q&A rows, with the figures a
curator checks before saving (title, sections, clause count, tables, pages read by OCR, rejected rows)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

CLAUSE_LINE = re.compile(r"^(第[一二三四五六七八九十百零〇\d]+条|\d+(?:\.\d+)+)(?=\s|[^\d.]|$)", re.M)
HEADING_LINE = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.M)
TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$", re.M)
OCR_MARK = "〔以下文字由图片识别〕"  # a picture's text starts; "〔以下文字由图片识别：第 3 页〕" a scanned page's
OCR_END = "〔以上文字由图片识别〕"  # a picture's text ends (a scanned page's text is the page: it has no end)
SCANNED_PAGE = re.compile(r"^〔以下文字由图片识别：第 \d+ 页〕$")


@dataclass(frozen=True)
class FaqRow:
    """One Q&A row of a sheet (row is the sheet's 1-based row number)."""

    row: int
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    article: str | None = None
    clause: str | None = None


@dataclass(frozen=True)
class RejectedRow:
    """A sheet row that was not imported, and why (Chinese, for the curator)."""

    row: int
    reason: str


@dataclass
class ParsedFile:
    """One file read: kind 'article' (title and a Markdown body) or 'faq' (rows). pages: PDF pages read;
    ocr_pages: pages or pictures read by OCR; warnings: what the curator should know (Chinese)."""

    name: str
    kind: str
    title: str = ""
    body: str = ""
    pages: int = 0
    ocr_pages: int = 0
    faqs: list[FaqRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # a Markdown file's front matter (id, category, source …)

    @property
    def sections(self) -> list[str]:
        """The body's headings, in order."""
        return [m.group(2) for m in HEADING_LINE.finditer(self.body)]

    @property
    def clauses(self) -> int:
        """How many numbered clauses (第十二条, 3.2.1) begin a paragraph."""
        return len(CLAUSE_LINE.findall(self.body))

    @property
    def tables(self) -> int:
        """How many Markdown tables the body holds."""
        return len(TABLE_RULE.findall(self.body))

    def to_dict(self) -> dict[str, Any]:
        """Everything read, JSON-ready (kept between an import's preview and its save)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParsedFile:
        """A ParsedFile from to_dict's form."""
        return cls(
            **{
                **data,
                "faqs": [FaqRow(**{**f, "alternatives": tuple(f["alternatives"])}) for f in data["faqs"]],
                "rejected": [RejectedRow(**r) for r in data["rejected"]],
            }
        )

    def preview(self) -> dict[str, Any]:
        """The figures shown before saving, JSON-ready."""
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "sections": self.sections,
            "clauses": self.clauses,
            "tables": self.tables,
            "pages": self.pages,
            "ocr_pages": self.ocr_pages,
            "chars": len(self.body),
            "faqs": len(self.faqs),
            "rejected": [asdict(r) for r in self.rejected],
            "warnings": list(self.warnings),
        }


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; cells on one line, '|' escaped; rows padded to the header's width."""

    def cell(text: str) -> str:
        return re.sub(r"\s+", " ", text or "").strip().replace("|", "\\|")

    width = max([len(header), *(len(r) for r in rows)])
    lines = ["| " + " | ".join(cell(c) for c in (header + [""] * (width - len(header)))) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(cell(c) for c in (r + [""] * (width - len(r)))) + " |" for r in rows]
    return "\n".join(lines)


NUMBERED_START = re.compile(
    r"^(第[一二三四五六七八九十百零〇两\d]+[编章节条]|[一二三四五六七八九十]+[、.．]|\d+(?:\.\d+)*[.、．\s]"
    r"|[（(][一二三四五六七八九十\d]+[）)]|[a-z\d][)）])"
)
LINE_END = "。！？；：…!?;:"


def ocr_text(lines: list[str], where: str = "", page: bool = False) -> str:
    """Text recognised in a picture, marked as such in the article: between OCR_MARK and OCR_END for a
    picture within a document, after OCR_MARK naming the page for a scanned page (page=True; where is then
    '第 N 页'). One paragraph per line, except that a line filling the picture's width (at least 80% of its
    longest, of three or more lines) and not ending a sentence goes on in the next line, unless that one
    starts with a number (第十四条, 二、, （一）)."""
    mark = OCR_MARK if not where else OCR_MARK.replace("〕", f"：{where}〕")
    kept = [line.strip() for line in lines if line.strip()]
    full = max((len(line) for line in kept), default=0) * 0.8 if len(kept) >= 3 else float("inf")
    paragraphs: list[str] = []
    previous = ""  # the line before, as read
    for line in kept:
        goes_on = previous and len(previous) >= full and previous[-1] not in LINE_END
        previous = line
        line = re.sub(r"^(第[一二三四五六七八九十百零〇两\d]+条)(?=[^\s，,、])", r"\1 ", line)
        if goes_on and not NUMBERED_START.match(line):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    return "\n\n".join([mark, *paragraphs] + ([] if page else [OCR_END]))


def tidy(body: str) -> str:
    """A Markdown body without invisible characters, trailing spaces or runs of blank lines."""
    body = re.sub(r"[\u200b\u200c\u200d\ufeff\u00ad]", "", body).replace("\r\n", "\n").replace("\r", "\n")
    body = re.sub(r"[ \t\u3000]+\n", "\n", body)
    return re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
