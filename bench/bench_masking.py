"""What masking every stored message with phonenumbers' finder costs (issue 14), side by side with the patterns
alone, on the customer messages of the shipped dev questions plus messages that carry numbers.

Each message is masked both ways in one run, interleaved, `--rounds` times; the figures are medians per
message in microseconds and their ratio.

    .venv/bin/python bench/bench_masking.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from kb.desk import privacy

ROOT = Path(__file__).resolve().parent.parent
WITH_NUMBERS = [
    "我的电话是 138-1234-5678，卡被吞了，请明天上午回电",
    "请回电 010-6234 5678，座机",
    "卡号6222021234567890123丢了，身份证110101199003074578",
    "１３８－１２３４－５６７８ 是我的手机",
    "邮箱 a.b@example.com，或者打 0755 8888 9999",
]


def patterns_only(text: str) -> str:
    """The masking before issue 14: the regular expressions alone."""
    for label, pattern in privacy._PATTERNS:
        text = pattern.sub(f"[{label}]", text)
    return text


def messages() -> list[str]:
    shared = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    questions = [json.loads(line)["q"] for line in shared.read_text(encoding="utf-8").splitlines() if line]
    return questions + WITH_NUMBERS * 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = messages()
    privacy.mask_personal_data("预热 13812345678")  # phonenumbers loads its metadata on first use
    timings: dict[str, list[float]] = {"patterns only": [], "phonenumbers + patterns": []}
    for _ in range(args.rounds):
        for text in texts:
            for name, mask in (
                ("patterns only", patterns_only),
                ("phonenumbers + patterns", privacy.mask_personal_data),
            ):
                started = time.perf_counter()
                mask(text)
                timings[name].append((time.perf_counter() - started) * 1e6)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{len(texts)} messages x {args.rounds} rounds")
    for name, value in medians.items():
        print(f"{name:26} median {value:8.1f} µs/message   p95 {statistics.quantiles(timings[name], n=20)[-1]:8.1f} µs")
    print(f"ratio {medians['phonenumbers + patterns'] / medians['patterns only']:.1f}x")


if __name__ == "__main__":
    main()
