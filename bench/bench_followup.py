"""Follow-up questions as the customer reads the replies: issue 13's figures in one run.

Builds a throwaway workspace (a copy of kb/ with ../shared/kb-extra's four documents brought in through
`kefu import`), then runs the project's own command on each conversations file, twice side by side: as the bot
plays it (the topic carried from turn to turn) and with every turn read alone (as before the bot kept a topic).
eval/conversations_dev.jsonl is what the rules were tuned on; eval/conversations.jsonl was written beside it and
only measured until 2026-12-06, when its failures were read (tuned on since); eval/conversations_dev2.jsonl (written
2026-12-06 on eight other distractors, played beside them) is tuned on; eval/conversations_test.jsonl is on
eight of the distractor regulations, written from the documents alone and never tuned on (played in a second
workspace that also holds those eight documents).

    .venv/bin/python bench/bench_followup.py [--shared ../shared] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench_crossdomain import ROOT, kefu, workspace

SETS = {
    "dev (tuned on)": ROOT / "eval" / "conversations_dev.jsonl",
    "read 2026-12-06": ROOT / "eval" / "conversations.jsonl",  # held out until its failures were read
    "dev, unseen documents": ROOT / "eval" / "conversations_dev2.jsonl",  # eight other distractors, tuned on
    "held out, unseen documents": ROOT / "eval" / "conversations_test.jsonl",
}


def documents_of(path: Path, folder: Path) -> list[Path]:
    """The documents of folder that a conversations file's rows name in their "doc" field."""
    names = {json.loads(line).get("doc") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    return [p for p in sorted(folder.glob("*.md")) if p.stem in names]


KEYS = ("followup_accuracy", "subject_change_accuracy", "abstain_rate_unanswerable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    extra = [p for p in sorted((args.shared / "kb-extra").glob("*.md")) if p.name != "README.md"]
    results = {}
    with tempfile.TemporaryDirectory(prefix="kefu-fu-") as tmp:
        four = workspace(Path(tmp), "four", extra)
        for n, (name, path) in enumerate(SETS.items()):
            env = four
            if unseen := documents_of(path, args.shared / "kb-extra" / "distractors"):
                env = workspace(Path(tmp), f"unseen-{n}", extra + unseen)
            results[name] = {
                "with topic": kefu(env, "eval", "--conversations", str(path), "--json"),
                "each turn alone": kefu(env, "eval", "--conversations", str(path), "--each-turn-alone", "--json"),
            }
    print(f"{'set':28} {'reading':16} " + " ".join(f"{k:>26}" for k in KEYS))
    for name, runs in results.items():
        for reading, row in runs.items():
            print(f"{name:28} {reading:16} " + " ".join(f"{row[k]:>26.4f}" for k in KEYS))
    print(json.dumps(results, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
