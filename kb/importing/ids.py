"""Readable, stable ids for imported articles and Q&A entries: from a Latin file name as it is, else from
the title in pinyin (pypinyin); lower-case letters, digits and '-', at most 80 characters; never an
encoding name or a copy marker left over from a file name ('-gbk', '(1)')."""

from __future__ import annotations

import re
from collections.abc import Callable

from pypinyin import lazy_pinyin

from kb.loader import ID_PATTERN

MAX_ID = 60  # leaves room for a prefix and a '-2' suffix within the loader's 80
NOISE = re.compile(r"(?:[-_ .]?(?:gbk|gb2312|gb18030|utf-?8|utf-?16|bom|copy|final|v\d+|\d{6,8}))+$|\(\d+\)$", re.I)


def slug(text: str, limit: int = MAX_ID) -> str:
    """Lower-case letters and digits joined by '-', Chinese as pinyin; '' if nothing is left."""
    words = lazy_pinyin(text)  # runs of other characters come back whole
    joined = "-".join(re.sub(r"[^a-z0-9]+", "-", w.lower()).strip("-") for w in words)
    joined = re.sub(r"-{2,}", "-", joined).strip("-")
    if len(joined) > limit:
        joined = joined[:limit].rsplit("-", 1)[0] or joined[:limit]
    return joined.strip("-")


def stem_of(file_name: str) -> str:
    """A file name without folders, extension or leftovers such as '-gbk', '_utf8', '(1)'."""
    stem = re.split(r"[\\/]", file_name)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    previous = None
    while previous != stem:
        previous, stem = stem, NOISE.sub("", stem).strip(" -_.")
    return stem


def article_id(title: str, file_name: str) -> str:
    """The id of an article read from file_name: the file name when it is Latin, else the title in pinyin."""
    stem = stem_of(file_name)
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.-]*", stem or "") and re.search(r"[A-Za-z]", stem):
        candidate = slug(stem)
    else:
        candidate = slug(title) or slug(stem)
    return candidate if ID_PATTERN.fullmatch(candidate or "") else "doc"


def unique(candidate: str, taken: Callable[[str], bool]) -> str:
    """candidate, or candidate-2, -3 … : the first that taken() says is free."""
    if not taken(candidate):
        return candidate
    n = 2
    while taken(f"{candidate}-{n}"):
        n += 1
    return f"{candidate}-{n}"
