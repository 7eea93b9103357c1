"""Erlang C against published values and closed forms."""

from __future__ import annotations

import math

import pytest

from kb.desk.staffing import (
    HourDemand,
    StaffingError,
    StaffingTargets,
    agents_needed,
    average_wait,
    callbacks_due,
    expected_wait,
    hour_plan,
    service_level,
    traffic,
    wait_probability,
)


def test_the_textbook_example_360_calls_a_half_hour_4_minutes_55_agents():
    # The worked example of the Erlang C formula found in call-centre texts (e.g. Westbay Engineers):
    # 48 Erlangs, occupancy 87.3 %, 24 % of calls wait, average speed of answer 8.2 s,
    # 84.5–84.6 % answered within 15 s (the texts round the intermediate Erlang C value).
    a = traffic(720, 240)
    assert a == 48
    assert wait_probability(a, 55) == pytest.approx(0.24, abs=0.005)
    assert average_wait(a, 55, 240) == pytest.approx(8.2, abs=0.05)
    assert service_level(a, 55, 240, 15) == pytest.approx(0.845, abs=0.002)
    assert agents_needed(720, 240, 0.8, 15).agents == 55  # 54 agents fall short of 80 % in 15 s
    assert service_level(a, 54, 240, 15) < 0.8


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.7, 0.95])
def test_closed_forms_for_one_and_two_agents(rho):
    assert wait_probability(rho, 1) == pytest.approx(rho)  # M/M/1: an arrival waits when the agent is busy
    assert wait_probability(2 * rho, 2) == pytest.approx(2 * rho**2 / (1 + rho))  # M/M/2
    assert average_wait(rho, 1, 60) == pytest.approx(rho * 60 / (1 - rho))  # M/M/1 mean wait in queue


def test_overload_and_no_load():
    assert wait_probability(5, 5) == 1 and service_level(5, 4, 60, 20) == 0 and average_wait(5, 5, 60) == math.inf
    assert agents_needed(0, 300).agents == 0


def test_large_queues_stay_exact_and_the_occupancy_cap_adds_agents():
    big = agents_needed(3600, 300)  # 300 Erlangs: factorials would overflow a float
    assert 300 < big.agents < 330 and big.service_level >= 0.8
    plain, capped = agents_needed(240, 300), agents_needed(240, 300, max_occupancy=0.7)  # 20 Erlangs
    assert plain.agents < 29 == capped.agents and capped.occupancy <= 0.7  # ceil(20 / 0.7) = 29


def test_expected_wait_for_a_queued_customer():
    assert expected_wait(1, 2, 300) == 150 and expected_wait(3, 2, 300) == 450
    assert expected_wait(0, 2, 300) == 0 and expected_wait(2, 0, 300) == math.inf
    assert expected_wait(1, 2, 300, free=1) == 0 and expected_wait(3, 2, 300, free=1) == 300  # one agent idle


@pytest.mark.parametrize("args", [(-1, 300), (10, 0)])
def test_bad_figures_are_refused(args):
    with pytest.raises(StaffingError):
        traffic(*args)
    with pytest.raises(StaffingError):
        agents_needed(10, 300, target_share=1.5)


def closed(after_hours: float) -> HourDemand:
    return HourDemand("closed", 0, False, 0.0, after_hours)


def open_hour(live: float = 1.0, opens: bool = False, minutes: int = 60, after_hours: float = 0.0) -> HourDemand:
    return HourDemand("open", minutes, opens, live, after_hours)


def test_callbacks_left_out_of_hours_are_due_at_the_opening_and_spread_over_its_first_hours():
    # closed now with 5 callbacks open; 2 + 1 more expected before opening; spread over two hours
    hours = [closed(2), closed(1), open_hour(3, opens=True), open_hour(4), open_hour(4), closed(2)]
    assert callbacks_due(hours, backlog=5, spread_hours=2) == [0, 0, 4, 4, 0, 0]
    assert callbacks_due(hours, backlog=0, spread_hours=1) == [0, 0, 3, 0, 0, 0]
    # open now: the backlog is due now; the night's 3 + 1, and the half hour before an 08:30 opening's
    # 0.5, are due at that opening
    hours = [open_hour(2), open_hour(2), closed(3), closed(1), open_hour(1, opens=True, minutes=30, after_hours=0.5)]
    assert callbacks_due(hours, backlog=4, spread_hours=1) == [4, 0, 0, 0, 4.5]
    # what would fall past the horizon is not shown; nothing opens, nothing is due
    assert callbacks_due([closed(6), open_hour(opens=True)], backlog=0, spread_hours=3) == [0, 2]
    assert callbacks_due([closed(6), closed(6)], backlog=3) == [0, 0]


@pytest.mark.parametrize("backlog, spread", [(-1, 1), (0, 0)])
def test_callbacks_due_refuses_impossible_figures(backlog, spread):
    with pytest.raises(StaffingError):
        callbacks_due([closed(1)], backlog, spread)


def test_an_hours_plan_closed_needs_no_agents_open_counts_callbacks_as_contacts():
    targets = StaffingTargets(0.8, 20, 1.0, 300)
    assert hour_plan(HourDemand("22:00", 0, False, 0.0, 2.5), 0.0, 300, targets) == {
        "hour": "22:00",
        "open": False,
        "after_hours": 2.5,
    }
    # an 08:30 opening: 1.5 live chats and 1 callback in half an hour are 5 contacts an hour of open time
    row = hour_plan(HourDemand("08:00", 30, True, 1.5, 0.5), 1.0, 300, targets)
    expected = agents_needed(5, 300, 0.8, 20)
    assert row["handoffs_per_hour"] == 3 and row["callbacks_per_hour"] == 2 and row["contacts_per_hour"] == 5
    assert row["traffic"] == round(5 * 300 / 3600, 2) and row["agents_needed"] == expected.agents >= 1
    without = hour_plan(HourDemand("08:00", 30, True, 1.5, 0.5), 0.0, 300, targets)
    assert without["traffic"] < row["traffic"] and without["service_level"] >= 0.8
