"""The bot's domain as the tests read it: its responses, filled in the way Rasa fills them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from servers import ROOT


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """bot/domain.yml."""
    return yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))


def response_text(name: str, **values: Any) -> str:
    """A response's (first) text with its {variables} filled in, as Rasa's interpolator does."""
    template = domain()["responses"][name][0]["text"]
    return re.sub(r"{([^\n{}]+?)}", lambda m: str(values[m.group(1)]), template)


def rendered(message: dict[str, Any]) -> dict[str, Any]:
    """A message an action sent (CollectingDispatcher) as the customer reads it: a response's text filled
    in from the message's own values, as the Rasa server does before the REST channel sends it."""
    if message.get("response") and not message.get("text"):
        values = {k: v for k, v in message.items() if v is not None}
        buttons = message.get("buttons") or domain()["responses"][message["response"]][0].get("buttons", [])
        return {**message, "text": response_text(message["response"], **values), "buttons": buttons}
    return message
