"""The vector index: ids and vectors in FAISS, knowing nothing of text.

Inner product on L2-normalised vectors (cosine). ``flat`` is exact; ``ivf``
(IndexIVFFlat) is approximate and is chosen for large bases because, unlike
FAISS's HNSW, it supports removing ids, so one article can be replaced
without a rebuild. Saved as one file, written then renamed, carrying its
build metadata; loading it against another model is refused.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

FORMAT_VERSION = 1


class IndexError_(RuntimeError):
    """Base class of vector-index errors."""


class IndexMissingError(IndexError_):
    """There is no saved index where one was expected."""


class IndexCorruptError(IndexError_):
    """The saved index cannot be read."""


class IndexModelMismatchError(IndexError_):
    """The saved index was built with a different model or dimension."""


def set_search_threads(n: int) -> None:
    """FAISS's OpenMP threads; 1 serves single queries fastest when other work shares the cores."""
    faiss.omp_set_num_threads(max(1, int(n)))


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if vectors.shape[1] != dim:
        raise ValueError(f"vectors have dimension {vectors.shape[1]}, the index has {dim}")
    return vectors


def _as_ids(ids) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


class VectorIndex:
    """Ids and vectors with exact or IVF inner-product search."""

    def __init__(self, dim: int, kind: str = "flat", nlist: int = 0, nprobe: int = 32, model: str = ""):
        if dim <= 0:
            raise ValueError(f"dim must be positive, not {dim}")
        if kind not in ("flat", "ivf"):
            raise ValueError(f"kind must be 'flat' or 'ivf', not {kind!r}")
        self.dim, self.kind, self.model = dim, kind, model
        self.built_at = time.time()
        self._index: Any  # faiss.IndexIDMap2 (flat) or faiss.IndexIVFFlat (ivf); its stubs cannot say which
        if kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        else:
            self._quantizer = faiss.IndexFlatIP(dim)
            self._index = faiss.IndexIVFFlat(self._quantizer, dim, max(1, nlist), faiss.METRIC_INNER_PRODUCT)
        self._nprobe = nprobe
        self.nprobe = nprobe
        self._ids: set[int] = set()

    @property
    def nprobe(self) -> int:
        """IVF lists visited per query (unused by a flat index)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = max(1, int(value))
        if self.kind == "ivf":
            faiss.extract_index_ivf(self._index).nprobe = self._nprobe

    @classmethod
    def for_size(
        cls, dim: int, count: int, kind: str = "auto", ann_threshold: int = 50000, nprobe: int = 32, model: str = ""
    ) -> VectorIndex:
        """An index suited to count vectors: flat below ann_threshold, IVF above (or as told)."""
        if kind == "auto":
            kind = "ivf" if count >= ann_threshold else "flat"
        # About 4·√n lists, but with at least 39 training points a list (FAISS's rule of thumb).
        nlist = max(1, min(int(4 * math.sqrt(max(count, 1))), count // 39)) if kind == "ivf" else 0
        return cls(dim, kind, nlist=nlist, nprobe=nprobe, model=model)

    def __len__(self) -> int:
        return self._index.ntotal

    def __contains__(self, item: int) -> bool:
        return int(item) in self._ids

    @property
    def is_trained(self) -> bool:
        """Whether vectors can be added (an IVF index must be trained first)."""
        return self._index.is_trained

    def train(self, vectors: np.ndarray) -> None:
        """Train an IVF index's coarse quantiser on sample vectors (no-op for flat)."""
        if self.kind == "ivf":
            vectors = _as_matrix(vectors, self.dim)
            if len(vectors) < self._index.nlist:
                raise ValueError(f"IVF with {self._index.nlist} lists needs at least that many training vectors")
            self._index.train(vectors)

    def add(self, ids, vectors: np.ndarray) -> None:
        """Add vectors under ids; an id already present is replaced."""
        ids, vectors = _as_ids(ids), _as_matrix(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("ids must be unique")
        if not self.is_trained:
            self.train(vectors)
        present = [i for i in ids.tolist() if i in self._ids]
        if present:
            self.remove(present)
        self._index.add_with_ids(vectors, ids)
        self._ids.update(ids.tolist())

    def remove(self, ids) -> int:
        """Remove ids; returns how many were present."""
        ids = _as_ids(ids)
        if not len(ids):
            return 0
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        self._ids.difference_update(ids.tolist())
        return removed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; missing places hold id -1 and score -inf."""
        queries = _as_matrix(queries, self.dim)
        if len(self) == 0 or k <= 0:
            shape = (len(queries), max(k, 0))
            return np.full(shape, -np.inf, dtype=np.float32), np.full(shape, -1, dtype=np.int64)
        scores, ids = self._index.search(queries, min(k, len(self)))
        scores[ids < 0] = -np.inf
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return scores, ids

    def vectors(self, ids) -> np.ndarray:
        """The stored vectors of some ids (flat indexes only)."""
        if self.kind != "flat":
            raise NotImplementedError("reconstructing vectors needs a flat index")
        return np.stack([self._index.reconstruct(int(i)) for i in _as_ids(ids)])

    @property
    def meta(self) -> dict:
        """Build metadata saved beside the vectors."""
        return {
            "format": FORMAT_VERSION,
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "count": len(self),
            "normalised": True,
            "metric": "inner_product",
            "nprobe": self.nprobe,
            "built_at": self.built_at,
        }

    def save(self, path: Path | str, built_at: float | None = None) -> None:
        """Write the index and its metadata to one file atomically (temp file, then rename). built_at: the
        build time to record (a local copy of an index built elsewhere keeps that one's), else now."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.built_at = time.time() if built_at is None else built_at
        payload = faiss.serialize_index(self._index)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, meta=np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8), index=payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str, model: str | None = None, dim: int | None = None) -> VectorIndex:
        """Load a saved index, refusing one built with another model or dimension."""
        path = Path(path)
        if not path.is_file():
            raise IndexMissingError(f"no index at {path}: run 'kefu index build'")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                payload = data["index"]
            index = faiss.deserialize_index(payload)
        except Exception as exc:  # numpy, zip and faiss each raise their own kinds
            raise IndexCorruptError(f"the index at {path} is unreadable ({exc}): run 'kefu index build'") from None
        if model is not None and meta.get("model") != model:
            raise IndexModelMismatchError(
                f"the index at {path} was built with model {meta.get('model')!r}, but the setting says "
                f"{model!r}: run 'kefu index build' to rebuild it, or set the model back"
            )
        if dim is not None and meta.get("dim") != dim:
            raise IndexModelMismatchError(
                f"the index at {path} holds {meta.get('dim')}-dimensional vectors, the model makes {dim}: "
                "run 'kefu index build'"
            )
        self = cls.__new__(cls)
        self.dim, self.kind, self.model = meta["dim"], meta["kind"], meta["model"]
        self.built_at = meta.get("built_at", 0.0)
        self._index = index
        self.nprobe = meta.get("nprobe", 32)
        if self.kind == "ivf":
            invlists: Any = faiss.extract_index_ivf(index).invlists
            ids = [
                faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                for i in range(invlists.nlist)
                if invlists.list_size(i)
            ]
            self._ids = set(np.concatenate(ids).tolist()) if ids else set()
        else:
            self._ids = set(faiss.vector_to_array(self._index.id_map).tolist())
        return self
