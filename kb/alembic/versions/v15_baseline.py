"""Baseline: the schema at version 15, as kb.migrations left it (articles .. audit log).

Written out table by table rather than taken from kb.schema, so later changes to the metadata do not
rewrite history. A new database gets this; an old SQLite file is brought to v15 by kb.migrations and
stamped with this revision instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = None
branch_labels = None
depends_on = None

TEXT, INT, BLOB = sa.Text, sa.Integer, sa.LargeBinary
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's INTEGER holds 64 bits already


def upgrade() -> None:
    """Create every table and index of version 15."""
    op.create_table(
        "agent_status",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("agent", TEXT),
        sa.Column("status", TEXT),
        sa.Column("at", TEXT),
    )
    op.create_index("idx_agent_status_agent_at", "agent_status", ["agent", "at"])
    op.create_table(
        "articles",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("title", TEXT),
        sa.Column("category", TEXT),
        sa.Column("source", TEXT),
        sa.Column("updated", TEXT),
        sa.Column("body", TEXT),
        sa.Column("hash", TEXT),
        sa.Column("imported_from", TEXT, nullable=False, server_default=""),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("at", TEXT),
        sa.Column("actor_id", INT),
        sa.Column("actor_name", TEXT),
        sa.Column("action", TEXT),
        sa.Column("target_kind", TEXT),
        sa.Column("target_id", TEXT),
        sa.Column("detail", TEXT),
    )
    op.create_index("idx_audit_log_action_at", "audit_log", ["action", "at"])
    op.create_index("idx_audit_log_actor_name_at", "audit_log", ["actor_name", "at"])
    op.create_index("idx_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", INT),
        sa.Column("agent", TEXT),
        sa.Column("outcome", TEXT),
        sa.Column("note", TEXT),
        sa.Column("next_try_at", TEXT),
        sa.Column("at", TEXT),
    )
    op.create_index("idx_callback_attempts_handoff_id_id", "callback_attempts", ["handoff_id", "id"])
    op.create_table(
        "canned_replies",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("title", TEXT),
        sa.Column("text", TEXT),
        sa.Column("category", TEXT),
        sa.Column("author", TEXT),
        sa.Column("updated_at", TEXT),
    )
    op.create_table(
        "contact_reveals",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", INT),
        sa.Column("user", TEXT),
        sa.Column("role", TEXT),
        sa.Column("at", TEXT),
    )
    op.create_index("idx_contact_reveals_handoff_id_id", "contact_reveals", ["handoff_id", "id"])
    op.create_table(
        "conversations",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("state", TEXT),
        sa.Column("created_at", TEXT),
        sa.Column("updated_at", TEXT),
        sa.Column("contact_secret", TEXT, nullable=False, server_default=""),
        sa.Column("contact_hint", TEXT, nullable=False, server_default=""),
        sa.Column("key_hash", TEXT, nullable=False, server_default=""),
        sa.Column("key_ended_at", TEXT, nullable=False, server_default=""),
    )
    op.create_table(
        "embeddings",
        sa.Column("model", TEXT, primary_key=True),
        sa.Column("key", TEXT, primary_key=True),
        sa.Column("vector", BLOB),
    )
    op.create_table(
        "faqs",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("question", TEXT),
        sa.Column("alternatives", TEXT),
        sa.Column("answer", TEXT),
        sa.Column("article", TEXT),
        sa.Column("section", TEXT),
        sa.Column("clause", TEXT),
        sa.Column("updated", TEXT),
        sa.Column("hash", TEXT),
        sa.Column("source", TEXT, nullable=False, server_default=""),
    )
    op.create_table(
        "feedback",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", TEXT),
        sa.Column("helpful", INT),
        sa.Column("question", TEXT),
        sa.Column("answer_ref", TEXT),
        sa.Column("created_at", TEXT),
    )
    op.create_table(
        "gaps",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", TEXT),
        sa.Column("question", TEXT),
        sa.Column("reason", TEXT),
        sa.Column("hits", TEXT),
        sa.Column("created_at", TEXT),
        sa.Column("status", TEXT, server_default="open"),
        sa.Column("note", TEXT),
    )
    op.create_index("idx_gaps_status_created_at", "gaps", ["status", "created_at"])
    op.create_table(
        "handoffs",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", TEXT),
        sa.Column("reason", TEXT),
        sa.Column("question", TEXT),
        sa.Column("passages", TEXT),
        sa.Column("status", TEXT),
        sa.Column("contact", TEXT),
        sa.Column("created_at", TEXT),
        sa.Column("claimed_at", TEXT),
        sa.Column("closed_at", TEXT),
        sa.Column("agent", TEXT),
        sa.Column("contact_secret", TEXT, nullable=False, server_default=""),
        sa.Column("preferred_time", TEXT, nullable=False, server_default=""),
        sa.Column("due_at", TEXT),
        sa.Column("outcome", TEXT, nullable=False, server_default=""),
    )
    op.create_index("idx_handoffs_status_created_at", "handoffs", ["status", "created_at"])
    op.create_table(
        "import_jobs",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("author", TEXT),
        sa.Column("status", TEXT),
        sa.Column("done", INT),
        sa.Column("total", INT),
        sa.Column("message", TEXT),
        sa.Column("files", TEXT),
        sa.Column("result", TEXT),
        sa.Column("created_at", TEXT),
        sa.Column("updated_at", TEXT),
    )
    op.create_index("idx_import_jobs_created_at", "import_jobs", ["created_at"])
    op.create_table(
        "index_state",
        sa.Column("name", TEXT, primary_key=True),
        sa.Column("meta", TEXT),
    )
    op.create_table(
        "messages",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", TEXT),
        sa.Column("sender", TEXT),
        sa.Column("text", TEXT),
        sa.Column("extra", TEXT),
        sa.Column("created_at", TEXT),
    )
    op.create_index("idx_messages_conversation_id_id", "messages", ["conversation_id", "id"])
    op.create_table(
        "passages",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=False),
        sa.Column("article_id", TEXT),
        sa.Column("ordinal", INT),
        sa.Column("section", TEXT),
        sa.Column("clauses", TEXT),
        sa.Column("start", INT),
        sa.Column("end", INT),
        sa.Column("text", TEXT),
        sa.Column("title", TEXT),
        sa.Column("lead", TEXT, nullable=False, server_default=""),
    )
    op.create_index("idx_passages_article_id", "passages", ["article_id"])
    op.create_table(
        "ratings",
        sa.Column("handoff_id", INT, primary_key=True, autoincrement=False),
        sa.Column("conversation_id", TEXT),
        sa.Column("agent", TEXT),
        sa.Column("score", INT),
        sa.Column("comment", TEXT),
        sa.Column("created_at", TEXT),
    )
    op.create_index("idx_ratings_created_at", "ratings", ["created_at"])
    op.create_table(
        "revisions",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("kind", TEXT),
        sa.Column("item_id", TEXT),
        sa.Column("action", TEXT),
        sa.Column("content", TEXT),
        sa.Column("author", TEXT),
        sa.Column("note", TEXT),
        sa.Column("created_at", TEXT),
    )
    op.create_index("idx_revisions_kind_item_id_id", "revisions", ["kind", "item_id", "id"])
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", TEXT, primary_key=True),
        sa.Column("user_id", INT),
        sa.Column("created_at", TEXT),
        sa.Column("last_seen", TEXT),
    )
    op.create_index("idx_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "ticket_notes",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", INT),
        sa.Column("author", TEXT),
        sa.Column("text", TEXT),
        sa.Column("created_at", TEXT),
    )
    op.create_index("idx_ticket_notes_handoff_id_id", "ticket_notes", ["handoff_id", "id"])
    op.create_table(
        "ticket_transfers",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", INT),
        sa.Column("from_agent", TEXT),
        sa.Column("to_agent", TEXT),
        sa.Column("at", TEXT),
    )
    op.create_index("idx_ticket_transfers_handoff_id_id", "ticket_transfers", ["handoff_id", "id"])
    op.create_table(
        "users",
        sa.Column("id", INT, primary_key=True, autoincrement=True),
        sa.Column("name", TEXT),
        sa.Column("password_hash", TEXT),
        sa.Column("role", TEXT),
        sa.Column("created_at", TEXT),
        sa.Column("disabled", INT, nullable=False, server_default="0"),
        sa.Column("deleted_at", TEXT),
    )
    op.create_index("idx_users_name", "users", ["name"], unique=True)


def downgrade() -> None:
    """Not supported: a baseline is not undone (restore a backup instead)."""
    raise NotImplementedError("the baseline schema cannot be downgraded")
