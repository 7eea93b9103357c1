#!/usr/bin/env python
"""Benchmark of the project's vector index (indexer.vector_index.VectorIndex).

For each size (default 10k, 100k, 1M vectors of dimension 384) and each kind
('flat': IndexIDMap2 over IndexFlatIP; 'ivf': IndexIVFFlat built through
VectorIndex.for_size, which sets nlist = 4*sqrt(n)) it prints:

* build time: train (ivf only) + add, in seconds, through the class's own
  train() and add() (so the id bookkeeping in Python is included);
* memory: growth of the process's resident set (VmRSS in /proc/self/status)
  caused by building, its peak growth (VmHWM after resetting it through
  /proc/self/clear_refs), and the size of the file written by save();
* single-vector query latency, p50/p95 in ms, one `search(q[None], 10)` call
  per query, after a warm-up;
* for ivf, recall@10 against the exact top 10 of the flat index on the same
  data and queries.

At the largest size it also sweeps nprobe for ivf, so that the ivf_nprobe
setting can be chosen by measurement.

Synthetic data (see Synth below; the recipe and seed are printed and put in
the JSON): L2-normalised vectors from a mixture of 2,000 Gaussian "topics"
with graded similarity, each varying along a few directions of its own, on a
shared offset: this gives them the neighbourhood structure and the narrow
cosine band of sentence embeddings. Uniform random vectors in 384 dimensions
have no neighbourhood structure, and no ANN index can do well on them. How
hard the data is for ANN search is printed beside the results (cosines of the
exact neighbours, local intrinsic dimensionality, share of the top 10 inside
the query's topic); `--recipe shared` gives a deliberately harder stress case.

The last line printed is one JSON object holding every figure.

Usage: python bench/bench_faiss.py [--sizes 10000,100000,1000000] [--queries 300]
       [--nprobe-sweep 8,16,32,64] [--seed 0] [--nlist N] [--train-size auto|all|N]
       [--recipe topics|shared] ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from indexer.vector_index import VectorIndex

DIM = 384  # dimension of the default model (multilingual-e5-small)
K = 10  # top-k of every query
CHUNK = 100_000  # rows generated at a time


# Measurement helpers ---------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Current resident set size in MB (VmRSS)."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak resident set size since the last reset_peak() in MB (VmHWM)."""
    kb = _status_kb("VmHWM")
    return kb / 1024 if kb is not None else float("nan")


def pct(values_ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values_ms), q))


def cpu_busy_s() -> tuple[float, float]:
    """(seconds of CPU used by the whole machine, by this process) so far."""
    try:
        with open("/proc/stat") as fh:
            f = [int(v) for v in fh.readline().split()[1:]]
        machine = (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    except (OSError, ValueError):
        machine = float("nan")
    t = os.times()
    return machine, t.user + t.system


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# Synthetic data ---------------------------------------------------------------------------


class Synth:
    """Sentence-embedding-like vectors: a mixture of Gaussian "topics" on a shared offset.

    Parameters are drawn once from numpy default_rng([seed, 0]):
      m    one shared direction (N(0,1) entries, L2-normalised);
      C    `clusters` topic centres C_k = normalise((h_k * c) @ Rc.T), h_k ~ N(0, I_dim),
           Rc a random orthogonal matrix, c_j = j**-centre_spectrum: with a decaying
           spectrum, topics have graded similarity (some are near neighbours of others),
           unlike independent isotropic centres, which are all mutually orthogonal;
      B_k  (recipe 'topics') for each topic, `subspace` random directions (N(0,1/dim)
           entries) weighted by s_j = j**-spectrum, sum(s_j**2) = 1: each topic varies
           along its own few directions, so neighbourhoods inside a topic are graded
           (a low local intrinsic dimension, as text embeddings have);
           (recipe 'shared', a stress case) one set of `dim` directions (random
           orthogonal, weighted j**-spectrum) shared by every topic, so the variation
           common to all topics outweighs the topic itself and nearest neighbours are
           often in other topics.
    A vector is x = normalise(common*m + C_k + noise * g @ B_k + iso * e / sqrt(dim)),
    k uniform over the topics, g ~ N(0, I), e ~ N(0, I_dim). The shared offset m
    reproduces the narrow cosine band of e5-style models (unrelated texts still have
    cosine ~0.8).
    """

    def __init__(
        self,
        seed: int,
        dim: int,
        clusters: int,
        noise: float,
        query_noise: float,
        iso: float,
        subspace: int,
        spectrum: float,
        centre_spectrum: float,
        common: float,
        recipe: str = "topics",
    ):
        if recipe not in ("topics", "shared"):
            raise ValueError(f"recipe must be 'topics' or 'shared', not {recipe!r}")
        self.seed, self.dim, self.clusters, self.recipe_name = seed, dim, clusters, recipe
        self.noise, self.query_noise, self.iso, self.subspace = noise, query_noise, iso, subspace
        self.spectrum, self.centre_spectrum, self.common = spectrum, centre_spectrum, common
        rng = np.random.default_rng([seed, 0])
        shared = rng.standard_normal(dim)
        shared /= np.linalg.norm(shared)
        rot_c, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        centres = (rng.standard_normal((clusters, dim)) * np.arange(1, dim + 1) ** -centre_spectrum) @ rot_c.T
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        self.centres = (centres + common * shared).astype(np.float32)  # offset folded into the centres
        if recipe == "topics":
            spec = np.arange(1, subspace + 1, dtype=np.float64) ** -spectrum
            spec /= np.linalg.norm(spec)
            self.basis = (rng.standard_normal((clusters, subspace, dim)) / math.sqrt(dim) * spec[None, :, None]).astype(
                np.float32
            )
        else:
            rot, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
            spec = np.arange(1, dim + 1, dtype=np.float64) ** -spectrum
            spec /= np.linalg.norm(spec)
            self.basis = (spec[:, None] * rot.T).astype(np.float32)[None]  # one basis for every topic

    def draw(self, n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
        """n normalised vectors (one float32 array, generated CHUNK rows at a time) and their topics."""
        out = np.empty((n, self.dim), dtype=np.float32)
        topics = np.empty(n, dtype=np.int32)
        r = self.basis.shape[1]
        for start in range(0, n, CHUNK):
            b = min(CHUNK, n - start)
            k = rng.integers(0, self.clusters, b)
            g = rng.standard_normal((b, r), dtype=np.float32)
            if len(self.basis) == 1:
                x = g @ self.basis[0]
            else:  # group the rows by topic, one small matrix product per topic
                order = np.argsort(k, kind="stable")
                bounds = np.searchsorted(k[order], np.arange(self.clusters + 1))
                x = np.empty((b, self.dim), dtype=np.float32)
                for c in np.flatnonzero(np.diff(bounds)):
                    rows = order[bounds[c] : bounds[c + 1]]
                    x[rows] = g[rows] @ self.basis[c]
            del g
            x *= np.float32(noise)
            x += self.centres[k]
            if self.iso:
                x += rng.standard_normal((b, self.dim), dtype=np.float32) * np.float32(self.iso / math.sqrt(self.dim))
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            out[start : start + b] = x
            topics[start : start + b] = k
            del x, k
        return out, topics

    def data(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.draw(n, np.random.default_rng([self.seed, 1, n]), self.noise)

    def queries(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.draw(n, np.random.default_rng([self.seed, 2]), self.query_noise)

    def warmup(self, n: int) -> np.ndarray:
        return self.draw(n, np.random.default_rng([self.seed, 3]), self.query_noise)[0]

    def recipe(self) -> str:
        if self.recipe_name == "topics":
            var = (
                f"B_k: per topic {self.subspace} N(0,1/{self.dim}) directions weighted s_j = j^-{self.spectrum} "
                f"(unit norm), g ~ N(0,I_{self.subspace})"
            )
        else:
            var = (
                f"B: ONE random orthogonal basis shared by all topics, weighted s_j = j^-{self.spectrum} "
                f"(unit norm), g ~ N(0,I_{self.dim})"
            )
        return (
            f"recipe '{self.recipe_name}': x = normalise({self.common}*m + C_k + {self.noise}*g@B_k + "
            f"{self.iso}*e/sqrt({self.dim})), k ~ Uniform{{0..{self.clusters - 1}}}, e ~ N(0,I); "
            f"m: one N(0,I) direction, L2-normalised; C_k = normalise((h_k*c)@Rc.T), h_k ~ N(0,I), "
            f"c_j = j^-{self.centre_spectrum}, Rc random orthogonal (QR of N(0,1)); {var}; parameters from "
            f"numpy default_rng([{self.seed},0]); data of size n from default_rng([{self.seed},1,n]) in "
            f"{CHUNK}-row chunks; queries from default_rng([{self.seed},2]), warm-up queries from "
            f"default_rng([{self.seed},3]), both with noise {self.query_noise} (never copies of data rows)"
        )

    def as_dict(self) -> dict:
        return {
            "recipe_name": self.recipe_name,
            "seed": self.seed,
            "dim": self.dim,
            "clusters": self.clusters,
            "noise": self.noise,
            "query_noise": self.query_noise,
            "iso": self.iso,
            "subspace": self.subspace,
            "spectrum": self.spectrum,
            "centre_spectrum": self.centre_spectrum,
            "common": self.common,
            "recipe": self.recipe(),
        }


def neighbourhood_stats(X: np.ndarray, Q: np.ndarray, gt_scores: np.ndarray, same_topic: float) -> dict:
    """How hard the data is: cosines of the exact neighbours against random pairs, LID, and the
    share of the exact top 10 that lies in the query's own topic."""
    sample = X[np.random.default_rng(12345).choice(len(X), min(2000, len(X)), replace=False)]
    random_cos = float((Q @ sample.T).mean())
    dist = np.sqrt(np.maximum(2.0 - 2.0 * gt_scores.astype(np.float64), 1e-12))  # unit vectors
    lid = -1.0 / np.minimum(np.mean(np.log(dist / dist[:, -1:]), axis=1), -1e-12)  # MLE on the top 10
    return {
        "cos_top1": float(gt_scores[:, 0].mean()),
        "cos_top10": float(gt_scores[:, K - 1].mean()),
        "cos_random": random_cos,
        "lid_median": float(np.median(lid)),
        "relative_contrast": float(np.sqrt(2 - 2 * random_cos) / dist[:, 0].mean()),
        "top10_same_topic": same_topic,
    }


# The benchmark ----------------------------------------------------------------------------


def ivf_of(vi: VectorIndex):
    return faiss.extract_index_ivf(vi._index)


def nprobe_attribute_reaches_faiss(vi: VectorIndex) -> bool:
    """Whether assigning VectorIndex.nprobe (as the retriever does) changes the FAISS index."""
    before = ivf_of(vi).nprobe
    vi.nprobe = before + 1
    reached = ivf_of(vi).nprobe == before + 1
    ivf_of(vi).nprobe = vi.nprobe = before
    return reached


def set_nprobe(vi: VectorIndex, nprobe: int) -> None:
    """Set nprobe on the wrapper and on the FAISS index itself (the attribute alone may not reach it)."""
    vi.nprobe = nprobe
    ivf_of(vi).nprobe = nprobe


def time_queries(vi: VectorIndex, Q: np.ndarray, W: np.ndarray) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Warm up, then one search(q[None], K) per query; latencies in ms, scores and ids."""
    for w in W:
        vi.search(w[None], K)
    lat, scores, ids = [], np.empty((len(Q), K), np.float32), np.empty((len(Q), K), np.int64)
    clock = time.perf_counter_ns
    for i, q in enumerate(Q):
        t0 = clock()
        s, j = vi.search(q[None], K)
        lat.append((clock() - t0) / 1e6)
        scores[i], ids[i] = s[0], j[0]
    return lat, scores, ids


def recall_at_k(gt: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / K for a, b in zip(gt, got)]))


def ids_set_mb(vi: VectorIndex) -> float:
    """Approximate size of the class's Python id set (table + int objects)."""
    s = vi._ids
    return (sys.getsizeof(s) + sum(sys.getsizeof(i) for i in s)) / 2**20


def build(kind: str, X: np.ndarray, args, n_train_req) -> tuple[VectorIndex, dict]:
    n = len(X)
    ids = np.arange(n, dtype=np.int64)
    gc.collect()
    rss0 = rss_mb()
    peak_ok = reset_peak()
    row: dict = {"kind": kind, "n": n}
    t0 = time.perf_counter()
    if kind == "flat":
        vi = VectorIndex.for_size(DIM, n, kind="flat")
        t1 = time.perf_counter()
        row["train_s"], row["n_train"] = 0.0, 0
    else:
        if args.nlist:
            vi = VectorIndex(DIM, "ivf", nlist=args.nlist, nprobe=args.nprobe)  # bypasses for_size's nlist
        else:
            vi = VectorIndex.for_size(DIM, n, kind="ivf", nprobe=args.nprobe)
        nlist = ivf_of(vi).nlist
        if n_train_req == "all":
            n_train = n  # what the application does: add() trains on everything it is given
        elif n_train_req == "auto":
            n_train = min(n, max(100_000, 40 * nlist))
        else:
            n_train = min(n, int(n_train_req))
        row["nlist"], row["n_train"] = nlist, n_train
        row["train_points_per_list"] = round(n_train / nlist, 1)
        row["faiss_train_warning"] = n_train < 39 * nlist  # faiss asks for >= 39 points per centroid
        vi.train(X[:n_train])  # rows are i.i.d., so a prefix is a random sample
        t1 = time.perf_counter()
        row["train_s"] = t1 - t0
    vi.add(ids, X)
    t2 = time.perf_counter()
    row["add_s"] = t2 - t1
    row["build_s"] = t2 - t0
    gc.collect()
    row["rss_growth_mb"] = rss_mb() - rss0
    row["rss_peak_growth_mb"] = (peak_mb() - rss0) if peak_ok else None
    row["ids_set_mb"] = ids_set_mb(vi)
    row["raw_vectors_mb"] = X.nbytes / 2**20
    # Serialised size (and what saving costs: serialize_index makes a full copy in memory).
    with tempfile.TemporaryDirectory(prefix="bench_faiss_") as tmp:
        path = Path(tmp) / f"{kind}.kfi"
        rss1 = rss_mb()
        peak_ok = reset_peak()
        t3 = time.perf_counter()
        vi.save(path)
        row["save_s"] = time.perf_counter() - t3
        row["save_peak_extra_mb"] = (peak_mb() - rss1) if peak_ok else None
        row["file_mb"] = path.stat().st_size / 2**20
    return vi, row


def fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'n':>9} {'kind':<4} {'nlist':>5} {'nprobe':>6} {'n_train':>8} {'train s':>8} {'add s':>7} "
        f"{'build s':>8} {'RSS +MB':>8} {'peak +MB':>9} {'file MB':>8} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['n']:>9} {r['kind']:<4} {fmt(r.get('nlist'), 'd'):>5} {fmt(r.get('nprobe'), 'd'):>6} "
            f"{r['n_train']:>8} {r['train_s']:>8.2f} {r['add_s']:>7.2f} {r['build_s']:>8.2f} "
            f"{r['rss_growth_mb']:>8.0f} {fmt(r['rss_peak_growth_mb'], '.0f'):>9} {r['file_mb']:>8.0f} "
            f"{r['p50_ms']:>8.3f} {r['p95_ms']:>8.3f} {fmt(r.get('recall_at_10'), '.4f', 'exact'):>9}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated vector counts")
    ap.add_argument("--queries", type=int, default=300, help="timed single-vector queries per measurement")
    ap.add_argument("--warmup", type=int, default=30, help="untimed queries before each timed run")
    ap.add_argument("--nprobe", type=int, default=32, help="ivf nprobe of the per-size table (ivf_nprobe setting)")
    ap.add_argument("--nprobe-sweep", default="8,16,32,64", help="nprobe values swept at the largest size")
    ap.add_argument(
        "--nlist",
        type=int,
        default=0,
        help="override nlist (bypasses VectorIndex.for_size's 4*sqrt(n)); for exploration only",
    )
    ap.add_argument(
        "--train-size",
        default="auto",
        help="ivf training sample: 'auto' = min(n, max(100000, 40*nlist)), 'all', or a number",
    )
    ap.add_argument("--kinds", default="flat,ivf", help="'flat,ivf' (flat is needed for recall)")
    ap.add_argument("--omp-threads", type=int, default=0, help="FAISS OpenMP threads (0: FAISS's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--recipe",
        choices=("topics", "shared"),
        default="topics",
        help="synthetic data: 'topics' (default) or 'shared' (a stress case; see Synth)",
    )
    ap.add_argument("--clusters", type=int, default=2000, help="number of topic centres")
    ap.add_argument("--noise", type=float, default=1.0, help="within-topic variation (norm, centres have norm 1)")
    ap.add_argument(
        "--query-noise", type=float, default=None, help="within-topic variation of the queries (default: --noise)"
    )
    ap.add_argument("--iso", type=float, default=0.5, help="norm of the isotropic noise added to every vector")
    ap.add_argument("--subspace", type=int, default=16, help="directions of variation per topic ('topics')")
    ap.add_argument("--spectrum", type=float, default=0.5, help="decay exponent of the within-topic variation")
    ap.add_argument(
        "--centre-spectrum",
        type=float,
        default=1.0,
        help="decay exponent of the centres' spectrum (0 = independent isotropic centres)",
    )
    ap.add_argument("--common", type=float, default=2.83, help="weight of the shared offset direction")
    args = ap.parse_args(argv)

    started, started_wall = time.perf_counter(), dt.datetime.now(dt.UTC)
    cpu0 = cpu_busy_s()
    if args.omp_threads > 0:
        faiss.omp_set_num_threads(args.omp_threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    sweep = [int(s) for s in args.nprobe_sweep.split(",") if s]
    kinds = [k for k in args.kinds.split(",") if k]
    synth = Synth(
        args.seed,
        DIM,
        args.clusters,
        args.noise,
        args.noise if args.query_noise is None else args.query_noise,
        args.iso,
        args.subspace,
        args.spectrum,
        args.centre_spectrum,
        args.common,
        args.recipe,
    )
    machine = {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "omp_threads": faiss.omp_get_max_threads(),
        "faiss_simd": faiss.get_compile_options(),
        "loadavg_at_start": os.getloadavg(),
    }
    print(f"# bench_faiss  {started_wall.isoformat(timespec='seconds')}  command: {' '.join(sys.argv)}")
    print(f"# machine: {machine}")
    print(f"# data: {synth.recipe()}")
    print(
        f"# queries: {args.queries} timed single-vector search(q[None], {K}) calls after {args.warmup} warm-up "
        f"calls; ivf nprobe {args.nprobe}; train sample {args.train_size}"
        + (f"; nlist override {args.nlist}" if args.nlist else "; nlist from VectorIndex.for_size (4*sqrt(n))"),
        flush=True,
    )

    (Q, q_topics), W = synth.queries(args.queries), synth.warmup(args.warmup)
    rows, sweep_rows, stats, phases = [], [], {}, []
    nprobe_attr_reaches_faiss = None
    for n in sizes:
        t_gen = time.perf_counter()
        X, x_topics = synth.data(n)
        phases.append({"n": n, "phase": "generate", "s": time.perf_counter() - t_gen})
        print(
            f"\n## n = {n}: data generated in {phases[-1]['s']:.1f} s ({X.nbytes / 2**20:.0f} MB), "
            f"RSS {rss_mb():.0f} MB",
            flush=True,
        )
        gt = None
        for kind in kinds:
            t_kind = time.perf_counter()
            vi, row = build(kind, X, args, args.train_size)
            if kind == "ivf":
                nprobe_attr_reaches_faiss = nprobe_attribute_reaches_faiss(vi)
                set_nprobe(vi, args.nprobe)
                row["nprobe"] = args.nprobe
                faiss.cvar.indexIVF_stats.reset()
            lat, scores, ids = time_queries(vi, Q, W)
            row["p50_ms"], row["p95_ms"], row["mean_ms"] = pct(lat, 50), pct(lat, 95), float(np.mean(lat))
            if kind == "flat":
                gt = ids
                stats[n] = neighbourhood_stats(X, Q, scores, float(np.mean(x_topics[ids] == q_topics[:, None])))
            else:
                row["ndis_per_query"] = faiss.cvar.indexIVF_stats.ndis / (len(Q) + len(W))
                row["recall_at_10"] = recall_at_k(gt, ids) if gt is not None else None
            rows.append(row)
            print(
                f"  {kind}: build {row['build_s']:.2f} s (train {row['train_s']:.2f} on {row['n_train']}, "
                f"add {row['add_s']:.2f}), RSS +{row['rss_growth_mb']:.0f} MB "
                f"(peak +{fmt(row['rss_peak_growth_mb'], '.0f')}, Python id set ~{row['ids_set_mb']:.0f}), "
                f"file {row['file_mb']:.0f} MB (save {row['save_s']:.1f} s, peak +"
                f"{fmt(row['save_peak_extra_mb'], '.0f')} MB), p50 {row['p50_ms']:.3f} ms, "
                f"p95 {row['p95_ms']:.3f} ms"
                + (f", recall@10 {row['recall_at_10']:.4f}" if row.get("recall_at_10") is not None else ""),
                flush=True,
            )
            if kind == "ivf" and n == sizes[-1] and sweep:
                for p in sweep:
                    set_nprobe(vi, p)
                    faiss.cvar.indexIVF_stats.reset()
                    lat, _, ids = time_queries(vi, Q, W)
                    sr = {
                        "n": n,
                        "nlist": row["nlist"],
                        "nprobe": p,
                        "p50_ms": pct(lat, 50),
                        "p95_ms": pct(lat, 95),
                        "mean_ms": float(np.mean(lat)),
                        "ndis_per_query": faiss.cvar.indexIVF_stats.ndis / (len(Q) + len(W)),
                        "recall_at_10": recall_at_k(gt, ids) if gt is not None else None,
                    }
                    sweep_rows.append(sr)
                    print(
                        f"  sweep nprobe {p}: p50 {sr['p50_ms']:.3f} ms, p95 {sr['p95_ms']:.3f} ms, "
                        f"recall@10 {fmt(sr['recall_at_10'], '.4f')}, "
                        f"{sr['ndis_per_query']:.0f} vectors scanned/query",
                        flush=True,
                    )
            del vi
            gc.collect()
            phases.append({"n": n, "phase": kind, "s": time.perf_counter() - t_kind})
        if n in stats:
            st = stats[n]
            print(
                f"  data difficulty: query-top1 cos {st['cos_top1']:.3f}, top10 {st['cos_top10']:.3f}, random "
                f"{st['cos_random']:.3f}; LID (MLE, top 10) median {st['lid_median']:.1f}; relative contrast "
                f"{st['relative_contrast']:.2f}; exact top 10 in the query's topic {st['top10_same_topic']:.2f}",
                flush=True,
            )
        del X, x_topics, gt
        gc.collect()

    total_s = time.perf_counter() - started
    print(
        "\n# Results (latency: one query per search call; RSS +MB: resident-set growth from building; "
        "file MB: size written by save())"
    )
    print_table(rows)
    if sweep_rows:
        print(f"\n# nprobe sweep, ivf, n = {sweep_rows[0]['n']}, nlist = {sweep_rows[0]['nlist']}")
        print(
            f"{'nprobe':>6} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9} {'scanned/q':>10}"
            "  target p95<=10ms & recall>=0.95"
        )
        for s in sweep_rows:
            ok = s["recall_at_10"] is not None and s["p95_ms"] <= 10 and s["recall_at_10"] >= 0.95
            print(
                f"{s['nprobe']:>6} {s['p50_ms']:>8.3f} {s['p95_ms']:>8.3f} {fmt(s['recall_at_10'], '.4f'):>9} "
                f"{s['ndis_per_query']:>10.0f}  {'yes' if ok else 'no'}"
            )
    if nprobe_attr_reaches_faiss is False:
        print(
            "\n# NOTE: setting VectorIndex.nprobe did not change the FAISS index's nprobe; the benchmark set "
            "it on the FAISS index directly (the retriever's `passage_index.nprobe = settings.ivf_nprobe` "
            "has no effect)."
        )
    machine["loadavg_at_end"] = os.getloadavg()
    cpu1 = cpu_busy_s()
    machine["own_cores_used_avg"] = (cpu1[1] - cpu0[1]) / total_s
    machine["other_cores_used_avg"] = max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])) / total_s
    print(
        f"\n# total run time {total_s:.1f} s; this process used {machine['own_cores_used_avg']:.2f} cores on "
        f"average, other processes {machine['other_cores_used_avg']:.2f} of the {machine['nproc']} "
        f"(load average at start {machine['loadavg_at_start'][0]:.2f}, at end {machine['loadavg_at_end'][0]:.2f})"
    )
    result = {
        "started": started_wall.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "args": vars(args),
        "machine": machine,
        "data": synth.as_dict(),
        "k": K,
        "results": rows,
        "nprobe_sweep": sweep_rows,
        "data_stats": {str(k): v for k, v in stats.items()},
        "nprobe_attribute_reaches_faiss": nprobe_attr_reaches_faiss,
        "phases": phases,
        "total_s": total_s,
    }
    print(json.dumps(result, default=float), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
