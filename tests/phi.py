"""The patient-data scan: no log line of a test run may hold a demo fixture's name, MBI or birth date.

Every log line a test session produces is collected in :data:`LOG_LINES`: the ``hetsock``
logger's records in the test process (formatted both ways, key=value and JSON, by
:class:`CollectingHandler`, at debug level so the per-request lines are exercised too) and every
line a ``hetsock serve`` subprocess writes to stderr (``tests/process.py``). When the session
ends, ``conftest.py`` scans them with :func:`find_patient_data` and fails the run if anything
matches; ``test_phi.py`` proves the scanner finds planted leaks of each kind.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from hetsock.eligibility import fixtures
from hetsock.logs import JsonFormatter, KeyValueFormatter

#: Every log line seen in this test session.
LOG_LINES: list[str] = []


def _date_forms(ccyymmdd: str) -> list[str]:
    day = dt.date(int(ccyymmdd[:4]), int(ccyymmdd[4:6]), int(ccyymmdd[6:]))
    return [ccyymmdd, day.isoformat(), day.strftime("%m/%d/%Y")]


def _needles() -> list[tuple[str, re.Pattern[str]]]:
    """(what, pattern) for every fixture's MBIs, names, birth date and street address."""
    found: list[tuple[str, re.Pattern[str]]] = []
    for person in fixtures.BENEFICIARIES:
        for mbi in (person.mbi, *person.previous_mbis):
            found.append(("MBI", re.compile(rf"(?<![A-Z0-9]){re.escape(mbi)}(?![A-Z0-9])", re.IGNORECASE)))
        names = {person.last_name, person.first_name, person.last_name.replace(" ", "-")}
        names |= {person.middle_name} if len(person.middle_name) > 1 else set()
        for name in filter(None, names):
            found.append(("name", re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])")))
        for form in _date_forms(person.birth_date):
            found.append(("birth date", re.compile(rf"(?<!\d){re.escape(form)}(?!\d)")))
        if person.address.line1:
            found.append(("address", re.compile(re.escape(person.address.line1), re.IGNORECASE)))
    return found


NEEDLES = _needles()


def find_patient_data(lines: list[str]) -> list[tuple[str, str]]:
    """``(what, line)`` for every line holding a fixture's MBI, name, birth date or address."""
    leaks: list[tuple[str, str]] = []
    for line in lines:
        for what, pattern in NEEDLES:
            if pattern.search(line):
                leaks.append((what, line.rstrip("\n")))
                break
    return leaks


class CollectingHandler(logging.Handler):
    """Appends every record to :data:`LOG_LINES`, formatted as key=value and as JSON."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._formats = (KeyValueFormatter(), JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        for formatter in self._formats:  # what hetsock's own handlers would write
            LOG_LINES.append(formatter.format(record))


HANDLER = CollectingHandler()


def arm() -> None:
    """Attach the collecting handler to the ``hetsock`` logger at debug level (again, if a test's
    ``configure_logging`` removed it)."""
    logger = logging.getLogger("hetsock")
    if HANDLER not in logger.handlers:
        logger.addHandler(HANDLER)
    logger.setLevel(logging.DEBUG)
