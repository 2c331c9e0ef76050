"""Maintenance windows: when the system is "unavailable" (pure: no clock but the one passed in).

HETS takes planned outages, typically Saturdays 07:30 to 16:00 or 17:00 Eastern (HETS-NOTES
section 1). During one, new connections get the proprietary error ``SBY00506`` and are closed,
and requests on open connections get the same error. Windows come from ``[[maintenance]]``
tables in the configuration, in two kinds:

* **weekly**: ``days`` (``Mon`` ... ``Sun``), ``start`` and ``end`` as ``HH:MM`` local times in
  ``timezone`` (an IANA name, default ``America/New_York``). An ``end`` at or before ``start``
  ends on the next day (``Sat 22:00`` to ``02:00`` covers Saturday night). Local times follow
  daylight saving: "07:30 New York" is 12:30 UTC in winter and 11:30 UTC in summer.
* **one-off**: ``from`` and ``until``, ISO 8601 date-times; one without an offset is read in
  ``timezone``.

A window includes its start and excludes its end. :meth:`MaintenanceSchedule.active_at`
takes an aware ``datetime`` (naive ones are read as the machine's local time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

DEFAULT_TIMEZONE = "America/New_York"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceError(Exception):
    """A ``[[maintenance]]`` table is invalid (the message names which and why)."""


@attrs.frozen
class WeeklyWindow:
    """Every week on ``days`` (0 = Monday) from ``start`` to ``end`` local time in ``zone``."""

    days: frozenset[int]
    start: dt.time
    end: dt.time
    zone: ZoneInfo

    def active_at(self, when: dt.datetime) -> bool:
        local = when.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        # Crosses midnight: the evening part on a listed day, or the morning part the day after.
        evening = local.weekday() in self.days and clock >= self.start
        morning = (local.weekday() - 1) % 7 in self.days and clock < self.end
        return evening or morning


@attrs.frozen
class OneOffWindow:
    """Once, from ``start`` (included) to ``end`` (excluded); both aware."""

    start: dt.datetime
    end: dt.datetime

    def active_at(self, when: dt.datetime) -> bool:
        # In UTC: datetimes sharing one tzinfo compare by wall time, which in the repeated
        # autumn hour would ignore which of the two it is.
        return self.start <= when.astimezone(dt.UTC) < self.end


Window = WeeklyWindow | OneOffWindow


@attrs.frozen
class MaintenanceSchedule:
    """All configured windows; empty means never in maintenance."""

    windows: tuple[Window, ...] = ()

    def active_at(self, when: dt.datetime) -> bool:
        """Whether ``when`` falls in any window."""
        if when.tzinfo is None:
            when = when.astimezone()
        return any(window.active_at(when) for window in self.windows)

    @classmethod
    def from_tables(cls, tables: Iterable[Any], *, source: str = "config") -> MaintenanceSchedule:
        """Build from the ``[[maintenance]]`` tables; raises :class:`MaintenanceError`."""
        return cls(tuple(_window(table, f"{source}: maintenance window {n}") for n, table in enumerate(tables, 1)))


def _window(table: Any, where: str) -> Window:
    if not isinstance(table, dict):
        raise MaintenanceError(f"{where}: must be a table")
    zone_name = table.get("timezone", DEFAULT_TIMEZONE)
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("America"), too long
        zone = None
    if zone is None:
        raise MaintenanceError(f"{where}: timezone must be an IANA time zone name such as America/New_York")
    weekly = "days" in table or "start" in table or "end" in table
    one_off = "from" in table or "until" in table
    if weekly == one_off:
        raise MaintenanceError(f"{where}: give either days/start/end (weekly) or from/until (one-off)")
    if one_off:
        start = _moment(table.get("from"), zone, f"{where}: from")
        end = _moment(table.get("until"), zone, f"{where}: until")
        if end <= start:
            raise MaintenanceError(f"{where}: until must be after from")
        return OneOffWindow(start, end)
    days = table.get("days")
    if not isinstance(days, list) or not days or not all(isinstance(d, str) and d.lower()[:3] in _DAYS for d in days):
        raise MaintenanceError(f"{where}: days must be a list of day names (Mon ... Sun)")
    opens, closes = _clock(table.get("start"), f"{where}: start"), _clock(table.get("end"), f"{where}: end")
    if opens == closes:
        raise MaintenanceError(f"{where}: start and end must differ")
    return WeeklyWindow(frozenset(_DAYS.index(d.lower()[:3]) for d in days), opens, closes, zone)


def _clock(value: Any, where: str) -> dt.time:
    if isinstance(value, dt.time):  # TOML local time
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            clock = dt.time.fromisoformat(value)
        except ValueError:
            pass
        else:
            if clock.tzinfo is not None:  # "07:30Z": the window's timezone says where
                raise MaintenanceError(f'{where} must be a local time of day without an offset, such as "07:30"')
            return clock
    raise MaintenanceError(f'{where} must be a time of day such as "07:30"')


def _moment(value: Any, zone: ZoneInfo, where: str) -> dt.datetime:
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):  # TOML date-time
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        raise MaintenanceError(f'{where} must be a date-time such as "2026-12-24T18:00"')
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
