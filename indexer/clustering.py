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
