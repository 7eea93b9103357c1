"""The one clock: stored stamps in UTC, shown in the configured zone."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.clock import local, stamp


@pytest.mark.parametrize(
    "value, zone, shown",
    [
        ("2026-11-27T05:54:03+00:00", "Asia/Shanghai", "2026-11-27 13:54"),
        ("2026-11-27T20:10:00+00:00", "Asia/Shanghai", "2026-11-28 04:10"),  # the next local day
        ("2026-07-01T12:00:00+00:00", "Europe/Berlin", "2026-07-01 14:00"),  # summer time
        ("2026-11-27T05:54:03", "Asia/Shanghai", "2026-11-27 13:54"),  # a naive stamp is UTC, as stored
        (None, "Asia/Shanghai", ""),
        ("", "UTC", ""),
        ("not a time", "UTC", "not a time"),
    ],
)
def test_a_stored_stamp_is_shown_in_the_configured_zone(value, zone, shown):
    assert local(value, zone) == shown


def test_a_stored_stamp_is_utc_to_the_second():
    moment = dt.datetime(2026, 11, 27, 13, 54, 3, 999, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert stamp(moment) == "2026-11-27T05:54:03+00:00"
    assert local(stamp(moment), "Asia/Shanghai") == "2026-11-27 13:54"
