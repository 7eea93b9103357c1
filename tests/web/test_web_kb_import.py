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
        if job_now["status"] not in ("reading", "saving"):
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
