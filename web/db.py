"""The web app's one door to Kefu's services (flaskr's db.py, grown): the settings, the request's database
and what sits on it (store, desk), the process's retriever and Rasa client, and the knowledge editor.
Blueprints get their services from here and nowhere else."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from flask import Flask, current_app, g

from indexer.servers import rasa_token
from indexer.settings import Settings
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.audit import AuditLog
from kb.desk.contacts import ContactVault
from kb.desk.service import Desk
from kb.desk.supervision import Supervision
from kb.revisions import Revisions
from kb.store import Store
from web.rasa_client import RasaClient

if TYPE_CHECKING:  # models and FAISS load on first use, not when the app is built
    from indexer.editor import KnowledgeEditor
    from indexer.retriever import Retriever


def settings() -> Settings:
    """The settings the app was created with."""
    configured: Settings = current_app.config["KEFU_SETTINGS"]
    return configured


def database() -> Database:
    """The request's database connection (closed on teardown)."""
    if "db" not in g:
        g.db = Database.open(settings().database)
    opened: Database = g.db
    return opened


def database_check() -> Callable[[], bool]:
    """A check for /healthz (web.health.checked, which counts an error as not ok), runnable in another thread
    and past the request's end, on its own connection: whether the database answers with a schema."""
    target = settings().database

    def answers() -> bool:
        opened = Database.open(target)
        try:
            return opened.schema_version > 0
        finally:
            opened.close()

    return answers


def store() -> Store:
    """The knowledge content in the request's database."""
    return Store(database())


def contact_vault() -> ContactVault:
    """The key that seals customers' contact numbers (data_dir/contact_key, made on first use), once per app."""
    vault = current_app.extensions.get("kefu_contact_vault")
    if vault is None:
        vault = current_app.extensions["kefu_contact_vault"] = ContactVault.in_folder(settings().data_dir)
    return vault


def desk() -> Desk:
    """The service desk on the request's database, under the configured rules, with the contact key."""
    return Desk(database(), settings().desk_policy, contact_vault())


def accounts() -> Accounts:
    """Staff accounts and their sessions on the request's database."""
    return Accounts(database())


def audit_log() -> AuditLog:
    """The audit log of staff actions, on this request's database."""
    return AuditLog(database())


def supervision() -> Supervision:
    """The supervisor's figures and agents' availability on the request's database."""
    configured = settings()
    return Supervision(database(), configured.timezone, configured.service_hours)


def revisions() -> Revisions:
    """The knowledge base's revision history on the request's database."""
    return Revisions(database())


def rasa() -> RasaClient:
    """The app's client for the configured Rasa servers (rasa_instances, else rasa_host:rasa_port; one per app:
    its connections are reused), with the token of Rasa's HTTP API from the data folder (made there by whichever
    of Rasa and the app starts first)."""
    client: RasaClient | None = current_app.extensions.get("kefu_rasa")
    if client is None:
        token = rasa_token(settings().data_dir)
        client = RasaClient(settings().rasa_urls, token, transport=current_app.config["RASA_TRANSPORT"])
        current_app.extensions["kefu_rasa"] = client
    return client


def retriever() -> Retriever:
    """The production retriever, loaded once per process on first use (models and indexes: seconds) and
    again whenever the index is re-saved (a curator's edit)."""
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever

    loaded: Retriever | None = current_app.extensions.get("kefu_retriever")
    if loaded is None or loaded.stamp != store().index_stamp():
        encoders = loaded.encoders if loaded else Encoder.all_from_settings(settings())
        loaded = Retriever.load(store(), encoders, settings())
        current_app.extensions["kefu_retriever"] = loaded
    return loaded


@contextlib.contextmanager
def editing() -> Iterator[KnowledgeEditor]:
    """The knowledge editor over the request's store and the production retriever's models, one change at a
    time across every instance on the database, from the database's index (indexer.editor.editing)."""
    from indexer import editor

    encoders = retriever().encoders  # before the lock: loading may take it itself
    with editor.editing(store(), encoders, settings()) as opened:
        yield opened


def reader() -> KnowledgeEditor:
    """The editor's read side (current file text, history), without loading models or indexes."""
    from indexer.editor import KnowledgeEditor

    return KnowledgeEditor(store(), None, settings().kb_dir)


def init_app(app: Flask) -> None:
    """Close the request's database when the request ends."""

    @app.teardown_appcontext
    def close_database(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()
