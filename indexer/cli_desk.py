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
    from kb.desk.retention import purge

    days = settings.retention_days if days is None else days
    counts = purge(Database.open(settings.db_path), days)
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
        Database.open(settings.db_path),
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

    rows = Gaps(Database.open(settings.db_path)).recent(None if status == "all" else status, limit)
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

    tickets = Tickets(Database.open(settings.db_path)).recent(None if status == "all" else status, limit)
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
        user_id = Accounts(Database.open(settings.db_path)).add(name, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {name!r} (id {user_id})")
