"""What the web app adds to the bot's own time, and how fast its pages render.

Starts the real action server, Rasa and the web app (waitress), then sends the same knowledge
questions alternately straight to Rasa's REST channel and through POST /api/chat, in one run,
new conversation each, and prints the medians and their difference. Needs the trained model and
the index in var/ (`make run` makes both).

    .venv/bin/python bench/bench_web.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # before tests/: its kb/ and web/ test folders would hide the packages
from servers import running_bot, running_web  # noqa: E402

QUESTIONS = [
    "客服热线是24小时服务的吗",
    "营业部的员工可以泄露客户信息吗",
    "考核不合格的员工怎么处理",
    "服务能力利用率多少最合适",
    "RACI模型是什么",
    "投诉处理完会回访吗",
]


def post(url: str, body: dict) -> float:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_bot(ROOT / "var", Path(tmp)) as bot,
        running_web(ROOT / "var", bot.rasa_port, Path(tmp)) as web,
    ):
        post(f"{web}/api/chat", {"text": QUESTIONS[0]})
        direct, through = [], []
        for _ in range(args.rounds):
            for q in QUESTIONS:
                direct.append(
                    post(f"{bot.rasa_url}/webhooks/rest/webhook", {"sender": f"d{uuid.uuid4().hex[:10]}", "message": q})
                )
                through.append(post(f"{web}/api/chat", {"text": q}))  # each opens a conversation
        pages = {path: statistics.median(get(web + path) for _ in range(20)) for path in ("/", "/login")}
    results = {
        "n": len(direct),
        "rasa_direct_median_ms": round(statistics.median(direct), 1),
        "via_web_median_ms": round(statistics.median(through), 1),
        "web_adds_median_ms": round(statistics.median(through) - statistics.median(direct), 1),
        "page_median_ms": {k: round(v, 1) for k, v in pages.items()},
    }
    for key, value in results.items():
        print(f"{key:24} {value}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
