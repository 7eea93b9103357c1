"""The curator panel: knowledge gaps grouped by similar question, turned into Q&A entries or dismissed."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from indexer.clustering import gap_groups
from kb.desk import Desk
from kb.loader import KnowledgeBaseError
from kb.metrics import local_days, overview
from kb.model import FaqEntry
from web.auth import current_user, role_required
from web.chat import retriever, store

bp = Blueprint("curator", __name__)


@bp.get("/curator/")
@role_required("curator")
def panel():
    """The gaps page."""
    return render_template("curator.html", user=current_user(), articles=store().articles())


@bp.get("/api/curator/gaps")
@role_required("curator")
def gaps():
    """Open gaps grouped by similar question: count, first and last seen, trend, conversations, top hit."""
    return jsonify(groups=_gap_groups())


def _gap_groups(limit: int = 1000) -> list[dict]:
    rows = Desk(store()).gaps("open", limit=limit)
    if not rows:
        return []
    settings = current_app.config["KEFU_SETTINGS"]
    vectors = retriever().legs[0].encoder.encode_cached([r["question"] for r in rows], "faq", store())
    return gap_groups(rows, vectors, local_days(14, settings.timezone), settings.timezone)


@bp.get("/curator/dashboard")
@role_required("curator")
def dashboard():
    """Conversations, containment, handoff rate, abstentions and top gaps, with charts."""
    settings = current_app.config["KEFU_SETTINGS"]
    days = request.args.get("days", "14")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 90 else 14
    figures = overview(store(), days, settings.timezone)
    return render_template("dashboard.html", user=current_user(), figures=figures, days=days,
                           top_gaps=_gap_groups()[:8])


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "send a JSON object")
    ids = body.get("gap_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        abort(400, "'gap_ids' must be a non-empty list of gap ids")
    return body


@bp.post("/api/curator/gaps/faq")
@role_required("curator")
def gaps_to_faq():
    """Write a new Q&A entry from a group of gaps; indexed at once, so the bot answers it."""
    body = _body()
    texts = {k: body.get(k) for k in ("question", "answer", "article", "section", "clause")}
    alternatives = body.get("alternatives") or []
    if not all(isinstance(v, str) or v is None for v in texts.values()) or not isinstance(alternatives, list) \
            or not all(isinstance(a, str) and a.strip() for a in alternatives):
        abort(400, "question, answer, article, section and clause must be text; alternatives a list of text")
    if texts["article"] not in {a.id for a in store().articles()}:
        abort(400, f"no article {texts['article']!r}")
    entry = FaqEntry(id=f"faq-gap-{min(body['gap_ids'])}-{dt.datetime.now():%Y%m%d%H%M%S}",
                     question=(texts["question"] or "").strip()[:300], answer=(texts["answer"] or "").strip()[:2000],
                     article=texts["article"], section=(texts["section"] or "").strip() or None,
                     clause=(texts["clause"] or "").strip() or None, updated=dt.date.today().isoformat(),
                     alternatives=tuple(a.strip()[:300] for a in alternatives[:20]))
    _apply_faq(entry, f"由知识缺口新建（{len(body['gap_ids'])} 次提问）")
    Desk(store()).set_gap_status(body["gap_ids"], "resolved", f"Q&A {entry.id} by {current_user()['name']}")
    return jsonify(ok=True, faq_id=entry.id)


@bp.post("/api/curator/gaps/dismiss")
@role_required("curator")
def dismiss():
    """Dismiss a group of gaps with a reason."""
    body = _body()
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        abort(400, "give a reason for dismissing")
    changed = Desk(store()).set_gap_status(body["gap_ids"], "dismissed", f"{reason.strip()} ({current_user()['name']})")
    return jsonify(ok=True, dismissed=changed)


def _apply_faq(entry: FaqEntry, note: str) -> None:
    """Save a Q&A entry through the editor: kb/faq/ file, only it indexed, a revision kept."""
    from web.kb_editor import edit_lock, editor

    with edit_lock():
        try:
            editor().save_faq(entry, current_user()["name"], note)
        except KnowledgeBaseError as exc:
            abort(400, str(exc))


@bp.post("/api/curator/gaps/attach")
@role_required("curator")
def attach():
    """Add a group's questions as alternative phrasings of an existing Q&A entry."""
    body = _body()
    entry = next((e for e in store().faqs() if e.id == body.get("faq_id")), None)
    if entry is None:
        abort(400, f"no Q&A entry {body.get('faq_id')!r}")
    desk = Desk(store())
    wanted = set(body["gap_ids"])
    questions = [g["question"] for g in desk.gaps("open", limit=1000) if g["id"] in wanted]
    known = set(entry.phrasings)
    added = tuple(dict.fromkeys(q for q in questions if q not in known))
    updated = FaqEntry(**{**entry.__dict__, "alternatives": entry.alternatives + added,
                          "updated": dt.date.today().isoformat()})
    _apply_faq(updated, f"并入 {len(added)} 个缺口问法")
    desk.set_gap_status(body["gap_ids"], "resolved", f"phrasings of {entry.id} ({current_user()['name']})")
    return jsonify(ok=True, faq_id=entry.id, added=list(added))


@bp.get("/curator/hit-test")
@role_required("curator")
def hit_test():
    """Runs exactly the production retriever on a question and shows its decision and scores."""
    from indexer.retriever import QueryError

    question, result, error = request.args.get("q", ""), None, None
    if question:
        try:
            result = retriever().search(question, k=10)
        except QueryError as exc:
            error = str(exc)
    return render_template("hit_test.html", user=current_user(), question=question, result=result, error=error)
