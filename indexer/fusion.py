"""Rank fusion."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def reciprocal_rank_fusion(rankings: Iterable[tuple[float, Sequence[Key]]], k: int = 60) -> list[tuple[Key, float]]:
    """Fuse (weight, ranked ids) lists: score(id) = sum of weight / (k + rank), rank from 1.

    Ties keep the order in which ids were first seen, so the first list breaks them.
    """
    if k < 0:
        raise ValueError(f"k must not be negative, not {k}")
    scores: dict[Key, float] = {}
    for weight, ranked in rankings:
        if weight == 0:
            continue
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
