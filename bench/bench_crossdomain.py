"""Answers on knowledge Kefu was never tuned on, as the customer reads them: the issue-12 figures in one run.

Builds throwaway workspaces (a copy of kb/ with ../shared/kb-extra's four documents brought in through
`kefu import`, and one with the forty distractors too), then runs the project's own commands:

- `kefu eval --leave-one-domain-out` over the shipped dev set and eval/kb_extra_dev.jsonl: each domain (the
  shipped base, each kb-extra document) judged by a decision fitted without it;
- `kefu eval` on the shipped dev set with the shipped calibration, and the same questions converted to
  Traditional characters (OpenCC s2twp);
- the same without kb/lexicon.txt (written knowing the four documents' subjects, though not their questions);
- the same in the workspace with the distractors (what more knowledge does to every figure, and latency);
- there, eval/kb_extra_test.jsonl: questions on eight of the distractors, written from the documents alone and
  never tuned on or read question by question (`kefu eval` with the shipped calibration: held out from everything);
  and eval/english_test.jsonl, English questions on eight other distractors, held out the same way;
- eval/english_dev.jsonl (English questions on the shipped base and the four documents; the shipped calibration
  is fitted on it, so in-sample) in the workspace with the four documents.

    .venv/bin/python bench/bench_crossdomain.py [--shared ../shared] [--skip-distractors] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEFU = [sys.executable, "-m", "indexer.cli"]
KEYS = ("recall_at_1", "recall_at_5", "answer_accuracy", "reply_accuracy", "false_abstain_rate")
UNANSWERABLE = "abstain_rate_unanswerable"


def kefu(env: dict[str, str], *args: str) -> dict:
    """One kefu command in a workspace; the JSON object it printed last ({} for commands that print none)."""
    out = subprocess.run([*KEFU, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1] if out.strip() else "{}"
    return json.loads(last) if last.startswith("{") else {}


def workspace(base: Path, name: str, documents: list[Path], lexicon: bool = True) -> dict[str, str]:
    """A copy of kb/ (without kb/lexicon.txt when lexicon is False) with documents imported and indexed;
    the environment that points kefu at it."""
    kb = base / name / "kb"
    shutil.copytree(ROOT / "kb", kb)
    if not lexicon:
        (kb / "lexicon.txt").unlink()
    env = {**os.environ, "KEFU_KB_DIR": str(kb), "KEFU_DATA_DIR": str(base / name / "var")}
    kefu(env, "index", "build")
    if documents:
        kefu(env, "import", *map(str, documents))
    return env


def traditional(questions: Path, out: Path) -> Path:
    """The same questions in Traditional characters (OpenCC s2twp: Taiwan usage, as customers there type)."""
    import opencc

    convert = opencc.OpenCC("s2twp").convert
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    out.write_text("".join(json.dumps({**r, "q": convert(r["q"])}, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return out


def figures(
    env: dict[str, str], dev: Path, dev_tw: Path, cross: Path | None, test: dict[str, Path] | None = None
) -> dict:
    shipped = {
        "shipped": kefu(env, "eval", "--questions", str(dev), "--json"),
        "shipped_traditional": kefu(env, "eval", "--questions", str(dev_tw), "--json"),
    }
    if cross is None:
        return shipped
    english = ROOT / "eval" / "english_dev.jsonl"
    if not test:
        shipped["english_dev"] = kefu(env, "eval", "--questions", str(english), "--json")
    lodo = kefu(env, "eval", "--questions", str(dev), "--questions", str(cross), "--leave-one-domain-out", "--json")
    by_domain = lodo.pop("by_domain")
    docs = [v for d, v in by_domain.items() if d != dev.stem]
    pooled = {k: round(sum(v[k] for v in docs) / len(docs), 4) for k in (*KEYS, UNANSWERABLE)}
    held_out = {label: kefu(env, "eval", "--questions", str(path), "--json") for label, path in (test or {}).items()}
    return {
        **held_out,
        "cross_domain_lodo": pooled,
        "by_domain_lodo": by_domain,
        **shipped,
        "latency_all_questions": {k: lodo[k] for k in ("p50_ms", "p95_ms")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--skip-distractors", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    extra = sorted((args.shared / "kb-extra").glob("*.md"))
    extra = [p for p in extra if p.name != "README.md"]
    distractors = sorted((args.shared / "kb-extra" / "distractors").glob("*.md"))
    dev, cross = args.shared / "eval" / "dev.jsonl", ROOT / "eval" / "kb_extra_dev.jsonl"
    test = {
        "held_out_test": ROOT / "eval" / "kb_extra_test.jsonl",
        "held_out_english": ROOT / "eval" / "english_test.jsonl",
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="kefu-xd-") as tmp:
        base = Path(tmp)
        dev_tw = traditional(dev, base / "dev_traditional.jsonl")
        results["shipped base"] = figures(workspace(base, "shipped", []), dev, dev_tw, None)
        results["shipped + 4 documents"] = figures(workspace(base, "four", extra), dev, dev_tw, cross)
        # The lexicon was written knowing the four documents' subjects (not their questions): without it.
        results["shipped + 4, no lexicon"] = figures(workspace(base, "nolex", extra, lexicon=False), dev, dev_tw, cross)
        if not args.skip_distractors:
            env = workspace(base, "many", extra + distractors)
            results["shipped + 4 + 40 distractors"] = figures(env, dev, dev_tw, cross, test)
    print(f"{'knowledge base':32} {'set':24} " + " ".join(f"{k[:14]:>14}" for k in (*KEYS, UNANSWERABLE)))
    for name, r in results.items():
        for label in (
            "held_out_test",
            "held_out_english",
            "cross_domain_lodo",
            "shipped",
            "shipped_traditional",
            "english_dev",
        ):
            if label in r:
                row = r[label]
                print(f"{name:32} {label:24} " + " ".join(f"{row[k]:>14.4f}" for k in (*KEYS, UNANSWERABLE)))
        if "latency_all_questions" in r:
            print(f"{name:32} latency p50/p95 ms: {r['latency_all_questions']}")
    print(json.dumps(results, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
