"""Rank fusion."""
from __future__ import annotations

from typing import Hashable, Iterable, Sequence


def reciprocal_rank_fusion(rankings: Iterable[tuple[float, Sequence[Hashable]]], k: int = 60) -> list[tuple[Hashable, float]]:
    """Fuse (weight, ranked ids) lists: score(id) = sum of weight / (k + rank), rank from 1.

    Ties keep the order in which ids were first seen, so the first list breaks them.
    """
    if k < 0:
        raise ValueError(f"k must not be negative, not {k}")
    scores: dict[Hashable, float] = {}
    for weight, ranked in rankings:
        if weight == 0:
            continue
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
