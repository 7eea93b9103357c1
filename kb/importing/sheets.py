"""FAQ sheets (.xlsx through openpyxl, read streaming; .csv in any encoding kb.importing.text reads): a
header row names the question, similar-questions and answer columns (and, optionally, the article and
clause the answer rests on); each row below is one Q&A entry. Rows without a question or an answer are
reported by their row number, never dropped silently."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping

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


def _rows_of(
    cells: Iterable[tuple[int, list[str]]], name: str, limits: ImportLimits, columns: Mapping[str, str]
) -> ParsedFile:
    iterator = iter(cells)
    head = [row for _, row in zip(range(HEADER_SEARCH_ROWS), iterator)]
    header_row, roles = _find_header(head, columns)
    if not roles:
        raise ImportFailed(name, "没有找到表头：需要“问题/标准问题”和“答案/回复”两列（或用 --columns 指定）。")
    parsed = ParsedFile(name, "faq")

    def cell(row: list[str], role: str) -> str:
        index = roles.get(role)
        return str(row[index]).strip() if index is not None and index < len(row) and row[index] is not None else ""

    data_rows = 0
    for number, row in [*(r for r in head if r[0] > header_row), *iterator]:
        if not any(str(c or "").strip() for c in row):
            continue
        data_rows += 1
        if data_rows > limits.max_rows:
            raise ImportFailed(name, f"表格超过 {limits.max_rows} 行问答的上限：请拆分后分批导入。")
        question, answer = cell(row, "question"), cell(row, "answer")
        missing = [label for label, value in (("问题", question), ("答案", answer)) if not value]
        if missing:
            parsed.rejected.append(RejectedRow(number, f"第 {number} 行缺少{'和'.join(missing)}"))
            continue
        similar = tuple(
            dict.fromkeys(
                s.strip() for s in SPLIT_SIMILAR.split(cell(row, "similar")) if s.strip() and s.strip() != question
            )
        )
        parsed.faqs.append(
            FaqRow(
                number,
                question[:300],
                answer[:4000],
                tuple(s[:300] for s in similar[:50]),
                cell(row, "article") or None,
                cell(row, "clause") or None,
            )
        )
    if not parsed.faqs and not parsed.rejected:
        raise ImportFailed(name, "表格里没有问答行。")
    return parsed


def _xlsx_rows(name: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    check_zip(name, data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        raise ImportFailed(name, "表格文件已损坏或不完整，无法读取。") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def read_sheet(
    name: str, data: bytes, suffix: str, limits: ImportLimits, columns: Mapping[str, str] | None = None
) -> ParsedFile:
    """A FAQ sheet: its Q&A rows and the rows it rejected (the first worksheet of an .xlsx)."""
    if suffix == ".csv":
        text = decode(name, data)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        rows: Iterable[tuple[int, list[str]]] = enumerate(csv.reader(io.StringIO(text), dialect), start=1)
    else:
        rows = _xlsx_rows(name, data)
    return _rows_of(rows, name, limits, columns or {})
