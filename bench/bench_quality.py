"""Answer quality side by side: BM25 alone, dense alone and the fused default, in one run.

Runs the project's own `kefu eval` and `kefu eval-faq` commands (the JSON object
each prints last) on shared/eval, once per configuration, and prints a table
plus one JSON object.

    .venv/bin/python bench/bench_quality.py [--eval-dir ../shared/eval] [--config NAME=--set,a=b ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEFU = [sys.executable, "-m", "indexer.cli"]

CONFIGS = {
    "bm25": ["fusion=bm25"],
    "dense": ["fusion=dense"],
    "fused (default)": [],
    "fused, no Q&A BM25": ["faq_lexical_weight=0"],
}


def run(sets: list[str], *args: str) -> dict:
    """One kefu command with settings overrides; returns the JSON object it printed last."""
    cmd = [*KEFU, *[x for s in sets for x in ("--set", s)], *args, "--json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument(
        "--config", action="append", default=[], help="extra configuration NAME=setting=value[;setting=value]"
    )
    args = parser.parse_args()
    configs = dict(CONFIGS)
    for spec in args.config:
        name, _, sets = spec.partition("=")
        configs[name] = [s for s in sets.split(";") if s]
    results = {}
    for name, sets in configs.items():
        dev = run(sets, "eval", "--questions", str(args.eval_dir / "dev.jsonl"))
        bq = run(sets, "eval-faq", "--pairs", str(args.eval_dir / "bq_dev.tsv"))
        results[name] = {"dev": dev, "bq": bq, "settings": sets}
        print(name, json.dumps(results[name], ensure_ascii=False), flush=True)
    cols = [
        ("dev", "recall_at_1"),
        ("dev", "recall_at_5"),
        ("dev", "mrr"),
        ("dev", "answer_accuracy"),
        ("dev", "false_abstain_rate"),
        ("dev", "abstain_rate_unanswerable"),
        ("dev", "p95_ms"),
        ("bq", "recall_at_1"),
        ("bq", "recall_at_5"),
        ("bq", "mrr"),
        ("bq", "p95_ms"),
    ]
    print(f"{'configuration':24}" + "".join(f"{f'{a}.{b}':>16}" for a, b in cols))
    for name, r in results.items():
        print(f"{name:24}" + "".join(f"{r[a][b]:>16}" for a, b in cols))
    base, fused = results["bm25"]["bq"], results["fused (default)"]["bq"]
    print(
        f"bq fused - bm25: recall_at_5 {fused['recall_at_5'] - base['recall_at_5']:+.4f}, "
        f"mrr {fused['mrr'] - base['mrr']:+.4f}"
    )
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
