"""Importing documents from the curator's page (role curator): several files uploaded at once, read in the
background (OCR can take seconds a page) into a preview of what each gives, then saved and indexed with
progress. A file that cannot be read is listed with its reason and saves nothing; the others go in.

Jobs run in threads of the web process, at most READERS reading at once (LibreOffice and OCR are heavy);
a job that stops reporting progress for STALLED_SECONDS and is not running in this process (the server
restarted) is shown as interrupted. This assumes one web process, as `make run` starts. The uploaded files
are deleted once read; what was read, once the job is saved or fails; an import not saved within KEEP_HOURS
expires (checked at every upload and hourly by web.serve) and its files are deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request

from indexer import importer
from indexer.build import Indexer
from kb.clock import stamp
from kb.desk.audit import Actor
from kb.importing.document import ParsedFile
from kb.importing.guard import safe_name
from kb.importing.jobs import RUNNING, ImportJobs
from kb.importing.reader import SUPPORTED
from web.access import audit, role_required, signed_in_user
from web.db import database, editing, retriever, revisions, settings, store

bp = Blueprint("kb_import", __name__)
log = logging.getLogger(__name__)
MAX_FILES = 50
READERS = 2  # jobs reading at once in this process
KEEP_HOURS = 24  # uploads of a preview never saved are deleted after this
STALLED_SECONDS = 120  # a running job silent this long, and not running here, was interrupted
INTERRUPTED = "导入中断（服务重启或出错）：请重新上传这些文件。"
EXPIRED = f"这次导入的预览已过期（超过 {KEEP_HOURS} 小时没有保存），上传的文件已删除：请重新上传。"

_readers = threading.BoundedSemaphore(READERS)
_live: Counter[str] = Counter()  # threads running each job in this process
_live_lock = threading.Lock()


def _folder(job_id: str) -> Path:
    return settings().data_dir / "imports" / job_id


def _jobs() -> ImportJobs:
    return ImportJobs(database())


def upload_limit() -> None:
    """Documents are larger than forms: the upload endpoint takes up to MAX_FILES files, at most
    4 × import_max_mb in all. Registered on the app before CSRF protection, which reads the form."""
    if request.endpoint == "kb_import.upload":
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
    _sweep()
    names = [safe_name(u.filename or "") for u in uploads]  # two of one name: the plan refuses the second
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
    """A job's status, progress and, once read, its preview (and once saved, what it saved). A job that stopped
    reporting progress and is not running in this process is marked interrupted."""
    jobs = _jobs()
    job = jobs.get(job_id)
    if job is None:
        abort(404, "no such import")
    stopped = job["status"] in RUNNING and not _running_here(job_id)
    if stopped and jobs.interrupt(job_id, now_minus(STALLED_SECONDS), INTERRUPTED):
        shutil.rmtree(_folder(job_id), ignore_errors=True)
        job = jobs.get(job_id) or job
    return jsonify(job)


@bp.post("/api/curator/import/<job_id>/save")
@role_required("curator")
def save(job_id: str) -> tuple[Response, int]:
    """Save and index what the job read (JSON body: optional 'category' for its articles, optional 'leave_out',
    the names of files not to save)."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    category, leave_out = body.get("category"), body.get("leave_out") or []
    if category is not None and (not isinstance(category, str) or len(category) > 80):
        abort(400, "'category' must be text of at most 80 characters")
    if not isinstance(leave_out, list) or not all(isinstance(n, str) for n in leave_out) or len(leave_out) > 500:
        abort(400, "'leave_out' must be a list of file names")
    jobs = _jobs()
    if jobs.get(job_id) is None:
        abort(404, "no such import")
    if not jobs.claim(job_id, "ready", "saving", "准备保存"):  # one save, however many clicks
        abort(409, "this import is not waiting to be saved")
    # audited when the save is done (_save_job): a save that fails imported nothing
    _start(_save_job, job_id, (category or "").strip() or None, leave_out, Actor.of(signed_in_user()))
    return jsonify(job=job_id), 202


def _running_here(job_id: str) -> bool:
    with _live_lock:
        return _live[job_id] > 0


def now_minus(seconds: float) -> str:
    """The stored stamp of seconds ago."""
    return stamp(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds))


def _sweep() -> None:
    """Expire imports older than KEEP_HOURS: a preview never saved keeps its documents otherwise. (The web
    server also runs this every hour, web.serve.housekeeping.)"""
    expire_imports(settings().data_dir, _jobs())


def expire_imports(data_dir: Path, jobs: ImportJobs) -> list[str]:
    """Mark imports created more than KEEP_HOURS ago and not finished as expired, and delete what they kept
    under data_dir/imports; the ids expired."""
    return jobs.expire(data_dir / "imports", now_minus(KEEP_HOURS * 3600), EXPIRED)


def _start(work: Any, job_id: str, *args: Any) -> None:
    """Run work(job_id, *args) in a thread of its own, inside an app context (its own database connection)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _live_lock:
        _live[job_id] += 1
    threading.Thread(target=_in_context, args=(app, work, job_id, *args), name="kefu-import", daemon=True).start()


def _in_context(app: Flask, work: Any, job_id: str, *args: Any) -> None:
    with app.app_context():
        try:
            work(job_id, *args)
        except Exception:  # the curator sees the failure; the details go to the log
            log.exception("import %s failed", job_id)
            _jobs().finish(job_id, "failed", {}, "导入时出现意外错误，已记入服务器日志；这次导入没有保存任何内容。")
            shutil.rmtree(_folder(job_id), ignore_errors=True)
        finally:
            with _live_lock:
                _live[job_id] -= 1
                if _live[job_id] <= 0:
                    del _live[job_id]


def _read_job(job_id: str) -> None:
    folder = _folder(job_id)
    jobs = _jobs()
    with _readers:  # waits, 'queued', while other imports read
        jobs.progress(job_id, "开始读取", 0, 0, status="reading")
        names = (jobs.get(job_id) or {}).get("files", [])
        files = [(name, (folder / "files" / f"{n:04d}").read_bytes()) for n, name in enumerate(names)]
        parsed, import_plan = importer.preview(
            files,
            settings().import_limits,
            settings().kb_dir,
            revisions(),
            step=lambda what, done, total: jobs.progress(job_id, what, done, total),
        )
    (folder / "parsed.json").write_text(json.dumps([p.to_dict() for p in parsed], ensure_ascii=False), "utf-8")
    shutil.rmtree(folder / "files", ignore_errors=True)  # what was read is kept; the uploads are not needed
    jobs.finish(job_id, "ready", import_plan.summary())
    if not parsed:
        shutil.rmtree(folder, ignore_errors=True)


def _failures(import_plan: importer.ImportPlan) -> list[dict[str, str]]:
    return [{"name": e.name, "reason": e.reason} for e in import_plan.failures]


def _save_job(job_id: str, category: str | None, leave_out: list[str], actor: Actor) -> None:
    folder = _folder(job_id)
    jobs = _jobs()
    read = folder / "parsed.json"
    if not read.is_file():  # expired (or nothing was read): saving would save nothing and say so wrongly
        jobs.finish(job_id, "failed", {}, EXPIRED)
        return
    parsed = [ParsedFile.from_dict(d) for d in json.loads(read.read_text("utf-8"))]
    failed = (jobs.get(job_id) or {}).get("result", {}).get("failed", [])
    done = [0]

    def encoded(n: int) -> None:
        done[0] += n
        jobs.progress(job_id, f"已编码 {done[0]} 段文本", done[0], 0)

    # The slow part, encoding, runs before the edit lock (other curators keep saving); under it the plan is
    # made again against the knowledge base as it is then, and only cached vectors are used.
    draft = importer.plan([p for p in parsed if p.name not in set(leave_out)], settings().kb_dir, None, category)
    importer.encode_ahead(draft, Indexer(store(), retriever().encoders, settings(), progress=encoded))
    jobs.progress(job_id, "写入知识库并更新索引", done[0], 0)
    with editing() as editor:
        import_plan, results = importer.save(parsed, editor, actor.name, category, leave_out)
    summary = {
        **import_plan.summary(),
        "failed": failed + [f for f in _failures(import_plan) if f not in failed],  # the read's, then new ones
        "left_out": leave_out,
        "saved": {a: sum(r.action == a for r in results) for a in ("create", "update", "unchanged", "delete")},
        "encoded": done[0],
    }
    jobs.finish(job_id, "done", summary)
    names = [p.name for p in parsed if p.name not in set(leave_out)]
    saved = ", ".join(f"{action} {n}" for action, n in summary["saved"].items() if n)
    audit("file_imported", "import", job_id, f"{'、'.join(names)[:300]} ({saved or 'nothing changed'})", actor)
    shutil.rmtree(folder, ignore_errors=True)
