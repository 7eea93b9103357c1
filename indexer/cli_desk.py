"""The service desk's operator commands on ``kefu`` (attached by indexer/cli.py): gaps and handoff
tickets listed, staff accounts, retention, synthetic demand. A thin click shell over kb.desk."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from indexer.settings import Settings
from kb.clock import local
from kb.database import Database
from kb.desk.accounts import ROLES


def _echo_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str]) -> None:
    """Print desk rows as JSON lines, or one human line each."""
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False) if as_json else line(r))


def _gap_line(r: dict[str, Any], timezone: str) -> str:
    """A gap as one line, its time in `timezone` (the JSON lines keep the stored UTC stamp)."""
    top = r["hits"][0] if r["hits"] else {}
    best = f"  (best: {top.get('title')} {top.get('section') or ''}, {top.get('score')})" if top else ""
    return f"#{r['id']} {local(r['created_at'], timezone)} [{r['reason']}] {r['question']}{best}"


def _handoff_line(r: dict[str, Any], timezone: str) -> str:
    """A handoff ticket as one line, its time in `timezone` (the JSON lines keep the stored UTC stamp): the
    customer's problem, the contact number's hint and the preferred time, how a settled callback ended."""
    when = f", {r['preferred_time']}" if r["preferred_time"] else ""
    contact = f"  (contact: {r['contact']}{when})" if r["contact"] else ""
    outcome = f" ({r['outcome']})" if r["outcome"] else ""
    return (
        f"#{r['id']} {local(r['created_at'], timezone)} {r['status']}{outcome} [{r['reason']}] "
        f"{r['conversation_id']}: {r['problem'] or '(no problem given yet)'}{contact}"
    )


@click.command("purge")
@click.option("--days", type=click.IntRange(0), help="Override retention_days for this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def purge_cmd(settings: Settings, days: int | None, as_json: bool) -> None:
    """Delete conversations and settled records older than retention_days (see kb/desk/retention.py)."""
    from kb.desk.retention import purge_with_bot

    days = settings.retention_days if days is None else days
    counts = purge_with_bot(Database.open(settings.database), days, settings.purgeable_tracker)
    if as_json:
        click.echo(json.dumps({"days": days, "deleted": counts}))
    elif not days:
        click.echo("retention_days is 0: nothing is deleted")
    else:
        click.echo(f"deleted records older than {days} days: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.command("demo-data")
@click.option("--days", type=click.IntRange(1, 365), default=28, show_default=True)
@click.option("--peak", type=click.FloatRange(0), default=30.0, show_default=True, help="Chats in a peak hour.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_obj
def demo_data(settings: Settings, days: int, peak: float, seed: int) -> None:
    """Fill the database with synthetic chats, handoffs and agent shifts (conversation ids 'demo-…')."""
    from kb.desk.demand import generate

    counts = generate(
        Database.open(settings.database),
        days=days,
        chats_per_peak_hour=peak,
        timezone=settings.timezone,
        seed=seed,
        service_hours=settings.service_hours,
    )
    click.echo(
        f"added {counts['conversations']} chats, {counts['handoffs']} handoffs ({counts['abandoned']} abandoned, "
        f"{counts['callbacks']} callbacks still open) and {counts['status_changes']} agent status changes over "
        f"{days} days"
    )


@click.group()
def gaps() -> None:
    """Questions the bot could not serve, for curators."""


@gaps.command("list")
@click.option("--status", default="open", show_default=True, help="open, dismissed, resolved or all.")
@click.option("--limit", default=50, type=click.IntRange(1, 10000), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def gaps_list(settings: Settings, status: str, limit: int, as_json: bool) -> None:
    """List logged gaps, newest first."""
    from kb.desk.gaps import Gaps

    rows = Gaps(Database.open(settings.database)).recent(None if status == "all" else status, limit)
    _echo_rows(rows, as_json, lambda r: _gap_line(r, settings.timezone))


@click.group()
def handoffs() -> None:
    """Handoff tickets."""


@handoffs.command("list")
@click.option("--status", default="all", show_default=True, help="queued, claimed, callback, closed, abandoned or all.")
@click.option("--limit", default=50, type=click.IntRange(1, 10000), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def handoffs_list(settings: Settings, status: str, limit: int, as_json: bool) -> None:
    """List handoff tickets, newest first."""
    from kb.desk.tickets import Tickets

    tickets = Tickets(Database.open(settings.database)).recent(None if status == "all" else status, limit)
    _echo_rows([t.as_dict() for t in tickets], as_json, lambda r: _handoff_line(r, settings.timezone))


@click.group()
def users() -> None:
    """Staff accounts for the agent console, the curator panel and the supervisor view."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.pass_obj
def users_add(settings: Settings, name: str, role: str, password_stdin: bool) -> None:
    """Create an account; the password comes from a prompt (or stdin), never the command line."""
    from kb.desk.accounts import AccountError, Accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user_id = Accounts(Database.open(settings.database)).add(name, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {name!r} (id {user_id})")


def _account_change(settings: Settings, change: Callable[[Any], Any]) -> Any:
    """Run one change on the accounts (kb.desk.accounts, actor 'cli'); AccountError as a message, exit 1."""
    from kb.desk.accounts import AccountError, Accounts

    try:
        return change(Accounts(Database.open(settings.database)))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def users_list(settings: Settings, as_json: bool) -> None:
    """List the accounts (not deleted): name, role, disabled or not, sessions signed in."""
    rows = _account_change(settings, lambda staff: staff.listed())
    _echo_rows(
        rows,
        as_json,
        lambda r: f"{r['name']} {r['role']}{' (disabled)' if r['disabled'] else ''}, {r['sessions']} session(s)",
    )


def _simple_change(verb: str, method: str, help: str, done: str, confirm: str | None = None) -> None:
    """Add `kefu users <verb> NAME`, which calls Accounts.<method>(name, CLI) and says `done`."""

    @click.argument("name")
    @click.pass_obj
    def command(settings: Settings, name: str, **flags: Any) -> None:
        from kb.desk.audit import CLI

        if confirm and not flags.get("yes"):
            click.confirm(confirm.format(name=name), abort=True)
        result = _account_change(settings, lambda staff: getattr(staff, method)(name, CLI))
        click.echo(done.format(name=name, result=result))

    if confirm:
        command = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(command)
    users.command(verb, help=f"{help} (recorded in the audit log).")(command)


_simple_change(
    "disable",
    "disable",
    "Stop an account signing in and end its sessions at once",
    "disabled {name!r}: it cannot sign in, and its sessions have ended",
)
_simple_change("enable", "enable", "Let a disabled account sign in again", "enabled {name!r}")
_simple_change(
    "end-sessions", "end_sessions", "Sign an account out everywhere", "signed {name!r} out: {result} session(s) ended"
)
_simple_change(
    "delete",
    "delete",
    "Delete an account: marked deleted and kept, since tickets and the audit log name it; it can do nothing",
    "deleted {name!r}: kept, marked deleted, for the records that name it",
    confirm="Delete the account {name!r}?",
)


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_obj
def users_role(settings: Settings, name: str, role: str) -> None:
    """Give an account another role (recorded in the audit log)."""
    from kb.desk.audit import CLI

    _account_change(settings, lambda staff: staff.set_role(name, role, CLI))
    click.echo(f"{name!r} is now {role}")


@users.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option("--prompt", "prompted", is_flag=True, help="Ask for the new password instead of making one.")
@click.pass_obj
def users_reset_password(settings: Settings, name: str, password_stdin: bool, prompted: bool) -> None:
    """Set a new password and end the account's sessions: a random temporary one, printed once (default),
    typed at a prompt (--prompt) or read from stdin (--password-stdin); never on the command line."""
    from kb.desk.audit import CLI

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif prompted:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    chosen = _account_change(settings, lambda staff: staff.reset_password(name, password, CLI))
    click.echo(f"the password of {name!r} is reset and its sessions have ended")
    if password is None:
        click.echo("temporary password (shown once; hand it over privately):")
        click.echo(chosen)


@click.command("audit")
@click.option("--actor", help="Only this account name ('cli' for the command line).")
@click.option("--action", help="Only this action (kb/desk/audit.py ACTIONS).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this UTC date.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this UTC date, inclusive.")
@click.option("--limit", default=50, type=click.IntRange(1, 10000), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def audit_cmd(
    settings: Settings, actor: str | None, action: str | None, since: Any, until: Any, limit: int, as_json: bool
) -> None:
    """The audit log of staff actions, newest first."""
    from kb.desk.audit import ACTIONS, AuditLog

    if action and action not in ACTIONS:
        raise click.ClickException(f"action must be one of {', '.join(ACTIONS)}")
    found = AuditLog(Database.open(settings.database)).search(
        actor, action, since and since.date(), until and until.date(), per_page=limit
    )
    _echo_rows(
        found["rows"],
        as_json,
        lambda r: (
            f"{local(r['at'], settings.timezone)} {r['actor_name']} {r['action']} "
            f"{r['target_kind']} {r['target_id']} {r['detail']}".rstrip()
        ),
    )
