"""Plain text and Markdown: the encoding, and in plain text the structure its numbering lines carry
(第一章 / 第一节 / 一、 / 1. / 3.2 as headings, 第十二条 / 3.2.1 as clauses, （一） / a) as items)."""

from __future__ import annotations

import re

import charset_normalizer
import yaml

from kb.importing import ImportFailed
from kb.importing.document import ParsedFile, tidy

CN_NUM = "一二三四五六七八九十百零〇两"
# Heading numbering, from the outermost kind inward: 第一编 > 第一章 > 第一节 > 一、 > 1 / 1. > 1.1 > 1.1.1.
HEADING_KINDS: list[re.Pattern[str]] = [
    re.compile(rf"^第[{CN_NUM}\d]+[编篇部分]\s*\S"),
    re.compile(rf"^第[{CN_NUM}\d]+章\s*\S"),
    re.compile(rf"^第[{CN_NUM}\d]+节\s*\S"),
    re.compile(rf"^[{CN_NUM}]+[、.．]\s*\S"),
]
ARABIC_HEADING = re.compile(r"^(\d+(?:\.\d+)*)[.、．]?\s+\S")
CLAUSE_OR_ITEM = re.compile(rf"^(第[{CN_NUM}\d]+条|\d+(?:\.\d+)+|[（(][{CN_NUM}\d]+[）)]|[a-z][)）]|\d+[)）])")
SENTENCE_END = "。！？；：…!?;:"
SHORT_HEADING = 30  # a numbered line this short, not ending a sentence, is a heading


def decode(name: str, data: bytes) -> str:
    """The text of a file: UTF-8 (with or without BOM), UTF-16 with a BOM, GB18030 (which GBK and GB2312
    are part of), else what charset-normalizer finds; ImportFailed for binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ImportFailed(name, "这不是文本文件（含有二进制内容）。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ImportFailed(name, "无法识别文件的文字编码：请另存为 UTF-8 后再导入。")
    return str(best)


def front_matter(name: str, text: str) -> tuple[dict[str, str], str]:
    """A Markdown file's YAML front matter (plain values only) and the rest; ({}, text) without one."""
    match = re.match(r"^---[ \t]*\n(.*?)\n---[ \t]*\n?", text, re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    plain = {str(k): str(v) for k, v in meta.items() if isinstance(v, (str, int, float)) or hasattr(v, "isoformat")}
    return plain, text[match.end() :]


def heading_rank(line: str) -> int | None:
    """How far out a numbering line's kind sits (0 = 第一编, 1 = 第一章, 2 = 第一节, 3 = 一、, 4 = 1., 5 = 1.1 …),
    or None when the line is body text: too long, ending a sentence, or a clause or item."""
    if not line or len(line) > SHORT_HEADING or line[-1] in SENTENCE_END:
        return None
    for rank, pattern in enumerate(HEADING_KINDS):
        if pattern.match(line):
            return rank
    arabic = ARABIC_HEADING.match(line)
    if arabic and not re.match(r"^\d+(?:\.\d+)*[)）]", line):
        return len(HEADING_KINDS) + arabic.group(1).count(".")
    return None


def heading_levels(paragraphs: list[str]) -> dict[int, int]:
    """Markdown heading levels (2-4) for the numbering kinds a document uses, outermost first."""
    ranks = sorted({r for p in paragraphs if (r := heading_rank(p)) is not None})
    return {rank: min(2 + i, 4) for i, rank in enumerate(ranks)}


def _paragraphs(text: str) -> list[str]:
    """Paragraphs: blank-line separated where the file uses blank lines, else one per line, with lines
    that were wrapped at a fixed width joined again."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"\n[ \t\u3000]*\n", text):
        return [
            re.sub(r"\s*\n\s*", "", block).strip() for block in re.split(r"\n[ \t\u3000]*\n", text) if block.strip()
        ]
    lines = [line.strip() for line in text.split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    wrap = lengths[int(len(lengths) * 0.9)] if len(lengths) >= 5 else 10**6
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        joinable = out and len(out[-1]) >= 0.9 * wrap and out[-1][-1] not in SENTENCE_END
        if joinable and not CLAUSE_OR_ITEM.match(line) and heading_rank(line) is None:
            out[-1] += line
        else:
            out.append(line)
    return out


def structure(text: str) -> tuple[str, str]:
    """(title, Markdown body) of plain text: a short first line is the title; numbering lines become
    headings; every other paragraph stays as it is, so each clause and item is its own paragraph."""
    paragraphs = _paragraphs(text)
    title = ""
    if (
        paragraphs
        and len(paragraphs[0]) <= 40
        and paragraphs[0][-1] not in SENTENCE_END
        and not CLAUSE_OR_ITEM.match(paragraphs[0])
        and heading_rank(paragraphs[0]) is None
    ):
        title = paragraphs.pop(0).lstrip("#").strip()
    levels = heading_levels(paragraphs)
    blocks = []
    for para in paragraphs:
        rank = heading_rank(para)
        blocks.append(f"{'#' * levels[rank]} {para}" if rank is not None else para)
    return title, "\n\n".join(blocks)


def read_text(name: str, data: bytes) -> ParsedFile:
    """A .txt file: decoded, its structure found from numbering lines."""
    title, body = structure(decode(name, data))
    if not body.strip() and not title:
        raise ImportFailed(name, "文件里没有文字。")
    return ParsedFile(name, "article", title=title, body=tidy(body or title))


def read_markdown(name: str, data: bytes) -> ParsedFile:
    """A .md file: its own headings kept; title from front matter, else the first '#' heading."""
    meta, body = front_matter(name, decode(name, data).replace("\r\n", "\n"))
    title = meta.get("title", "")
    heading = re.match(r"^\s*#\s+(.+?)\s*$", body, re.M)
    if not title and heading and not body[: heading.start()].strip():
        title, body = heading.group(1).strip(), body[heading.end() :]
    if "\n\n" not in body.strip():  # one paragraph per line, so each clause is cited as itself
        body = "\n\n".join(line for line in body.split("\n") if line.strip())
    if not body.strip():
        raise ImportFailed(name, "文件里没有正文。")
    return ParsedFile(name, "article", title=title, body=tidy(body.replace("<!-- INFO END -->", "")), meta=meta)
