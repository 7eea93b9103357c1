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
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.build import Indexer
from indexer.editor import EditResult, KnowledgeEditor
from kb.importing import ImportFailed
from kb.importing.document import OCR_MARK, ParsedFile
from kb.importing.guard import ImportLimits, safe_name
from kb.importing.ids import article_id, slug, stem_of, unique
from kb.importing.reader import SUPPORTED, read_file
from kb.importing.text import CLAUSE_OR_ITEM, SENTENCE_END
from kb.loader import ID_PATTERN, KnowledgeBaseError, item_path, load_knowledge_base, parse_faq, render_item
from kb.model import UNSORTED_CATEGORY, Article, FaqEntry
from kb.revisions import Revisions

IMPORT_NOTE = "导入 "  # how an import's revisions are noted: "导入 北京/规定.txt"
EXCERPT_CHARS = 400  # of each item, shown in the preview
log = logging.getLogger(__name__)
Step = Callable[[str, int, int], Any]  # (what is happening, done, total)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a text for the preview: at most limit characters, ending at a line's end when the text goes
    on (not inside a heading's '## ', which read as a stray '#')."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit("\n", 1)[0] if "\n" in cut else cut).rstrip()


@dataclass
class PlannedFile:
    """One file read, and what it will save: an article, or Q&A entries (and entries it will remove).
    actions: item id -> 'create', 'update' or 'unchanged'; edited: item id -> who changed the item after the
    file was last imported ('…，时间'), which saving will overwrite; notices: what the curator should know."""

    parsed: ParsedFile
    items: list[Article | FaqEntry] = field(default_factory=list)
    removals: list[FaqEntry] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    edited: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The preview of the file, what it will save (with an excerpt to check) and remove, JSON-ready."""
        preview = self.parsed.preview()
        return {
            **preview,
            "warnings": preview["warnings"] + self.notices,
            "items": [
                {
                    "kind": "article" if isinstance(i, Article) else "faq",
                    "id": i.id,
                    "name": i.title if isinstance(i, Article) else i.question,
                    "action": self.actions.get(i.id, "create"),
                    "edited": self.edited.get(i.id, ""),
                    "excerpt": excerpt(i.body if isinstance(i, Article) else i.answer),
                }
                for i in self.items
            ],
            "removes": [{"id": e.id, "question": e.question} for e in self.removals],
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
        items = [(f, i) for f in self.files for i in f.items]
        return {
            "files": [f.summary() for f in self.files],
            "failed": [{"name": e.name, "reason": e.reason} for e in self.failures],
            "articles": sum(isinstance(i, Article) for _, i in items),
            "faqs": sum(isinstance(i, FaqEntry) for _, i in items),
            "changes": {
                action: sum(f.actions.get(i.id) == action for f, i in items)
                for action in ("create", "update", "unchanged")
            },
            "removes": sum(len(f.removals) for f in self.files),
        }


def collect(paths: Iterable[Path]) -> list[tuple[str, Path]]:
    """(key, file) for each file to import from paths: a file as given, keyed by its folder's name and its own
    ('北京/规定.txt'); a folder searched recursively for supported files (hidden ones skipped), each keyed by
    the folder's name and its path in it ('docs/北京/规定.txt'), in name order. The key is what a later
    import of the same file matches on (see plan)."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve().name
            found += sorted(
                ("/".join(x for x in (root, p.relative_to(path).as_posix()) if x), p)
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            parent = path.resolve().parent.name
            found.append(("/".join(x for x in (parent, path.name) if x), path))
    return found


def read_all(
    files: Iterable[tuple[str, bytes]],
    limits: ImportLimits,
    columns: Mapping[str, str] | None = None,
    step: Step | None = None,
) -> tuple[list[ParsedFile], list[ImportFailed]]:
    """Read every (key, bytes): the files read (named by their key) and the files that failed. A reader's
    unexpected error fails that file alone (logged), never the import."""
    files = list(files)
    parsed, failed = [], []
    for n, (key, data) in enumerate(files):
        key = file_key(key)
        pages = None
        if step:
            step(f"读取 {key}", n, len(files))
            pages = _pages_told(step, key, n, len(files))
        try:
            parsed.append(dataclasses.replace(read_file(key, data, limits, columns, pages), name=key))
        except ImportFailed as exc:
            failed.append(ImportFailed(key, exc.reason))
        except Exception:  # a reader's bug or a library's surprise: this file fails, the others go on
            log.exception("reading %s failed", key)
            failed.append(ImportFailed(key, "读取时出现意外错误（已记入日志）；请检查文件，或另存为其他格式再试。"))
    if step:
        step("读取完成", len(files), len(files))
    return parsed, failed


def _pages_told(step: Step, key: str, n: int, files: int) -> Callable[[int, int], None]:
    """progress(done, total) for a file's pages or pictures, told through step as part of the n-th file."""
    return lambda done, total: step(f"读取 {key}（{done}/{total}）", n, files)


def file_key(name: str) -> str:
    """A file's key as given ('北京/规定.txt'), made safe: forward slashes, no '..', empty or hidden parts,
    each part a safe file name."""
    parts = [p for p in re.split(r"[\\/]+", str(name or "")) if p not in ("", ".", "..")]
    return "/".join(safe_name(p) for p in parts[-6:]) or "file"


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


def editor_draft(parsed: ParsedFile, kb_dir: Path) -> tuple[Article, str]:
    """The new article the editor opens from one file: a free readable id, the default category, the file it
    came from; and what an earlier import of that file made ('文章 <id>', '' when none; the draft then does not
    claim the file, so that a later import still updates the earlier article)."""
    articles, _ = load_knowledge_base(kb_dir)
    by_key = {a.imported_from: a.id for a in articles if a.imported_from}
    try:
        found = by_key.get(_earlier(parsed.name, set(by_key)) or "", "")
        earlier = f"文章 {found}" if found else ""
    except ImportFailed:
        earlier = "多篇同名文件"
    draft = draft_article(parsed)
    return (
        dataclasses.replace(
            draft,
            id=_Ids(kb_dir).claim(draft.id),
            category=draft.category or UNSORTED_CATEGORY,
            source=parsed.meta.get("source") or safe_name(parsed.name),
            imported_from="" if earlier else parsed.name,
        ),
        earlier,
    )


def plan(
    parsed: list[ParsedFile],
    kb_dir: Path,
    revisions: Revisions | None = None,
    category: str | None = None,
    today: dt.date | None = None,
) -> ImportPlan:
    """The articles and entries these files give, with their ids, matched against the files under kb_dir
    (the source of truth): a file imported before (see _earlier) keeps its ids; an item whose content is
    unchanged keeps its date and is left alone. With revisions, an item changed by anyone since its file
    was last imported is named in edited, and a sheet's entries are matched by the question as last imported.
    A file whose text an article already has (imported under another name, or another file of this import)
    saves nothing and says which article has it. Two files with one key, two files matching one earlier
    import, or a file matching several, fail with the reason and save nothing."""
    date = (today or dt.date.today()).isoformat()
    articles, faqs = load_knowledge_base(kb_dir)
    ids = _Ids(kb_dir)
    by_key = {a.imported_from: a for a in articles if a.imported_from}
    titles = {a.title: a.id for a in articles}
    # what each article says, to find a file brought in again under another name ('须知 (最终版).docx')
    said = {_said(a.body): a for a in articles}
    sheet_keys = {e.source for e in faqs if e.source}
    result = ImportPlan()
    seen: set[str] = set()
    claimed: dict[str, str] = {}  # earlier key -> the file in this import that matched it
    # Articles first, so a sheet's row can rest on an article that comes in the same import.
    for file in sorted(parsed, key=lambda f: f.kind != "article"):
        if file.name in seen:
            result.failures.append(ImportFailed(file.name, "这次导入里已有同名文件，这一个没有导入；请改名后再导入。"))
            continue
        seen.add(file.name)
        planned = PlannedFile(file)
        try:
            earlier = _earlier(file.name, set(by_key) if file.kind == "article" else sheet_keys)
            if earlier in claimed:
                raise ImportFailed(
                    file.name,
                    f"它和这次导入的 {claimed[earlier]} 都对应以前导入的 {earlier}，无法确定更新哪一个；"
                    "请从共同的上级文件夹一起导入，或分开导入。",
                )
            if earlier:
                claimed[earlier] = file.name
            key = _more_specific(file.name, earlier)
            if file.kind == "article":
                before = by_key.get(earlier or "")
                draft = draft_article(file, date)
                if before is not None and said.get(old := _said(before.body)) is before:
                    del said[old]  # its old text is replaced: another file may hold it now
                text = _said(draft.body)
                same = said.get(text) if before is None and text else None
                if same is not None:  # a copy under another name: one article, not every answer twice
                    planned.notices.append(
                        f"内容与已有文章《{same.title}》（{same.id}）完全相同，没有再导入一份。"
                        "要更新那篇文章，请用原来的文件名导入修改后的文件，或在编辑器里修改。"
                    )
                    file.title = draft.title
                    result.files.append(planned)
                    continue
                item_id = before.id if before else ids.claim(draft.id)
                chosen = category or draft.category or (before.category if before else "") or UNSORTED_CATEGORY
                item = dataclasses.replace(
                    draft,
                    id=item_id,
                    category=chosen[:80],
                    source=file.meta.get("source") or (before.source if before else "") or safe_name(file.name),
                    imported_from=key,
                )
                planned.items.append(_keep_date(item, before, planned))
                file.title = draft.title
                titles[draft.title] = item_id
                said[text] = item
            else:
                entries = [e for e in faqs if earlier and e.source == earlier]
                _plan_faqs(planned, entries, key, ids, titles, date, revisions, kb_dir)
        except ImportFailed as exc:
            result.failures.append(exc)
            continue
        if revisions is not None:
            _note_edits(planned, revisions, kb_dir)
        result.files.append(planned)
    return result


def _said(body: str) -> str:
    """An article's text as compared for copies: its characters without whitespace."""
    return re.sub(r"\s+", "", body)


def _parts(key: str) -> list[str]:
    return key.split("/")


def _earlier(key: str, keys: set[str]) -> str | None:
    """The key an earlier import of this file used: the same key; else the one earlier key that ends with
    this one or that this one ends with, folder by folder ('规定.txt' uploaded on the page matches an
    earlier '北京/规定.txt'; 'docs/北京/规定.txt' matches it too, '上海/规定.txt' does not). ImportFailed
    when several match."""
    if key in keys:
        return key
    mine = _parts(key)

    def same_file(other: str) -> bool:
        theirs = _parts(other)
        n = min(len(mine), len(theirs))
        return mine[-n:] == theirs[-n:]

    same = sorted(k for k in keys if same_file(k))
    if len(same) > 1:
        raise ImportFailed(
            key,
            f"以前导入过多个同名文件（{'、'.join(same[:5])}），无法确定要更新哪一个；"
            "请用 kefu import 从所在文件夹导入，或先删除不要的那份。",
        )
    return same[0] if same else None


def _more_specific(key: str, earlier: str | None) -> str:
    """The key to keep for a file that matched an earlier import: the earlier one, unless that was a bare
    name and this one names folders ('规定.txt' uploaded on the page, then 'docs/北京/规定.txt'): a bare name
    kept would later match any folder's file of that name."""
    if earlier and (len(_parts(earlier)) > 1 or len(_parts(key)) == 1):
        return earlier
    return key


def _keep_date(item: Article | FaqEntry, before: Article | FaqEntry | None, planned: PlannedFile) -> Article | FaqEntry:
    """item, marked create, update or unchanged against before; unchanged keeps its date, so nothing is saved."""
    if before is None:
        planned.actions[item.id] = "create"
        return item
    kept = dataclasses.replace(item, updated=before.updated)
    unchanged = render_item(kept) == render_item(before)
    planned.actions[item.id] = "unchanged" if unchanged else "update"
    return kept if unchanged else item


def _note_edits(planned: PlannedFile, revisions: Revisions, kb_dir: Path) -> None:
    """Name, for each item to update, who changed it since its file was last imported, or since it was
    made if no import made it (saving overwrites the change; the overwritten version stays in its history)."""
    for item in planned.items:
        if planned.actions.get(item.id) != "update":
            continue
        kind = "article" if isinstance(item, Article) else "faq"
        history = revisions.history(kind, item.id)  # newest first
        last_import = next((n for n, r in enumerate(history) if r["note"].startswith(IMPORT_NOTE)), len(history))
        path = item_path(kb_dir, kind, item.id)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current is None or (last_import < len(history) and history[last_import]["content"] == current):
            continue
        later = [r for r in history[:last_import] if r["action"] != "initial"]
        if later:
            who = f"{later[0]['author']}，{later[0]['created_at'][:16].replace('T', ' ')}"
        elif last_import < len(history):
            who = "直接改了文件"
        else:
            continue  # never imported and never edited here: nothing of anyone's to overwrite
        planned.edited[item.id] = who
        name = item.title if isinstance(item, Article) else item.question
        what = "在上次导入后被修改过" if last_import < len(history) else "是在编辑器里建立或修改的"
        planned.notices.append(f"“{name}”{what}（{who}）：保存会用文件内容覆盖这些修改，覆盖前的版本留在历史里。")


def _first_line(body: str) -> str:
    """A short first line of text (not a heading or the OCR mark) that reads as a title: the title of a file
    that had none. Not a sentence or the end of one ('协商物业费时参考。', the first line a scanned page's OCR
    gave), nor a clause or an item ('第七十四条 …', '（一）…'): the file name serves better."""
    for line in body.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "|", OCR_MARK[:2])):  # OCR marks: 〔以下… 〔以上…
            # as plain text's title is read (kb.importing.text.structure); a comma ends no title either
            text_like = line[-1] in SENTENCE_END + "，、,." or CLAUSE_OR_ITEM.match(line)
            return line if len(line) <= 30 and not text_like else ""
    return ""


def _plan_faqs(
    planned: PlannedFile,
    before_entries: list[FaqEntry],
    key: str,
    ids: _Ids,
    titles: dict[str, str],
    date: str,
    revisions: Revisions | None,
    kb_dir: Path,
) -> None:
    """A sheet's rows as Q&A entries: an entry it gave before keeps its id, matched by its question as the
    sheet last gave it (a curator may have reworded it since; the import then updates it, and says so) or as
    it is now; entries whose question is no longer in the sheet are removed."""
    file = planned.parsed
    before: dict[str, FaqEntry] = {}
    for entry in before_entries:
        before.setdefault(entry.question, entry)
        imported = _last_import(revisions, "faq", entry.id) if revisions is not None else None
        if imported is not None:
            question = _imported_question(kb_dir, entry.id, imported["content"])
            if question:
                before.setdefault(question, entry)
    known_articles = set(titles.values())
    seen: dict[str, int] = {}
    kept: set[str] = set()
    unknown: dict[str, list[int]] = {}  # an 依据 no article has, and the rows that name it: one notice each
    for row in file.faqs:
        if row.question in seen:
            planned.notices.append(f"第 {row.row} 行与第 {seen[row.question]} 行问题相同，只导入了第一行。")
            continue
        seen[row.question] = row.row
        article = row.article if row.article in known_articles else titles.get(row.article or "")
        if row.article and not article:
            unknown.setdefault(row.article, []).append(row.row)
        old = before.get(row.question)
        if old is not None and old.id in kept:  # two rows matching one entry: the second is a new entry
            old = None
        entry_id = old.id if old else ids.claim("faq-" + (slug(row.question, 50) or "entry"))
        kept.add(entry_id)
        entry = FaqEntry(
            entry_id,
            row.question,
            row.answer,
            article,
            None,
            row.clause if article else None,
            date,
            row.alternatives,
            key,
        )
        planned.items.append(_keep_date(entry, old, planned))
    for name, rows in unknown.items():
        where = "、".join(map(str, rows[:10])) + (f" 等 {len(rows)} 行" if len(rows) > 10 else " 行")
        planned.notices.append(
            f"第 {where}的依据“{name}”不是已有文章的编号或标题，这些问答不带出处（条款也不显示）。"
            "可以先导入这份文档，再重新导入本表。"
        )
    planned.removals = sorted((e for e in before_entries if e.id not in kept), key=lambda e: e.id)


def _last_import(revisions: Revisions, kind: str, item_id: str) -> dict[str, Any] | None:
    """The item's latest revision made by an import, or None."""
    return next((r for r in revisions.history(kind, item_id) if r["note"].startswith(IMPORT_NOTE)), None)


def _imported_question(kb_dir: Path, entry_id: str, content: str) -> str:
    """The question of a Q&A entry as a revision holds it ('' if the revision cannot be read)."""
    try:
        return parse_faq(item_path(kb_dir, "faq", entry_id), content).question
    except KnowledgeBaseError:
        return ""


def apply(
    import_plan: ImportPlan, editor: KnowledgeEditor, author: str, progress: Callable[[int], Any] | None = None
) -> list[EditResult]:
    """Save the plan's items and removals as one change (unchanged items are left alone); each revision's
    note names the file the item came from. Returns the result for each item."""
    removals = [("faq", e.id) for f in import_plan.files for e in f.removals]
    notes = {
        (("article" if isinstance(i, Article) else "faq"), i.id): f"{IMPORT_NOTE}{f.parsed.name}"
        for f in import_plan.files
        for i in f.items
    }
    notes |= {
        ("faq", e.id): f"{IMPORT_NOTE}{f.parsed.name}（表格里已没有这个问题）"
        for f in import_plan.files
        for e in f.removals
    }
    return editor.save_many(import_plan.items, removals, author, IMPORT_NOTE.strip(), progress, notes)


def preview(
    files: Iterable[tuple[str, bytes]],
    limits: ImportLimits,
    kb_dir: Path,
    revisions: Revisions | None = None,
    columns: Mapping[str, str] | None = None,
    step: Step | None = None,
) -> tuple[list[ParsedFile], ImportPlan]:
    """Read every (key, bytes) and plan it against the knowledge base: what was read (kept for save) and
    the plan to show, with every file that failed."""
    parsed, failed = read_all(files, limits, columns, step)
    import_plan = plan(parsed, kb_dir, revisions)
    import_plan.failures = failed + import_plan.failures
    return parsed, import_plan


def save(
    parsed: list[ParsedFile],
    editor: KnowledgeEditor,
    author: str,
    category: str | None = None,
    leave_out: Iterable[str] = (),
    progress: Callable[[int], Any] | None = None,
) -> tuple[ImportPlan, list[EditResult]]:
    """Plan the files read (except those named in leave_out) against the knowledge base as it is now, and
    save them: the plan and the result for each item."""
    skipped = set(leave_out)
    import_plan = plan([p for p in parsed if p.name not in skipped], editor.kb_dir, editor.revisions, category)
    return import_plan, apply(import_plan, editor, author, progress)


def encode_ahead(import_plan: ImportPlan, indexer: Indexer) -> None:
    """Encode the plan's new texts into the embedding cache (the slow part), so that saving it, under the
    edit lock, is quick."""
    items = [i for f in import_plan.files for i in f.items if f.actions.get(i.id) != "unchanged"]
    indexer.encode_ahead([i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, FaqEntry)])
