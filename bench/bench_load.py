"""Load test: concurrent customer sessions through the chat API, on loopback.

Each virtual customer opens a session, asks knowledge questions (dev.jsonl's, or a built-in list)
with a think time between messages, and one session in ten then asks for a human. Customers
arrive spread over the first think time, not all at once. Sessions run
back to back for the length of each level. Prints, per level of concurrency: requests, throughput,
p50/p95/p99 latency, errors (non-200, timeouts, refused connections) and degraded replies
(the "bot unavailable" fallback).

By default it starts the real action server, Rasa and the web app on a copy of var/ (so the
load's conversations do not land in your database); --url points it at a running system instead (a web
instance, or HAProxy in front of several); --topology N starts `kefu topology` with N instances of each kind
on a copy of var/ (PostgreSQL, Redis, HAProxy: docs/DEPLOY.md) and loads it through HAProxy, so one instance
set and two compare on the same path and the same cores; --topology 1,2 runs both, one after the other, in
one run, and prints each set's figures side by side with their ratio.

    .venv/bin/python bench/bench_load.py [--levels 10,50,200] [--seconds 60] [--think 2,6]
        [--url URL | --topology N[,M]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # before tests/: its kb/ and web/ test folders would hide the packages
DEGRADED = "智能客服暂时无法回答"
FALLBACK_QUESTIONS = [
    "客服热线是24小时服务的吗",
    "营业部的员工可以泄露客户信息吗",
    "考核不合格的员工怎么处理",
    "服务能力利用率多少最合适",
    "RACI模型是什么",
    "投诉处理完会回访吗",
]


def questions() -> list[str]:
    """Knowledge questions: dev.jsonl's when the shared eval data is there, else a built-in few."""
    path = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if path.is_file():
        return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return FALLBACK_QUESTIONS


@dataclass
class Tally:
    """What one level of load saw."""

    latencies: list[float] = field(default_factory=list)
    bot: list[float] = field(default_factory=list)  # of which waiting for Rasa (Server-Timing)
    app: list[float] = field(default_factory=list)  # and the web app's own work
    errors: dict[str, int] = field(default_factory=dict)
    degraded: int = 0
    handoffs: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def customer(
    client: httpx.AsyncClient,
    base: str,
    pool: list[str],
    deadline: float,
    think: tuple[float, float],
    tally: Tally,
    rng: random.Random,
) -> None:
    """One virtual customer after another until the deadline. The first one arrives at a random moment
    within one think time, as customers do: all of them at once would measure a burst, not a load."""
    await asyncio.sleep(rng.uniform(0, think[1]))
    while time.perf_counter() < deadline:
        conversation: dict = {}  # the first message opens it: the server's id and key come back
        turns = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.1:
            turns.append("转人工")
        for text in turns:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"{base}/api/chat",
                    json={"session": conversation["session"], "text": text} if conversation else {"text": text},
                    headers={"X-Kefu-Key": conversation["key"]} if conversation else {},
                )
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    tally.error(f"http {response.status_code}")
                else:
                    tally.latencies.append(elapsed)
                    timing = dict(
                        part.strip().split(";dur=")
                        for part in response.headers.get("Server-Timing", "bot;dur=nan").split(",")
                    )
                    tally.bot.append(float(timing.get("bot", "nan")))
                    tally.app.append(float(timing.get("app", "nan")))
                    body = response.json()
                    if "key" in body:
                        conversation = {"session": body["session"], "key": body["key"]}
                    if any(DEGRADED in m["text"] for m in body["messages"]):
                        tally.degraded += 1
                    if body["state"] == "queued":
                        tally.handoffs += 1
            except httpx.TimeoutException:
                tally.error("timeout")
            except httpx.HTTPError as exc:
                tally.error(type(exc).__name__)
            await asyncio.sleep(rng.uniform(*think))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def level(base: str, sessions: int, seconds: float, think: tuple[float, float], seed: int) -> dict:
    """Run `sessions` concurrent customers for `seconds`; the figures."""
    pool, tally = questions(), Tally()
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(
            *(customer(client, base, pool, deadline, think, tally, random.Random(seed + i)) for i in range(sessions))
        )
        wall = time.perf_counter() - started
    n = len(tally.latencies)
    return {
        "sessions": sessions,
        "requests": n + sum(tally.errors.values()),
        "ok": n,
        "throughput_rps": round(n / wall, 1),
        "p50_ms": round(percentile(tally.latencies, 0.50)),
        "p95_ms": round(percentile(tally.latencies, 0.95)),
        "p99_ms": round(percentile(tally.latencies, 0.99)),
        "max_ms": round(max(tally.latencies, default=float("nan"))),
        "bot_p50_ms": round(percentile(tally.bot, 0.50)),
        "bot_p95_ms": round(percentile(tally.bot, 0.95)),
        "app_p50_ms": round(percentile(tally.app, 0.50)),
        "app_p95_ms": round(percentile(tally.app, 0.95)),
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "degraded": tally.degraded,
        "handoffs": tally.handoffs,
    }


UNLIMITED = {"chat_limit_client": 0, "chat_limit_reads_client": 0}


@contextlib.contextmanager
def topology(count: int, env: dict):
    """HAProxy's URL in front of `kefu topology` with count instances of each kind on a copy of var/ (env: settings
    as KEFU_NAME=value)."""
    from indexer.local_services import free_port
    from indexer.settings import load_settings
    from indexer.topology import Topology

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "var", Path(tmp) / "var")
        settings = load_settings(environ=env, overrides={"data_dir": Path(tmp) / "var", **UNLIMITED})
        with Topology(settings, Path(tmp) / "run", count, public_port=free_port(), throwaway=True) as running:
            print("\n".join(running.describe()), file=sys.stderr)
            yield running.public_url


@contextlib.contextmanager
def system(url: str | None, env: dict | None = None, count: int = 0):
    """The base URL: the given one, HAProxy's in front of count instance sets, or a fresh system on a copy of var/
    (env: extra environment)."""
    if url:
        yield url.rstrip("/")
        return
    if count:
        with topology(count, env or {}) as base:
            yield base
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        shutil.copytree(ROOT / "var", data)
        # One address sends every session's messages here: lift the per-client limits (the per-session ones stay).
        from servers import System

        unlimited = {"KEFU_CHAT_LIMIT_CLIENT": "0", "KEFU_CHAT_LIMIT_READS_CLIENT": "0"}
        bot = System(data, Path(tmp), extra_env={**unlimited, **(env or {})})
        try:
            bot.start("actions", "rasa", "web")
            yield bot.web_url
        finally:
            bot.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="10,50,200", help="concurrent sessions, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each level")
    parser.add_argument("--think", default="2,6", help="think time between a customer's messages, min,max seconds")
    parser.add_argument("--url", help="a running web app (default: start one on a copy of var/)")
    parser.add_argument(
        "--topology",
        default="0",
        metavar="N[,M]",
        help="start kefu topology with N instances of each kind (N,M: each in turn, compared)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of unmeasured load first")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the servers (e.g. a setting: KEFU_WEB_THREADS=8)",
    )
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))
    env = dict(item.split("=", 1) for item in args.env)
    counts = [int(x) for x in args.topology.split(",")]
    runs = {count: run(args, think, env, count) for count in counts}
    if len(runs) > 1:
        first, *others = counts
        for other in others:
            for a, b in zip(runs[first], runs[other]):
                print(
                    f"{a['sessions']:>4} sessions: p50 {a['p50_ms']} / {b['p50_ms']} ms, p95 {a['p95_ms']} / "
                    f"{b['p95_ms']} ms (x{b['p95_ms'] / max(a['p95_ms'], 1):.2f}), {a['throughput_rps']} / "
                    f"{b['throughput_rps']} req/s, errors {a['errors']} / {b['errors']}, degraded "
                    f"{a['degraded']} / {b['degraded']}  [{first} set(s) / {other} set(s)]"
                )
    print(
        json.dumps(
            {"think_seconds": think, "seconds_per_level": args.seconds, "runs": {str(k): v for k, v in runs.items()}},
            ensure_ascii=False,
        )
    )


def run(args: argparse.Namespace, think: tuple[float, ...], env: dict, count: int) -> list[dict]:
    """Every level against one system (count instance sets through HAProxy, or the default/--url one)."""
    results = []
    with system(args.url, env, count) as base:
        httpx.post(f"{base}/api/chat", json={"text": "客服热线是24小时服务的吗"}, timeout=120)
        if args.warmup:  # not measured: the servers finish loading (the web app warms its retriever in a thread)
            asyncio.run(level(base, 10, args.warmup, think, args.seed + 1000))
        for sessions in (int(x) for x in args.levels.split(",")):
            result = asyncio.run(level(base, sessions, args.seconds, think, args.seed))
            results.append(result)
            print(
                f"[{count or 'one'}] {sessions:>4} sessions: {result['requests']} requests, "
                f"{result['throughput_rps']} req/s, "
                f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms "
                f"(in Rasa: p50 {result['bot_p50_ms']}, p95 {result['bot_p95_ms']}; web app's own: "
                f"p50 {result['app_p50_ms']}, p95 {result['app_p95_ms']}), "
                f"errors {result['errors']} {result['error_kinds'] or ''}, degraded {result['degraded']}, "
                f"handoffs {result['handoffs']}",
                flush=True,
            )
    return results


if __name__ == "__main__":
    main()
