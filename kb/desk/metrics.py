"""Service figures for the dashboard: conversations, containment, handoffs, abstentions, per local day.

Definitions (all over web conversations that began in the window):
- containment: share of conversations that never asked for or got a human (no handoff ticket);
- handoff rate: share that opened a handoff ticket;
- abstention rate: of the bot's knowledge replies, the share where it declined to answer
  (gaps logged as abstain, nlu_fallback or out_of_scope) rather than answering with a source;
- helpful: share of 👍 among 👍/👎 given.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from kb.clock import parse, stamp
from kb.database import Database

ABSTAIN_REASONS = ("abstain", "nlu_fallback", "out_of_scope")


def local_days(days: int, timezone: str, today: dt.date | None = None) -> list[dt.date]:
    """The last `days` local dates, oldest first, ending today."""
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def window_start(first_day: dt.date, timezone: str) -> str:
    """The UTC ISO stamp of local midnight starting first_day (stored stamps compare as text)."""
    return stamp(dt.datetime.combine(first_day, dt.time(), ZoneInfo(timezone)))


def daily_counts(stamps: Iterable[str], days: list[dt.date], timezone: str) -> list[int]:
    """How many of the UTC ISO stamps fall on each local day."""
    zone = ZoneInfo(timezone)
    counts = Counter(parse(s).astimezone(zone).date() for s in stamps if s)
    return [counts.get(day, 0) for day in days]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


# Whether a bot message's stored extra (JSON text) names sources, a non-empty list: it answered from the knowledge
# base. In the database, so the dashboard reads counts, not every message of the window; each engine's own JSON
# functions, guarded so that an extra that is no JSON object counts as no sources instead of failing the query
# (PostgreSQL cannot read the \u0000 a NUL in a snippet is written as: it reads U+FFFD there, as kb.tables stores).
_PG_EXTRA = r"replace(extra, '\u0000', '\ufffd')::json -> 'sources'"
HAS_SOURCES = {
    "sqlite": "CASE WHEN json_valid(extra) THEN json_array_length(extra, '$.sources') ELSE 0 END > 0",
    "postgresql": f"CASE WHEN extra LIKE '{{%' THEN (CASE WHEN json_typeof({_PG_EXTRA}) = 'array' "
    f"THEN json_array_length({_PG_EXTRA}) ELSE 0 END) ELSE 0 END > 0",
}


def overview(db: Database, days: int = 14, timezone: str = "Asia/Shanghai", today: dt.date | None = None) -> dict:
    """Daily series and window totals for the dashboard."""
    day_list = local_days(days, timezone, today)
    since = window_start(day_list[0], timezone)
    conversations = dict(
        db.execute(
            "SELECT id, created_at FROM conversations WHERE created_at >= ? AND id IN "
            "(SELECT conversation_id FROM messages WHERE sender = 'customer')",
            [since],
        ).fetchall()
    )
    handed = dict(
        db.execute(
            "SELECT conversation_id, MIN(created_at) FROM handoffs WHERE created_at >= ? GROUP BY conversation_id",
            [since],
        ).fetchall()
    )
    marks = ",".join("?" * len(ABSTAIN_REASONS))
    abstentions = [
        r[0]
        for r in db.execute(
            f"SELECT created_at FROM gaps WHERE created_at >= ? AND reason IN ({marks})", [since, *ABSTAIN_REASONS]
        )
    ]
    answers = [
        r[0]
        for r in db.execute(
            f"SELECT created_at FROM messages WHERE sender = 'bot' AND created_at >= ? AND {HAS_SOURCES[db.dialect]}",
            [since],
        )
    ]
    helpful = db.execute(
        "SELECT COALESCE(SUM(helpful), 0), COUNT(*) FROM feedback WHERE created_at >= ?", [since]
    ).fetchone()
    with_handoff = sum(1 for c in conversations if c in handed)
    n = len(conversations)
    return {
        "days": [d.isoformat() for d in day_list],
        "series": {
            "conversations": daily_counts(conversations.values(), day_list, timezone),
            "handoffs": daily_counts(handed.values(), day_list, timezone),
            "answers": daily_counts(answers, day_list, timezone),
            "abstentions": daily_counts(abstentions, day_list, timezone),
        },
        "totals": {
            "conversations": n,
            "handoffs": len(handed),
            "answers": len(answers),
            "abstentions": len(abstentions),
            "containment": _share(n - with_handoff, n),
            "handoff_rate": _share(with_handoff, n),
            "abstention_rate": _share(len(abstentions), len(abstentions) + len(answers)),
            "feedback": helpful[1],
            "helpful": _share(helpful[0], helpful[1]),
        },
    }


def ratings(db: Database, days: int = 14, timezone: str = "Asia/Shanghai", today: dt.date | None = None) -> dict:
    """Customers' ratings (1-5) of chats agents closed, rated in the last `days` local days: overall, per
    agent (most rated first) and per local day, each {"count", "average"} (average None without ratings)."""
    day_list = local_days(days, timezone, today)
    rows = db.execute(
        "SELECT agent, score, created_at FROM ratings WHERE created_at >= ?", [window_start(day_list[0], timezone)]
    ).fetchall()
    zone = ZoneInfo(timezone)
    by_agent: dict[str, list[int]] = {}
    by_day: dict[dt.date, list[int]] = {}
    for agent, score, created in rows:
        by_agent.setdefault(agent or "?", []).append(score)
        by_day.setdefault(parse(created).astimezone(zone).date(), []).append(score)
    return {
        "total": _scores([score for _, score, _ in rows]),
        "agents": sorted(
            ({"agent": agent, **_scores(scores)} for agent, scores in by_agent.items()),
            key=lambda a: (-a["count"], a["agent"]),
        ),
        "days": [{"day": day.isoformat(), **_scores(by_day.get(day, []))} for day in day_list],
    }


def _scores(scores: list[int]) -> dict:
    return {"count": len(scores), "average": round(sum(scores) / len(scores), 2) if scores else None}
