"""Grouping similar questions (knowledge gaps) by their embeddings."""
from __future__ import annotations

import numpy as np


def group_by_similarity(vectors: np.ndarray, threshold: float = 0.92) -> list[list[int]]:
    """Greedy single-pass clustering of normalised vectors: an item joins the first group whose
    centroid it matches with cosine >= threshold, else starts a group. Groups, largest first."""
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


def gap_groups(rows: list[dict], vectors: np.ndarray, days: list, timezone: str) -> list[dict]:
    """Knowledge gaps (Desk.gaps rows, newest first) grouped by similar question, largest group first:
    count, first and last seen, questions, conversations, reasons, the best passage found, and a daily
    trend over `days` (local dates) with the last seven days against the seven before."""
    from kb.metrics import daily_counts

    groups = []
    for members in group_by_similarity(vectors):
        items = [rows[i] for i in members]
        stamps = sorted(r["created_at"] for r in items)
        trend = daily_counts(stamps, days, timezone)
        groups.append({"question": items[0]["question"], "count": len(items), "first_seen": stamps[0],
                       "last_seen": stamps[-1], "gap_ids": [r["id"] for r in items],
                       "questions": sorted({r["question"] for r in items}),
                       "conversations": sorted({r["conversation_id"] for r in items}),
                       "reasons": sorted({r["reason"] for r in items}),
                       "best_hit": next((h for r in items for h in r["hits"][:1]), None),
                       "trend": trend, "last_7": sum(trend[-7:]), "previous_7": sum(trend[-14:-7])})
    return groups
