"""What the actions need (settings, retriever, desk), built on first use, once per action server."""
from __future__ import annotations

import abc
import datetime as dt
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rasa_sdk import Action


@dataclass
class Services:
    """The retriever and the desk the actions work with; injected in tests."""

    settings: object
    retriever: object
    desk: object

    def in_service_hours(self, when: dt.datetime | None = None) -> bool:
        """Whether human agents are on duty now (service_hours in the configured time zone)."""
        return in_hours(self.settings.service_hours, self.settings.timezone, when)


def in_hours(hours: str, timezone: str, when: dt.datetime | None = None) -> bool:
    """Whether a moment falls inside 'HH:MM-HH:MM' local time (an end of 24:00 means midnight)."""
    local = (when or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(timezone))
    start, end = hours.split("-")
    minutes = local.hour * 60 + local.minute
    to_min = lambda s: int(s[:2]) * 60 + int(s[3:])
    return to_min(start) <= minutes < to_min(end)


_lock = threading.Lock()
_services: Services | None = None


def get_services() -> Services:
    """The process-wide services, loaded from settings the first time an action runs.

    A curator's edit re-indexes and saves; the next action sees the new index stamp and reloads
    the retriever (the encoders stay loaded), so the bot answers from the edit without a restart.
    """
    global _services
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever

    with _lock:
        if _services is None:
            from indexer.settings import load_settings
            from kb.desk import Desk
            from kb.store import Store

            settings = load_settings()
            store = Store.open(settings.db_path)
            retriever = Retriever.load(store, Encoder.all_from_settings(settings), settings)
            _services = Services(settings, retriever, Desk(store))
        elif _services.desk.store.index_stamp() != _services.retriever.stamp:
            encoders = [leg.encoder for leg in _services.retriever.legs]
            _services.retriever = Retriever.load(_services.desk.store, encoders, _services.settings)
        return _services


def latest_intent(tracker) -> str | None:
    """The intent NLU (or a button's payload) gave the latest user message."""
    return (tracker.latest_message.get("intent") or {}).get("name")


class KefuAction(Action, abc.ABC):
    """An action whose services are injected (tests) or loaded on first use (the action server)."""

    def __init__(self, services: Services | None = None):
        self._services = services

    @property
    def services(self) -> Services:
        """The retriever and desk this action works with."""
        return self._services or get_services()

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""
