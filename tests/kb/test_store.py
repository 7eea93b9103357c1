"""The database (migrations, WAL) and the knowledge content store: round trips, passages, embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from kb.database import Database
from kb.migrations import MIGRATIONS
from kb.model import Article, FaqEntry, Passage
from kb.store import Store


def test_open_migrates_and_uses_wal(tmp_path):
    db = Database.open(tmp_path / "d" / "kefu.db")
    assert db.schema_version == len(MIGRATIONS)
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync per commit
    assert {"articles", "faqs", "passages", "embeddings", "index_state"} <= set(db.table_names())
    db.close()
    again = Database.open(tmp_path / "d" / "kefu.db")  # re-opening runs nothing twice
    assert again.schema_version == len(MIGRATIONS)


def test_a_transaction_commits_together_or_not_at_all(new_database):
    store = Store(new_database())
    a = Article("x", "标题", "类", "src", "2026-11-27", "正文。")
    with pytest.raises(RuntimeError), store.transaction():
        store.put_article(a)
        raise RuntimeError("killed half way")
    assert store.articles() == []
    with store.transaction():
        store.put_article(a)
    assert store.articles() == [a]


def test_passages_come_back_as_passages(new_database):
    store = Store(new_database())
    p = Passage("x", 0, "第一章", ("3.2.1", "3.2.2"), 0, 20, "3.2.1 记录。\n\n3.2.2 回访。", "手册")
    store.replace_passages("x", [p])
    [back] = store.passages()
    assert back == p and back.id == p.id and back.clause == "3.2.1–3.2.2"
    assert back.context == "手册 · 第一章\n3.2.1 记录。\n\n3.2.2 回访。" and store.passage_ids("x") == {p.id}


def test_article_and_faq_round_trip(new_database):
    store = Store(new_database())
    a = Article("x", "标题", "类", "src", "2026-11-27", "## 节\n\n正文。")
    e = FaqEntry("faq-x", "问？", "答。", "x", "节", "3.1", "2026-11-27", ("问法二",))
    store.put_article(a)
    store.put_faq(e)
    assert store.articles() == [a] and store.faqs() == [e]
    assert store.article_hashes() == {"x": a.hash} and store.faq_hashes() == {"faq-x": e.hash}
    store.delete_article("x")
    store.delete_faq("faq-x")
    assert store.articles() == [] and store.faqs() == []
    assert store.faq("faq-x") is None


def test_embedding_cache_is_per_model(new_database):
    store = Store(new_database())
    v = np.arange(4, dtype=np.float32)
    store.cache_embeddings("m1", {"k": v})
    assert np.array_equal(store.cached_embeddings("m1", ["k", "other"])["k"], v)
    assert store.cached_embeddings("m2", ["k"]) == {}
    many = {f"k{i}": v for i in range(1200)}  # more keys than one SQL statement takes
    store.cache_embeddings("m1", many)
    assert len(store.cached_embeddings("m1", list(many))) == 1200


@pytest.mark.parametrize("where", ["file", "memory"])
def test_a_named_lock_lets_one_holder_in_at_a_time(tmp_path, where):
    import threading

    first = Database.open(tmp_path / "kefu.db") if where == "file" else Database.memory()
    second = Database.open(tmp_path / "kefu.db") if where == "file" else first  # another connection, same file
    order: list[str] = []
    trying = threading.Event()

    def wait_then_enter() -> None:
        trying.set()
        with second.named_lock("index"):
            order.append("second")

    with first.named_lock("index"):
        waiter = threading.Thread(target=wait_then_enter)
        waiter.start()
        trying.wait()
        with first.named_lock("other"):  # names are independent: no wait here
            order.append("first")  # the waiter cannot get in before the holder has finished
    waiter.join()
    assert order == ["first", "second"]


def test_subjects_name_categories_by_size_and_imports_by_title(new_database):
    from kb.model import UNSORTED_CATEGORY

    store = Store(new_database())
    assert store.subjects() == []
    for article_id, title, category in [
        ("a", "一", "银行客服"),
        ("b", "二", "物业管理"),
        ("c", "三", "物业管理"),
        ("d", "《上海市轨道交通管理条例》", UNSORTED_CATEGORY),
    ]:
        store.put_article(Article(article_id, title, category, "", "", "正文。"))
    assert store.subjects() == ["物业管理", "上海市轨道交通管理条例", "银行客服"]  # most articles first, then by name
