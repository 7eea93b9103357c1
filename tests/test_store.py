"""The SQLite store: migrations, WAL, round trips, embedding cache."""
from __future__ import annotations

import numpy as np

from kb.model import Article, FaqEntry
from kb.store import MIGRATIONS, Store


def test_open_migrates_and_uses_wal(tmp_path):
    store = Store.open(tmp_path / "d" / "kefu.db")
    assert store.schema_version == len(MIGRATIONS)
    assert store.db.journal_mode == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync per commit
    assert {"articles", "faqs", "passages", "embeddings", "index_state"} <= set(store.db.table_names())
    store.close()
    again = Store.open(tmp_path / "d" / "kefu.db")  # re-opening runs nothing twice
    assert again.schema_version == len(MIGRATIONS)


def test_article_and_faq_round_trip():
    store = Store.memory()
    a = Article("x", "标题", "类", "src", "2026-11-27", "## 节\n\n正文。")
    e = FaqEntry("faq-x", "问？", "答。", "x", "节", "3.1", "2026-11-27", ("问法二",))
    store.put_article(a)
    store.put_faq(e)
    assert store.articles() == [a] and store.faqs() == [e]
    assert store.article_hashes() == {"x": a.hash} and store.faq_hashes() == {"faq-x": e.hash}
    store.delete_article("x")
    store.delete_faq("faq-x")
    assert store.articles() == [] and store.faqs() == []


def test_embedding_cache_is_per_model():
    store = Store.memory()
    v = np.arange(4, dtype=np.float32)
    store.cache_embeddings("m1", {"k": v})
    assert np.array_equal(store.cached_embeddings("m1", ["k", "other"])["k"], v)
    assert store.cached_embeddings("m2", ["k"]) == {}
    many = {f"k{i}": v for i in range(1200)}  # more keys than one SQL statement takes
    store.cache_embeddings("m1", many)
    assert len(store.cached_embeddings("m1", list(many))) == 1200
