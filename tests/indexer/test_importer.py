"""Importing files into the knowledge base: readable ids, one change with revisions, only what changed
re-encoded, a re-import replacing what the file gave before, and answers cited from the imported text."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from indexer.build import Indexer
from indexer.editor import KnowledgeEditor
from indexer.importer import apply, editor_draft, plan, read_all
from indexer.replies import answer_text
from indexer.retriever import Retriever
from kb.importing.guard import ImportLimits
from kb.loader import load_knowledge_base
from kb.revisions import Revisions
from kb.store import Store

from servers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import"
TEXT = (FIXTURES / "信用卡服务须知-gbk.txt").read_bytes()


@pytest.fixture
def desk_kb(settings, encoder, new_database):
    """The small knowledge base, indexed (its database on each engine); an editor over it; a function that
    imports (name, bytes) files."""
    store = Store(new_database())
    Indexer(store, [encoder], settings).sync(*load_knowledge_base(settings.kb_dir))

    def run(*files: tuple[str, bytes], author: str = "tester"):
        parsed, failed = read_all(files, ImportLimits())
        import_plan = plan(parsed, settings.kb_dir, Revisions(store.db), category="银行")
        import_plan.failures = failed + import_plan.failures
        editor = KnowledgeEditor(store, Indexer(store, [encoder], settings), settings.kb_dir)
        return import_plan, apply(import_plan, editor, author)

    def ask(question: str):
        return Retriever.load(store, [encoder], settings).search(question)

    return store, run, ask


def test_an_import_saves_articles_and_entries_that_are_answered_and_cited(desk_kb, settings):
    store, run, ask = desk_kb
    sheet = (FIXTURES / "常见问题.xlsx").read_bytes()
    import_plan, results = run(("信用卡服务须知-gbk.txt", TEXT), ("常见问题.xlsx", sheet))
    assert sorted((r.kind, r.item_id, r.action) for r in results) == [
        ("article", "xin-yong-ka-fu-wu-xu-zhi", "create"),
        ("faq", "faq-di-tie-che-xiang-li-neng-chi-dong-xi-ma", "create"),
        ("faq", "faq-yu-fu-ka-shang-jia-guan-men-le-qian-neng-tui-ma", "create"),
    ]
    article = next(a for a in load_knowledge_base(settings.kb_dir)[0] if a.id == "xin-yong-ka-fu-wu-xu-zhi")
    assert (article.title, article.category, article.source) == ("信用卡服务须知", "银行", "信用卡服务须知-gbk.txt")
    assert [r["action"] for r in Revisions(store.db).history("article", article.id)] == ["create"]
    hits = ask("信用卡一年的年费要多少钱").hits  # (ranking it first against curated entries is issue 12's)
    best = next(h for h in hits[:3] if h.article_id == "xin-yong-ka-fu-wu-xu-zhi")
    assert answer_text(best).endswith("来源：《信用卡服务须知》第二章 年费 · 第三条")  # the clause, exactly
    curated = ask("店倒闭了预付卡余额能拿回来吗").hits[0]
    assert curated.kind == "faq" and "来源" not in answer_text(curated)  # rests on no article: no source line
    warnings = import_plan.files[1].summary()["warnings"]  # the sheet cites an article this knowledge base lacks
    assert any("上海市轨道交通管理条例" in w for w in warnings)


def test_importing_again_changes_nothing_and_a_changed_clause_is_all_that_is_encoded(desk_kb):
    store, run, ask = desk_kb
    run(("信用卡服务须知-gbk.txt", TEXT))
    _, again = run(("信用卡服务须知-gbk.txt", TEXT))
    assert [(r.action, r.encoded) for r in again] == [("unchanged", 0)]
    changed = TEXT.decode("gbk").replace("每年100元", "每年200元").encode("gbk")
    _, results = run(("信用卡服务须知-gbk.txt", changed))
    assert [(r.item_id, r.action, r.encoded) for r in results] == [("xin-yong-ka-fu-wu-xu-zhi", "update", 1)]
    assert "每年200元" in answer_text(ask("信用卡年费多少").hits[0])


def test_the_same_document_under_another_name_is_not_imported_twice(desk_kb, settings):
    store, run, _ = desk_kb
    run(("信用卡服务须知-gbk.txt", TEXT))
    copy = TEXT.decode("gbk").replace("\n", "\r\n").encode("gbk")  # saved again on another machine
    import_plan, results = run(("须知 (最终版)【2024】#1.txt", copy), ("另一份.txt", "第一条 别的内容。\n".encode()))
    # the copy made nothing; the other is named by its file (its first line is a clause, not a title)
    assert [r.item_id for r in results] == ["ling-yi-fen"]
    [warning] = [w for w in import_plan.files[0].summary()["warnings"] if "完全相同" in w]
    assert "《信用卡服务须知》（xin-yong-ka-fu-wu-xu-zhi）" in warning
    assert [a.id for a in load_knowledge_base(settings.kb_dir)[0] if a.title == "信用卡服务须知"] == [
        "xin-yong-ka-fu-wu-xu-zhi"
    ]
    # two copies in one import: the first goes in
    import_plan, results = run(("a.txt", "第一条 同一份。\n".encode()), ("b.txt", "第一条 同一份。\n".encode()))
    assert len(results) == 1 and any("完全相同" in w for w in import_plan.files[1].summary()["warnings"])


def test_a_sheet_imported_again_removes_the_questions_it_no_longer_has(desk_kb):
    store, run, _ = desk_kb
    run(("faq.csv", "问题,答案\n怎么挂失,打客服热线\n年费多少,每年100元\n".encode()))
    _, results = run(("faq.csv", "问题,答案\n怎么挂失,打客服热线或到网点\n".encode()))
    assert sorted((r.item_id, r.action) for r in results) == [
        ("faq-nian-fei-duo-shao", "delete"),
        ("faq-zen-me-gua-shi", "update"),
    ]
    assert [e.question for e in store.faqs() if e.source == "faq.csv"] == ["怎么挂失"]


def test_an_unknown_source_named_on_many_rows_is_said_once_with_its_rows(desk_kb):
    store, run, _ = desk_kb
    rows = "".join(f"问题{n},答案{n},上海市消费者权益保护条例,第三十条\n" for n in range(12))
    import_plan, _ = run(("faq.csv", f"问题,答案,依据,条款\n{rows}".encode()))
    notices = import_plan.files[0].notices
    assert len(notices) == 1 and "“上海市消费者权益保护条例”" in notices[0]
    assert notices[0].startswith("第 2、3、4、5、6、7、8、9、10、11 等 12 行的依据") and "先导入这份文档" in notices[0]
    assert all(e.article is None and e.clause is None for e in store.faqs() if e.source == "faq.csv")


def test_the_preview_excerpt_ends_at_a_line_not_inside_the_next_heading():
    from indexer.importer import excerpt

    body = "第一条 " + "甲" * 390 + "\n\n## 第二章 管理\n\n第二条 乙。"
    assert excerpt(body) == "第一条 " + "甲" * 390 and excerpt("短文本") == "短文本"
    assert excerpt("甲" * 500) == "甲" * 400  # one long line: cut where the limit falls


def test_a_file_that_fails_saves_nothing_and_the_others_go_in(desk_kb):
    store, run, _ = desk_kb
    import_plan, results = run(("坏文件.pdf", b"%PDF-1.4 truncated"), ("信用卡服务须知-gbk.txt", TEXT))
    assert [(f.name, f.reason) for f in import_plan.failures] == [("坏文件.pdf", "PDF 已损坏或不完整，无法读取。")]
    assert [r.item_id for r in results] == ["xin-yong-ka-fu-wu-xu-zhi"]


def test_ids_are_readable_unique_and_kept_by_the_file_that_made_them(desk_kb, settings):
    store, run, _ = desk_kb
    run(
        ("hall-manual.txt", "营业厅工作手册\n第一条 另一本同名手册。\n".encode())
    )  # the base has an article 'hall-manual'
    assert {a.id: a.source for a in store.articles()}["hall-manual-2"] == "hall-manual.txt"
    _, results = run(("hall-manual.txt", "营业厅工作手册\n第一条 修改过的手册。\n".encode()))
    assert [(r.item_id, r.action) for r in results] == [("hall-manual-2", "update")]
    assert (settings.kb_dir / "articles" / "hall-manual.md").read_text(encoding="utf-8").count(
        "营业厅每天上午九点开门"
    ) == 1


def test_files_of_one_name_in_different_folders_stay_apart_and_a_bare_name_that_could_be_either_is_refused(
    desk_kb,
):
    store, run, _ = desk_kb
    beijing, shanghai = (
        "网点规定\n第一条 北京网点九点开门。\n".encode(),
        "网点规定\n第一条 上海网点八点开门。\n".encode(),
    )
    run(("北京/规定.txt", beijing), ("上海/规定.txt", shanghai))
    plan_again, results = run(
        ("北京/规定.txt", beijing), ("上海/规定.txt", shanghai.replace("八点".encode(), "十点".encode()))
    )
    by_from = {a.imported_from: a for a in store.articles()}
    assert "北京网点九点开门" in by_from["北京/规定.txt"].body and "上海网点十点开门" in by_from["上海/规定.txt"].body
    assert sorted(r.action for r in results) == ["unchanged", "update"]
    import_plan, results = run(("规定.txt", beijing))  # uploaded on the page: no folder to tell them apart
    assert results == [] and "以前导入过多个同名文件" in import_plan.failures[0].reason
    import_plan, _ = run(("a.txt", beijing), ("a.txt", shanghai))
    assert [f.name for f in import_plan.failures] == ["a.txt"] and "同名文件" in import_plan.failures[0].reason


def test_the_knowledge_base_files_not_the_database_say_what_a_file_made_before(
    desk_kb, settings, encoder, new_database
):
    store, run, _ = desk_kb
    run(("信用卡服务须知-gbk.txt", TEXT))
    fresh = Store(new_database("elsewhere"))  # the data folder lost, kb/ kept
    parsed, _ = read_all([("信用卡服务须知-gbk.txt", TEXT)], ImportLimits())
    import_plan = plan(parsed, settings.kb_dir, Revisions(fresh.db))
    assert [(i.id, import_plan.files[0].actions[i.id]) for i in import_plan.items] == [
        ("xin-yong-ka-fu-wu-xu-zhi", "unchanged")
    ]


def test_a_later_import_names_what_it_removes_and_overwrites_and_notes_the_file_in_history(desk_kb, settings, encoder):
    store, run, _ = desk_kb
    run(("faq.csv", "问题,答案\n怎么挂失,打客服热线\n年费多少,每年100元\n".encode()))
    run(("信用卡服务须知-gbk.txt", TEXT))
    editor = KnowledgeEditor(store, Indexer(store, [encoder], settings), settings.kb_dir)
    article = editor.item("article", "xin-yong-ka-fu-wu-xu-zhi")
    editor.save_article(dataclasses.replace(article, body=article.body + "\n\n补充：金卡年费另计。\n"), "小李", "补充")
    assert editor.item("article", article.id).imported_from == "信用卡服务须知-gbk.txt"
    changed = TEXT.decode("gbk").replace("每年100元", "每年200元").encode("gbk")
    import_plan, results = run(
        ("信用卡服务须知-gbk.txt", changed), ("faq.csv", "问题,答案\n怎么挂失,打客服热线\n".encode())
    )
    files = {f["name"]: f for f in import_plan.summary()["files"]}
    assert files["faq.csv"]["removes"] == [{"id": "faq-nian-fei-duo-shao", "question": "年费多少"}]
    assert files["faq.csv"]["items"][0]["action"] == "unchanged"
    article_item = files["信用卡服务须知-gbk.txt"]["items"][0]
    assert article_item["action"] == "update" and article_item["edited"].startswith("小李，")
    assert any("在上次导入后被修改过（小李" in w for w in files["信用卡服务须知-gbk.txt"]["warnings"])
    history = Revisions(store.db).history("article", article.id)
    assert [(r["author"], r["note"]) for r in history] == [
        ("tester", "导入 信用卡服务须知-gbk.txt"),
        ("小李", "补充"),
        ("tester", "导入 信用卡服务须知-gbk.txt"),
    ]
    assert "金卡年费另计" in history[1]["content"]  # what the import overwrote is kept
    assert Revisions(store.db).history("faq", "faq-nian-fei-duo-shao")[0]["note"].startswith("导入 faq.csv")
    assert sorted((r.item_id, r.action) for r in results) == [
        ("faq-nian-fei-duo-shao", "delete"),
        ("faq-zen-me-gua-shi", "unchanged"),
        ("xin-yong-ka-fu-wu-xu-zhi", "update"),
    ]


def test_an_unchanged_file_imported_on_a_later_day_records_nothing(desk_kb, settings):
    store, run, _ = desk_kb
    run(("信用卡服务须知-gbk.txt", TEXT))
    parsed, _ = read_all([("信用卡服务须知-gbk.txt", TEXT)], ImportLimits())
    later = plan(parsed, settings.kb_dir, Revisions(store.db), today=dt.date(2031, 1, 1))
    assert later.summary()["changes"] == {"create": 0, "update": 0, "unchanged": 1}
    assert later.items[0].updated == dt.date.today().isoformat()


def test_a_save_that_fails_puts_the_files_database_and_indexes_back(desk_kb, settings, encoder, monkeypatch):
    store, run, ask = desk_kb
    before = {a.id: a.body for a in store.articles()}
    files_before = sorted(p.name for p in (settings.kb_dir / "articles").iterdir())

    def disk_full(self):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Indexer, "save", disk_full)
        with pytest.raises(OSError):
            run(("信用卡服务须知-gbk.txt", TEXT))
    assert sorted(p.name for p in (settings.kb_dir / "articles").iterdir()) == files_before
    assert {a.id: a.body for a in store.articles()} == before
    assert ask("营业厅几点开门").hits  # the saved indexes still match the database: no IndexStaleError


def test_a_reader_that_breaks_fails_its_file_alone(desk_kb, monkeypatch):
    import indexer.importer as importer

    store, run, _ = desk_kb
    real = importer.read_file

    def fragile(name, data, *args):
        if name.endswith(".csv"):
            raise RuntimeError("a library's surprise")
        return real(name, data, *args)

    monkeypatch.setattr(importer, "read_file", fragile)
    import_plan, results = run(
        ("faq.csv", "问题,答案\n怎么挂失,打客服热线\n".encode()), ("信用卡服务须知-gbk.txt", TEXT)
    )
    assert [f.name for f in import_plan.failures] == ["faq.csv"] and "意外错误" in import_plan.failures[0].reason
    assert [r.item_id for r in results] == ["xin-yong-ka-fu-wu-xu-zhi"]


def test_the_editor_opening_a_file_imported_before_says_so_and_leaves_the_file_to_that_article(desk_kb, settings):
    store, run, _ = desk_kb
    parsed, _ = read_all([("信用卡服务须知-gbk.txt", TEXT)], ImportLimits())
    fresh, earlier = editor_draft(parsed[0], settings.kb_dir)
    assert (fresh.id, fresh.imported_from, earlier) == ("xin-yong-ka-fu-wu-xu-zhi", "信用卡服务须知-gbk.txt", "")
    run(("信用卡服务须知-gbk.txt", TEXT))
    again, earlier = editor_draft(parsed[0], settings.kb_dir)
    assert (again.id, again.imported_from, earlier) == (
        "xin-yong-ka-fu-wu-xu-zhi-2",
        "",
        "文章 xin-yong-ka-fu-wu-xu-zhi",
    )


def test_reading_tells_each_page_of_a_long_file():
    told = []
    read_all(
        [("metro-rules.pdf", (FIXTURES / "metro-rules.pdf").read_bytes())],
        ImportLimits(),
        step=lambda what, done, total: told.append(what),
    )
    assert told[0] == "读取 metro-rules.pdf" and "读取 metro-rules.pdf（3/3）" in told and told[-1] == "读取完成"


def test_a_question_a_curator_reworded_is_updated_with_a_warning_not_removed(desk_kb, settings, encoder):
    store, run, _ = desk_kb
    sheet = "问题,答案\n怎么挂失,打客服热线\n".encode()
    run(("faq.csv", sheet))
    editor = KnowledgeEditor(store, Indexer(store, [encoder], settings), settings.kb_dir)
    entry = editor.item("faq", "faq-zen-me-gua-shi")
    editor.save_faq(dataclasses.replace(entry, question="信用卡怎么挂失"), "小李")
    assert editor.item("faq", "faq-zen-me-gua-shi").source == "faq.csv"
    import_plan, results = run(("faq.csv", sheet))
    summary = import_plan.summary()["files"][0]
    assert summary["removes"] == [] and summary["items"][0]["edited"].startswith("小李")
    assert [(r.item_id, r.action) for r in results] == [("faq-zen-me-gua-shi", "update")]


def test_two_files_matching_one_earlier_import_are_refused_not_merged(desk_kb):
    store, run, _ = desk_kb
    run(("规定.txt", "网点规定\n第一条 九点开门。\n".encode()))  # uploaded on the page: no folder
    import_plan, results = run(
        ("北京/规定.txt", "网点规定\n第一条 北京九点开门。\n".encode()),
        ("上海/规定.txt", "网点规定\n第一条 上海八点开门。\n".encode()),
    )
    assert [f.name for f in import_plan.failures] == ["上海/规定.txt"]  # the first one matched it
    assert "和这次导入的 北京/规定.txt 都对应以前导入的 规定.txt" in import_plan.failures[0].reason
    assert [(r.item_id, r.action) for r in results] == [("wang-dian-gui-ding", "update")]
    assert {a.imported_from for a in store.articles() if a.id == "wang-dian-gui-ding"} == {"北京/规定.txt"}


def test_an_article_written_in_the_editor_from_a_file_is_not_overwritten_unannounced(desk_kb, settings, encoder):
    store, run, _ = desk_kb
    parsed, _ = read_all([("信用卡服务须知-gbk.txt", TEXT)], ImportLimits())
    draft, _ = editor_draft(parsed[0], settings.kb_dir)
    editor = KnowledgeEditor(store, Indexer(store, [encoder], settings), settings.kb_dir)
    editor.save_article(dataclasses.replace(draft, body=draft.body + "\n\n补充说明。\n", updated="2026-11-29"), "小李")
    import_plan, _ = run(("信用卡服务须知-gbk.txt", TEXT))
    warnings = import_plan.summary()["files"][0]["warnings"]
    assert any("是在编辑器里建立或修改的（小李" in w for w in warnings)
