"""Answer-quality evaluation with the formats and metric keys of shared/eval/README.md."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from indexer.normalize import is_pleasantry
from indexer.replies import Reply, reply_for

if TYPE_CHECKING:
    from indexer.followup import Searcher as Reader
    from indexer.hits import SearchResult


class Searcher(Protocol):
    """What the evaluation needs of a retriever (indexer.retriever.Retriever, or a canned one in tests)."""

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Ranked hits and the decision for a question."""
        ...


class EvalDataError(ValueError):
    """An evaluation file is malformed; the message names the file and line."""


def normalise(text: str) -> str:
    """Width-, case-, space- and punctuation-insensitive form used for matching."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Question:
    """A question and the strings that would answer it (None: it should be abstained on)."""

    q: str
    expect: tuple[str, ...] | None
    domain: str = ""


def _jsonl(path: Path, parse: Callable[[dict], Any], shape: str) -> list[Any]:
    """parse applied to each JSON object line of a file (blank lines skipped); a line that is not JSON or that
    parse rejects (ValueError, KeyError, TypeError, AttributeError) is an EvalDataError naming the file, the line
    and the expected shape."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EvalDataError(f"{path}:{n}: expected {shape}") from None
    return out


def _texts(value: Any) -> tuple[str, ...]:
    """A non-empty list of strings as a tuple; TypeError otherwise."""
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise TypeError
    return tuple(value)


def load_questions(path: Path) -> list[Question]:
    """Read a dev.jsonl-style file; a row's domain is its "doc" field, else the file's name without suffix."""

    def parse(row: dict) -> Question:
        if not isinstance(row["q"], str) or not (
            row["expect"] is None or (isinstance(row["expect"], list) and row["expect"])
        ):
            raise TypeError
        expect = tuple(row["expect"]) if row["expect"] is not None else None
        return Question(row["q"], expect, str(row.get("doc", Path(path).stem)))

    return _jsonl(path, parse, '{"q": text, "expect": [text, …] or null}')


def answers(text: str, expect: tuple[str, ...]) -> bool:
    """Whether a passage contains any expected string, after normalisation."""
    norm = normalise(text)
    return any(normalise(e) in norm for e in expect)


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else 0.0


Route = Callable[[str, "str | None", bool], str]  # kb.desk.rules.route: text, NLU intent, pleasantry -> action


def evaluate_questions(
    retriever: Reader, questions: list[Question], route: Route | None = None
) -> tuple[dict, list[dict]]:
    """Metrics over questions, plus one detail row per question. retriever: indexer.retriever.Retriever (a
    canned one in tests needs only search, for questions that name no act and ask no penalty). route
    (kb.desk.rules.route, passed in by the kefu command): the bot's decision before any search, so a question it
    would hand off or greet is not counted as answered."""
    retriever.search(questions[0].q if questions else "预热")  # warm-up, not timed
    rows = [question_row(retriever, item, route) for item in questions]
    return summarize(rows), rows


def question_row(retriever: Reader, item: Question, route: Route | None = None) -> dict[str, Any]:
    """One question searched and replied to as the bot would (without NLU, which needs Rasa): rank of the
    first answering hit (None: not in the top 10), what the bot does (answer, clarify, abstain, handoff …),
    the reply's text and whether it holds an expected string. The question is read as the bot reads a
    conversation's first message (indexer.followup.resolve: the penalty for an act it names included; a message
    that only points back, '为什么', is searched here where the bot prompts for a question)."""
    from indexer.followup import Topic, resolve

    turn = resolve(item.q, Topic(), retriever, k=10)
    result = turn.result
    decided = route(item.q, None, is_pleasantry(item.q)) if route else "knowledge"
    reply = reply_for(item.q, result, turn.followed) if decided == "knowledge" else Reply(decided)
    rank = None
    if item.expect is not None:
        rank = next(
            (
                i
                for i, h in enumerate(result.hits, 1)
                if answers(h.text, item.expect) or (h.quote and answers(h.quote, item.expect))
            ),
            None,
        )
    return {
        "q": item.q,
        "domain": item.domain,
        "answerable": item.expect is not None,
        "rank": rank,
        "answered": reply.kind == "answer",
        "reply_kind": reply.kind,
        # showing candidates is not abstaining: on a question it cannot answer, only saying so (or a person) is
        "abstained": reply.kind not in ("answer", "clarify"),
        "confidence": result.decision.confidence,
        "reply": reply.body,
        "reply_right": item.expect is not None and reply.kind == "answer" and answers(reply.body, item.expect),
        "features": result.features,
        "top": result.hits[0].text[:80] if result.hits else None,
        "ms": result.ms,
    }


def summarize(rows: list[dict]) -> dict[str, Any]:
    """The metrics of shared/eval/README.md over question rows (question_row)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    times = [r["ms"] for r in rows]

    def share(xs: list[dict], f: Callable[[dict], bool]) -> float:
        return round(sum(1 for x in xs if f(x)) / len(xs), 4) if xs else 0.0

    return {
        "n_answerable": len(ans),
        "n_unanswerable": len(una),
        "recall_at_1": share(ans, lambda r: r["rank"] == 1),
        "recall_at_5": share(ans, lambda r: r["rank"] is not None and r["rank"] <= 5),
        "mrr": round(sum(1 / r["rank"] for r in ans if r["rank"]) / len(ans), 4) if ans else 0.0,
        "answer_accuracy": share(ans, lambda r: r["answered"] and r["rank"] == 1),
        "reply_accuracy": share(ans, lambda r: r["reply_right"]),
        "false_abstain_rate": share(ans, lambda r: not r["answered"]),
        "abstain_rate_unanswerable": share(una, lambda r: r["abstained"]),
        "p50_ms": _pct(times, 50),
        "p95_ms": _pct(times, 95),
    }


def leave_one_domain_out(
    retriever: Any,
    questions: list[Question],
    negatives: list[str],
    fit: Callable[[list, list], Any],
    route: Route | None = None,
) -> tuple[dict, dict[str, dict], list[dict]]:
    """Each domain's questions judged by a decision fitted without them (on the other domains' questions
    and the negatives): pooled metrics, metrics per domain, and the rows. The retriever's calibration is
    swapped per domain and put back."""
    rows, labels = calibration_examples(retriever, questions, negatives)
    domains = [q.domain for q in questions] + ["negatives"] * len(negatives)
    kept = retriever.calibration
    out_rows: list[dict] = []
    by_domain: dict[str, dict] = {}
    try:
        for domain in dict.fromkeys(q.domain for q in questions):
            train = [i for i, d in enumerate(domains) if d != domain]
            retriever.calibration = fit([rows[i] for i in train], [labels[i] for i in train])
            held = [question_row(retriever, q, route) for q in questions if q.domain == domain]
            by_domain[domain] = summarize(held)
            out_rows += held
    finally:
        retriever.calibration = kept
    return summarize(out_rows), by_domain, out_rows


@dataclass(frozen=True)
class Conversation:
    """Turns a customer types, one after another; expect: strings the reply to the last turn should hold (None:
    the last turn cannot be answered); new_subject: the last turn changes the subject."""

    turns: tuple[str, ...]
    expect: tuple[str, ...] | None
    new_subject: bool = False
    domain: str = ""
    kind: str = ""


def load_conversations(path: Path) -> list[Conversation]:
    """Read a conversations file (shared/eval/README.md: {"turns": [...], "expect": [...] or null,
    "new_subject": bool}); a row's domain is its "doc" field, else the file's name without suffix."""

    def parse(row: dict) -> Conversation:
        turns = _texts(row["turns"])
        if not all(t.strip() for t in turns):
            raise TypeError
        return Conversation(
            turns,
            _texts(row["expect"]) if row["expect"] is not None else None,
            bool(row.get("new_subject", False)),
            str(row.get("doc", Path(path).stem)),
            str(row.get("kind", "")),
        )

    return _jsonl(path, parse, '{"turns": [text, …], "expect": [text, …] or null, "new_subject": bool}')


def conversation_row(
    retriever: Any, item: Conversation, route: Route | None = None, carry: bool = True
) -> dict[str, Any]:
    """One conversation played as the bot plays it (indexer.followup.converse, the topic carried from turn to
    turn as the bot's slots carry it; route's handoff forgets it): the last turn's reply and whether it is right.
    carry False: every turn read alone, as the bot did before it kept a topic (the comparison)."""
    from indexer.followup import Topic, converse

    topic = Topic()
    reply, how, replies = Reply("prompt"), "", []
    for text in item.turns:
        decided = route(text, None, is_pleasantry(text)) if route else "knowledge"
        if decided != "knowledge":
            reply, how = Reply(decided), ""
            topic = Topic() if decided == "handoff" else topic
        else:
            reply, turn, topic = converse(text, topic if carry else Topic(), retriever)
            how = turn.how
        replies.append(reply.body or reply.kind)
    right = reply.kind == "answer" and item.expect is not None and answers(reply.body, item.expect)
    return {
        "turns": list(item.turns),
        "domain": item.domain,
        "kind": item.kind,
        "new_subject": item.new_subject,
        "answerable": item.expect is not None,
        "reply_kind": reply.kind,
        "read": how,
        "reply_right": right,
        "abstained": reply.kind not in ("answer", "clarify"),
        "replies": replies,
    }


def evaluate_conversations(
    retriever: Any, conversations: list[Conversation], route: Route | None = None, carry: bool = True
) -> tuple[dict[str, Any], list[dict]]:
    """followup_accuracy (last-turn replies that hold an expected string, over answerable conversations that keep
    the subject), subject_change_accuracy (the same over those that change it), abstain_rate_unanswerable (last
    turns that cannot be answered and are abstained on), counts; and one row per conversation. carry: see
    conversation_row."""
    rows = [conversation_row(retriever, c, route, carry) for c in conversations]

    def share(xs: list[dict], key: str) -> float:
        return round(sum(1 for x in xs if x[key]) / len(xs), 4) if xs else 0.0

    follow = [r for r in rows if r["answerable"] and not r["new_subject"]]
    change = [r for r in rows if r["answerable"] and r["new_subject"]]
    una = [r for r in rows if not r["answerable"]]
    metrics = {
        "n_conversations": len(rows),
        "n_followup": len(follow),
        "n_subject_change": len(change),
        "n_unanswerable": len(una),
        "followup_accuracy": share(follow, "reply_right"),
        "subject_change_accuracy": share(change, "reply_right"),
        "abstain_rate_unanswerable": share(una, "abstained"),
    }
    return metrics, rows


def load_pairs(path: Path) -> list[tuple[str, str, int]]:
    """Read a q1<TAB>q2<TAB>label file."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
            raise EvalDataError(f"{path}:{n}: expected q1<TAB>q2<TAB>0|1")
        out.append((parts[0].strip(), parts[1].strip(), int(parts[2])))
    return out


def faq_protocol(pairs: list[tuple[str, str, int]]) -> tuple[list[str], list[tuple[str, set[str]]]]:
    """The FAQ pool (unique q2) and the queries (q1 of label-1 rows) with their gold q2 sets."""
    pool = list(dict.fromkeys(q2 for _, q2, _ in pairs))
    gold: dict[str, set[str]] = {}
    for q1, q2, label in pairs:
        if label == 1:
            gold.setdefault(q1, set()).add(q2)
    queries = [(q1, gold[q1]) for q1, _, label in pairs if label == 1]
    return pool, queries


def evaluate_faq(rank_pool, pool: list[str], queries: list[tuple[str, set[str]]]) -> dict:
    """Metrics of rank_pool(query, k) -> [(pool string, ms)], excluding a pool string equal to the query."""
    r1 = r5 = rr = 0.0
    times = []
    for query, gold in queries:
        ranked, ms = rank_pool(query, 11)
        times.append(ms)
        ranked = [s for s in ranked if s != query][:10]
        rank = next((i for i, s in enumerate(ranked, 1) if s in gold), None)
        r1 += rank == 1
        r5 += rank is not None and rank <= 5
        rr += 1 / rank if rank else 0.0
    n = len(queries) or 1
    return {
        "n_queries": len(queries),
        "pool_size": len(pool),
        "recall_at_1": round(r1 / n, 4),
        "recall_at_5": round(r5 / n, 4),
        "mrr": round(rr / n, 4),
        "p50_ms": _pct(times, 50),
        "p95_ms": _pct(times, 95),
    }


def calibration_examples(
    retriever: Searcher, questions: list[Question], negatives: list[str]
) -> tuple[list[dict], list[int]]:
    """Decision features with labels: 1 when the question is answerable and found in the top 5."""
    rows, labels = [], []
    for item in questions:
        result = retriever.search(item.q, k=5)
        found = item.expect is not None and any(
            answers(h.text, item.expect) or (h.quote and answers(h.quote, item.expect)) for h in result.hits
        )
        rows.append(result.features)
        labels.append(int(found))
    for q in negatives:
        rows.append(retriever.search(q, k=5).features)
        labels.append(0)
    return rows, labels


def leave_one_out(rows: list[dict], labels: list[int], fit, threshold: float) -> dict:
    """Held-out decision quality: each example judged by weights fitted without it."""
    wrong_abstain = wrong_answer = 0
    for i in range(len(rows)):
        cal = fit(rows[:i] + rows[i + 1 :], labels[:i] + labels[i + 1 :])
        answered = cal.confidence(rows[i]) >= threshold
        wrong_abstain += labels[i] == 1 and not answered
        wrong_answer += labels[i] == 0 and answered
    pos = sum(labels) or 1
    neg = (len(labels) - sum(labels)) or 1
    return {"loo_false_abstain": round(wrong_abstain / pos, 4), "loo_false_answer": round(wrong_answer / neg, 4)}
