"""What the actions need (settings, the store, the desk, the retriever), built on first use, once per
action server; injected in tests."""

from __future__ import annotations

import abc
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rasa_sdk import Action, Tracker

if TYPE_CHECKING:  # the retriever pulls in FAISS and the models: never at import time (actions/ is imported at start)
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever
    from indexer.settings import Settings
    from kb.desk.service import Desk
    from kb.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The settings, store, desk and retriever the actions work with.

    retriever is None while the saved index cannot be loaded (problem says why): the bot then says
    it cannot answer right now and still hands over to a human, which needs only the desk.
    """

    settings: Settings
    store: Store
    desk: Desk
    retriever: Retriever | None = None
    encoders: list[Encoder] = field(default_factory=list)
    problem: str = ""
    failed_stamp: str | None = None


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
            from kb.database import Database
            from kb.desk.service import Desk
            from kb.store import Store

            settings = load_settings()
            db = Database.open(settings.database)
            _services = Services(
                settings, Store(db), Desk(db, settings.desk_policy), encoders=Encoder.all_from_settings(settings)
            )
            load_retriever(_services)
        else:
            stamp = _services.store.index_stamp()
            loaded = _services.retriever.stamp if _services.retriever is not None else None
            if stamp != loaded and stamp != _services.failed_stamp:
                load_retriever(_services)
        return _services


def load_retriever(services: Services) -> None:
    """(Re)load the retriever: this instance's index copies, brought up to date from the database when they
    are missing or behind it (a new machine, another instance's save, a killed build); on failure keep the
    one serving, and say why once."""
    from indexer.retriever import IndexStaleError, Retriever
    from indexer.vector_index import IndexError_

    stamp = services.store.index_stamp()
    try:
        services.retriever = Retriever.load(services.store, services.encoders, services.settings)
        services.problem, services.failed_stamp = "", None
    except (IndexError_, IndexStaleError) as exc:
        services.problem, services.failed_stamp = str(exc), stamp
        if services.retriever is None:
            log.error("kefu: the knowledge base cannot answer until this is fixed: %s", exc)
        else:
            log.error("kefu: the new index did not load, the previous one keeps serving: %s", exc)


def latest_intent(tracker: Tracker) -> str | None:
    """The intent NLU (or a button's payload) gave the latest user message."""
    return (tracker.latest_message.get("intent") or {}).get("name")


class KefuAction(Action, abc.ABC):
    """An action whose services are injected (tests) or loaded on first use (the action server)."""

    def __init__(self, services: Services | None = None):
        self._services = services

    @property
    def services(self) -> Services:
        """The settings, store, desk and retriever this action works with."""
        return self._services or get_services()

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""
