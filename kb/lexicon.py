"""The colloquial-to-formal lexicon: the words customers use and the words the documents use for the same
thing (退钱 = 退款，退还; 坐地铁 = 乘坐轨道交通). Kept in ``kb/lexicon.txt``, one entry a line::

    # a comment
    退钱 = 退款，退还

The retriever searches a question that contains the left side with the right side's words too; curators
edit the file on the 同义词 page (web/curator.py) or add an entry from a gap.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from kb.loader import write_atomically

LEXICON_FILE = "lexicon.txt"
MAX_ENTRIES = 5000
MAX_WORD = 20  # characters on either side of an entry
SEPARATORS = re.compile(r"[，,、;；]")


_WRITING = threading.Lock()  # one read-modify-write of the file at a time in this process


class LexiconError(ValueError):
    """A lexicon line cannot be read; the message names the line and says what is wrong."""


class LexiconConflict(LexiconError):
    """The file changed since the text being saved was loaded (someone else saved, or a gap added a word)."""


def version(text: str) -> str:
    """A short fingerprint of the file's text, for saving only over the version that was edited."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """One colloquial word and the formal words it stands for."""

    colloquial: str
    formal: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Entries in file order, longest colloquial word matched first."""

    entries: tuple[Entry, ...] = ()
    _order: tuple[Entry, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_order", tuple(sorted(self.entries, key=lambda e: -len(e.colloquial))))

    def matches(self, text: str) -> list[Entry]:
        """The entries whose colloquial word occurs in text (case-insensitive); a word inside a longer
        matched word is not matched again ('卡丢了' matched, '卡' is not)."""
        lowered = text.lower()
        taken: list[tuple[int, int]] = []
        found: list[Entry] = []
        for entry in self._order:
            start = lowered.find(entry.colloquial.lower())
            while start >= 0:
                end = start + len(entry.colloquial)
                if not any(a <= start and end <= b for a, b in taken):
                    taken.append((start, end))
                    found.append(entry)
                    break
                start = lowered.find(entry.colloquial.lower(), start + 1)
        return found

    def expansion(self, text: str) -> list[str]:
        """The formal words to search beside a text, each once, not those already in it."""
        words: list[str] = []
        for entry in self.matches(text):
            words += [w for w in entry.formal if w not in words and w.lower() not in text.lower()]
        return words


def parse(text: str) -> Lexicon:
    """A lexicon from the file's text; LexiconError names (and quotes) the first bad line: no '=', an empty
    side, a word over MAX_WORD characters, a second '=', or a word already given on an earlier line."""
    entries: dict[str, Entry] = {}
    line_of: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        left, sep, right = line.partition("=")
        colloquial = left.strip()
        formal = tuple(dict.fromkeys(w.strip() for w in SEPARATORS.split(right) if w.strip()))
        where = f"第 {n} 行「{raw.strip()[:40]}」"
        if not sep or not colloquial or not formal:
            raise LexiconError(f"{where}：应写成「口语词 = 书面用语，书面用语」")
        if "=" in right:
            raise LexiconError(f"{where}：一行只能有一个「=」，右边的词用逗号分开")
        if len(colloquial) > MAX_WORD or any(len(w) > MAX_WORD for w in formal):
            raise LexiconError(f"{where}：每个词不超过 {MAX_WORD} 个字")
        if colloquial in entries:
            raise LexiconError(f"{where}：「{colloquial}」在第 {line_of[colloquial]} 行已经有了，请合并成一行")
        entries[colloquial], line_of[colloquial] = Entry(colloquial, formal), n
        if len(entries) > MAX_ENTRIES:
            raise LexiconError(f"同义词不能超过 {MAX_ENTRIES} 条")
    return Lexicon(tuple(entries.values()))


def load(kb_dir: Path) -> Lexicon:
    """The knowledge base's lexicon (empty when it has none); LexiconError when the file is malformed."""
    path = Path(kb_dir) / LEXICON_FILE
    if not path.is_file():
        return Lexicon()
    return parse(path.read_text(encoding="utf-8"))


def save(kb_dir: Path, text: str, based_on: str | None = None) -> Lexicon:
    """Check and write the lexicon file atomically. LexiconError (nothing written) when it is malformed or has
    no entry at all (an emptied box would wipe the list); LexiconConflict when based_on (version() of the
    text the editor loaded) no longer matches the file."""
    lexicon = parse(text)
    if not lexicon.entries:
        raise LexiconError("列表里一条同义词也没有，没有保存（整表清空请直接编辑 kb/lexicon.txt）")
    with _WRITING:
        path = Path(kb_dir) / LEXICON_FILE
        if based_on is not None:
            current = path.read_text(encoding="utf-8") if path.is_file() else ""
            if version(current) != based_on:
                raise LexiconConflict("同义词在您打开之后被别人改过（或从知识缺口加了词），请刷新后再改")
        write_atomically(path, text.replace("\r\n", "\n").rstrip("\n") + "\n")
    return lexicon


def add_entry(kb_dir: Path, colloquial: str, formal: list[str]) -> Lexicon:
    """Add one entry at the end of the file; a word already listed gets the new formal words added to its
    line instead (nothing it had is dropped, its comment kept). LexiconError when the result is malformed."""
    colloquial = colloquial.strip()
    words = [w.strip() for w in formal if w.strip()]
    with _WRITING:
        path = Path(kb_dir) / LEXICON_FILE
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        lines = current.splitlines()
        for i, raw in enumerate(lines):
            body, hash_, comment = raw.partition("#")
            left, sep, right = body.partition("=")
            if sep and left.strip() == colloquial:
                merged = dict.fromkeys([*(w.strip() for w in SEPARATORS.split(right) if w.strip()), *words])
                lines[i] = f"{colloquial} = {'，'.join(merged)}" + (f"  #{comment}" if hash_ else "")
                break
        else:
            lines.append(f"{colloquial} = {'，'.join(words)}")
        text = "\n".join(lines).strip("\n") + "\n"
        lexicon = parse(text)
        write_atomically(path, text)
    return lexicon
