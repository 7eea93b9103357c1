"""Read, validate and write the knowledge base files: kb/articles/*.md and kb/faq/*.yml (other formats:
kb.importing)."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path, PurePath
from typing import Any

import yaml

from kb.model import Article, FaqEntry

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
ARTICLE_FIELDS = ("id", "title", "category", "source", "updated")
FAQ_FIELDS = ("id", "question", "answer")  # article, section, clause, alternatives, source: optional
# An article's body, about 400 pages of Chinese text: the most the editor's form can send (the web app takes
# 4 MB a request; a Chinese character is 9 bytes form-encoded).
MAX_BODY_CHARS = 400_000


class _PlainLoader(yaml.SafeLoader):
    """YAML without aliases: a knowledge file never needs one, and nine nested aliases of nine (a few hundred
    bytes, "billion laughs") expand to hundreds of millions of values once turned into text."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed here", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)


def load_plain_yaml(text: str) -> Any:
    """YAML text as Python values, refusing aliases (yaml.YAMLError) so nothing small can expand to
    something huge. Other errors are PyYAML's own, as with yaml.safe_load."""
    try:
        return yaml.load(text, Loader=_PlainLoader)
    except ValueError as exc:  # a value PyYAML cannot build: a number of over 4,300 digits, a date like 2024-13-45
        raise yaml.YAMLError(f"a value cannot be read ({exc})") from None


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is malformed; the message names the file and the field."""

    def __init__(self, path: PurePath | str, message: str, field: str | None = None):
        self.path, self.field = str(path), field
        where = f"{path}: field '{field}'" if field else str(path)
        super().__init__(f"{where}: {message}")


def _text(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


PLAIN = (str, int, float, dt.date)  # dt.datetime is a dt.date


def _require(path: Path, meta: dict, names: tuple[str, ...]) -> None:
    for name, value in meta.items():
        if name != "alternatives" and value is not None and not isinstance(value, PLAIN):
            raise KnowledgeBaseError(path, "must be plain text (not a list, a mapping or binary data)", str(name))
    for name in names:
        if not _text(meta.get(name)).strip():
            raise KnowledgeBaseError(path, "is missing or empty", name)
    if not ID_PATTERN.fullmatch(str(meta["id"])):
        raise KnowledgeBaseError(path, "must be lower-case letters, digits and '-', at most 80", "id")


def split_front_matter(path: PurePath, text: str) -> tuple[dict, str]:
    """Return (front matter, body) of a Markdown file that starts with a '---' block."""
    text = text.lstrip("\ufeff")
    match = re.match(r"^---[ \t]*\n(.*?)\n---[ \t]*\n?", text, re.S)
    if not match:
        raise KnowledgeBaseError(path, "has no front matter (a block between '---' lines at the top)")
    try:
        meta = load_plain_yaml(match.group(1))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(path, f"front matter is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise KnowledgeBaseError(path, "front matter must be a mapping of field: value")
    return meta, text[match.end() :]


def parse_article(path: Path, text: str) -> Article:
    """Parse and validate one article file's text."""
    meta, body = split_front_matter(path, text)
    _require(path, meta, ARTICLE_FIELDS)
    if meta["id"] != path.stem:
        raise KnowledgeBaseError(path, f"'{meta['id']}' must equal the file name '{path.stem}'", "id")
    if not body.strip():
        raise KnowledgeBaseError(path, "the article has no text after its front matter", "body")
    return Article(
        body=body,
        imported_from=_text(meta.get("imported_from")).strip(),
        **{name: _text(meta[name]).strip() for name in ARTICLE_FIELDS},
    )


def parse_faq(path: Path, text: str) -> FaqEntry:
    """Parse and validate one Q&A entry file's text."""
    try:
        meta = load_plain_yaml(text)
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(path, f"not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise KnowledgeBaseError(path, "must be a mapping of field: value")
    _require(path, meta, FAQ_FIELDS)
    if meta["id"] != path.stem:
        raise KnowledgeBaseError(path, f"'{meta['id']}' must equal the file name '{path.stem}'", "id")
    alternatives = meta.get("alternatives") or []
    if not isinstance(alternatives, list) or not all(isinstance(a, str) and a.strip() for a in alternatives):
        raise KnowledgeBaseError(path, "must be a list of non-empty strings", "alternatives")
    return FaqEntry(
        id=str(meta["id"]),
        question=_text(meta["question"]).strip(),
        answer=_text(meta["answer"]).strip(),
        article=_text(meta.get("article")).strip() or None,
        section=_text(meta.get("section")).strip() or None,
        clause=_text(meta.get("clause")).strip() or None,
        updated=_text(meta.get("updated")),
        alternatives=tuple(a.strip() for a in alternatives),
        source=_text(meta.get("source")).strip(),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KnowledgeBaseError(path, "is not UTF-8 text") from None


def load_knowledge_base(kb_dir: Path) -> tuple[list[Article], list[FaqEntry]]:
    """Load every article and Q&A entry under kb_dir, checking ids and cross-references."""
    articles_dir = Path(kb_dir) / "articles"
    if not articles_dir.is_dir():
        raise KnowledgeBaseError(articles_dir, "no such folder: the knowledge base needs articles/")
    articles = [parse_article(p, _read(p)) for p in sorted(articles_dir.glob("*.md"))]
    faqs = [parse_faq(p, _read(p)) for p in sorted((Path(kb_dir) / "faq").glob("*.yml"))]
    known = {a.id for a in articles}
    for entry in faqs:
        if entry.article is not None and entry.article not in known:
            path = Path(kb_dir) / "faq" / f"{entry.id}.yml"
            raise KnowledgeBaseError(path, f"names article '{entry.article}', which does not exist", "article")
    return articles, faqs


def user_dictionary(kb_dir: Path) -> Path | None:
    """The jieba user dictionary of domain terms, if the knowledge base has one."""
    path = Path(kb_dir) / "jieba" / "userdict.txt"
    return path if path.is_file() else None


def render_article(article: Article) -> str:
    """An article as the file text parse_article reads back."""
    meta = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    if article.imported_from:  # only imported articles carry it, so curators' files read as they always did
        meta["imported_from"] = article.imported_from
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{article.body.strip()}\n"


def render_faq(entry: FaqEntry) -> str:
    """A Q&A entry as the file text parse_faq reads back."""
    data = {
        "id": entry.id,
        "question": entry.question,
        "alternatives": list(entry.alternatives),
        "answer": entry.answer,
        "article": entry.article,
        "section": entry.section,
        "clause": entry.clause,
        "updated": entry.updated,
    }
    if entry.source:  # only imported entries carry it, so curators' files read as they always did
        data["source"] = entry.source
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def render_item(item: Article | FaqEntry) -> str:
    """An article's or a Q&A entry's file text."""
    return render_article(item) if isinstance(item, Article) else render_faq(item)


def item_path(kb_dir: Path, kind: str, item_id: str) -> Path:
    """Where an article ('article') or a Q&A entry ('faq') lives."""
    if not ID_PATTERN.fullmatch(item_id):
        raise KnowledgeBaseError(item_id, "must be lower-case letters, digits and '-', at most 80", "id")
    if kind == "article":
        return Path(kb_dir) / "articles" / f"{item_id}.md"
    if kind == "faq":
        return Path(kb_dir) / "faq" / f"{item_id}.yml"
    raise KnowledgeBaseError(item_id, f"kind must be 'article' or 'faq', not {kind!r}")


def parse_item(kind: str, path: Path, text: str) -> Article | FaqEntry:
    """Parse an article's or a Q&A entry's file text."""
    return parse_article(path, text) if kind == "article" else parse_faq(path, text)


def write_item(kb_dir: Path, kind: str, item_id: str, text: str) -> Article | FaqEntry:
    """Check that text parses, then write it (temp file, then rename); returns what was written."""
    path = item_path(kb_dir, kind, item_id)
    item = parse_item(kind, path, text)  # refuse before touching the file
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)
    return item


def write_atomically(path: Path, text: str) -> None:
    """Write a UTF-8 file so that readers see the old text or the new, never a part (temp file, rename);
    the temp file is removed if anything fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_article(kb_dir: Path, article: Article) -> Path:
    """Write an article as kb/articles/<id>.md."""
    write_item(kb_dir, "article", article.id, render_article(article))
    return item_path(kb_dir, "article", article.id)


def save_faq(kb_dir: Path, entry: FaqEntry) -> Path:
    """Write a Q&A entry as kb/faq/<id>.yml."""
    write_item(kb_dir, "faq", entry.id, render_faq(entry))
    return item_path(kb_dir, "faq", entry.id)
