"""Loading the knowledge base: valid files load; anything wrong names its file and field."""

from __future__ import annotations

import pytest

from kb.loader import KnowledgeBaseError, load_knowledge_base

from conftest import ARTICLES, FAQS, write_kb
from hostile import ALIAS_BOMB


def test_loads_articles_and_entries(kb_dir):
    articles, faqs = load_knowledge_base(kb_dir)
    assert [a.id for a in articles] == ["call-centre", "hall-manual"]
    assert articles[1].title == "营业厅工作手册" and articles[1].updated == "2026-11-27"
    assert faqs[0].phrasings == ["投诉处理完以后会回访吗？", "投诉解决后还有人联系我吗"]
    assert faqs[0].clause == "3.2.2"


def test_shipped_knowledge_base_loads():
    articles, faqs = load_knowledge_base("kb")
    assert len(articles) == 10 and len(faqs) >= 25


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (ARTICLES["hall-manual"].replace("        title: 营业厅工作手册\n", ""), "title", "missing"),
        (ARTICLES["hall-manual"].replace("id: hall-manual", "id: other-name"), "id", "file name"),
        (ARTICLES["hall-manual"].replace("id: hall-manual", "id: Bad_ID"), "id", "lower-case"),
        (ARTICLES["hall-manual"].split("        ---\n\n", 1)[0] + "        ---\n", "body", "no text"),
    ],
)
def test_bad_article_names_file_and_field(tmp_path, broken, field, words):
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": broken}, FAQS)
    with pytest.raises(KnowledgeBaseError) as err:
        load_knowledge_base(kb)
    assert "hall-manual.md" in str(err.value) and f"field '{field}'" in str(err.value) and words in str(err.value)


def test_article_without_front_matter(tmp_path):
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": "## 第三章\n\n正文。\n"}, FAQS)
    with pytest.raises(KnowledgeBaseError, match=r"hall-manual\.md: has no front matter"):
        load_knowledge_base(kb)


def test_front_matter_that_is_not_yaml(tmp_path):
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": "---\ntitle: [unclosed\n---\n正文。\n"}, FAQS)
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        load_knowledge_base(kb)


def test_binary_file_is_refused_cleanly(tmp_path):
    kb = write_kb(tmp_path / "kb")
    (kb / "articles" / "junk.md").write_bytes(b"\xff\xfe\x00binary\x00")
    with pytest.raises(KnowledgeBaseError, match=r"junk\.md: is not UTF-8 text"):
        load_knowledge_base(kb)


def test_faq_pointing_at_missing_article(tmp_path):
    faq = FAQS["faq-complaint-callback"].replace("article: hall-manual", "article: nowhere")
    kb = write_kb(tmp_path / "kb", ARTICLES, {"faq-complaint-callback": faq})
    with pytest.raises(KnowledgeBaseError, match=r"faq-complaint-callback\.yml: field 'article'.*nowhere"):
        load_knowledge_base(kb)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("alternatives:\n          - 投诉解决后还有人联系我吗", "alternatives: 不是列表", "alternatives"),
        ("answer: 会。合理的投诉解决后营业厅会进行回访，确保您满意。", "answer: ''", "answer"),
    ],
)
def test_bad_faq_fields(tmp_path, old, new, field):
    faq = FAQS["faq-complaint-callback"].replace(old, new)
    assert faq != FAQS["faq-complaint-callback"]
    kb = write_kb(tmp_path / "kb", ARTICLES, {"faq-complaint-callback": faq})
    with pytest.raises(KnowledgeBaseError, match=f"field '{field}'"):
        load_knowledge_base(kb)


def test_missing_articles_folder(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="articles"):
        load_knowledge_base(tmp_path)


@pytest.mark.parametrize(
    "front",
    [
        ALIAS_BOMB + "id: hall-manual\ntitle: *i\n",
        "id: hall-manual\ntitle: &t 标题\ncategory: *t\n",
    ],
    ids=["alias-bomb-in-the-title", "any-alias"],
)
def test_front_matter_with_aliases_is_refused_before_anything_expands(tmp_path, front):
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": f"---\n{front}---\n正文。\n"}, FAQS)
    with pytest.raises(KnowledgeBaseError, match=r"hall-manual\.md: .*aliases"):
        load_knowledge_base(kb)


@pytest.mark.parametrize("value", ["[一, 二]", "{a: 1}", "!!binary aGVsbG8="])
def test_front_matter_values_must_be_plain_text(tmp_path, value):
    text = f"---\nid: hall-manual\ntitle: {value}\ncategory: 营业厅\nsource: 手册\nupdated: 2024-01-01\n---\n正文。\n"
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": text}, FAQS)
    with pytest.raises(KnowledgeBaseError, match=r"hall-manual\.md: field 'title': must be plain text"):
        load_knowledge_base(kb)


def test_a_faq_file_with_an_alias_bomb_is_refused(tmp_path):
    kb = write_kb(tmp_path / "kb")
    (kb / "faq" / "bomb.yml").write_text(ALIAS_BOMB + "id: bomb\nquestion: *i\nanswer: 答\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"bomb\.yml: .*aliases"):
        load_knowledge_base(kb)


@pytest.mark.parametrize("value", ["1" * 5000, "2024-13-45"], ids=["a-5000-digit-number", "no-such-date"])
def test_a_front_matter_value_yaml_cannot_build_is_named_not_crashed(tmp_path, value):
    text = f"---\nid: hall-manual\ntitle: {value}\ncategory: 营业厅\nsource: 手册\nupdated: 2024-01-01\n---\n正文。\n"
    kb = write_kb(tmp_path / "kb", {**ARTICLES, "hall-manual": text}, FAQS)
    with pytest.raises(KnowledgeBaseError, match=r"hall-manual\.md: front matter is not valid YAML"):
        load_knowledge_base(kb)
