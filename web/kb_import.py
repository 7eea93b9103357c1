"""Importing documents from the curator's page (role curator): several files uploaded at once, read in the
background (OCR can take seconds a page) into a preview of what each gives, then saved and indexed with
progress. A file that cannot be read is listed with its reason and saves nothing; the others go in."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request

from indexer.importer import apply, plan, read_all
from kb.importing.document import ParsedFile
from kb.importing.guard import safe_name
from kb.importing.jobs import ImportJobs
from kb.importing.reader import SUPPORTED
from web.access import role_required, signed_in_user
from web.db import database, editing, settings, store

bp = Blueprint("kb_import", __name__)
log = logging.getLogger(__name__)
MAX_FILES = 50


def _folder(job_id: str) -> Path:
    return settings().data_dir / "imports" / job_id


def _jobs() -> ImportJobs:
    return ImportJobs(database())


@bp.before_request
def big_uploads() -> None:
    """Documents are larger than forms: up to MAX_FILES files, the whole upload at most 4 × import_max_mb."""
    request.max_content_length = 4 * settings().import_limits.max_bytes + 1024 * 1024


@bp.get("/curator/import")
@role_required("curator")
def page() -> str:
    """The import page: drop files, check the preview, save."""
    return render_template(
        "kb_import.html",
        user=signed_in_user(),
        formats=" ".join(SUPPORTED),
        max_mb=settings().import_limits.max_mb,
        max_files=MAX_FILES,
    )


@bp.post("/api/curator/import")
@role_required("curator")
def upload() -> tuple[Response, int]:
    """Start reading the uploaded files (form field 'files'); the job to poll."""
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        abort(400, "选择要导入的文件（可以一次选多个）。")
    if len(uploads) > MAX_FILES:
        abort(400, f"一次最多导入 {MAX_FILES} 个文件。")
    names = []
    for upload_file in uploads:  # two files of the same name: the second is renamed, not lost
        name = safe_name(upload_file.filename or "")
        while name in names:
            name = f"副本-{name}"
        names.append(name)
    job_id = _jobs().create(signed_in_user()["name"], names)
    folder = _folder(job_id)
    (folder / "files").mkdir(parents=True)
    for n, upload_file in enumerate(uploads):  # on disk by number: a name never chooses a path
        upload_file.save(folder / "files" / f"{n:04d}")
    _start(_read_job, job_id)
    return jsonify(job=job_id), 202


@bp.get("/api/curator/import/<job_id>")
@role_required("curator")
def status(job_id: str) -> Response:
    """A job's status, progress and, once read, its preview (and once saved, what it saved)."""
    job = _jobs().get(job_id)
    if job is None:
        abort(404, "no such import")
    return jsonify(job)


@bp.post("/api/curator/import/<job_id>/save")
@role_required("curator")
def save(job_id: str) -> tuple[Response, int]:
    """Save and index what the job read (JSON body: optional 'category')."""
    job = _jobs().get(job_id)
    if job is None:
        abort(404, "no such import")
    if job["status"] != "ready":
        abort(409, "this import is not waiting to be saved")
    body = request.get_json(silent=True)
    category = body.get("category") if isinstance(body, dict) else None
    if category is not None and (not isinstance(category, str) or len(category) > 80):
        abort(400, "'category' must be text of at most 80 characters")
    _jobs().progress(job_id, "准备保存", 0, 0, status="saving")
    _start(_save_job, job_id, (category or "").strip() or None, signed_in_user()["name"])
    return jsonify(job=job_id), 202


def _start(work: Any, *args: Any) -> None:
    """Run work(app, *args) in a thread of its own, inside an app context (its own database connection)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_in_context, args=(app, work, *args), name="kefu-import", daemon=True).start()


def _in_context(app: Flask, work: Any, job_id: str, *args: Any) -> None:
    with app.app_context():
        try:
            work(job_id, *args)
        except Exception:  # the curator sees the failure; the details go to the log
            log.exception("import %s failed", job_id)
            _jobs().finish(job_id, "failed", {}, "导入时出现意外错误，已记入服务器日志；知识库没有被改动。")


def _read_job(job_id: str) -> None:
    folder = _folder(job_id)
    jobs = _jobs()
    names = (jobs.get(job_id) or {}).get("files", [])
    files = [(name, (folder / "files" / f"{n:04d}").read_bytes()) for n, name in enumerate(names)]
    parsed, failed = read_all(
        files, settings().import_limits, step=lambda what, done, total: jobs.progress(job_id, what, done, total)
    )
    (folder / "parsed.json").write_text(json.dumps([p.to_dict() for p in parsed], ensure_ascii=False), "utf-8")
    import_plan = plan(parsed, store(), settings().kb_dir)
    import_plan.failures = failed
    jobs.finish(job_id, "ready", import_plan.summary())


def _save_job(job_id: str, category: str | None, author: str) -> None:
    folder = _folder(job_id)
    jobs = _jobs()
    parsed = [ParsedFile.from_dict(d) for d in json.loads((folder / "parsed.json").read_text("utf-8"))]
    job = jobs.get(job_id) or {}
    failed = job.get("result", {}).get("failed", [])
    done = [0]

    def encoded(n: int) -> None:
        done[0] += n
        jobs.progress(job_id, f"已编码 {done[0]} 段文本", done[0], 0)

    with editing() as editor:  # plans again under the edit lock: ids checked against the knowledge base now
        import_plan = plan(parsed, editor.store, settings().kb_dir, category)
        results = apply(import_plan, editor, author, encoded)
    summary = {
        **import_plan.summary(),
        "failed": failed,
        "saved": {a: sum(r.action == a for r in results) for a in ("create", "update", "unchanged", "delete")},
        "encoded": done[0],
    }
    jobs.finish(job_id, "done", summary)
    shutil.rmtree(folder, ignore_errors=True)
