"""Fault drill: kill -9 each server under load, then a re-index, and check that nothing committed is lost.

Starts the action server, Rasa and the web app on copies of var/ and kb/, with customers chatting
(think time 1-3 s, one in ten asking for a human) and a curator saving Q&A entries through the
editor. Then, in turn: kill -9 the web app, the action server, the Rasa server, each down for a
while and started again. Then kill -9 `kefu index build` at several moments of a re-index.

Prints, per phase, what the customers got (answers, graceful "try again / human" replies,
refused connections, errors), then the checks: every message the API accepted is in the
database, every handoff has its ticket, every saved edit is on disk, in the index and answered,
and the index still matches the database after each killed re-index.

    .venv/bin/python bench/fault_drill.py [--customers 20] [--down 8]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # before tests/: its kb/ and web/ test folders would hide the packages
from bench_load import DEGRADED, questions  # noqa: E402
from servers import System  # noqa: E402


class Customers:
    """Customer threads chatting through the API; each request's outcome is recorded with its phase."""

    def __init__(self, base: str, count: int, seed: int = 11):
        self.base, self.count, self.phase = base, count, "start"
        self.records: list[dict] = []
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.pool = questions()
        self.threads = [
            threading.Thread(target=self.run, args=(random.Random(seed + i),), daemon=True) for i in range(count)
        ]

    def run(self, rng: random.Random) -> None:
        with httpx.Client(timeout=30.0) as client:
            while not self.stop.is_set():
                conversation: dict = {}  # the first message opens it: the server's id and key come back
                turns = [rng.choice(self.pool) for _ in range(2)] + (["转人工"] if rng.random() < 0.1 else [])
                for text in turns:
                    if self.stop.is_set():
                        return
                    self.records.append(self.ask(client, conversation, text))
                    self.stop.wait(rng.uniform(1, 3))

    def ask(self, client: httpx.Client, conversation: dict, text: str) -> dict:
        """Send one message in the conversation (opened by the first, whose id and key it then keeps)."""
        record = {"phase": self.phase, "session": conversation.get("session"), "text": text}
        body = {"session": conversation["session"], "text": text} if conversation else {"text": text}
        headers = {"X-Kefu-Key": conversation["key"]} if conversation else {}
        try:
            response = client.post(f"{self.base}/api/chat", json=body, headers=headers)
        except httpx.HTTPError as exc:
            return {**record, "outcome": "refused", "detail": type(exc).__name__}
        if response.status_code != 200:
            return {**record, "outcome": "error", "detail": str(response.status_code)}
        body = response.json()
        if "key" in body:
            conversation.update(session=body["session"], key=body["key"])
            record["session"] = body["session"]
        degraded = any(DEGRADED in m["text"] for m in body["messages"])
        outcome = "degraded" if degraded else ("answered" if body["messages"] or body["state"] != "bot" else "silent")
        return {**record, "outcome": outcome, "state": body["state"]}

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=40)


class Curator:
    """A curator saving new Q&A entries through the editor pages, as a browser would."""

    def __init__(self, base: str, name: str, password: str):
        self.base, self.saved = base, []
        self.client = httpx.Client(base_url=base, timeout=60.0, follow_redirects=False)
        self.name, self.password = name, password

    def sign_in(self) -> None:
        page = self.client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self.client.post("/login", data={"name": self.name, "password": self.password, "csrf_token": token})

    def add_entry(self, n: int) -> bool:
        """Save one new entry; True when the app said it was saved."""
        try:
            page = self.client.get("/curator/kb/faq/new")
            if page.status_code != 200:  # the web app restarted: sessions survive it (server-side)
                self.sign_in()
                page = self.client.get("/curator/kb/faq/new")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            entry = {
                "id": f"faq-drill-{n}",
                "question": f"演练问题第{n}号营业厅停车收费吗",
                "answer": f"演练答案{n}：门前车位免费停车一小时。",
                "article": "china-mobile-business-hall-manual",
                "base": "",
                "csrf_token": token,
            }
            response = self.client.post("/curator/kb/faq/save", data=entry)
        except httpx.HTTPError:
            return False
        if response.status_code == 302:
            self.saved.append(entry)
            return True
        return False


def phase_table(records: list[dict]) -> list[dict]:
    rows = []
    for phase in dict.fromkeys(r["phase"] for r in records):
        counts = Counter(r["outcome"] for r in records if r["phase"] == phase)
        rows.append({"phase": phase, "requests": sum(counts.values()), **counts})
    return rows


def check_data(system: System, data: Path, kb: Path, customers: Customers, curator: Curator) -> dict:
    """Nothing the system accepted is lost."""
    from indexer.build import check_index
    from indexer.settings import load_settings
    from kb.database import Database
    from kb.desk.conversations import Conversations
    from kb.desk.tickets import Tickets
    from kb.store import Store

    db = Database.open(data / "kefu.db")
    store, conversations = Store(db), Conversations(db)
    accepted = [r for r in customers.records if r["outcome"] in ("answered", "degraded", "silent")]
    missing = [
        r
        for r in accepted
        if r["text"] not in {m["text"] for m in conversations.messages(r["session"]) if m["from"] == "customer"}
    ]
    queued = {r["session"] for r in accepted if r.get("state") == "queued"}
    tickets = {t.conversation_id for t in Tickets(db).recent(None, limit=100000)}
    settings = load_settings(environ={"KEFU_DATA_DIR": str(data), "KEFU_KB_DIR": str(kb)})
    faqs = {e.id for e in store.faqs()}
    edits_missing = [
        e["id"] for e in curator.saved if e["id"] not in faqs or not (kb / "faq" / f"{e['id']}.yml").is_file()
    ]
    answered = 0
    with httpx.Client(timeout=60.0) as client:
        for entry in curator.saved:
            body = client.post(
                f"{system.web_url}/api/chat",
                json={"text": entry["question"]},
            ).json()
            answered += any(entry["answer"][:8] in m["text"] for m in body["messages"])
    return {
        "messages_accepted": len(accepted),
        "messages_missing": len(missing),
        "handoffs_queued": len(queued),
        "tickets_missing": len(queued - tickets),
        "edits_saved": len(curator.saved),
        "edits_missing": edits_missing,
        "edits_answered": answered,
        "index_problems": check_index(store, settings),
    }


def killed_reindex(data: Path, kb: Path, delays: list[float]) -> list[dict]:
    """Change an article, start `kefu index build`, kill -9 it after each delay; check the index each time."""
    article = kb / "articles" / "company-service-policy.md"
    text = article.read_text(encoding="utf-8")
    env = {
        "KEFU_DATA_DIR": str(data),
        "KEFU_KB_DIR": str(kb),
        "KEFU_CONFIG": str(data / "none.toml"),
        "PATH": str(ROOT / ".venv" / "bin"),
    }
    kefu = str(ROOT / ".venv" / "bin" / "kefu")
    results = []
    for i, delay in enumerate(delays):
        article.write_text(
            text + f"\n\n## 演练附则{i}\n\n第九十九条 本制度第{i}次演练修订，所有员工应当熟知本制度。\n",
            encoding="utf-8",
        )
        build = subprocess.Popen(
            [kefu, "index", "build"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        finished = build.poll() is not None
        build.kill()
        build.wait()
        check = subprocess.run([kefu, "index", "check"], env=env, capture_output=True, text=True)
        repaired = check
        if check.returncode:  # what the servers do at start-up (scripts/run-servers)
            repaired = subprocess.run([kefu, "index", "check", "--repair"], env=env, capture_output=True, text=True)
        results.append(
            {
                "killed_after_s": delay,
                "build_had_finished": finished,
                "index_check": check.returncode == 0,
                "after_repair": repaired.returncode == 0,
                "message": (check.stderr or check.stdout).strip().replace(str(data), "var")[:200],
            }
        )
    final = subprocess.run([kefu, "index", "build"], env=env, capture_output=True, text=True)
    check = subprocess.run([kefu, "index", "check"], env=env, capture_output=True, text=True)
    results.append(
        {
            "killed_after_s": None,
            "build_had_finished": final.returncode == 0,
            "index_check": check.returncode == 0,
            "message": check.stdout.strip()[:160],
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--down", type=float, default=8.0, help="seconds each server stays down")
    parser.add_argument("--steady", type=float, default=12.0, help="seconds of load between faults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, kb = work / "var", work / "kb"
        shutil.copytree(ROOT / "var", data)
        shutil.copytree(ROOT / "kb", kb)
        from kb.database import Database
        from kb.desk.accounts import Accounts

        Accounts(Database.open(data / "kefu.db")).add("drill-curator", "drill-pass-1", "curator")
        system = System(data, work, kb, extra_env={"KEFU_CHAT_LIMIT_CLIENT": "0"})
        try:
            system.start("actions", "rasa", "web")
            httpx.post(f"{system.web_url}/api/chat", json={"text": "客服热线是24小时服务的吗"}, timeout=120)
            customers, curator = (
                Customers(system.web_url, args.customers),
                Curator(system.web_url, "drill-curator", "drill-pass-1"),
            )
            curator.sign_in()
            customers.start()
            timeline, edit = [], 0
            for name in ("web", "actions", "rasa"):
                customers.phase = f"steady before {name}"
                time.sleep(args.steady)
                edit += 1
                curator.add_entry(edit)
                customers.phase = f"{name} killed"
                started = time.perf_counter()
                system.kill(name)
                time.sleep(args.down)
                customers.phase = f"{name} restarting"
                system.start(name)
                timeline.append({"server": name, "down_s": round(time.perf_counter() - started, 1)})
            customers.phase = "after all restarts"
            time.sleep(args.steady)
            edit += 1
            curator.add_entry(edit)
            time.sleep(2)
            customers.finish()
            checks = check_data(system, data, kb, customers, curator)
            reindex = killed_reindex(data, kb, [0.5, 1.5, 3.0, 5.0, 8.0])
        finally:
            system.stop()
    print("phase                      requests  answered  degraded  refused  error  silent")
    for row in phase_table(customers.records):
        print(
            f"{row['phase']:<26} {row['requests']:>8} {row.get('answered', 0):>9} {row.get('degraded', 0):>9} "
            f"{row.get('refused', 0):>8} {row.get('error', 0):>6} {row.get('silent', 0):>7}"
        )
    print("servers down (kill -9 to answering again):", timeline)
    print("checks:", json.dumps(checks, ensure_ascii=False))
    for row in reindex:
        print("re-index:", json.dumps(row, ensure_ascii=False))
    print(
        json.dumps(
            {"phases": phase_table(customers.records), "timeline": timeline, "checks": checks, "reindex": reindex},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
