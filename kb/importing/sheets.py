"""FAQ sheets (.xlsx through openpyxl, read streaming, every worksheet with a header row; .csv in any
encoding kb.importing.text reads): a header row names the question, similar-questions and answer columns
(and, optionally, the article and clause the answer rests on); each row below is one Q&A entry. Rows
without a question or an answer, or too long to save, are reported by their row number, never dropped
silently."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kb.importing import ImportFailed
from kb.importing.document import FaqRow, ParsedFile, RejectedRow
from kb.importing.guard import ImportLimits, check_zip
from kb.importing.text import decode

# The names a sheet's header uses for each column (compared without spaces or punctuation, lower-case).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "question": ("问题", "标准问题", "标准问", "问", "常见问题", "用户问题", "question", "questions", "q", "faq"),
    "similar": (
        "相似问题",
        "相似问",
        "相似问法",
        "扩展问",
        "扩展问题",
        "其他问法",
        "同义问法",
        "similar",
        "similarquestions",
        "alternatives",
        "variants",
        "paraphrases",
    ),
    "answer": ("答案", "回复", "回答", "标准答案", "答复", "answer", "answers", "a", "reply", "response"),
    "article": ("依据", "依据文章", "出处", "来源", "来源文章", "文章", "article", "source", "document"),
    "clause": ("条款", "依据条款", "条目", "clause", "section"),
}
SPLIT_SIMILAR = re.compile(r"[、；;|｜\n\r]+")
HEADER_SEARCH_ROWS = 5
MAX_QUESTION = 300  # characters, as the editor takes them (web.kb_editor.LIMITS); a similar question too
MAX_ANSWER = 4000
MAX_ALTERNATIVES = 50
MAX_EMPTY_RUN = 1000  # this many empty rows in a row end a worksheet (its last rows may be formatted to 1048576)


@dataclass(frozen=True)
class _Sheet:
    """One table of a file: its name ('' for a .csv) and its rows, rows(first, width) giving (row number,
    cells) from row first on, at most width cells each (None: all)."""

    title: str
    rows: Callable[[int, int | None], Iterator[tuple[int, list[str]]]]


def _norm(text: object) -> str:
    return re.sub(r"[\W_]+", "", str(text or "")).lower()


def parse_columns(spec: str) -> dict[str, str]:
    """'question=问题,similar=相似问题,answer=C' (a header name or a column letter for each role)."""
    mapping = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        role, sep, column = part.partition("=")
        if not sep or role.strip() not in COLUMN_NAMES or not column.strip():
            raise ValueError(f"--columns wants ROLE=COLUMN pairs with ROLE one of {', '.join(COLUMN_NAMES)}: {part!r}")
        mapping[role.strip()] = column.strip()
    return mapping


def _letter_index(column: str) -> int | None:
    if not re.fullmatch(r"[A-Za-z]{1,2}", column):
        return None
    index = 0
    for ch in column.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def _find_header(rows: list[tuple[int, list[str]]], columns: Mapping[str, str]) -> tuple[int, dict[str, int]]:
    """(the header's row number, {role: column index}) from the first rows of a sheet."""
    for number, cells in rows:
        names = [_norm(c) for c in cells]
        found: dict[str, int] = {}
        for role, synonyms in COLUMN_NAMES.items():
            wanted = columns.get(role)
            if wanted is not None:
                index = _letter_index(wanted) if _norm(wanted) not in names else names.index(_norm(wanted))
                if index is not None:
                    found[role] = index
                continue
            for i, name in enumerate(names):
                if name and name in {_norm(s) for s in synonyms} and i not in found.values():
                    found[role] = i
                    break
        if "question" in found and "answer" in found:
            return number, found
    return 0, {}


def _entry(number: int, row: list[str], roles: dict[str, int], where: str, parsed: ParsedFile) -> None:
    """One data row into parsed: a FaqRow, or a RejectedRow saying why (a warning for similar questions
    left out)."""

    def cell(role: str) -> str:
        index = roles.get(role)
        return str(row[index] or "").strip() if index is not None and index < len(row) else ""

    question, answer = cell("question"), cell("answer")
    if not question or not answer:
        missing = "和".join(label for label, value in (("问题", question), ("答案", answer)) if not value)
        problems = [f"缺少{missing}"]
    else:
        problems = [
            f"{label}太长（{len(value)} 字，上限 {limit} 字）"
            for label, value, limit in (("问题", question, MAX_QUESTION), ("答案", answer, MAX_ANSWER))
            if len(value) > limit
        ]
    if problems:
        parsed.rejected.append(RejectedRow(number, f"{where}第 {number} 行{'；'.join(problems)}"))
        return
    similar = list(dict.fromkeys(s.strip() for s in SPLIT_SIMILAR.split(cell("similar")) if s.strip()))
    similar = [s for s in similar if s != question]
    kept = [s for s in similar if len(s) <= MAX_QUESTION][:MAX_ALTERNATIVES]
    if len(kept) < len(similar):
        parsed.warnings.append(
            f"{where}第 {number} 行有 {len(similar) - len(kept)} 个相似问题未导入"
            f"（每个至多 {MAX_QUESTION} 字，每行至多 {MAX_ALTERNATIVES} 个）。"
        )
    parsed.faqs.append(FaqRow(number, question, answer, tuple(kept), cell("article") or None, cell("clause") or None))


def _read_rows(sheet: _Sheet, header: tuple[int, dict[str, int]], where: str, parsed: ParsedFile, left: int) -> int:
    """The rows below a sheet's header into parsed, reading only up to its last role column; returns how
    many of the file's rows (limits.max_rows) are left, -1 when it ran out."""
    header_row, roles = header
    empty = 0
    for number, row in sheet.rows(header_row + 1, max(roles.values()) + 1):
        if any(str(c or "").strip() for c in row):
            empty = 0
        else:
            empty += 1
            if empty == MAX_EMPTY_RUN:
                parsed.warnings.append(
                    f"{where}第 {number - empty + 1} 行起连续 {MAX_EMPTY_RUN} 行是空行，后面没有再读："
                    "如果下面还有问答，请删去这些空行后再导入。"
                )
                break
            continue
        left -= 1
        if left < 0:
            return -1
        _entry(number, row, roles, where, parsed)
    return left


def _read_sheets(name: str, sheets: list[_Sheet], limits: ImportLimits, columns: Mapping[str, str]) -> ParsedFile:
    """Every sheet with a header row (found in its first rows), its rows stopping at limits.max_rows in
    all; other sheets skipped with a warning (an empty one silently). Rows are named by their sheet when
    several sheets are read."""
    parsed = ParsedFile(name, "faq")
    readable = []
    for sheet in sheets:
        head = list(itertools.islice(sheet.rows(1, None), HEADER_SEARCH_ROWS))
        header = _find_header(head, columns)
        if header[1]:
            readable.append((sheet, header))
        elif any(str(c or "").strip() for _, row in head for c in row):
            parsed.warnings.append(f"工作表「{sheet.title}」没有找到表头（需要“问题”和“答案”两列），已跳过。")
    if not readable:
        raise ImportFailed(name, "没有找到表头：需要“问题/标准问题”和“答案/回复”两列（或用 --columns 指定）。")
    left = limits.max_rows
    for sheet, header in readable:
        left = _read_rows(sheet, header, f"工作表「{sheet.title}」" if len(readable) > 1 else "", parsed, left)
        if left < 0:
            raise ImportFailed(name, f"表格超过 {limits.max_rows} 行问答的上限：请拆分后分批导入。")
    if not parsed.faqs and not parsed.rejected:
        raise ImportFailed(name, "表格里没有问答行。")
    return parsed


def _csv_sheet(name: str, text: str, limits: ImportLimits) -> _Sheet:
    """A .csv as one sheet; a row the csv module cannot read is ImportFailed naming the row."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    # A cell may be as long as the file (the csv module's default stops at 128 KB); the file is bounded.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes))

    def rows(first: int, width: int | None) -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1):
                if number >= first:
                    yield number, row[:width]
        except csv.Error:
            raise ImportFailed(name, f"第 {number + 1} 行无法按 CSV 读取：格式有误，或含有二进制内容。") from None

    return _Sheet("", rows)


def _xlsx_sheets(book: Any) -> list[_Sheet]:
    """Each worksheet of an open read-only workbook as a sheet."""

    def reader(worksheet: Any) -> Callable[[int, int | None], Iterator[tuple[int, list[str]]]]:
        def rows(first: int, width: int | None) -> Iterator[tuple[int, list[str]]]:
            values = worksheet.iter_rows(min_row=first, max_col=width, values_only=True)
            for number, row in enumerate(values, start=first):
                yield number, ["" if v is None else str(v) for v in row]

        return rows

    return [_Sheet(worksheet.title, reader(worksheet)) for worksheet in book.worksheets]


def read_sheet(
    name: str, data: bytes, suffix: str, limits: ImportLimits, columns: Mapping[str, str] | None = None
) -> ParsedFile:
    """A FAQ sheet: its Q&A rows and the rows it rejected, from every worksheet of an .xlsx that has a
    header row. ImportFailed for a damaged file, no header, no rows, or more than limits.max_rows rows."""
    if suffix == ".csv":
        return _read_sheets(name, [_csv_sheet(name, decode(name, data), limits)], limits, columns or {})
    import openpyxl

    check_zip(name, data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        raise ImportFailed(name, "表格文件已损坏或不完整，无法读取。") from None
    try:
        return _read_sheets(name, _xlsx_sheets(book), limits, columns or {})
    finally:
        book.close()
