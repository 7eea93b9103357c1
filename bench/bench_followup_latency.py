"""The time of one follow-up turn (indexer.followup.converse: the message read alone and with its topic), warm,
one at a time, on the tuned conversation sets.

Runs in the knowledge base the settings name (KEFU_KB_DIR / KEFU_DATA_DIR, indexed). To compare two commits, run
it from a worktree of each on the same workspace, alternating, and quote medians of the runs:

    KEFU_KB_DIR=… KEFU_DATA_DIR=… .venv/bin/python bench/bench_followup_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's code, also when run from a worktree

SETS = (ROOT / "eval" / "conversations_dev.jsonl", ROOT / "eval" / "conversations.jsonl")


def main() -> None:
    from indexer.cli import _retriever
    from indexer.evaluate import load_conversations
    from indexer.followup import Topic, converse
    from indexer.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    retriever = _retriever(load_settings())
    conversations = [c for path in SETS for c in load_conversations(path)]
    times = []
    for _ in range(args.rounds):
        for c in conversations:
            topic = Topic()
            for text in c.turns[:-1]:
                _, _, topic = converse(text, topic, retriever)
            started = time.perf_counter()
            converse(c.turns[-1], topic, retriever)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        json.dumps(
            {
                "code": str(ROOT),
                "turns": len(times),
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * len(times))], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
