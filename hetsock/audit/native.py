"""The audit writer's per-record work in C (``hetsock/_audit_native.c``), or in Python.

:func:`records` makes the :class:`~hetsock.audit.record.AuditRecord` of each exchange as
:func:`~hetsock.audit.record.record_of` does, and :func:`sqlite_values` the SQLite INSERT's
values as ``sqlite._row`` does; the Python functions are the reference, and take every item the
C code does not (a 999, a client value holding NUL, an MBI that is not ASCII, traces JSON must
escape, a value of an unexpected type). The writer makes a record for every reply, on the
worker's own core: in Python that was about 5 us a record (the keyed hash through hashlib, the
record, the row), about a fifth of what the whole reply cost a saturated worker; in C about 1.

Built where ``hetsock._native`` is (``setup.py``: optional, skipped without a C compiler);
``HETSOCK_NATIVE=0`` turns both off. ``tests/test_audit_native.py`` holds the two to the same
values.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

from hetsock.audit.record import AuditRecord, key_pads, record_of
from hetsock.pipeline import ReplyKind
from hetsock.server.observer import Exchange

_native: Any
try:
    from hetsock import _audit_native as _native  # type: ignore[attr-defined,no-redef]
except ImportError:  # not built: no compiler at install time
    _native = None

#: Whether the C code is built and not turned off.
ENABLED = _native is not None and os.environ.get("HETSOCK_NATIVE", "1") != "0"

_KINDS = (ReplyKind.ELIGIBILITY, ReplyKind.REJECTION, ReplyKind.ACK_999)


def records(exchanges: list[Exchange], key: bytes, origin: str, first: int) -> list[AuditRecord]:
    """The records of ``exchanges``, numbered from ``first`` under ``origin``."""
    if not ENABLED:
        return [record_of(e, key, origin=origin, sequence=first + n) for n, e in enumerate(exchanges)]
    inner, outer = key_pads(key)

    def fallback(exchange: Exchange, sequence: int) -> AuditRecord:
        return record_of(exchange, key, origin=origin, sequence=sequence)

    made: list[AuditRecord] = _native.records(exchanges, inner, outer, origin, first, AuditRecord, _KINDS, fallback)
    return made


def sqlite_values(records: list[AuditRecord], row: Callable[[AuditRecord], Sequence[object]]) -> list[object]:
    """Every record's ``row(record)``, chained: the values of one multi-row INSERT."""
    if not ENABLED:
        return list(itertools.chain.from_iterable(map(row, records)))
    values: list[object] = _native.values(records, row)
    return values
