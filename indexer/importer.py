"""Importing a desk's documents: files read (kb.importing) become a plan of articles and Q&A entries with
readable, unique ids, then saved through the knowledge editor, one change for the whole import (every
file written, only changed passages encoded, the indexes saved once, a revision for each item).

A file imported again replaces what it gave before: its article keeps its id, and a sheet's entries are
matched by question (a question no longer in the sheet is removed). A file that fails names its reason
and saves nothing; the others go in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.editor import EditResult, KnowledgeEditor
from kb.importing import ImportFailed
from kb.importing.document import OCR_MARK, ParsedFile
from kb.importing.guard import ImportLimits, safe_name
from kb.importing.ids import article_id, slug, stem_of, unique
from kb.importing.reader import SUPPORTED, read_file
from kb.loader import ID_PATTERN
from kb.model import Article, FaqEntry
from kb.store import Store

DEFAULT_CATEGORY = "导入文档"
Step = Callable[[str, int, int], Any]  # (what is happening, done, total)


@dataclass
class PlannedFile:
    """One file read, and what it will save: an article, or Q&A entries (and entries it will remove)."""

    parsed: ParsedFile
    items: list[Article | FaqEntry] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)  # item id -> 'create' or 'update'

    def summary(self) -> dict[str, Any]:
        """The preview of the file and the ids it will save, JSON-ready."""
        return {
            **self.parsed.preview(),
            "items": [
                {
                    "kind": "article" if isinstance(i, Article) else "faq",
                    "id": i.id,
                    "action": self.actions.get(i.id, "create"),
                }
                for i in self.items
            ],
            "removes": list(self.removals),
        }


@dataclass
class ImportPlan:
    """What an import will do: the files it read and planned, and the files that failed (with why)."""

    files: list[PlannedFile] = field(default_factory=list)
    failures: list[ImportFailed] = field(default_factory=list)

    @property
    def items(self) -> list[Article | FaqEntry]:
        """Every article and Q&A entry to save."""
        return [item for f in self.files for item in f.items]

    def summary(self) -> dict[str, Any]:
        """Files, failures and totals, JSON-ready."""
        items = self.items
        return {
            "files": [f.summary() for f in self.files],
            "failed": [{"name": e.name, "reason": e.reason} for e in self.failures],
            "articles": sum(isinstance(i, Article) for i in items),
            "faqs": sum(isinstance(i, FaqEntry) for i in items),
            "removes": sum(len(f.removals) for f in self.files),
        }


def collect(paths: Iterable[Path]) -> list[Path]:
    """Files to import from paths: files as given, folders searched recursively for supported files
    (hidden ones skipped), in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def read_all(
    files: Iterable[tuple[str, bytes]],
    limits: ImportLimits,
    columns: Mapping[str, str] | None = None,
    step: Step | None = None,
) -> tuple[list[ParsedFile], list[ImportFailed]]:
    """Read every (name, bytes): the files read and the files that failed."""
    files = list(files)
    parsed, failed = [], []
    for n, (name, data) in enumerate(files):
        if step:
            step(f"读取 {safe_name(name)}", n, len(files))
        try:
            parsed.append(read_file(name, data, limits, columns))
        except ImportFailed as exc:
            failed.append(exc)
    if step:
        step("读取完成", len(files), len(files))
    return parsed, failed


class _Ids:
    """Ids already used on disk or in this plan."""

    def __init__(self, kb_dir: Path):
        self.taken = {p.stem for p in (Path(kb_dir) / "articles").glob("*.md")}
        self.taken |= {p.stem for p in (Path(kb_dir) / "faq").glob("*.yml")}

    def claim(self, candidate: str) -> str:
        chosen = unique(candidate, lambda i: i in self.taken)
        self.taken.add(chosen)
        return chosen


def draft_article(parsed: ParsedFile, today: str = "") -> Article:
    """The article a file gives, unsaved: its title (else its first short line, else its file name), the id
    its front matter gives or one made from the title, its category and source from the front matter."""
    title = parsed.title or _first_line(parsed.body) or stem_of(parsed.name)
    given = parsed.meta.get("id", "")
    item_id = given if ID_PATTERN.fullmatch(given) else article_id(title, parsed.name)
    return Article(
        item_id,
        title[:200],
        parsed.meta.get("category", "")[:80],
        (parsed.meta.get("source") or parsed.name)[:200],
        today,
        parsed.body,
    )


def plan(
    parsed: list[ParsedFile], store: Store, kb_dir: Path, category: str | None = None, today: dt.date | None = None
) -> ImportPlan:
    """The articles and entries these files give, with their ids: a file imported before keeps its ids."""
    date = (today or dt.date.today()).isoformat()
    ids = _Ids(kb_dir)
    articles = store.articles()
    by_source = {a.source: a for a in articles}
    titles = {a.title: a.id for a in articles}
    result = ImportPlan()
    # Articles first, so a sheet's row can rest on an article that comes in the same import.
    for file in sorted(parsed, key=lambda f: f.kind != "article"):
        planned = PlannedFile(file)
        if file.kind == "article":
            draft = draft_article(file, date)
            before = by_source.get(file.name)
            item_id = before.id if before else ids.claim(draft.id)
            chosen = category or draft.category or (before.category if before else "") or DEFAULT_CATEGORY
            planned.items.append(dataclasses.replace(draft, id=item_id, category=chosen[:80], source=file.name))
            planned.actions[item_id] = "update" if before else "create"
            file.title = draft.title
            titles[draft.title] = item_id
        else:
            _plan_faqs(planned, store, ids, titles, date)
        result.files.append(planned)
    return result


def _first_line(body: str) -> str:
    """A short first line of text (not a heading or the OCR mark): the title of a file that had none."""
    for line in body.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "|", OCR_MARK[:4])):
            return line if len(line) <= 30 else ""
    return ""


def _plan_faqs(planned: PlannedFile, store: Store, ids: _Ids, titles: dict[str, str], date: str) -> None:
    """A sheet's rows as Q&A entries: an entry it gave before keeps its id; questions gone are removed."""
    file = planned.parsed
    before = {e.question: e for e in store.faqs() if e.source == file.name}
    known_articles = set(titles.values())
    seen: dict[str, int] = {}
    for row in file.faqs:
        if row.question in seen:
            file.warnings.append(f"第 {row.row} 行与第 {seen[row.question]} 行问题相同，只导入了第一行。")
            continue
        seen[row.question] = row.row
        article = row.article if row.article in known_articles else titles.get(row.article or "")
        if row.article and not article:
            file.warnings.append(f"第 {row.row} 行的依据“{row.article}”不是已有文章的编号或标题，这条问答不带出处。")
        old = before.get(row.question)
        entry_id = old.id if old else ids.claim("faq-" + (slug(row.question, 50) or "entry"))
        planned.items.append(
            FaqEntry(
                entry_id,
                row.question,
                row.answer,
                article,
                None,
                row.clause if article else None,
                date,
                row.alternatives,
                file.name,
            )
        )
        planned.actions[entry_id] = "update" if old else "create"
    planned.removals = sorted(e.id for q, e in before.items() if q not in seen)


def apply(
    import_plan: ImportPlan, editor: KnowledgeEditor, author: str, progress: Callable[[int], Any] | None = None
) -> list[EditResult]:
    """Save the plan's items and removals as one change; the results of each."""
    removals = [("faq", item_id) for f in import_plan.files for item_id in f.removals]
    note = "导入 " + "、".join(f.parsed.name for f in import_plan.files)[:400]
    return editor.save_many(import_plan.items, removals, author, note, progress)
