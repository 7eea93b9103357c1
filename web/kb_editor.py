"""The knowledge-base editor (role curator): articles and Q&A entries, their revision history, restoring.

Plain server-rendered forms. Saving goes through indexer.editor.KnowledgeEditor, which writes the
file under kb/, re-indexes only that item and records a revision; the bot answers from it at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from indexer.editor import EditConflict, ItemNotFound, version_of
from indexer.importer import editor_draft, file_key
from kb.importing import ImportFailed
from kb.importing.reader import read_file
from kb.loader import ID_PATTERN, MAX_BODY_CHARS, KnowledgeBaseError
from kb.model import Article, FaqEntry
from web.access import audit, role_required, signed_in_user
from web.db import desk, editing, reader, revisions, settings, store
from web.params import whole_number

bp = Blueprint("kb_editor", __name__)
KINDS = {"article": "文章", "faq": "问答"}
LIMITS = {
    "id": 80,
    "title": 200,
    "category": 80,
    "source": 200,
    "body": MAX_BODY_CHARS,
    "question": 300,
    "answer": 4000,
    "section": 200,
    "clause": 40,
    "note": 500,
    "alternatives": 20_000,
}


def _kind_or_404(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


def _form(name: str) -> str:
    value = request.form.get(name, "")
    if len(value) > LIMITS.get(name, 1000):
        raise KnowledgeBaseError(name, f"is longer than {LIMITS.get(name, 1000)} characters", name)
    return value.replace("\r\n", "\n").strip()


def _current(kind: str, item_id: str) -> Article | FaqEntry | None:
    """The item as its file has it now, or None for a new one."""
    try:
        return reader().item(kind, item_id) if ID_PATTERN.fullmatch(item_id) else None
    except (ItemNotFound, KnowledgeBaseError):
        return None


def _item_from_form(kind: str, item_id: str) -> Article | FaqEntry:
    """The item the form describes. The file an imported item came from is kept from the item as it is (a new
    article opened from a file carries it in the form), so a later import of that file still finds it."""
    today = dt.date.today().isoformat()
    current = _current(kind, item_id)
    if kind == "article":
        imported_from = current.imported_from if isinstance(current, Article) else file_key(_form("imported_from"))
        return Article(
            id=item_id,
            title=_form("title"),
            category=_form("category"),
            source=_form("source") or "curator",
            updated=today,
            body=_form("body"),
            imported_from=imported_from if current is not None or _form("imported_from") else "",
        )
    alternatives = tuple(dict.fromkeys(line.strip() for line in _form("alternatives").split("\n") if line.strip()))
    return FaqEntry(
        id=item_id,
        question=_form("question"),
        answer=_form("answer"),
        article=_form("article") or None,
        section=_form("section") or None,
        clause=_form("clause") or None,
        updated=today,
        alternatives=alternatives,
        source=current.source if isinstance(current, FaqEntry) else "",
    )


def _gap_ids(raw: str) -> list[int]:
    return [n for n in (whole_number(x.strip(), 1) for x in raw.split(",")) if n is not None][:500]


@bp.get("/curator/kb")
@role_required("curator")
def index() -> str:
    """Every article and Q&A entry, filterable, with the latest changes."""
    q = request.args.get("q", "").strip()[:100]
    articles, faqs = store().articles(), store().faqs()
    if q:
        articles = [a for a in articles if q in a.id or q in a.title or q in a.category]
        faqs = [e for e in faqs if q in e.id or any(q in p for p in e.phrasings) or q in e.answer]
    return render_template(
        "kb_list.html",
        user=signed_in_user(),
        q=q,
        articles=articles,
        faqs=faqs,
        titles={a.id: a.title for a in store().articles()},
        recent=revisions().recent(15),
    )


@bp.get("/curator/kb/<kind>/new")
@role_required("curator")
def new(kind: str) -> tuple[str, int]:
    """A blank editor, or one prefilled from a group of knowledge gaps (?gaps=1,2,3)."""
    kind = _kind_or_404(kind)
    gap_ids = _gap_ids(request.args.get("gaps", ""))
    wanted = set(gap_ids)
    gaps = [g for g in desk().gaps.recent("open", limit=1000) if g["id"] in wanted]
    questions = list(dict.fromkeys(g["question"] for g in gaps))
    agent_answers = [h["snippet"] for g in gaps if g["reason"] == "agent_answer" for h in g["hits"][:1]]
    item: Article | FaqEntry
    if kind == "article":
        body = ""
        if questions:
            body = f"## {questions[0]}\n\n" + ("\n\n".join(agent_answers) or "（在这里写答案。）") + "\n"
        item = Article(
            id="", title=questions[0] if questions else "", category="", source="curator", updated="", body=body
        )
    else:
        item = FaqEntry(
            id="",
            question=questions[0] if questions else "",
            answer="\n".join(agent_answers),
            article=None,  # the bot's closest hit for a gap is a guess: citing it unasked would be a false 来源
            alternatives=tuple(questions[1:]),
        )
    return _editor_page(kind, item, base="", gap_ids=gap_ids)


MAX_UPLOAD = 2 * 1024 * 1024


@bp.post("/curator/kb/article/import")
@role_required("curator")
def import_article() -> tuple[str, int]:
    """Open the new-article editor prefilled from one uploaded document (any format the import reads; at
    most 2 MB here, larger ones through the import page). Nothing is saved until the curator saves the form."""
    upload = request.files.get("file")
    filename, data = (upload.filename or "", upload.read(MAX_UPLOAD + 1)) if upload else ("", b"")
    blank = Article(id="", title="", category="", source="", updated="", body="")
    if not data:
        return _editor_page("article", blank, "", error="请选择一个文件。", status=400)
    if len(data) > MAX_UPLOAD:
        return _editor_page("article", blank, "", error="文件太大：最多 2 MB（更大的文件请用“导入文档”）。", status=413)
    try:
        parsed = read_file(filename, data, settings().import_limits)
    except ImportFailed as exc:
        return _editor_page("article", blank, "", error=exc.reason, status=400)
    if parsed.kind != "article":
        return _editor_page("article", blank, "", error="常见问题表格请用“导入文档”页面导入。", status=400)
    draft, earlier = editor_draft(parsed, settings().kb_dir)
    notice = None
    if earlier:
        notice = f"这个文件以前导入过（{earlier}）。这里会另建一篇新文章；要更新原来那篇，请用“导入文档”再导入它。"
    return _editor_page("article", draft, "", error=notice)


@bp.get("/curator/kb/<kind>/<item_id>")
@role_required("curator")
def edit(kind: str, item_id: str) -> tuple[str, int]:
    """The editor for one article or Q&A entry."""
    kind = _kind_or_404(kind)
    ed = reader()
    try:
        item = ed.item(kind, item_id)
    except (ItemNotFound, KnowledgeBaseError):
        abort(404)
    return _editor_page(kind, item, base=version_of(ed.current_text(kind, item_id)))


def _editor_page(
    kind: str,
    item: Article | FaqEntry,
    base: str,
    gap_ids: Sequence[int] = (),
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    new_item = base == ""
    return render_template(
        "kb_edit.html",
        user=signed_in_user(),
        kind=kind,
        kind_name=KINDS[kind],
        item=item,
        base=base,
        new=new_item,
        gap_ids=",".join(map(str, gap_ids)),
        error=error,
        articles=store().articles(),
        max_body=MAX_BODY_CHARS,
    ), status


@bp.post("/curator/kb/<kind>/save")
@role_required("curator")
def save(kind: str) -> Response | tuple[str, int]:
    """Save from the editor form; on success the bot answers from the new text at once."""
    kind = _kind_or_404(kind)
    base = request.form.get("base", "")
    gap_ids = _gap_ids(request.form.get("gap_ids", ""))
    item_id = request.form.get("id", "").strip()
    try:
        item = _item_from_form(kind, item_id)
    except KnowledgeBaseError as exc:
        return _editor_page(kind, _blank(kind, item_id), base, gap_ids, str(exc), 400)
    if not ID_PATTERN.fullmatch(item_id):
        return _editor_page(
            kind, item, base, gap_ids, "编号只能用小写字母、数字和“-”，最长 80 个字符（例如 faq-parking-fee）。", 400
        )
    user = signed_in_user()["name"]
    with editing() as ed:
        if base == "" and ed.current_text(kind, item_id) is not None:
            return _editor_page(kind, item, base, gap_ids, f"编号 {item_id} 已被占用，请换一个。", 409)
        try:
            result = (
                ed.save_article(item, user, request.form.get("note", "")[:500], base)
                if isinstance(item, Article)
                else ed.save_faq(item, user, request.form.get("note", "")[:500], base)
            )
        except EditConflict:
            return _editor_page(
                kind,
                item,
                base,
                gap_ids,
                "保存失败：你打开之后，别人已经修改了这一条。请复制你的改动，重新打开后再改。",
                409,
            )
        except KnowledgeBaseError as exc:
            return _editor_page(kind, item, base, gap_ids, f"保存失败：{exc}", 400)
    if result.changed:
        audit("entry_saved", kind, item_id, "new" if base == "" else "edited")
    if gap_ids:
        desk().gaps.set_status(gap_ids, "resolved", f"{KINDS[kind]} {item_id} by {user}")
    if result.changed:
        encoded = f"，重新编码 {result.encoded} 段文本" if result.encoded else ""
        flash(f"已保存并生效（用时 {result.seconds:.1f} 秒{encoded}）。机器人现在就按新内容回答。")
    else:
        flash("内容没有变化，未保存新版本。")
    return redirect(url_for("kb_editor.edit", kind=kind, item_id=item_id))


def _blank(kind: str, item_id: str) -> Article | FaqEntry:
    if kind == "article":
        return Article(id=item_id, title="", category="", source="", updated="", body="")
    return FaqEntry(id=item_id, question="", answer="", article="")


@bp.post("/curator/kb/<kind>/<item_id>/delete")
@role_required("curator")
def delete(kind: str, item_id: str) -> Response:
    """Delete an item (it stays in the history and can be restored)."""
    kind = _kind_or_404(kind)
    with editing() as ed:
        try:
            ed.delete(
                kind, item_id, signed_in_user()["name"], request.form.get("note", "")[:500], request.form.get("base")
            )
        except ItemNotFound:
            abort(404)
        except (EditConflict, KnowledgeBaseError) as exc:
            flash(f"没有删除：{exc}")
            return redirect(url_for("kb_editor.edit", kind=kind, item_id=item_id))
    audit("entry_deleted", kind, item_id)
    flash(f"已删除{KINDS[kind]} {item_id}。可以在历史版本中恢复。")
    return redirect(url_for("kb_editor.history", kind=kind, item_id=item_id))


@bp.get("/curator/kb/<kind>/<item_id>/history")
@role_required("curator")
def history(kind: str, item_id: str) -> str:
    """Every saved version of an item with what changed, newest first."""
    kind = _kind_or_404(kind)
    if not ID_PATTERN.fullmatch(item_id):
        abort(404)
    versions = revisions().history(kind, item_id)
    ed = reader()
    exists = ed.current_text(kind, item_id) is not None
    if not versions and not exists:
        abort(404)
    return render_template(
        "kb_history.html",
        user=signed_in_user(),
        kind=kind,
        kind_name=KINDS[kind],
        item_id=item_id,
        revisions=versions,
        exists=exists,
        base=version_of(ed.current_text(kind, item_id)),
    )


@bp.post("/curator/kb/revisions/<int:revision_id>/restore")
@role_required("curator")
def restore(revision_id: int) -> Response:
    """Make an earlier version current again."""
    with editing() as ed:
        try:
            result = ed.revert(revision_id, signed_in_user()["name"], request.form.get("base"))
        except ItemNotFound:
            abort(404)
        except (EditConflict, KnowledgeBaseError) as exc:
            revision = revisions().get(revision_id) or abort(404)
            flash(f"没有恢复：{exc}")
            return redirect(url_for("kb_editor.history", kind=revision["kind"], item_id=revision["item_id"]))
    if result.changed:
        audit("entry_restored", result.kind, result.item_id, f"revision {revision_id}")
    flash(f"已恢复到版本 #{revision_id} 并生效。" if result.changed else "当前内容已与该版本相同。")
    return redirect(url_for("kb_editor.history", kind=result.kind, item_id=result.item_id))
