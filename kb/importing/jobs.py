"""Imports run from the curator's page: a job waits its turn ('queued'), reads the uploaded files ('reading',
then 'ready' with a preview), and on the curator's word saves them ('saving', then 'done'), or ends 'failed'
with a message.
Progress (step, done, total) is kept in the database, so any request can show it."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from kb.clock import now
from kb.database import Database

STATUSES = ("queued", "reading", "ready", "saving", "done", "failed")
RUNNING = ("queued", "reading", "saving")


class ImportJobs:
    """Import jobs in the database (table import_jobs, migration v9)."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, author: str, files: list[str]) -> str:
        """A new job reading these files; returns its id (unguessable: it is also the job's folder name)."""
        job_id = secrets.token_hex(12)
        stamp = now()
        self.db["import_jobs"].insert(
            {
                "id": job_id,
                "author": author[:80],
                "status": "queued",
                "done": 0,
                "total": len(files),
                "message": "",
                "files": json.dumps(files, ensure_ascii=False),
                "result": "{}",
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job with its files and result decoded, or None."""
        rows = list(self.db["import_jobs"].rows_where("id = ?", [job_id], limit=1))
        if not rows:
            return None
        row = rows[0]
        return {**row, "files": json.loads(row["files"] or "[]"), "result": json.loads(row["result"] or "{}")}

    def progress(self, job_id: str, step: str, done: int, total: int, status: str | None = None) -> None:
        """Record how far the job is (and its status, when it moves on)."""
        values: dict[str, Any] = {"message": step[:200], "done": done, "total": total, "updated_at": now()}
        if status:
            values["status"] = status
        self.db["import_jobs"].update(job_id, values)

    def finish(self, job_id: str, status: str, result: dict[str, Any], message: str = "") -> None:
        """The job's outcome: 'ready' (read, waiting for the curator), 'done' or 'failed'."""
        self.db["import_jobs"].update(
            job_id,
            {
                "status": status,
                "result": json.dumps(result, ensure_ascii=False),
                "message": message[:500],
                "updated_at": now(),
            },
        )

    def claim(self, job_id: str, was: str, becomes: str, step: str = "") -> bool:
        """Move the job from status was to becomes, unless something else moved it first; whether it did."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE import_jobs SET status = ?, message = ?, updated_at = ? WHERE id = ? AND status = ?",
                [becomes, step[:200], now(), job_id, was],
            )
        return cursor.rowcount == 1

    def interrupt(self, job_id: str, silent_since: str, message: str) -> bool:
        """Mark a running job failed with message if its progress was last recorded before silent_since (an
        ISO time), unless it moved on meanwhile; whether it did."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE import_jobs SET status = 'failed', message = ?, updated_at = ? "
                f"WHERE id = ? AND updated_at < ? AND status IN ({', '.join('?' * len(RUNNING))})",
                [message[:500], now(), job_id, silent_since, *RUNNING],
            )
        return cursor.rowcount == 1

    def expire(self, folders: Path, created_before: str, message: str) -> list[str]:
        """Jobs created before an ISO time: each not yet done is marked failed with message, and the uploads
        and read text kept for each (folders/<job id>) are deleted. Returns the ids of the jobs expired."""
        rows = self.db.execute("SELECT id, status FROM import_jobs WHERE created_at < ?", [created_before]).fetchall()
        with self.db.transaction():
            for job_id, _ in rows:  # unless it settled since it was read (another instance saved it meanwhile)
                self.db.execute(
                    "UPDATE import_jobs SET status = 'failed', message = ?, updated_at = ? "
                    "WHERE id = ? AND status NOT IN ('done', 'failed')",
                    [message[:500], now(), job_id],
                )
        for job_id, _ in rows:
            shutil.rmtree(Path(folders) / job_id, ignore_errors=True)
        return [job_id for job_id, _ in rows]
