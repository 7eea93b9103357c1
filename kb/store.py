"""SQLite storage for the knowledge base, through sqlite-utils (WAL, versioned migrations)."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import sqlite_utils

from kb.model import Article, FaqEntry


def _v1(db: sqlite_utils.Database) -> None:
    db["articles"].create({
        "id": str, "title": str, "category": str, "source": str, "updated": str,
        "body": str, "hash": str,
    }, pk="id")
    db["faqs"].create({
        "id": str, "question": str, "alternatives": str, "answer": str, "article": str,
        "section": str, "clause": str, "updated": str, "hash": str,
    }, pk="id")
    db["passages"].create({
        "id": int, "article_id": str, "ordinal": int, "section": str, "clauses": str,
        "start": int, "end": int, "text": str, "title": str,
    }, pk="id")
    db["passages"].create_index(["article_id"])
    db["embeddings"].create({"model": str, "key": str, "vector": bytes}, pk=("model", "key"))
    db["index_state"].create({"name": str, "meta": str}, pk="name")


def _elsewhere(module: str, name: str) -> Callable[[sqlite_utils.Database], None]:
    """A migration that lives beside the tables it makes, imported only when it runs (those modules
    import this one)."""
    def migrate(db: sqlite_utils.Database) -> None:
        import importlib
        getattr(importlib.import_module(module), name)(db)
    migrate.__name__ = name
    return migrate


# Append only: a database at version N runs migrations N+1.. on open.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _elsewhere("kb.desk", "migrate_v2"),          # gaps, handoffs, feedback
    _elsewhere("kb.conversations", "migrate_v3"),  # web conversations and messages
    _elsewhere("kb.accounts", "migrate_v4"),      # staff accounts
    _elsewhere("kb.revisions", "migrate_v5"),     # knowledge-base revisions
    _elsewhere("kb.desk", "migrate_v6"),          # agents' notes on tickets
    _elsewhere("kb.accounts", "migrate_v7"),      # server-side staff sessions
    _elsewhere("kb.supervision", "migrate_v8"),   # agents' available/away
]


class Store:
    """The knowledge base's tables; one instance per process or request."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    @classmethod
    def open(cls, path: Path | str) -> "Store":
        """Open (creating and migrating as needed) the database at path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        store = cls(sqlite_utils.Database(conn))
        store.db.enable_wal()
        # In WAL mode NORMAL still keeps every committed transaction through a process crash
        # (kill -9); only a power cut can lose the last ones. FULL fsyncs on every commit.
        store.db.execute("PRAGMA synchronous = NORMAL")
        store.migrate()
        return store

    @classmethod
    def memory(cls) -> "Store":
        """An in-memory store, for tests and one-off evaluations."""
        store = cls(sqlite_utils.Database(memory=True))
        store.migrate()
        return store

    @property
    def schema_version(self) -> int:
        """The database's migration version."""
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Apply the migrations this database has not had yet, each in one transaction."""
        for version, step in enumerate(MIGRATIONS, start=1):
            if self.schema_version < version:
                with self.db.conn:
                    step(self.db)
                    self.db.execute(f"PRAGMA user_version = {version}")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # Articles and Q&A entries -------------------------------------------------

    def article_hashes(self) -> dict[str, str]:
        """{article id: content hash} of the stored articles."""
        return {r["id"]: r["hash"] for r in self.db["articles"].rows}

    def faq_hashes(self) -> dict[str, str]:
        """{entry id: content hash} of the stored Q&A entries."""
        return {r["id"]: r["hash"] for r in self.db["faqs"].rows}

    def put_article(self, article: Article) -> None:
        """Insert or replace an article."""
        self.db["articles"].upsert({**asdict(article), "hash": article.hash}, pk="id")

    def put_faq(self, entry: FaqEntry) -> None:
        """Insert or replace a Q&A entry."""
        row = {**asdict(entry), "alternatives": json.dumps(list(entry.alternatives), ensure_ascii=False),
               "hash": entry.hash}
        self.db["faqs"].upsert(row, pk="id")

    def delete_article(self, article_id: str) -> None:
        """Remove an article and its passages."""
        self.db["passages"].delete_where("article_id = ?", [article_id])
        self.db["articles"].delete_where("id = ?", [article_id])

    def delete_faq(self, entry_id: str) -> None:
        """Remove a Q&A entry."""
        self.db["faqs"].delete_where("id = ?", [entry_id])

    def articles(self) -> list[Article]:
        """All stored articles."""
        return [Article(**{k: r[k] for k in ("id", "title", "category", "source", "updated", "body")})
                for r in self.db["articles"].rows_where(order_by="id")]

    def faqs(self) -> list[FaqEntry]:
        """All stored Q&A entries."""
        return [_faq_from_row(r) for r in self.db["faqs"].rows_where(order_by="id")]

    # Passages ----------------------------------------------------------------

    def passage_ids(self, article_id: str) -> set[int]:
        """Ids of an article's stored passages."""
        return {r["id"] for r in self.db["passages"].rows_where("article_id = ?", [article_id], select="id")}

    def replace_passages(self, article_id: str, passages: Iterable) -> None:
        """Replace an article's passages with new ones."""
        self.db["passages"].delete_where("article_id = ?", [article_id])
        rows = [{
            "id": p.id, "article_id": p.article_id, "ordinal": p.ordinal, "section": p.section,
            "clauses": json.dumps(list(p.clauses), ensure_ascii=False), "start": p.start, "end": p.end,
            "text": p.text, "title": p.title,
        } for p in passages]
        if rows:
            self.db["passages"].insert_all(rows, pk="id", replace=True)

    def passages(self) -> list[dict]:
        """All passages, ordered by article and position."""
        rows = self.db["passages"].rows_where(order_by="article_id, ordinal")
        return [{**r, "clauses": tuple(json.loads(r["clauses"]))} for r in rows]

    # Embedding cache -----------------------------------------------------------

    def cached_embeddings(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors among keys, for one model."""
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self.db.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *batch]
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors by content key for one model."""
        rows = [{"model": model, "key": k, "vector": np.asarray(v, dtype=np.float32).tobytes()}
                for k, v in vectors.items()]
        if rows:
            self.db["embeddings"].insert_all(rows, pk=("model", "key"), replace=True)

    # Index bookkeeping ---------------------------------------------------------

    def index_state(self, name: str) -> dict | None:
        """Metadata recorded for the named index at its last build."""
        row = self.db.execute("SELECT meta FROM index_state WHERE name = ?", [name]).fetchone()
        return json.loads(row[0]) if row else None

    def index_stamp(self) -> str:
        """Changes whenever any index is saved: lets long-running processes notice a re-index."""
        rows = self.db.execute("SELECT name, meta FROM index_state ORDER BY name").fetchall()
        return json.dumps([(name, json.loads(meta).get("built_at")) for name, meta in rows])

    def set_index_state(self, name: str, meta: dict) -> None:
        """Record an index's metadata."""
        self.db["index_state"].upsert({"name": name, "meta": json.dumps(meta, ensure_ascii=False)}, pk="name")


def _faq_from_row(r: dict) -> FaqEntry:
    return FaqEntry(
        id=r["id"], question=r["question"], answer=r["answer"], article=r["article"],
        section=r["section"], clause=r["clause"], updated=r["updated"] or "",
        alternatives=tuple(json.loads(r["alternatives"] or "[]")),
    )
