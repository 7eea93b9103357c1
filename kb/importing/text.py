"""Plain text and Markdown: the encoding, and in plain text the structure its numbering lines carry
(第一章 / 第一节 / 一、 / 1. / 3.2 as headings, 第十二条 / 3.2.1 as clauses, （一） / a) as items)."""

from __future__ import annotations

import re

import charset_normalizer
import yaml

from kb.importing import ImportFailed
from kb.importing.document import ParsedFile, tidy
from kb.loader import load_plain_yaml

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
ITEM_KINDS = 3  # heading ranks from 一、 inward may be a list's items instead, after a lead ending in LEAD_END
LEAD_END = "：:"


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
        meta = load_plain_yaml(match.group(1))
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


def join_lines(a: str, b: str) -> str:
    """Two pieces of one paragraph, split by a line or page break: no space between Chinese characters,
    one between Latin words, none after a hyphenated word's hyphen."""
    if a.endswith("-") and b[:1].islower():
        return a[:-1] + b
    if a[-1:].isascii() and a[-1:].isalnum() and b[:1].isascii() and b[:1].isalnum():
        return a + " " + b
    return a + b


def _paragraphs(text: str) -> list[str]:
    """Paragraphs. A clause, item or numbering line always starts one. Otherwise, where the file uses
    blank lines, a block of lines is one paragraph wrapped at a width, unless most of its lines end a
    sentence: such a block, like a file without blank lines, has a paragraph per line, with lines that
    were wrapped at the file's width (long, not ending a sentence) joined again."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n[ \t\u3000]*\n", text)
    lengths = sorted(len(line.strip()) for line in text.split("\n") if line.strip())
    wrap = lengths[int(len(lengths) * 0.9)] if len(lengths) >= 5 else 10**6
    out: list[str] = []
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        per_line = len(blocks) == 1 or sum(line[-1] in SENTENCE_END for line in lines) * 2 > len(lines)
        for n, line in enumerate(lines):
            wrapped = n > 0 and len(lines[n - 1]) >= 0.9 * wrap and lines[n - 1][-1] not in SENTENCE_END
            numbered = CLAUSE_OR_ITEM.match(line) or heading_rank(line) is not None
            if n == 0 or numbered or (per_line and not wrapped):
                out.append(line)
            else:
                out[-1] = join_lines(out[-1], line)
    return out


def _ranks(paragraphs: list[str]) -> list[int | None]:
    """Each paragraph's heading rank (heading_rank), None for body text; a run of numbered lines of one
    kind (一、, 1.) right after a lead ending in a colon are its items, not headings."""
    ranks: list[int | None] = []
    item_rank: int | None = None  # the kind of the items of the lead before, while the run goes on
    for n, para in enumerate(paragraphs):
        rank = heading_rank(para)
        if rank is not None and rank >= ITEM_KINDS and n and paragraphs[n - 1][-1] in LEAD_END:
            item_rank = rank
        elif rank != item_rank:
            item_rank = None
        ranks.append(None if item_rank is not None else rank)
    return ranks


def structure(text: str) -> tuple[str, str]:
    """(title, Markdown body) of plain text: a short first line is the title; numbering lines become
    headings (except items under a lead ending in a colon); every other paragraph stays as it is, so
    each clause and item is its own paragraph."""
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
    ranks = _ranks(paragraphs)
    levels = {rank: min(2 + i, 4) for i, rank in enumerate(sorted({r for r in ranks if r is not None}))}
    blocks = [f"{'#' * levels[rank]} {para}" if rank is not None else para for para, rank in zip(paragraphs, ranks)]
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
