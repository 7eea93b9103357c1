"""The curator's import page: several files at once, a preview before saving, a failed file listed with its
reason while the others go in, progress while saving, and the bot answering from the import at once."""

from __future__ import annotations

import io
import time

from servers import ROOT
from staff import sign_in

FIXTURES = ROOT / "tests" / "fixtures" / "import"


def files(*names: str, extra: tuple[str, bytes] | None = None) -> dict:
    uploads = [(io.BytesIO((FIXTURES / n).read_bytes()), n) for n in names]
    if extra:
        uploads.append((io.BytesIO(extra[1]), extra[0]))
    return {"files": uploads}


def settled(client, job: str, seconds: float = 120) -> dict:
    """The job once it is no longer reading or saving (polled, as the page does)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job_now = client.get(f"/api/curator/import/{job}").get_json()
        if job_now["status"] not in ("queued", "reading", "saving"):
            return job_now
        time.sleep(0.1)
    raise TimeoutError(job)


def test_upload_preview_then_save_and_the_bot_answers_from_it(curator, settings):
    client, headers, _, app = curator
    page = client.get("/curator/import").get_data(as_text=True)
    assert "把文件拖到这里" in page and "kb-import.js" in page and "<script>" not in page  # no inline script
    form = files("信用卡服务须知-gbk.txt", "常见问题.xlsx", extra=("../../扫描件.pdf", b"%PDF-1.4 broken"))
    assert client.post("/api/curator/import", data=form, content_type="multipart/form-data").status_code == 400
    form = files("信用卡服务须知-gbk.txt", "常见问题.xlsx", extra=("../../扫描件.pdf", b"%PDF-1.4 broken"))
    started = client.post("/api/curator/import", data=form, headers=headers, content_type="multipart/form-data")
    assert started.status_code == 202
    job = started.get_json()["job"]
    ready = settled(client, job)
    assert ready["status"] == "ready" and ready["author"] == "cur1"
    preview = {f["name"]: f for f in ready["result"]["files"]}
    assert preview["信用卡服务须知-gbk.txt"]["sections"] == ["第一章 挂失与冻结", "第二章 年费"]
    assert preview["信用卡服务须知-gbk.txt"]["clauses"] == 3 and preview["常见问题.xlsx"]["faqs"] == 2
    assert [r["row"] for r in preview["常见问题.xlsx"]["rejected"]] == [5, 6]
    assert ready["result"]["failed"] == [{"name": "扫描件.pdf", "reason": "PDF 已损坏或不完整，无法读取。"}]
    assert not list((settings.kb_dir / "articles").glob("xin-yong*"))  # nothing saved before the curator says so

    assert client.post(f"/api/curator/import/{job}/save", json={"category": "银行卡"}).status_code == 400  # CSRF
    assert (
        client.post(f"/api/curator/import/{job}/save", json={"category": "银行卡"}, headers=headers).status_code == 202
    )
    assert client.post(f"/api/curator/import/{job}/save", json={}, headers=headers).status_code == 409  # once
    done = settled(client, job)
    assert done["status"] == "done" and done["result"]["saved"]["create"] == 3 and done["result"]["encoded"] > 0
    assert (settings.kb_dir / "articles" / "xin-yong-ka-fu-wu-xu-zhi.md").is_file()
    assert not (settings.data_dir / "imports" / job).exists()  # the uploaded files are gone once saved
    with app.app_context():
        from web.db import audit_log

        [imported] = audit_log().search(action="file_imported")["rows"]
    assert (imported["actor_name"], imported["target_id"]) == ("cur1", job)
    assert "信用卡服务须知-gbk.txt" in imported["detail"] and "create 3" in imported["detail"]
    with app.app_context():
        from web.db import retriever

        hits = retriever().search("信用卡挂失以后被盗刷谁负责").hits
    assert any(h.clause == "第二条" and h.title == "信用卡服务须知" for h in hits[:3])
    assert "信用卡服务须知" in client.get("/curator/kb").get_data(as_text=True)


def test_only_curators_import(curator):
    client, _, _, app = curator
    agent = app.test_client()
    sign_in(agent, "agent2", "agent-pass-2")
    token = agent.get("/agent/").get_data(as_text=True).split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    refused = agent.post(
        "/api/curator/import",
        data=files("信用卡服务须知-gbk.txt"),
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403 and agent.get("/curator/import").status_code == 403
    assert app.test_client().post("/api/curator/import").status_code in (400, 401)
    assert client.get("/api/curator/import/no-such-job").status_code == 404


def test_an_upload_with_no_files_or_too_many_is_a_clear_400(curator):
    client, headers, _, _ = curator
    empty = client.post("/api/curator/import", data={}, headers=headers, content_type="multipart/form-data")
    assert empty.status_code == 400 and "选择要导入的文件" in empty.get_json()["error"]
    many = {"files": [(io.BytesIO(b"x"), f"{n}.txt") for n in range(51)]}
    too_many = client.post("/api/curator/import", data=many, headers=headers, content_type="multipart/form-data")
    assert too_many.status_code == 400 and "最多" in too_many.get_json()["error"]


def start(client, headers, *uploads: tuple[str, bytes]) -> str:
    form = {"files": [(io.BytesIO(data), name) for name, data in uploads]}
    started = client.post("/api/curator/import", data=form, headers=headers, content_type="multipart/form-data")
    assert started.status_code == 202, started.get_data(as_text=True)
    return started.get_json()["job"]


def test_a_document_larger_than_a_form_uploads_and_files_left_out_are_not_saved(curator, settings):
    client, headers, _, _ = curator
    big = ("说明\n\n" + "营业厅每天上午九点开门，下午五点关门。\n\n" * 150_000).encode()  # over 8 MB, under 50
    assert len(big) > 5 * 1024 * 1024
    job = start(
        client,
        headers,
        ("大文件.txt", big),
        ("信用卡服务须知-gbk.txt", (FIXTURES / "信用卡服务须知-gbk.txt").read_bytes()),
    )
    ready = settled(client, job)
    assert ready["status"] == "ready", ready
    saving = client.post(f"/api/curator/import/{job}/save", json={"leave_out": ["大文件.txt"]}, headers=headers)
    assert saving.status_code == 202
    done = settled(client, job)
    assert done["result"]["left_out"] == ["大文件.txt"] and done["result"]["saved"]["create"] == 1
    assert [f["name"] for f in done["result"]["files"]] == ["信用卡服务须知-gbk.txt"]


def test_a_job_that_stopped_with_the_server_says_so_instead_of_reading_forever(curator, settings):
    client, headers, _, app = curator
    with app.app_context():
        from kb.importing.jobs import ImportJobs
        from web.db import database

        jobs = ImportJobs(database())
        job = jobs.create("cur1", ["规定.txt"])
        with database().transaction():
            database().execute("UPDATE import_jobs SET updated_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", [job])
    (settings.data_dir / "imports" / job / "files").mkdir(parents=True)
    shown = client.get(f"/api/curator/import/{job}").get_json()
    assert shown["status"] == "failed" and "导入中断" in shown["message"]
    assert not (settings.data_dir / "imports" / job).exists()
    assert client.post(f"/api/curator/import/{job}/save", json={}, headers=headers).status_code == 409


def test_an_article_edited_in_the_editor_is_still_the_one_its_file_updates(curator, settings):
    client, headers, _, _ = curator
    text = (FIXTURES / "信用卡服务须知-gbk.txt").read_bytes()
    job = start(client, headers, ("信用卡服务须知-gbk.txt", text))
    settled(client, job)
    client.post(f"/api/curator/import/{job}/save", json={}, headers=headers)
    settled(client, job)
    page = client.get("/curator/kb/article/xin-yong-ka-fu-wu-xu-zhi").get_data(as_text=True)
    form = {
        "csrf_token": headers["X-CSRFToken"],
        "base": page.split('name="base" value="', 1)[1].split('"', 1)[0],
        "id": "xin-yong-ka-fu-wu-xu-zhi",
        "title": "信用卡服务须知",
        "category": "银行",
        "source": "总行 2026 版",  # a curator corrects the 来源
        "body": "第一条 修改过的正文。",
    }
    assert client.post("/curator/kb/article/save", data=form).status_code == 302
    saved = (settings.kb_dir / "articles" / "xin-yong-ka-fu-wu-xu-zhi.md").read_text(encoding="utf-8")
    assert "imported_from: 信用卡服务须知-gbk.txt" in saved and "source: 总行 2026 版" in saved
    job = start(client, headers, ("信用卡服务须知-gbk.txt", text))
    item = settled(client, job)["result"]["files"][0]["items"][0]
    assert item["id"] == "xin-yong-ka-fu-wu-xu-zhi" and item["action"] == "update" and item["edited"].startswith("cur1")
    client.post(f"/api/curator/import/{job}/save", json={}, headers=headers)
    settled(client, job)
    saved = (settings.kb_dir / "articles" / "xin-yong-ka-fu-wu-xu-zhi.md").read_text(encoding="utf-8")
    assert "source: 总行 2026 版" in saved and "第三条" in saved  # the 来源 the curator chose is kept
    assert sorted(p.name for p in (settings.kb_dir / "articles").glob("xin-yong*")) == ["xin-yong-ka-fu-wu-xu-zhi.md"]


def test_a_zip_bomb_fails_with_its_reason_and_a_path_in_a_name_chooses_nothing(curator, settings):
    from hostile import ZIP_BOMB

    client, headers, _, _ = curator
    job = start(client, headers, ("report.docx", ZIP_BOMB), ("../../etc/passwd.txt", "第一条 正文。".encode()))
    ready = settled(client, job)
    assert [f["name"] for f in ready["result"]["failed"]] == ["report.docx"]
    assert "解压" in ready["result"]["failed"][0]["reason"] or "压缩" in ready["result"]["failed"][0]["reason"]
    assert [f["name"] for f in ready["result"]["files"]] == ["passwd.txt"] and ready["files"][1] == "passwd.txt"
    assert not (settings.data_dir / "etc").exists() and not (settings.data_dir / "imports" / "etc").exists()


def test_an_import_left_unsaved_for_a_day_expires_and_says_so_when_saved(curator, settings):
    import threading

    client, headers, _, app = curator
    job = start(client, headers, ("信用卡服务须知-gbk.txt", (FIXTURES / "信用卡服务须知-gbk.txt").read_bytes()))
    assert settled(client, job)["status"] == "ready" and (settings.data_dir / "imports" / job / "parsed.json").is_file()
    with app.app_context():
        from web.db import database

        with database().transaction():
            database().execute("UPDATE import_jobs SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", [job])
    from web.serve import housekeeping

    stop = threading.Event()
    worker = threading.Thread(target=housekeeping, args=(settings, stop), daemon=True)
    worker.start()
    try:
        expired = settled_as(client, job, "failed")
    finally:
        stop.set()
        worker.join(timeout=60)
    assert "已过期" in expired["message"] and not (settings.data_dir / "imports" / job).exists()
    assert client.post(f"/api/curator/import/{job}/save", json={}, headers=headers).status_code == 409
    assert not list((settings.kb_dir / "articles").glob("xin-yong*"))


def settled_as(client, job: str, status: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job_now = client.get(f"/api/curator/import/{job}").get_json()
        if job_now["status"] == status:
            return job_now
        time.sleep(0.1)
    raise TimeoutError(job)


def test_a_failed_file_is_listed_once_when_saved(curator):
    client, headers, _, _ = curator
    text = (FIXTURES / "信用卡服务须知-gbk.txt").read_bytes()
    job = start(client, headers, ("信用卡服务须知-gbk.txt", text), ("信用卡服务须知-gbk.txt", text))
    ready = settled(client, job)
    assert [f["name"] for f in ready["result"]["failed"]] == ["信用卡服务须知-gbk.txt"]
    client.post(f"/api/curator/import/{job}/save", json={}, headers=headers)
    done = settled(client, job)
    assert done["status"] == "done" and len(done["result"]["failed"]) == 1
