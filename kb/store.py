"""The knowledge content in the database: articles, Q&A entries, their passages, the embedding cache and
the saved indexes' build metadata. The files under kb/ stay the source of truth; this is what was
indexed from them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

import numpy as np

from kb.database import Database
from kb.model import UNSORTED_CATEGORY, Article, FaqEntry, Passage


class Store:
    """Articles, Q&A entries, passages, embeddings and index state, in a Database."""

    def __init__(self, db: Database):
        self.db = db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Changes inside commit together (an article with its passages, say), or not at all."""
        with self.db.transaction():
            yield

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
        row = {
            **asdict(entry),
            "alternatives": json.dumps(list(entry.alternatives), ensure_ascii=False),
            "hash": entry.hash,
        }
        self.db["faqs"].upsert(row, pk="id")

    def delete_article(self, article_id: str) -> None:
        """Remove an article and its passages."""
        self.db["passages"].delete_where("article_id = ?", [article_id])
        self.db["articles"].delete_where("id = ?", [article_id])

    def delete_faq(self, entry_id: str) -> None:
        """Remove a Q&A entry."""
        self.db["faqs"].delete_where("id = ?", [entry_id])

    def articles(self) -> list[Article]:
        """All stored articles, by id."""
        return self._articles()

    def _articles(self, where: str | None = None, values: list[Any] | None = None) -> list[Article]:
        return [
            Article(
                **{k: r[k] for k in ("id", "title", "category", "source", "updated", "body")},
                imported_from=r.get("imported_from") or "",
            )
            for r in self.db["articles"].rows_where(where, values, order_by="id")
        ]

    def article(self, article_id: str) -> Article | None:
        """One stored article, or None."""
        return next((a for a in self._articles("id = ?", [article_id])), None)

    def subjects(self) -> list[str]:
        """What the knowledge base is about, as the bot tells a customer: the articles' categories, those with
        the most articles first (ties by name); an article left in UNSORTED_CATEGORY by an import is named by
        its title instead ('上海市轨道交通管理条例'). [] for an empty knowledge base."""
        counts: dict[str, int] = {}
        for row in self.db.execute("SELECT category, title FROM articles").fetchall():
            category, title = row
            name = (title or "").strip("《》 ") if (category or UNSORTED_CATEGORY) == UNSORTED_CATEGORY else category
            if name:
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda name: (-counts[name], name))

    def faqs(self) -> list[FaqEntry]:
        """All stored Q&A entries, by id."""
        return [_faq_from_row(r) for r in self.db["faqs"].rows_where(order_by="id")]

    def faq(self, entry_id: str) -> FaqEntry | None:
        """One stored Q&A entry, or None."""
        rows = list(self.db["faqs"].rows_where("id = ?", [entry_id]))
        return _faq_from_row(rows[0]) if rows else None

    # Passages ----------------------------------------------------------------

    def passage_ids(self, article_id: str) -> set[int]:
        """Ids of an article's stored passages."""
        return {r["id"] for r in self.db["passages"].rows_where("article_id = ?", [article_id], select="id")}

    def replace_passages(self, article_id: str, passages: Iterable[Passage]) -> None:
        """Replace an article's passages with new ones."""
        self.db["passages"].delete_where("article_id = ?", [article_id])
        rows = [{**asdict(p), "id": p.id, "clauses": json.dumps(list(p.clauses), ensure_ascii=False)} for p in passages]
        if rows:
            self.db["passages"].insert_all(rows, pk="id", replace=True)

    def passages(self) -> list[Passage]:
        """All passages, ordered by article and position."""
        return [_passage_from_row(r) for r in self.db["passages"].rows_where(order_by="article_id, ordinal")]

    # Embedding cache -----------------------------------------------------------

    def cached_embeddings(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors among keys, for one model."""
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self.db.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *batch]
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors by content key for one model."""
        rows = [
            {"model": model, "key": k, "vector": np.asarray(v, dtype=np.float32).tobytes()} for k, v in vectors.items()
        ]
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


def _faq_from_row(r: dict[str, Any]) -> FaqEntry:
    return FaqEntry(
        id=r["id"],
        question=r["question"],
        answer=r["answer"],
        article=r["article"] or None,
        section=r["section"],
        clause=r["clause"],
        updated=r["updated"] or "",
        alternatives=tuple(json.loads(r["alternatives"] or "[]")),
        source=r.get("source") or "",
    )


def _passage_from_row(r: dict[str, Any]) -> Passage:
    return Passage(
        article_id=r["article_id"],
        ordinal=r["ordinal"],
        section=r["section"] or "",
        clauses=tuple(json.loads(r["clauses"] or "[]")),
        start=r["start"],
        end=r["end"],
        text=r["text"],
        title=r["title"],
        lead=r.get("lead") or "",
    )
