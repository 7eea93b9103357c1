"""How SQLite files made by releases before Alembic reached version 15: sqlite-utils' migrations v1..v15.

Frozen: new schema changes are Alembic revisions (kb/alembic/versions). kb.upgrade runs the steps a SQLite
file at ``PRAGMA user_version`` 1..14 has not had, then stamps it with the Alembic baseline (version 15).
sqlite-utils still serves here because these steps are what built those files, column by column; writing
them again in Alembic would risk a file that differs from the one the release made. The knowledge base
owned v1 and v5; the service desk (kb.desk) the rest.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def v1_knowledge(db: sqlite_utils.Database) -> None:
    """Articles, Q&A entries, passages, the embedding cache and the indexes' build metadata (kb.store)."""
    db.table("articles").create(
        {
            "id": str,
            "title": str,
            "category": str,
            "source": str,
            "updated": str,
            "body": str,
            "hash": str,
        },
        pk="id",
    )
    db.table("faqs").create(
        {
            "id": str,
            "question": str,
            "alternatives": str,
            "answer": str,
            "article": str,
            "section": str,
            "clause": str,
            "updated": str,
            "hash": str,
        },
        pk="id",
    )
    db.table("passages").create(
        {
            "id": int,
            "article_id": str,
            "ordinal": int,
            "section": str,
            "clauses": str,
            "start": int,
            "end": int,
            "text": str,
            "title": str,
        },
        pk="id",
    )
    db.table("passages").create_index(["article_id"])
    db.table("embeddings").create({"model": str, "key": str, "vector": bytes}, pk=("model", "key"))
    db.table("index_state").create({"name": str, "meta": str}, pk="name")


def v2_gaps_tickets_feedback(db: sqlite_utils.Database) -> None:
    """Knowledge gaps, handoff tickets and answer feedback (kb.desk.gaps, kb.desk.tickets)."""
    db.table("gaps").create(
        {
            "id": int,
            "conversation_id": str,
            "question": str,
            "reason": str,
            "hits": str,
            "created_at": str,
            "status": str,
            "note": str,
        },
        pk="id",
        defaults={"status": "open"},
    )
    db.table("gaps").create_index(["status", "created_at"])
    db.table("handoffs").create(
        {
            "id": int,
            "conversation_id": str,
            "reason": str,
            "question": str,
            "passages": str,
            "status": str,
            "contact": str,
            "created_at": str,
            "claimed_at": str,
            "closed_at": str,
            "agent": str,
        },
        pk="id",
    )
    db.table("handoffs").create_index(["status", "created_at"])
    db.table("feedback").create(
        {"id": int, "conversation_id": str, "helpful": int, "question": str, "answer_ref": str, "created_at": str},
        pk="id",
    )


def v3_conversations(db: sqlite_utils.Database) -> None:
    """Web conversations and their messages (kb.desk.conversations)."""
    db.table("conversations").create({"id": str, "state": str, "created_at": str, "updated_at": str}, pk="id")
    db.table("messages").create(
        {"id": int, "conversation_id": str, "sender": str, "text": str, "extra": str, "created_at": str}, pk="id"
    )
    db.table("messages").create_index(["conversation_id", "id"])


def v4_users(db: sqlite_utils.Database) -> None:
    """Staff accounts (kb.desk.accounts)."""
    db.table("users").create({"id": int, "name": str, "password_hash": str, "role": str, "created_at": str}, pk="id")
    db.table("users").create_index(["name"], unique=True)


def v5_revisions(db: sqlite_utils.Database) -> None:
    """Every saved version of an article or Q&A entry (kb.revisions)."""
    db.table("revisions").create(
        {
            "id": int,
            "kind": str,
            "item_id": str,
            "action": str,
            "content": str,
            "author": str,
            "note": str,
            "created_at": str,
        },
        pk="id",
    )
    db.table("revisions").create_index(["kind", "item_id", "id"])


def v6_ticket_notes(db: sqlite_utils.Database) -> None:
    """Agents' notes on handoff tickets, never shown to the customer (kb.desk.tickets)."""
    db.table("ticket_notes").create(
        {"id": int, "handoff_id": int, "author": str, "text": str, "created_at": str}, pk="id"
    )
    db.table("ticket_notes").create_index(["handoff_id", "id"])


def v7_staff_sessions(db: sqlite_utils.Database) -> None:
    """Signed-in staff sessions, kept server-side so signing out ends them; only token hashes (kb.desk.accounts)."""
    db.table("staff_sessions").create(
        {"token_hash": str, "user_id": int, "created_at": str, "last_seen": str}, pk="token_hash"
    )
    db.table("staff_sessions").create_index(["user_id"])


def v8_agent_status(db: sqlite_utils.Database) -> None:
    """Agents' available/away changes (kb.desk.supervision)."""
    db.table("agent_status").create({"id": int, "agent": str, "status": str, "at": str}, pk="id")
    db.table("agent_status").create_index(["agent", "at"])


def v9_import(db: sqlite_utils.Database) -> None:
    """Imported documents: a passage's lead (a split clause's number and lead sentence, a table's header),
    the file a Q&A entry came from (kb.store), and import jobs run from the curator's page (kb.importing.jobs)."""
    db.table("passages").add_column("lead", str, not_null_default="")
    db.table("faqs").add_column("source", str, not_null_default="")
    db.table("import_jobs").create(
        {
            "id": str,
            "author": str,
            "status": str,
            "done": int,
            "total": int,
            "message": str,
            "files": str,
            "result": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("import_jobs").create_index(["created_at"])


def v10_imported_from(db: sqlite_utils.Database) -> None:
    """The file an imported article came from (kb.model.Article.imported_from), apart from its 来源."""
    db.table("articles").add_column("imported_from", str, not_null_default="")


def v11_callbacks(db: sqlite_utils.Database) -> None:
    """Callbacks that can be returned (kb.desk.tickets, kb.desk.contacts): a ticket's contact number sealed
    (`contact_secret`; `contact` becomes its partly masked hint), the preferred time, when the callback is due
    and how it ended; a number given before any ticket waits on the conversation; every call attempt; every
    time a person was shown a number. The old `contact` held the customer's callback message: it joins the
    ticket's question, which is now the customer's problem in their words."""
    handoffs = db.table("handoffs")
    handoffs.add_column("contact_secret", str, not_null_default="")
    handoffs.add_column("preferred_time", str, not_null_default="")
    handoffs.add_column("due_at", str)
    handoffs.add_column("outcome", str, not_null_default="")
    db.execute(
        "UPDATE handoffs SET question = TRIM(COALESCE(question, '') || char(10) || contact), contact = '' "
        "WHERE COALESCE(contact, '') != ''"
    )
    db.execute("UPDATE handoffs SET due_at = created_at WHERE status = 'callback'")
    db.table("conversations").add_column("contact_secret", str, not_null_default="")
    db.table("conversations").add_column("contact_hint", str, not_null_default="")
    db.table("callback_attempts").create(
        {"id": int, "handoff_id": int, "agent": str, "outcome": str, "note": str, "next_try_at": str, "at": str},
        pk="id",
    )
    db.table("callback_attempts").create_index(["handoff_id", "id"])
    db.table("contact_reveals").create(
        {"id": int, "handoff_id": int, "user": str, "role": str, "at": str},
        pk="id",
    )
    db.table("contact_reveals").create_index(["handoff_id", "id"])


def v12_console(db: sqlite_utils.Database) -> None:
    """The agent console's records: canned replies curators keep (kb.desk.canned) and chats handed from one
    agent to another (kb.desk.tickets)."""
    db.table("canned_replies").create(
        {"id": int, "title": str, "text": str, "category": str, "author": str, "updated_at": str}, pk="id"
    )
    db.table("ticket_transfers").create(
        {"id": int, "handoff_id": int, "from_agent": str, "to_agent": str, "at": str}, pk="id"
    )
    db.table("ticket_transfers").create_index(["handoff_id", "id"])


def v13_ratings(db: sqlite_utils.Database) -> None:
    """Customers' ratings of a chat an agent closed, one per ticket (kb.desk.ratings)."""
    db.table("ratings").create(
        {
            "handoff_id": int,
            "conversation_id": str,
            "agent": str,
            "score": int,
            "comment": str,
            "created_at": str,
        },
        pk="handoff_id",
    )
    db.table("ratings").create_index(["created_at"])


def v14_conversation_keys(db: sqlite_utils.Database) -> None:
    """The customer's key to a conversation (kb.desk.conversations): only its SHA-256 is kept, and when it
    stopped opening the conversation (an agent closed the chat, or it lapsed). Conversations from before have
    no key: nothing opens them from outside any more."""
    db.table("conversations").add_column("key_hash", str, not_null_default="")
    db.table("conversations").add_column("key_ended_at", str, not_null_default="")


def v15_audit(db: sqlite_utils.Database) -> None:
    """Staff accountability (kb.desk.audit, kb.desk.accounts): the audit log of staff actions that touch
    customers or knowledge, and accounts that can be disabled or deleted (marked, never removed: tickets,
    notes and the audit log name their people)."""
    db.table("audit_log").create(
        {
            "id": int,
            "at": str,
            "actor_id": int,
            "actor_name": str,
            "action": str,
            "target_kind": str,
            "target_id": str,
            "detail": str,
        },
        pk="id",
    )
    db.table("audit_log").create_index(["at"])
    db.table("audit_log").create_index(["actor_name", "at"])
    db.table("audit_log").create_index(["action", "at"])
    db.table("users").add_column("disabled", int, not_null_default=0)
    db.table("users").add_column("deleted_at", str)


MIGRATIONS: list[Migration] = [
    v1_knowledge,
    v2_gaps_tickets_feedback,
    v3_conversations,
    v4_users,
    v5_revisions,
    v6_ticket_notes,
    v7_staff_sessions,
    v8_agent_status,
    v9_import,
    v10_imported_from,
    v11_callbacks,
    v12_console,
    v13_ratings,
    v14_conversation_keys,
    v15_audit,
]
