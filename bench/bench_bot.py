"""The bot's figures: intent accuracy on held-out NLU data, REST round trip, memory of each server.

Needs the trained model (models/kefu.tar.gz) and the built index in var/ (`make run` does both,
or `make setup index models/kefu.tar.gz`).

    .venv/bin/python bench/bench_bot.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # before tests/: its kb/ and web/ test folders would hide the packages
from servers import MODEL, RASA, running_bot  # noqa: E402

QUESTIONS = [
    "客服热线是24小时服务的吗",
    "营业部的员工可以泄露客户信息吗",
    "考核不合格的员工怎么处理",
    "服务能力利用率多少最合适",
    "RACI模型是什么",
    "投诉处理完会回访吗",
    "公司的服务宗旨是什么",
    "What is the best capacity utilization rate?",
]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    for p in [pid, *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split())]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return round(total / 1024, 1)


def nlu_accuracy(out: Path) -> dict:
    subprocess.run(
        [str(RASA), "test", "nlu", "--model", str(MODEL), "--nlu", "bot/tests/nlu_heldout.yml", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    errors = (
        json.loads((out / "intent_errors.json").read_text(encoding="utf-8"))
        if (out / "intent_errors.json").exists()
        else []
    )
    return {
        "accuracy": round(report["accuracy"], 4),
        "weighted_f1": round(report["weighted avg"]["f1-score"], 4),
        "examples": report["weighted avg"]["support"],
        "errors": [(e["text"], e["intent"], e["intent_prediction"]["name"]) for e in errors],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"nlu_heldout": nlu_accuracy(Path(tmp) / "nlu")}
        with running_bot(ROOT / "var", Path(tmp)) as bot:
            bot.say("warm-up", QUESTIONS[0])
            times = []
            for _ in range(args.rounds):
                for q in QUESTIONS:
                    started = time.perf_counter()
                    replies = bot.say(f"bench-{uuid.uuid4().hex[:8]}", q)
                    times.append((time.perf_counter() - started) * 1000)
                    assert replies, q
            results["rest_round_trip_ms"] = {
                "n": len(times),
                "p50": round(float(np.percentile(times, 50)), 1),
                "p95": round(float(np.percentile(times, 95)), 1),
            }
            results["rss_mb"] = {"rasa": rss_mb(bot.rasa.pid), "actions": rss_mb(bot.actions.pid)}
    for key, value in results.items():
        print(f"{key:20} {value}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
