"""Erlang C: how many agents a queue of chats needs, and how long a customer will wait.

The model (M/M/c): chats arrive at random at `rate` an hour, an agent handles one in `aht` seconds
on average, customers wait in line until an agent is free and do not give up. Traffic in Erlangs
is A = rate × aht / 3600; with c agents (c > A):

    P(wait) = (A^c / c! · c/(c−A)) / (Σ_{k<c} A^k/k! + A^c / c! · c/(c−A))
    service level within t = 1 − P(wait) · exp(−(c − A) · t / aht)
    average speed of answer = P(wait) · aht / (c − A)

Computed with the Erlang B recursion, which stays exact for hundreds of agents (no factorials).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class StaffingError(ValueError):
    """The figures cannot describe a queue (negative rates, no handle time…)."""


def traffic(rate_per_hour: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: how many agents would be busy all the time."""
    if rate_per_hour < 0 or aht_seconds <= 0:
        raise StaffingError("the arrival rate must be 0 or more and the handle time positive")
    return rate_per_hour * aht_seconds / 3600.0


def erlang_b(a: float, agents: int) -> float:
    """Blocking probability with `agents` servers and `a` Erlangs (the recursion B(k) = aB(k−1)/(k+aB(k−1)))."""
    b = 1.0
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    return b


def wait_probability(a: float, agents: int) -> float:
    """Erlang C: the share of customers who have to wait (1 when the agents cannot keep up)."""
    if agents <= a:
        return 1.0
    if a == 0:
        return 0.0
    b = erlang_b(a, agents)
    return agents * b / (agents - a * (1 - b))


def service_level(a: float, agents: int, aht_seconds: float, target_seconds: float) -> float:
    """The share of customers answered within target_seconds."""
    if agents <= a:
        return 0.0
    return 1.0 - wait_probability(a, agents) * math.exp(-(agents - a) * target_seconds / aht_seconds)


def average_wait(a: float, agents: int, aht_seconds: float) -> float:
    """Average speed of answer in seconds over all customers (infinite when agents cannot keep up)."""
    if agents <= a:
        return math.inf
    return wait_probability(a, agents) * aht_seconds / (agents - a)


@dataclass(frozen=True)
class StaffingTargets:
    """What a staffing plan aims at (settings staffing_target_share, staffing_target_seconds,
    staffing_max_occupancy, default_handle_seconds, callback_spread_hours): answer `share` of handoffs within
    `seconds`, keep occupancy at or under `max_occupancy`, assume `default_handle_seconds` until handoffs are
    handled, and return the callbacks due at opening within its first `callback_hours` open hours."""

    share: float
    seconds: float
    max_occupancy: float
    default_handle_seconds: float
    callback_hours: int = 1


@dataclass(frozen=True)
class Staffing:
    """The agents one hour needs, and what they would achieve."""

    rate_per_hour: float
    aht_seconds: float
    traffic: float
    agents: int
    service_level: float
    average_wait: float
    occupancy: float


def agents_needed(
    rate_per_hour: float,
    aht_seconds: float,
    target_share: float = 0.8,
    target_seconds: float = 20.0,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents that answer target_share of chats within target_seconds (and, if given, keep
    occupancy at or under max_occupancy, e.g. the 0.7 the knowledge base recommends)."""
    if not 0 < target_share < 1 or target_seconds < 0 or not 0 < max_occupancy <= 1:
        raise StaffingError(
            "the target share must be between 0 and 1, the target wait 0 or more, and the occupancy cap in (0, 1]"
        )
    a = traffic(rate_per_hour, aht_seconds)
    if a == 0:
        return Staffing(rate_per_hour, aht_seconds, 0.0, 0, 1.0, 0.0, 0.0)
    agents = max(1, math.floor(a) + 1, math.ceil(a / max_occupancy))
    while service_level(a, agents, aht_seconds, target_seconds) < target_share:
        agents += 1
    return Staffing(
        rate_per_hour,
        aht_seconds,
        a,
        agents,
        service_level(a, agents, aht_seconds, target_seconds),
        average_wait(a, agents, aht_seconds),
        a / agents,
    )


def expected_wait(position: int, agents_on_duty: int, aht_seconds: float, free: int = 0) -> float:
    """Seconds until the customer at `position` in the queue (1 = next) is likely answered. The first `free`
    places go to agents on duty with no chat in hand (0 s); after them, with every agent busy, one frees up
    on average every aht/agents seconds (the M/M/c queue's service rate)."""
    if position <= 0:
        return 0.0
    if agents_on_duty <= 0:
        return math.inf
    return max(0, position - max(0, free)) * aht_seconds / agents_on_duty


@dataclass(frozen=True)
class HourDemand:
    """One coming hour as a plan sees it. open_minutes: how much of it is in service hours (0: closed);
    opens: whether the desk opens during it; live: handoffs expected in service hours (chats that queue);
    after_hours: handoffs expected outside them (each becomes a callback, due at the next opening)."""

    label: str
    open_minutes: int
    opens: bool
    live: float
    after_hours: float


def callbacks_due(hours: Sequence[HourDemand], backlog: float, spread_hours: int = 1) -> list[float]:
    """Callbacks to return in each hour (a list as long as hours). What is due at an opening (the handoffs
    expected out of hours since the previous close, plus `backlog`, the open callback tickets now, if the
    desk is closed now) is spread evenly over the `spread_hours` hours from the opening; a backlog while
    the desk is open now, over those from the first hour. A share that falls in a closed hour (an open
    spell shorter than the spread) or past the last hour is not shown. Raises StaffingError for a backlog
    under 0 or spread_hours under 1."""
    if backlog < 0 or spread_hours < 1:
        raise StaffingError("the callback backlog must be 0 or more and the spread at least one hour")
    due = [0.0] * len(hours)

    def spread(amount: float, first: int) -> None:
        open_hours = [i for i in range(first, min(first + spread_hours, len(hours))) if hours[i].open_minutes]
        for i in open_hours:
            due[i] += amount / spread_hours  # what falls past the horizon is not shown

    pending = backlog
    for i, hour in enumerate(hours):
        if hour.opens:  # the out-of-hours part of an opening hour comes before the opening
            spread(pending + hour.after_hours, i)
            pending = 0.0
            continue
        if i == 0 and hour.open_minutes:
            spread(pending, 0)
            pending = 0.0
        pending += hour.after_hours
    return due


def hour_plan(hour: HourDemand, callbacks: float, aht_seconds: float, targets: StaffingTargets) -> dict:
    """One row of a staffing plan. A closed hour needs no agents: {'hour', 'open': False, 'after_hours'}.
    An open one: the live handoffs and the callbacks due in it are the contacts, at a rate per hour of
    open time (a half-open hour's 3 contacts are 6 an hour), and Erlang C gives the agents that answer
    targets.share of them within targets.seconds: 'agents_needed', 'traffic' (Erlangs), the predicted
    'service_level' (0-1), 'average_wait_seconds' and 'occupancy' (0-1)."""
    if not hour.open_minutes:
        return {"hour": hour.label, "open": False, "after_hours": round(hour.after_hours, 2)}
    per_hour = 60.0 / hour.open_minutes
    rate = (hour.live + callbacks) * per_hour
    need = agents_needed(rate, aht_seconds, targets.share, targets.seconds, targets.max_occupancy)
    return {
        "hour": hour.label,
        "open": True,
        "open_minutes": hour.open_minutes,
        "handoffs_per_hour": round(hour.live * per_hour, 2),
        "callbacks_per_hour": round(callbacks * per_hour, 2),
        "contacts_per_hour": round(rate, 2),
        "aht_seconds": round(aht_seconds),
        "traffic": round(need.traffic, 2),
        "agents_needed": need.agents,
        "service_level": round(need.service_level, 3),
        "average_wait_seconds": round(need.average_wait, 1),
        "occupancy": round(need.occupancy, 3),
    }
