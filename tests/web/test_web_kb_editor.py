"""The knowledge-base editor pages: forms, roles, CSRF, conflicts, history, restore, articles from gaps."""

from __future__ import annotations

import re

from staff import sign_in


def fields(page: str) -> dict:
    """The hidden inputs of the first editor form on a page, plus its CSRF token."""
    found = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    found.setdefault("csrf_token", page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0])
    return found


def answer_for(app, question: str):
    with app.app_context():
        from web.db import retriever

        return retriever().search(question).hits[0]


def test_list_filter_and_roles(curator):
    client, _, _, app = curator
    page = client.get("/curator/kb").get_data(as_text=True)
    assert "营业厅工作手册" in page and "投诉处理完以后会回访吗？" in page
    page = client.get("/curator/kb?q=回访").get_data(as_text=True)
    assert "投诉处理完以后会回访吗？" in page and "客服中心服务规范" not in page
    agent = app.test_client()
    sign_in(agent, "agent2", "agent-pass-2")
    token = fields(agent.get("/agent/").get_data(as_text=True))["csrf_token"]
    refused = agent.get("/curator/kb")
    assert refused.status_code == 403 and "没有权限" in refused.get_data(as_text=True)  # a page, in Chinese
    assert agent.get("/curator/kb/faq/faq-complaint-callback").status_code == 403
    r = agent.post(
        "/curator/kb/faq/save",
        data={"csrf_token": token, "id": "faq-x", "question": "q", "answer": "a", "article": "hall-manual", "base": ""},
    )
    assert r.status_code == 403
    assert app.test_client().get("/curator/kb").status_code in (302, 401)


def test_edit_a_faq_the_bot_answers_from_it_and_history_restores(curator, settings):
    client, _, _, app = curator
    page = client.get("/curator/kb/faq/faq-complaint-callback").get_data(as_text=True)
    form = fields(page)
    assert form["id"] == "faq-complaint-callback" and form["base"]
    data = {
        **form,
        "question": "投诉处理完以后会回访吗？",
        "alternatives": "投诉解决后还有人联系我吗\n投诉完了会回电吗",
        "answer": "会。投诉解决后三个工作日内回访。",
        "article": "hall-manual",
        "section": "3.2 客户投诉处理",
        "clause": "3.2.2",
        "note": "写明回访时限",
    }
    assert (
        client.post("/curator/kb/faq/save", data={k: v for k, v in data.items() if k != "csrf_token"}).status_code
        == 400
    )  # no CSRF token
    r = client.post("/curator/kb/faq/save", data=data, follow_redirects=True)
    assert r.status_code == 200 and "已保存并生效" in r.get_data(as_text=True)
    hit = answer_for(app, "投诉完了会回电吗")
    assert hit.id == "faq-complaint-callback" and "三个工作日" in hit.text
    history = client.get("/curator/kb/faq/faq-complaint-callback/history").get_data(as_text=True)
    assert (
        "写明回访时限" in history and "原始文件" in history and "+answer: 会。投诉解决后三个工作日内回访。" in history
    )
    original = int(re.search(r"<b>#(\d+)</b> · 原始文件", history).group(1))
    r = client.post(f"/curator/kb/revisions/{original}/restore", data=fields(history), follow_redirects=True)
    assert "已恢复到版本" in r.get_data(as_text=True)
    assert "三个工作日" not in answer_for(app, "投诉处理完以后会回访吗").text
    assert "三个工作日" not in (settings.kb_dir / "faq" / "faq-complaint-callback.yml").read_text(encoding="utf-8")


def test_a_stale_form_gets_a_conflict_not_a_silent_overwrite(curator):
    client, _, _, _ = curator
    form = fields(client.get("/curator/kb/faq/faq-complaint-callback").get_data(as_text=True))
    base = {**form, "question": "投诉处理完以后会回访吗？", "article": "hall-manual"}
    assert client.post("/curator/kb/faq/save", data={**base, "answer": "第一位的改动"}).status_code == 302
    r = client.post("/curator/kb/faq/save", data={**base, "answer": "第二位的改动"})
    assert r.status_code == 409 and "别人已经修改" in r.get_data(as_text=True)
    assert "第二位的改动" in r.get_data(as_text=True)  # the form keeps what they typed
    page = client.get("/curator/kb/faq/faq-complaint-callback").get_data(as_text=True)
    assert "第一位的改动" in page


def test_article_written_from_a_gap_group_is_prefilled_saved_answered_and_resolves_the_gaps(curator, settings):
    client, _, desk, app = curator
    ids = [
        desk.gaps.log("c1", "营业厅可以办理宽带报装吗", "abstain"),
        desk.gaps.log("c2", "营业厅能装宽带吗", "abstain"),
    ]
    page = client.get(f"/curator/kb/article/new?gaps={ids[0]},{ids[1]}").get_data(as_text=True)
    assert "## 营业厅能装宽带吗" in page and f'value="{ids[0]},{ids[1]}"' in page
    data = {
        **fields(page),
        "id": "broadband",
        "title": "宽带报装",
        "category": "电信营业厅",
        "source": "curator",
        "body": "## 宽带报装\n\n营业厅可以办理宽带报装，带身份证到柜台填写报装单，三个工作日内上门安装。",
    }
    r = client.post("/curator/kb/article/save", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/curator/kb/article/broadband")
    assert (settings.kb_dir / "articles" / "broadband.md").is_file()
    assert {g["id"] for g in desk.gaps.recent("resolved")} == set(ids)
    assert answer_for(app, "营业厅能装宽带吗").article_id == "broadband"
    again = client.post("/curator/kb/article/save", data=data)  # the same id again, as a new article
    assert again.status_code == 409 and "已被占用" in again.get_data(as_text=True)


def test_bad_and_hostile_input_gets_a_clear_message(curator, settings):
    client, _, _, _ = curator
    form = fields(client.get("/curator/kb/faq/new").get_data(as_text=True))
    good = {**form, "id": "faq-new", "question": "问题", "answer": "答案", "article": "hall-manual"}
    for change, message in [
        ({"id": "../../etc/passwd"}, "编号只能用"),
        ({"id": "Faq X"}, "编号只能用"),
        ({"answer": "  "}, "answer"),
        ({"article": "nowhere"}, "nowhere"),
        ({"question": "问" * 301}, "longer than 300"),
    ]:
        r = client.post("/curator/kb/faq/save", data={**good, **change})
        assert r.status_code == 400 and message in r.get_data(as_text=True), change
    assert not list((settings.kb_dir / "faq").glob("faq-new*"))
    hostile = {**good, "id": "faq-hostile", "answer": "<script>alert(1)</script>'; DROP TABLE faqs; --"}
    assert client.post("/curator/kb/faq/save", data=hostile).status_code == 302
    page = client.get("/curator/kb/faq/faq-hostile").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DROP TABLE" in client.get("/curator/kb/faq/faq-hostile/history").get_data(as_text=True)
    assert client.get("/curator/kb/recipe/new").status_code == 404
    assert client.get("/curator/kb/faq/..%2Fsecret").status_code == 404
    assert client.get("/curator/kb/faq/nothing-here/history").status_code == 404
    assert client.post("/curator/kb/revisions/99999/restore", data=form).status_code == 404


def test_delete_refuses_an_article_in_use_and_a_deleted_entry_can_be_restored(curator, settings):
    client, _, _, app = curator
    page = client.get("/curator/kb/article/hall-manual").get_data(as_text=True)
    token = fields(page)["csrf_token"]
    r = client.post("/curator/kb/article/hall-manual/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "没有删除" in r.get_data(as_text=True) and (settings.kb_dir / "articles" / "hall-manual.md").is_file()
    r = client.post("/curator/kb/faq/faq-complaint-callback/delete", data={"csrf_token": token}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已删除" in page and "（已删除）" in page
    assert all(h.id != "faq-complaint-callback" for h in [answer_for(app, "投诉处理完以后会回访吗")])
    original = int(re.search(r"<b>#(\d+)</b> · 原始文件", page).group(1))
    client.post(f"/curator/kb/revisions/{original}/restore", data=fields(page))
    assert answer_for(app, "投诉处理完以后会回访吗").id == "faq-complaint-callback"


def test_a_long_chinese_article_fits_through_the_form(curator, settings):
    client, _, _, _ = curator
    form = fields(client.get("/curator/kb/article/new").get_data(as_text=True))
    from kb.loader import MAX_BODY_CHARS

    sentence = "客户服务中心应当按照规范受理客户咨询并及时回复。"
    body = "## 长文\n\n" + (sentence * (MAX_BODY_CHARS // len(sentence)))[: MAX_BODY_CHARS - 10]  # ~3.6 MB encoded
    r = client.post(
        "/curator/kb/article/save",
        data={**form, "id": "long-article", "title": "长文", "category": "测试", "body": body},
    )
    assert r.status_code == 302
    assert len((settings.kb_dir / "articles" / "long-article.md").read_text(encoding="utf-8")) > MAX_BODY_CHARS - 10


def test_importing_a_file_prefills_the_editor_and_saves_nothing(curator, settings):
    import io

    client, _, _, _ = curator
    token = fields(client.get("/curator/kb/article/new").get_data(as_text=True))["csrf_token"]

    def upload(name: str, data: bytes):
        return client.post(
            "/curator/kb/article/import",
            data={"csrf_token": token, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    before = sorted(p.name for p in (settings.kb_dir / "articles").iterdir())
    page = upload("../../etc/营业厅宽带.txt", "# 宽带报装规定\n\n带身份证办理。".encode("gb18030")).get_data(
        as_text=True
    )
    assert 'value="宽带报装规定"' in page and "带身份证办理。" in page
    page = upload(
        "x.md", "---\nid: hall-rules\ntitle: 厅堂规则\ncategory: 营业厅\n---\n\n## 一\n\n正文".encode()
    ).get_data(as_text=True)
    assert 'value="hall-rules"' in page and 'value="厅堂规则"' in page and 'value="营业厅"' in page
    r = upload("evil.md", "<script>alert(1)</script>\n\n# <b>标题</b>".encode())
    assert r.status_code == 200 and "<script>alert(1)</script>" not in r.get_data(as_text=True)
    assert upload("pic.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").status_code == 400
    assert upload("big.txt", b"a" * (2 * 1024 * 1024 + 10)).status_code == 413
    assert client.post("/curator/kb/article/import", data={"csrf_token": token}).status_code == 400
    assert (
        client.post(
            "/curator/kb/article/import", data={"file": (io.BytesIO(b"x"), "a.txt")}, content_type="multipart/form-data"
        ).status_code
        == 400
    )  # no CSRF token
    assert sorted(p.name for p in (settings.kb_dir / "articles").iterdir()) == before
    page = upload("hall-manual.txt", "营业厅工作手册\n第一条 另一本。\n".encode()).get_data(as_text=True)
    assert 'value="hall-manual-2"' in page and 'value="导入文档"' in page  # a free id, and a category
    assert 'name="imported_from" value="hall-manual.txt"' in page
