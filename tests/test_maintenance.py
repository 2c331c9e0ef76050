"""Maintenance windows: weekly (local time, daylight saving, across midnight) and one-off."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hetsock.config import Config, ConfigError
from hetsock.maintenance import MaintenanceError, MaintenanceSchedule, OneOffWindow, WeeklyWindow

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC

SATURDAY_RELEASE = {"days": ["Sat"], "start": "07:30", "end": "16:00", "timezone": "America/New_York"}


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, zone: dt.tzinfo = UTC
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)


def schedule(*tables: dict[str, Any]) -> MaintenanceSchedule:
    return MaintenanceSchedule.from_tables(list(tables))


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        (at(2026, 11, 28, 7, 29, 59, zone=NEW_YORK), False),
        (at(2026, 11, 28, 7, 30, zone=NEW_YORK), True),  # the start is in the window
        (at(2026, 11, 28, 15, 59, 59, zone=NEW_YORK), True),
        (at(2026, 11, 28, 16, 0, zone=NEW_YORK), False),  # the end is not
        (at(2026, 11, 27, 10, 0, zone=NEW_YORK), False),  # a Friday
        (at(2026, 11, 28, 12, 30), True),  # 07:30 EST is 12:30 UTC in November
        (at(2026, 11, 28, 12, 29), False),
        (at(2026, 7, 11, 11, 30), True),  # and 11:30 UTC in July (EDT)
        (at(2026, 7, 11, 11, 29), False),
    ],
)
def test_weekly_window_in_local_time(moment: dt.datetime, active: bool) -> None:
    assert schedule(SATURDAY_RELEASE).active_at(moment) is active


def test_weekly_window_across_midnight() -> None:
    overnight = schedule({"days": ["Sat"], "start": "22:00", "end": "02:00", "timezone": "UTC"})
    assert overnight.active_at(at(2026, 11, 28, 22, 0))
    assert overnight.active_at(at(2026, 11, 29, 1, 59))  # Sunday morning belongs to Saturday's window
    assert not overnight.active_at(at(2026, 11, 29, 2, 0))
    assert not overnight.active_at(at(2026, 11, 28, 1, 0))  # Saturday morning: Friday was not listed
    assert not overnight.active_at(at(2026, 11, 29, 22, 30))


def test_one_off_window() -> None:
    once = schedule({"from": "2026-12-24T18:00", "until": "2026-12-25T06:00", "timezone": "America/New_York"})
    assert once.windows == (OneOffWindow(at(2026, 12, 24, 18, zone=NEW_YORK), at(2026, 12, 25, 6, zone=NEW_YORK)),)
    assert once.active_at(at(2026, 12, 24, 23, 0))  # 18:00 EST is 23:00 UTC
    assert not once.active_at(at(2026, 12, 24, 22, 59))
    assert not once.active_at(at(2026, 12, 25, 11, 0))


def test_one_off_window_in_the_repeated_autumn_hour() -> None:
    # New York's 01:00-02:00 happens twice on 2026-11-01 (EDT, then EST). A window ending at the
    # first 01:30 is over at the second 01:10, although their wall clocks say 01:10 < 01:30.
    once = schedule({"from": "2026-11-01T00:00", "until": "2026-11-01T01:30", "timezone": "America/New_York"})
    assert once.active_at(dt.datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK))  # fold 0: 05:10 UTC
    assert not once.active_at(dt.datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=NEW_YORK))  # 06:10 UTC


def test_naive_times_are_the_machines_local_time() -> None:
    always = MaintenanceSchedule((WeeklyWindow(frozenset(range(7)), dt.time(0, 0), dt.time(23, 59, 59), NEW_YORK),))
    assert isinstance(always.active_at(dt.datetime.now()), bool)
    assert not MaintenanceSchedule().active_at(dt.datetime.now())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"days": ["Sat"], "start": "07:30"}, "time of day"),
        ({"days": ["Caturday"], "start": "07:30", "end": "16:00"}, "day names"),
        ({"days": [], "start": "07:30", "end": "16:00"}, "day names"),
        ({"days": ["Sat"], "start": "07:30", "end": "07:30"}, "must differ"),
        ({"days": ["Sat"], "start": "7h", "end": "16:00"}, "time of day"),
        ({**SATURDAY_RELEASE, "timezone": "Mars/Olympus"}, "IANA"),
        ({**SATURDAY_RELEASE, "timezone": "America"}, "IANA"),  # a directory of zones, not a zone
        ({**SATURDAY_RELEASE, "timezone": "A" * 5000}, "IANA"),  # too long a name for a file
        ({"days": ["Sat"], "start": "07:30Z", "end": "16:00"}, "without an offset"),
        ({"days": ["Sat"], "start": "07:30", "end": "16:00+00:00"}, "without an offset"),
        ({"from": "2026-12-24T18:00"}, "date-time"),
        ({"from": "2026-12-25T18:00", "until": "2026-12-24T18:00"}, "after"),
        ({"from": "2026-12-25", "until": "2026-12-26", "days": ["Sat"]}, "either"),
        ({}, "either"),
    ],
)
def test_invalid_windows_are_named(table: dict[str, Any], message: str) -> None:
    with pytest.raises(MaintenanceError, match=message):
        schedule(table)


def test_config_reads_windows_and_reports_faults() -> None:
    config = Config.from_dict(
        {"maintenance": [SATURDAY_RELEASE, {"from": "2026-12-24T18:00:00-05:00", "until": "2026-12-25T06:00:00-05:00"}]}
    )
    assert len(config.maintenance.windows) == 2
    with pytest.raises(ConfigError, match="maintenance window 1"):
        Config.from_dict({"maintenance": [{"days": ["Sat"]}]})
    with pytest.raises(ConfigError, match="array of tables"):
        Config.from_dict({"maintenance": {"days": ["Sat"]}})
