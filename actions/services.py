"""What the actions need (settings, retriever, desk), built on first use, once per action server."""
from __future__ import annotations

import abc
import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rasa_sdk import Action

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The retriever and the desk the actions work with; injected in tests.

    retriever is None while the saved index cannot be loaded (problem says why): the bot then says
    it cannot answer right now and still hands over to a human, which needs only the desk.
    """

    settings: object
    retriever: object | None
    desk: object
    encoders: list = field(default_factory=list)
    problem: str = ""
    failed_stamp: str | None = None

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
    with _lock:
        if _services is None:
            from indexer.encoder import Encoder
            from indexer.settings import load_settings
            from kb.desk import Desk
            from kb.store import Store

            settings = load_settings()
            _services = Services(settings, None, Desk(Store.open(settings.db_path)),
                                 Encoder.all_from_settings(settings))
            _load_retriever(_services)
        else:
            stamp = _services.desk.store.index_stamp()
            loaded = _services.retriever.stamp if _services.retriever is not None else None
            if stamp != loaded and stamp != _services.failed_stamp:
                _load_retriever(_services)
        return _services


def _load_retriever(services: Services) -> None:
    """(Re)load the retriever from the saved index; on failure keep the one serving, and say why once."""
    from indexer.retriever import IndexStaleError, Retriever
    from indexer.vector_index import IndexError_

    from indexer.build import repair_index

    stamp = services.desk.store.index_stamp()
    try:
        try:
            services.retriever = Retriever.load(services.desk.store, services.encoders, services.settings)
        except IndexStaleError as exc:  # a build or edit died between its database commit and its index save
            log.warning("kefu: %s; rebuilding it from the database", exc)
            repair_index(services.desk.store, services.encoders, services.settings)
            services.retriever = Retriever.load(services.desk.store, services.encoders, services.settings)
        services.problem, services.failed_stamp = "", None
    except (IndexError_, IndexStaleError) as exc:
        services.problem, services.failed_stamp = str(exc), stamp
        if services.retriever is None:
            log.error("kefu: the knowledge base cannot answer until this is fixed: %s", exc)
        else:
            log.error("kefu: the new index did not load, the previous one keeps serving: %s", exc)


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
