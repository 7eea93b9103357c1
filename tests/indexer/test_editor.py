"""Editing the knowledge base: files, store, index and revision history move together."""

from __future__ import annotations

import dataclasses

import pytest

from indexer.build import Indexer
from indexer.editor import EditConflict, ItemNotFound, KnowledgeEditor, version_of
from indexer.encoder import Encoder
from indexer.retriever import Retriever
from kb.loader import KnowledgeBaseError, load_knowledge_base, parse_article, render_article, render_faq
from kb.model import FaqEntry
from kb.store import Store


@pytest.fixture
def kb(settings, encoder, new_database):
    """A synced small knowledge base (its database on each engine) and a function making a fresh editor (one
    per request, as in the app)."""
    store = Store(new_database())
    Indexer(store, [encoder], settings).sync(*load_knowledge_base(settings.kb_dir))

    def editor() -> KnowledgeEditor:
        return KnowledgeEditor(store, Indexer(store, [encoder], settings), settings.kb_dir)

    return store, editor


def search(store, encoder, settings, question: str):
    return Retriever.load(store, [encoder], settings).search(question).hits


def test_rendered_items_load_back_unchanged(settings):
    articles, faqs = load_knowledge_base(settings.kb_dir)
    for article in articles:
        assert (
            parse_article(settings.kb_dir / "articles" / f"{article.id}.md", render_article(article)).body.strip()
            == article.body.strip()
        )
    assert "alternatives:" in render_faq(faqs[0]) and "投诉解决后还有人联系我吗" in render_faq(faqs[0])


def test_editing_an_article_reindexes_only_its_changed_passages_and_the_bot_finds_the_new_text(kb, settings, encoder):
    store, editor = kb
    article = editor().item("article", "hall-manual")
    body = article.body.replace("晚上六点关门", "晚上八点关门")
    result = editor().save_article(dataclasses.replace(article, body=body), "cur1", "延长营业时间")
    assert result.changed and result.action == "update"
    assert result.encoded == 1  # one passage's text changed; the others come from the cache
    hits = search(store, encoder, settings, "营业厅晚上几点关门")
    assert "晚上八点关门" in hits[0].text
    assert "晚上八点关门" in (settings.kb_dir / "articles" / "hall-manual.md").read_text(encoding="utf-8")
    history = editor().revisions.history("article", "hall-manual")
    assert [r["action"] for r in history] == ["update", "initial"]
    assert history[0]["author"] == "cur1" and history[0]["note"] == "延长营业时间"
    assert "-3.3.1 营业厅每天上午九点开门,晚上六点关门" in history[0]["diff"]
    assert "+3.3.1 营业厅每天上午九点开门,晚上八点关门" in history[0]["diff"]


def test_saving_the_same_text_records_nothing(kb):
    _, editor = kb
    article = editor().item("article", "call-centre")
    first = editor().save_article(article, "cur1")
    again = editor().save_article(article, "cur1")
    assert not again.changed and again.action == "unchanged"
    assert len(editor().revisions.history("article", "call-centre")) == (2 if first.changed else 0)


def test_a_stale_editor_cannot_overwrite_a_newer_version(kb):
    _, editor = kb
    opened = version_of(editor().current_text("faq", "faq-complaint-callback"))
    entry = editor().item("faq", "faq-complaint-callback")
    editor().save_faq(dataclasses.replace(entry, answer="会，三天内回访。"), "cur1", base=opened)
    with pytest.raises(EditConflict):
        editor().save_faq(dataclasses.replace(entry, answer="不会。"), "cur2", base=opened)
    assert editor().item("faq", "faq-complaint-callback").answer == "会，三天内回访。"


def test_new_faq_answers_at_once_and_revert_and_delete_restore_earlier_states(kb, settings, encoder):
    store, editor = kb
    entry = FaqEntry(
        id="faq-parking",
        question="营业厅停车收费吗？",
        answer="门前车位免费停一小时。",
        article="hall-manual",
        alternatives=("营业厅停车要钱吗",),
    )
    created = editor().save_faq(entry, "cur1", base="")
    assert created.action == "create" and created.encoded == 2
    assert search(store, encoder, settings, "营业厅门口停车要钱吗")[0].id == "faq-parking"
    editor().save_faq(dataclasses.replace(entry, answer="门前车位免费停两小时。"), "cur1")
    editor().revert(created.revision_id, "cur2")
    assert editor().item("faq", "faq-parking").answer == "门前车位免费停一小时。"
    deleted = editor().delete("faq", "faq-parking", "cur2", "不再提供停车")
    assert not (settings.kb_dir / "faq" / "faq-parking.yml").exists()
    assert "faq-parking" not in {e.id for e in store.faqs()}
    assert all(h.id != "faq-parking" for h in search(store, encoder, settings, "营业厅停车收费吗"))
    with pytest.raises(ItemNotFound):
        editor().revert(deleted.revision_id, "cur2")  # a deletion is not a version to restore
    editor().revert(created.revision_id, "cur2")  # an earlier version brings the entry back
    assert search(store, encoder, settings, "营业厅停车收费吗")[0].id == "faq-parking"
    assert [r["action"] for r in editor().revisions.history("faq", "faq-parking")] == [
        "revert",
        "delete",
        "revert",
        "update",
        "create",
    ]


def test_bad_edits_are_refused_and_leave_files_store_and_index_alone(kb, settings):
    store, editor = kb
    before = (settings.kb_dir / "faq" / "faq-complaint-callback.yml").read_text(encoding="utf-8")
    entry = editor().item("faq", "faq-complaint-callback")
    for bad in (
        dataclasses.replace(entry, answer="  "),
        dataclasses.replace(entry, article="no-such-article"),
        dataclasses.replace(entry, id="../../etc/passwd"),
    ):
        with pytest.raises(KnowledgeBaseError):
            editor().save_faq(bad, "cur1")
    with pytest.raises(KnowledgeBaseError, match="faq-complaint-callback"):
        editor().delete("article", "hall-manual", "cur1")  # a Q&A entry rests on it
    with pytest.raises(ItemNotFound):
        editor().delete("faq", "faq-nothing", "cur1")
    assert (settings.kb_dir / "faq" / "faq-complaint-callback.yml").read_text(encoding="utf-8") == before
    assert (settings.kb_dir / "articles" / "hall-manual.md").is_file()
    assert editor().revisions.recent() == []
    assert load_knowledge_base(settings.kb_dir)  # still loads


def test_a_failed_index_update_puts_the_old_file_back(kb, settings, encoder, monkeypatch):
    store, editor = kb
    before = (settings.kb_dir / "articles" / "call-centre.md").read_text(encoding="utf-8")
    ed = editor()
    monkeypatch.setattr(Encoder, "encode_cached", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    article = ed.item("article", "call-centre")
    with pytest.raises(OSError):
        ed.save_article(dataclasses.replace(article, body=article.body + "\n新的一段。\n"), "cur1")
    assert (settings.kb_dir / "articles" / "call-centre.md").read_text(encoding="utf-8") == before
    assert [r["action"] for r in ed.revisions.history("article", "call-centre")] == ["initial"]


def test_a_save_that_fails_after_the_database_changed_puts_the_database_and_indexes_back(
    kb, settings, encoder, monkeypatch
):
    store, editor = kb
    ed = editor()
    article = ed.item("article", "call-centre")
    stored_before = {p.id for p in store.passages()}

    def disk_full(self):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Indexer, "save", disk_full)  # fails after the rows and vectors have changed
        with pytest.raises(OSError):
            ed.save_article(dataclasses.replace(article, body=article.body + "\n新的一段：周末照常服务。\n"), "cur1")
    assert {p.id for p in store.passages()} == stored_before
    assert "周末照常服务" not in next(a for a in store.articles() if a.id == "call-centre").body
    assert search(store, encoder, settings, "周末照常服务吗")  # loads: the saved indexes match the database


def test_history_diffs_show_changed_fields_not_a_hand_written_layout(kb):
    _, editor = kb
    entry = editor().item("faq", "faq-complaint-callback")  # its file quotes the clause and indents differently
    editor().save_faq(dataclasses.replace(entry, answer="会，三天内回访。", updated="2026-11-27"), "cur1")
    [latest, _] = editor().revisions.history("faq", "faq-complaint-callback")
    changed = [line for line in latest["diff"].splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-answer: 会。合理的投诉解决后营业厅会进行回访，确保您满意。", "+answer: 会，三天内回访。"]
