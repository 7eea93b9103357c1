"""Serve the web app with waitress (the production WSGI server), sized by settings.

    .venv/bin/python -m web.serve      # web_host, web_port, web_threads from settings

Also, every hour, expires imports left unsaved for a day (web/kb_import.py), and once a day deletes records
past retention_days (kb/desk/retention.py).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from indexer.settings import Settings

log = logging.getLogger("kefu.web")
DAY = 24 * 3600
HOUR = 3600


def housekeeping(settings: Settings, stop: threading.Event) -> None:
    """Every hour until stop is set: expire curators' imports left unsaved for a day (their uploaded
    documents are deleted); once a day, delete what is older than retention_days (0: never)."""
    from kb.database import Database
    from kb.desk.retention import purge_with_bot
    from kb.importing.jobs import ImportJobs
    from web.kb_import import expire_imports

    last_purge = -float("inf")
    while not stop.is_set():
        try:
            db = Database.open(settings.database)
            try:
                expired = expire_imports(settings.data_dir, ImportJobs(db))
                if settings.retention_days and time.monotonic() - last_purge >= DAY:
                    last_purge = time.monotonic()
                    counts = purge_with_bot(db, settings.retention_days, settings.purgeable_tracker)
                    if any(counts.values()):
                        log.info("retention: deleted %s", counts)
            finally:
                db.close()
            if expired:
                log.info("imports expired: %s", len(expired))
        except Exception:  # housekeeping must never take the web app down; try again in an hour
            log.exception("housekeeping failed")
        stop.wait(HOUR)


# Searched once at start: the models' weights load on their first encoding, not with the retriever's indexes.
WARM_UP_QUESTION = "客服热线是24小时服务的吗"


def warm_up(app: Flask) -> None:
    """Load the retriever (indexes) and search once (the models' weights, the tokenizer's dictionaries), about
    10 s on two cores, before staff need it: the first hit test, policy lookup or gap list is then as fast as
    the rest (without the search, the first hit test after a start took about 10 s)."""
    try:
        with app.app_context():
            from web.db import retriever

            retriever().search(WARM_UP_QUESTION)
        log.info("retriever loaded")
    except Exception:  # the pages say what is wrong when used; never stop the server for this
        log.exception("could not load the retriever ahead of use")


def private_app(settings: Settings) -> Flask:
    """The web app of a server process: everything it writes in the data folder (database, uploads, keys) is
    owner-only, and what an older version left readable there is tightened first."""
    from kb.secret_files import keep_private
    from web import create_app

    keep_private(settings.data_dir)
    return create_app({"KEFU_SETTINGS": settings})


def main() -> None:
    from waitress import serve

    from indexer.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # httpx logs every request's URL at INFO, and Rasa takes its API token only in the URL ('?token='):
    # its warnings and errors are enough here.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings()
    app = private_app(settings)
    stop = threading.Event()
    threading.Thread(target=warm_up, args=(app,), name="kefu-warm-up", daemon=True).start()
    threading.Thread(target=housekeeping, args=(settings, stop), name="kefu-housekeeping", daemon=True).start()
    started = time.strftime("%H:%M:%S")
    log.info(
        "web app on http://%s:%s/ with %s threads (started %s)",
        settings.web_host,
        settings.web_port,
        settings.web_threads,
        started,
    )
    try:
        serve(
            app,
            host=settings.web_host,
            port=settings.web_port,
            threads=settings.web_threads,
            connection_limit=max(100, settings.web_threads * 50),
            backlog=2048,
            ident="kefu",
        )
    finally:
        stop.set()


if __name__ == "__main__":
    main()
