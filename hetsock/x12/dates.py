"""X12 date and time values: DT (CCYYMMDD), RD8 ranges and TM."""

from __future__ import annotations

import datetime as dt

from hetsock.x12.isa import is_digits


def is_real_date(value: str) -> bool:
    """X12 DT CCYYMMDD that names a real day."""
    if len(value) != 8 or not is_digits(value):
        return False
    try:
        # Eight ASCII digits are ISO 8601's basic CCYYMMDD, which fromisoformat reads (3.11+)
        # and checks in C: a third of the cost of slicing, int() and date().
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_real_range(value: str) -> bool:
    """RD8 CCYYMMDD-CCYYMMDD: two real dates, the end not before the start."""
    start, dash, end = value.partition("-")
    return bool(dash) and is_real_date(start) and is_real_date(end) and start <= end


def is_valid_time(value: str) -> bool:
    """X12 TM: HHMM, HHMMSS, or HHMMSS with one or two decimal-seconds digits."""
    if not 4 <= len(value) <= 8 or len(value) == 5 or not is_digits(value):
        return False
    if int(value[:2]) > 23 or int(value[2:4]) > 59:
        return False
    return len(value) < 6 or int(value[4:6]) <= 59


def ccyymmdd(day: dt.date) -> str:
    """``day`` as X12 DT."""
    # Several calls per request: the fields as one number, zero-padded to eight digits (years 1
    # to 9999 included), is one ``%`` conversion instead of three, two thirds of the time; ``%``
    # takes half the time of an f-string with format specs, a sixth of ``strftime``'s.
    return "%08d" % (day.year * 10000 + day.month * 100 + day.day)  # noqa: UP031


def hhmmss(moment: dt.datetime) -> str:
    """``moment``'s time as X12 TM HHMMSS."""
    return "%06d" % (moment.hour * 10000 + moment.minute * 100 + moment.second)  # noqa: UP031 - see ccyymmdd
