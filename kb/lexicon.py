"""The colloquial-to-formal lexicon: the words customers use and the words the documents use for the same
thing (退钱 = 退款，退还; 坐地铁 = 乘坐轨道交通). Kept in ``kb/lexicon.txt``, one entry a line::

    # a comment
    退钱 = 退款，退还

The retriever searches a question that contains the left side with the right side's words too; curators
edit the file on the 同义词 page (web/curator.py) or add an entry from a gap.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LEXICON_FILE = "lexicon.txt"
MAX_ENTRIES = 5000
MAX_WORD = 20  # characters on either side of an entry
SEPARATORS = re.compile(r"[，,、;；]")


class LexiconError(ValueError):
    """A lexicon line cannot be read; the message names the line and says what is wrong."""


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
    """A lexicon from the file's text; LexiconError names the first bad line."""
    entries: dict[str, Entry] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        left, sep, right = line.partition("=")
        colloquial = left.strip()
        formal = tuple(dict.fromkeys(w.strip() for w in SEPARATORS.split(right) if w.strip()))
        if not sep or not colloquial or not formal:
            raise LexiconError(f"第 {n} 行：应写成「口语词 = 书面用语，书面用语」")
        if len(colloquial) > MAX_WORD or any(len(w) > MAX_WORD for w in formal):
            raise LexiconError(f"第 {n} 行：每个词不超过 {MAX_WORD} 个字")
        entries[colloquial] = Entry(colloquial, formal)  # a later line for the same word wins
        if len(entries) > MAX_ENTRIES:
            raise LexiconError(f"同义词不能超过 {MAX_ENTRIES} 条")
    return Lexicon(tuple(entries.values()))


def load(kb_dir: Path) -> Lexicon:
    """The knowledge base's lexicon (empty when it has none); LexiconError when the file is malformed."""
    path = Path(kb_dir) / LEXICON_FILE
    if not path.is_file():
        return Lexicon()
    return parse(path.read_text(encoding="utf-8"))


def save(kb_dir: Path, text: str) -> Lexicon:
    """Check and write the lexicon file atomically; LexiconError (nothing written) when it is malformed."""
    lexicon = parse(text)
    path = Path(kb_dir) / LEXICON_FILE
    body = text.replace("\r\n", "\n").rstrip("\n") + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lexicon-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, path)
    return lexicon


def add_entry(kb_dir: Path, colloquial: str, formal: list[str]) -> Lexicon:
    """Add (or replace) one entry at the end of the file."""
    path = Path(kb_dir) / LEXICON_FILE
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    line = f"{colloquial.strip()} = {'，'.join(w.strip() for w in formal if w.strip())}"
    return save(kb_dir, current.rstrip("\n") + "\n" + line + "\n")
