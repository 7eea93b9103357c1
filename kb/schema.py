"""Kefu's tables as SQLAlchemy Core metadata: the schema the code reads and writes, on SQLite and PostgreSQL.

This is the schema at version 15 (the last one kb.migrations built with sqlite-utils) plus any Alembic
revision since (kb/alembic/versions). Alembic's revisions create and change the tables; this module only
describes them for kb.database's table facade, so a change here goes with a new revision there.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TEXT, INT, BLOB = sa.Text, sa.Integer, sa.LargeBinary
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # passage ids are 64-bit hashes


def _id() -> sa.Column:
    """An integer id the database assigns (rowid on SQLite, SERIAL on PostgreSQL)."""
    return sa.Column("id", INT, primary_key=True, autoincrement=True)


def _blank(name: str) -> sa.Column:
    """A text column that is never NULL, '' until set (sqlite-utils' not_null_default='')."""
    return sa.Column(name, TEXT, nullable=False, server_default="")


def _texts(*names: str) -> list[sa.Column]:
    return [sa.Column(name, TEXT) for name in names]


articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", TEXT, primary_key=True),
    *_texts("title", "category", "source", "updated", "body", "hash"),
    _blank("imported_from"),
)
faqs = sa.Table(
    "faqs",
    metadata,
    sa.Column("id", TEXT, primary_key=True),
    *_texts("question", "alternatives", "answer", "article", "section", "clause", "updated", "hash"),
    _blank("source"),
)
passages = sa.Table(
    "passages",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=False),  # the store numbers passages itself
    sa.Column("article_id", TEXT),
    sa.Column("ordinal", INT),
    *_texts("section", "clauses"),
    sa.Column("start", INT),
    sa.Column("end", INT),
    *_texts("text", "title"),
    _blank("lead"),
    sa.Index("idx_passages_article_id", "article_id"),
)
embeddings = sa.Table(
    "embeddings",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("key", TEXT, primary_key=True),
    sa.Column("vector", BLOB),
)
index_state = sa.Table("index_state", metadata, sa.Column("name", TEXT, primary_key=True), sa.Column("meta", TEXT))
gaps = sa.Table(
    "gaps",
    metadata,
    _id(),
    *_texts("conversation_id", "question", "reason", "hits", "created_at"),
    sa.Column("status", TEXT, server_default="open"),
    sa.Column("note", TEXT),
    sa.Index("idx_gaps_status_created_at", "status", "created_at"),
)
handoffs = sa.Table(
    "handoffs",
    metadata,
    _id(),
    *_texts("conversation_id", "reason", "question", "passages", "status", "contact"),
    *_texts("created_at", "claimed_at", "closed_at", "agent"),
    _blank("contact_secret"),
    _blank("preferred_time"),
    sa.Column("due_at", TEXT),
    _blank("outcome"),
    sa.Index("idx_handoffs_status_created_at", "status", "created_at"),
)
feedback = sa.Table(
    "feedback",
    metadata,
    _id(),
    sa.Column("conversation_id", TEXT),
    sa.Column("helpful", INT),
    *_texts("question", "answer_ref", "created_at"),
)
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", TEXT, primary_key=True),
    *_texts("state", "created_at", "updated_at"),
    *(_blank(name) for name in ("contact_secret", "contact_hint", "key_hash", "key_ended_at")),
)
messages = sa.Table(
    "messages",
    metadata,
    _id(),
    *_texts("conversation_id", "sender", "text", "extra", "created_at"),
    sa.Index("idx_messages_conversation_id_id", "conversation_id", "id"),
)
users = sa.Table(
    "users",
    metadata,
    _id(),
    *_texts("name", "password_hash", "role", "created_at"),
    sa.Column("disabled", INT, nullable=False, server_default="0"),
    sa.Column("deleted_at", TEXT),
    sa.Index("idx_users_name", "name", unique=True),
)
revisions = sa.Table(
    "revisions",
    metadata,
    _id(),
    *_texts("kind", "item_id", "action", "content", "author", "note", "created_at"),
    sa.Index("idx_revisions_kind_item_id_id", "kind", "item_id", "id"),
)
ticket_notes = sa.Table(
    "ticket_notes",
    metadata,
    _id(),
    sa.Column("handoff_id", INT),
    *_texts("author", "text", "created_at"),
    sa.Index("idx_ticket_notes_handoff_id_id", "handoff_id", "id"),
)
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", TEXT, primary_key=True),
    sa.Column("user_id", INT),
    *_texts("created_at", "last_seen"),
    sa.Index("idx_staff_sessions_user_id", "user_id"),
)
agent_status = sa.Table(
    "agent_status",
    metadata,
    _id(),
    *_texts("agent", "status", "at"),
    sa.Index("idx_agent_status_agent_at", "agent", "at"),
)
import_jobs = sa.Table(
    "import_jobs",
    metadata,
    sa.Column("id", TEXT, primary_key=True),
    *_texts("author", "status"),
    sa.Column("done", INT),
    sa.Column("total", INT),
    *_texts("message", "files", "result", "created_at", "updated_at"),
    sa.Index("idx_import_jobs_created_at", "created_at"),
)
callback_attempts = sa.Table(
    "callback_attempts",
    metadata,
    _id(),
    sa.Column("handoff_id", INT),
    *_texts("agent", "outcome", "note", "next_try_at", "at"),
    sa.Index("idx_callback_attempts_handoff_id_id", "handoff_id", "id"),
)
contact_reveals = sa.Table(
    "contact_reveals",
    metadata,
    _id(),
    sa.Column("handoff_id", INT),
    *_texts("user", "role", "at"),
    sa.Index("idx_contact_reveals_handoff_id_id", "handoff_id", "id"),
)
canned_replies = sa.Table(
    "canned_replies", metadata, _id(), *_texts("title", "text", "category", "author", "updated_at")
)
ticket_transfers = sa.Table(
    "ticket_transfers",
    metadata,
    _id(),
    sa.Column("handoff_id", INT),
    *_texts("from_agent", "to_agent", "at"),
    sa.Index("idx_ticket_transfers_handoff_id_id", "handoff_id", "id"),
)
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("handoff_id", INT, primary_key=True, autoincrement=False),
    *_texts("conversation_id", "agent"),
    sa.Column("score", INT),
    *_texts("comment", "created_at"),
    sa.Index("idx_ratings_created_at", "created_at"),
)
audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", TEXT),
    sa.Column("actor_id", INT),
    *_texts("actor_name", "action", "target_kind", "target_id", "detail"),
    sa.Index("idx_audit_log_at", "at"),
    sa.Index("idx_audit_log_actor_name_at", "actor_name", "at"),
    sa.Index("idx_audit_log_action_at", "action", "at"),
)
