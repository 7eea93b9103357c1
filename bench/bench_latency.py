"""Query latency on the shipped knowledge base and encoding throughput of each model.

Needs the index built (`kefu index build`). Questions are read from a dev.jsonl-style
file and repeated; each search is timed warm, one at a time. Encoding throughput
encodes the knowledge base's passages (with context) without the cache.

    .venv/bin/python bench/bench_latency.py [--questions ../shared/eval/dev.jsonl] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from indexer.chunker import chunk_article
from indexer.encoder import Encoder
from indexer.evaluate import load_questions
from indexer.retriever import Retriever
from indexer.settings import load_settings
from kb.database import Database
from kb.loader import load_knowledge_base
from kb.store import Store

ROOT = Path(__file__).resolve().parent.parent


def percentiles(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "max_ms": round(max(ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    encoders = Encoder.all_from_settings(settings)
    retriever = Retriever.load(Store(Database.open(settings.database)), encoders, settings)
    questions = [q.q for q in load_questions(args.questions)]
    retriever.search("预热")
    times = []
    for _ in range(args.rounds):
        for q in questions:
            started = time.perf_counter()
            retriever.search(q)
            times.append((time.perf_counter() - started) * 1000)
    results = {"search": percentiles(times)}
    for encoder in encoders:  # the query-encoding share of a search
        enc = []
        for q in questions:
            started = time.perf_counter()
            encoder.encode([q], "query")
            enc.append((time.perf_counter() - started) * 1000)
        results[f"query_encode_{encoder.model_name}"] = percentiles(enc)

    articles, _ = load_knowledge_base(settings.kb_dir)
    contexts = [p.context for a in articles for p in chunk_article(a)]
    for encoder in encoders:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            encoder.encode(contexts, "passage")
            runs.append(len(contexts) / (time.perf_counter() - started))
        results[f"encode_throughput_{encoder.model_name}"] = {
            "passages": len(contexts),
            "median_passages_per_s": round(statistics.median(runs), 1),
            "mean_chars": round(sum(map(len, contexts)) / len(contexts), 1),
        }
    for name, r in results.items():
        print(f"{name:34} {r}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
