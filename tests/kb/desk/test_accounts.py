"""Staff accounts managed: disabled, enabled, deleted (kept for the record), re-roled, passwords reset,
sessions ended; each change in the audit log; the last active admin kept."""

from __future__ import annotations

import pytest

from kb.desk.accounts import AccountError, Accounts
from kb.desk.audit import CLI, Actor, AuditLog


@pytest.fixture
def staff(new_database, tmp_path):
    accounts = Accounts(new_database("kefu"))
    accounts.add("boss", "boss-pass-1", "admin")
    accounts.add("agent1", "agent-pass-1", "agent")
    return accounts


def test_a_disabled_account_cannot_sign_in_and_its_sessions_stop_at_once(staff):
    user = staff.by_name("agent1")
    token = staff.start_session(user["id"])
    staff.disable("agent1", CLI)
    assert staff.session_user(token) is None
    assert staff.verify("agent1", "agent-pass-1") is None
    staff.enable("agent1", CLI)
    assert staff.verify("agent1", "agent-pass-1")["name"] == "agent1"
    assert staff.session_user(token) is None  # enabling does not bring old sessions back


def test_a_deleted_account_is_kept_for_the_record_but_can_do_nothing(staff):
    token = staff.start_session(staff.by_name("agent1")["id"])
    staff.delete("agent1", CLI)
    assert staff.session_user(token) is None and staff.verify("agent1", "agent-pass-1") is None
    assert staff.by_name("agent1")["deleted_at"]  # the row stays: tickets and the audit log name it
    assert "agent1" not in [u["name"] for u in staff.listed()]
    with pytest.raises(AccountError, match="deleted"):
        staff.enable("agent1", CLI)


def test_a_reset_password_replaces_the_old_one_and_ends_the_sessions(staff):
    token = staff.start_session(staff.by_name("agent1")["id"])
    temporary = staff.reset_password("agent1", None, CLI)
    assert len(temporary) >= 12 and staff.session_user(token) is None
    assert staff.verify("agent1", "agent-pass-1") is None and staff.verify("agent1", temporary)
    assert staff.reset_password("agent1", "new-pass-22", CLI) == "new-pass-22"
    with pytest.raises(AccountError, match="at least"):
        staff.reset_password("agent1", "short", CLI)


def test_roles_change_and_sessions_end_on_request(staff):
    token = staff.start_session(staff.by_name("agent1")["id"])
    staff.set_role("agent1", "supervisor", CLI)
    assert staff.session_user(token)["role"] == "supervisor"
    assert staff.end_sessions("agent1", CLI) == 1 and staff.session_user(token) is None
    with pytest.raises(AccountError, match="role"):
        staff.set_role("agent1", "king", CLI)
    with pytest.raises(AccountError, match="no account"):
        staff.disable("nobody", CLI)


def test_the_last_active_admin_cannot_be_disabled_demoted_or_deleted(staff):
    for change in (
        lambda: staff.disable("boss", CLI),
        lambda: staff.set_role("boss", "agent", CLI),
        lambda: staff.delete("boss", CLI),
    ):
        with pytest.raises(AccountError, match="last active admin"):
            change()
    staff.add("boss2", "boss-pass-2", "admin")
    staff.disable("boss", CLI)
    with pytest.raises(AccountError, match="last active admin"):
        staff.set_role("boss2", "curator", CLI)


def test_every_account_change_is_in_the_audit_log_with_its_actor(staff):
    admin = Actor(staff.by_name("boss")["id"], "boss")
    staff.set_role("agent1", "curator", admin)
    staff.reset_password("agent1", None, admin)
    staff.disable("agent1", admin)
    rows = AuditLog(staff.db).search()["rows"]
    assert [r["action"] for r in rows[:3]] == ["account_disabled", "password_reset", "role_changed"]
    assert {r["actor_name"] for r in rows[:3]} == {"boss"} and rows[0]["target_id"] == str(
        staff.by_name("agent1")["id"]
    )
    assert rows[-1]["action"] == "account_created" and rows[-1]["actor_name"] == "cli"
    assert all("pass" not in r["detail"] for r in rows)
