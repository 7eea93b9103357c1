"""Two instances writing the same conversation or ticket at once, on PostgreSQL (READ COMMITTED): a message
never becomes visible behind one a poller has read already, and no read-then-write loses the other's text.

SQLite serialises every write transaction (BEGIN IMMEDIATE), so these orders cannot arise there; the
single-process behaviour is covered by the desk's tests on both engines."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from kb.clock import stamp
from kb.database import Database
from kb.desk.accounts import AccountError, Accounts
from kb.desk.audit import CLI
from kb.desk.conversations import Conversations
from kb.desk.rules import DeskPolicy
from kb.desk.service import Desk
from kb.desk.tickets import Tickets
from kb.importing.jobs import ImportJobs

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def waiting_on_a_lock(db: Database) -> int:
    """How many other sessions of this database are waiting for a lock right now."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid != pg_backend_pid()"
        ).fetchone()[0]
    )


class Held:
    """A transaction held open in a thread of its own (another instance's), until released."""

    def __init__(self, db: Database, work: Callable[[], None]):
        self.inside, self.release, self.errors = threading.Event(), threading.Event(), []
        self.thread = threading.Thread(target=self._run, args=(db, work))
        self.thread.start()
        assert self.inside.wait(30), "the held transaction did not start"

    def _run(self, db: Database, work: Callable[[], None]) -> None:
        try:
            with db.transaction():
                work()
                self.inside.set()
                self.release.wait(30)
        except Exception as error:  # reported by done()
            self.errors.append(error)
            self.inside.set()

    def done(self) -> None:
        self.release.set()
        self.thread.join(30)
        assert not self.errors


def started(work: Callable[[], None]) -> tuple[threading.Thread, list]:
    """work() in a thread of its own (another instance's request); its errors collected."""
    errors: list = []

    def run() -> None:
        try:
            work()
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def blocked_or_done(db: Database, thread: threading.Thread) -> None:
    """Wait until the thread finished or waits for a lock another transaction holds (readiness, no sleep)."""
    pause = threading.Event()
    for _ in range(3000):
        if not thread.is_alive() or waiting_on_a_lock(db):
            return
        pause.wait(0.01)
    raise AssertionError("the second writer neither finished nor waited")


def test_a_poller_never_reads_a_later_message_before_an_earlier_one_commits(database):
    conversations = Conversations(database)
    conversations.get_or_create("c1")
    # instance A: the claim's transaction adds "an agent joined" and has not committed yet
    claim = Held(database, lambda: conversations.add("c1", "system", "客服已接入"))
    # instance B: the customer's message, committed on its own
    customer, errors = started(lambda: conversations.add("c1", "customer", "还在吗"))
    blocked_or_done(database, customer)
    polled = [m["text"] for m in conversations.messages("c1")]  # a widget polling now, with after=0
    claim.done()
    customer.join(30)
    assert not errors
    assert polled == [], "the customer's message was visible while an earlier id was not: a poll would skip it"
    assert [m["text"] for m in conversations.messages("c1")] == ["客服已接入", "还在吗"]


def test_two_instances_adding_to_a_tickets_problem_keep_both_texts(database):
    Conversations(database).get_or_create("c1")
    tickets = Tickets(database)
    ticket = tickets.open("c1", "asked", "开始的问题")
    first = Held(database, lambda: tickets.add_to_problem(ticket.id, "第一条补充"))
    second, errors = started(lambda: tickets.add_to_problem(ticket.id, "第二条补充"))
    blocked_or_done(database, second)
    first.done()
    second.join(30)
    assert not errors
    assert tickets.get(ticket.id).question.split("\n") == ["开始的问题", "第一条补充", "第二条补充"]


def test_two_instances_asking_for_a_person_at_once_open_one_ticket(database):
    desk = Desk(database, DeskPolicy("00:00-24:00", "Asia/Shanghai", 300.0))
    desk.conversations.get_or_create("c1")
    first = Held(database, lambda: desk.request_human("c1", "asked", "我要转人工"))
    second, errors = started(lambda: desk.request_human("c1", "complaint", "我要投诉"))
    blocked_or_done(database, second)
    first.done()
    second.join(30)
    assert not errors
    [ticket] = desk.tickets.recent()
    assert ticket.question.split("\n") == ["我要转人工", "我要投诉"]


def test_two_admins_disabling_each_other_at_once_leave_one_admin(database):
    accounts = Accounts(database)
    for name in ("admin1", "admin2"):
        accounts.add(name, "admin-pass-123", "admin")
    first = Held(database, lambda: accounts.disable("admin1", CLI))
    second, errors = started(lambda: accounts.disable("admin2", CLI))
    blocked_or_done(database, second)
    first.done()
    second.join(30)
    assert [type(e) for e in errors] == [AccountError]
    assert [a["name"] for a in accounts.listed() if not a["disabled"]] == ["admin2"]


def test_an_import_finishing_while_old_jobs_expire_stays_done(database, tmp_path):
    jobs = ImportJobs(database)
    job = jobs.create("cur1", ["a.docx"])
    saving = Held(database, lambda: jobs.finish(job, "done", {"saved": 1}))
    later = stamp(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    expiring, errors = started(lambda: jobs.expire(tmp_path, later, "已过期"))
    blocked_or_done(database, expiring)
    saving.done()
    expiring.join(30)
    assert not errors
    assert jobs.get(job)["status"] == "done"
