"""The curator panel: knowledge gaps grouped by similar question, turned into Q&A entries or dismissed."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from indexer.clustering import group_by_similarity
from kb.desk import Desk
from kb.loader import KnowledgeBaseError, save_faq
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
    """Open gaps grouped by similar question: count, first and last seen, conversations, top hit."""
    rows = Desk(store()).gaps("open", limit=1000)
    if not rows:
        return jsonify(groups=[])
    legs = retriever().legs
    vectors = legs[0].encoder.encode_cached([r["question"] for r in rows], "faq", store())  # each question once
    groups = []
    for members in group_by_similarity(vectors):
        items = [rows[i] for i in members]
        stamps = sorted(r["created_at"] for r in items)
        groups.append({"question": items[0]["question"], "count": len(items), "first_seen": stamps[0],
                       "last_seen": stamps[-1], "gap_ids": [r["id"] for r in items],
                       "questions": sorted({r["question"] for r in items}),
                       "conversations": sorted({r["conversation_id"] for r in items}),
                       "reasons": sorted({r["reason"] for r in items}),
                       "best_hit": items[0]["hits"][0] if items[0]["hits"] else None})
    return jsonify(groups=groups)


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
    _apply_faq(entry)
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


def _apply_faq(entry: FaqEntry) -> None:
    """Save a Q&A entry to kb/faq/ and index only it; long-running processes reload on the new stamp."""
    from indexer.build import Indexer

    settings = current_app.config["KEFU_SETTINGS"]
    try:
        save_faq(settings.kb_dir, entry)
    except KnowledgeBaseError as exc:
        abort(400, str(exc))
    indexer = Indexer(store(), [leg.encoder for leg in retriever().legs], settings)
    indexer.put_faq(entry)
    indexer.save()


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
    _apply_faq(updated)
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
