"""Closed tickets, searched: by text (the ticket's question or anything said in its conversation), the agent
who held it (at the close or before a transfer), the local dates it closed on, and why it was handed off;
newest first, a page at a time. What the agent console's history view lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from kb.clock import stamp
from kb.database import Database
from kb.desk import DeskError
from kb.desk.rules import HANDOFF_REASONS
from kb.desk.tickets import Ticket, Tickets

PER_PAGE = 20
MAX_TEXT = 100


class HistoryQueryError(DeskError):
    """A history search with a value it cannot use (the message names it)."""


@dataclass(frozen=True)
class HistoryQuery:
    """A search of closed tickets; empty fields do not filter. since and until are local dates, both
    included; page counts from 1."""

    text: str = ""
    agent: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    reason: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> HistoryQuery:
        """A query from text fields (q, agent, from, to as YYYY-MM-DD, reason, page); HistoryQueryError for
        a text over MAX_TEXT characters, a date that is not one, from after to, an unknown reason or a page
        that is not a positive number."""
        text, agent = (args.get("q") or "").strip(), (args.get("agent") or "").strip()
        if len(text) > MAX_TEXT or len(agent) > MAX_TEXT:
            raise HistoryQueryError(f"search text and agent are at most {MAX_TEXT} characters")
        since, until = _date(args.get("from"), "from"), _date(args.get("to"), "to")
        if since and until and since > until:
            raise HistoryQueryError("'from' is after 'to'")
        reason = (args.get("reason") or "").strip()
        if reason and reason not in HANDOFF_REASONS:
            raise HistoryQueryError(f"reason must be one of {', '.join(HANDOFF_REASONS)}, not {reason!r}")
        page = (args.get("page") or "1").strip()
        if not (page.isascii() and page.isdigit()) or not 1 <= int(page) <= 10_000:
            raise HistoryQueryError("page must be a number from 1")
        return cls(text, agent, since, until, reason, int(page))


def _date(value: str | None, name: str) -> dt.date | None:
    if not (value or "").strip():
        return None
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise HistoryQueryError(f"'{name}' must be a date as YYYY-MM-DD, not {value!r}") from None
    if not 2000 <= day.year <= 2999:  # a desk's records, and room for the day after in any time zone
        raise HistoryQueryError(f"'{name}' must be a date between 2000 and 2999")
    return day


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def closed_tickets(db: Database, query: HistoryQuery, timezone: str, per_page: int = PER_PAGE) -> dict[str, Any]:
    """The closed tickets a query finds, newest close first: {'tickets': [Ticket], 'total': how many match,
    'page', 'pages' (at least 1)}. Dates are read in `timezone`."""
    where, args = ["status = 'closed'"], []
    zone = ZoneInfo(timezone)
    if query.since:
        where.append("closed_at >= ?")
        args.append(stamp(dt.datetime.combine(query.since, dt.time(), zone)))
    if query.until:
        where.append("closed_at < ?")
        args.append(stamp(dt.datetime.combine(query.until + dt.timedelta(days=1), dt.time(), zone)))
    if query.reason:
        where.append("reason = ?")
        args.append(query.reason)
    if query.agent:
        where.append("(agent = ? OR id IN (SELECT handoff_id FROM ticket_transfers WHERE from_agent = ?))")
        args += [query.agent, query.agent]
    if query.text:
        where.append(
            "(LOWER(question) LIKE LOWER(?) ESCAPE '\\' OR conversation_id IN "
            "(SELECT conversation_id FROM messages WHERE LOWER(text) LIKE LOWER(?) ESCAPE '\\'))"
        )
        args += [_like(query.text)] * 2
    sql = " AND ".join(where)
    total = int(db.execute(f"SELECT COUNT(*) FROM handoffs WHERE {sql}", args).fetchone()[0])
    ids = db.execute(
        f"SELECT id FROM handoffs WHERE {sql} ORDER BY closed_at DESC, id DESC LIMIT ? OFFSET ?",
        [*args, per_page, (query.page - 1) * per_page],
    ).fetchall()
    tickets = Tickets(db)
    found: list[Ticket] = [t for (ticket_id,) in ids if (t := tickets.get(ticket_id)) is not None]
    return {"tickets": found, "total": total, "page": query.page, "pages": max(1, -(-total // per_page))}
