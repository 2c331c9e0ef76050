"""The audit database contract: what the trail, enforcement, the report and ``hetsock
submitters`` ask of any database: a SQLite file (:mod:`hetsock.audit.sqlite`) or a PostgreSQL
schema (:mod:`hetsock.audit.postgres`), chosen by :func:`hetsock.audit.open_audit_database`.

Three kinds of data:

* **records** (:class:`~hetsock.audit.record.AuditRecord`), appended in batches, one transaction
  per :meth:`AuditDatabase.write`, read back in time order for the report, pruned by age. A
  record with an identity (``origin``, ``sequence``) is stored once however often it is written:
  the writer retries a batch whose commit may or may not have happened (the connection dropped
  before the answer came), and the retry must not store it twice;
* **NPI usage**, a per-submitter, per-minute tally (271 transactions, and those with a valid,
  linked NPI) kept by :meth:`~AuditDatabase.write` in the same transaction, of the records it
  stored, so the 99.5 % rule is judged over a day without rereading a day of records;
* **suspensions** (:class:`Suspension`): a submitter, or one submitter/NPI link, suspended from a
  time until a time (or until reinstated), by enforcement or by an operator. The server lays the
  active ones over the registry file (a suspended submitter gets ``SBY00502``, a suspended link
  AAA 41), and they outlive reloads and restarts because they live here, not in the registry.

Several processes (the workers, on one host or many, ``hetsock submitters``, ``hetsock audit
report``) use one database at once; an implementation makes each method atomic and safe against
the others. Every failure is :class:`AuditDatabaseError`, whose message names the database and
the fault, never a record's content or a password. Times are seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import attrs

from hetsock.audit.record import AuditRecord


class AuditDatabaseError(Exception):
    """The audit database cannot be opened, read or written (locked too long, disk full, corrupt)."""


#: A suspension's target: ``(submitter, npi)``; npi ``""`` is the whole submitter.
Target = tuple[str, str]


class Reason:
    """Why a suspension was made (the ``reason`` column and log field)."""

    #: Under the valid-linked-NPI threshold over the window (the whole submitter).
    NPI_THRESHOLD = "npi-threshold"
    #: Over the repeat limit for one NPI and beneficiary in a day (the submitter/NPI link).
    REPEATS = "repeats"
    #: Suspended by an operator with ``hetsock submitters suspend``.
    MANUAL = "manual"


@attrs.frozen
class Suspension:
    """One suspension. ``until`` ``None``: until reinstated; ``lifted``: when it was reinstated."""

    submitter: str
    npi: str  #: '' for the whole submitter
    reason: str
    detail: str
    since: float
    until: float | None
    lifted: float | None = None
    id: int = 0

    @property
    def target(self) -> Target:
        return (self.submitter, self.npi)

    def active_at(self, now: float) -> bool:
        return self.lifted is None and self.since <= now and (self.until is None or now < self.until)

    def ended_at(self) -> float | None:
        """When it ended or will end: reinstated, else its ``until``."""
        return self.lifted if self.lifted is not None else self.until


@attrs.frozen
class RepeatGroup:
    """Inquiries from one submitter for one beneficiary (the MBI's keyed hash) under one NPI on
    one day, over a repeat limit."""

    submitter: str
    npi: str
    mbi_hash: str
    day: str
    inquiries: int


@attrs.frozen
class Usage:
    """A submitter's 271 transactions in a span, and how many had a valid, linked NPI."""

    total: int = 0
    valid: int = 0


#: The repeat rule's index, by day first: (day, MBI hash, NPI, submitter, received), records with an
#: MBI hash only. Made only where enforcement is on (:meth:`AuditDatabase.ensure_pair_index`), not by
#: a migration: its key is random within a day (the MBI's hash), so every record lands on a page of
#: its own, and keeping it cost the writer 6 us a record in an empty database, 12 at 50,000 records
#: and 30 at 300,000 (``scripts/bench_audit.py``; the other indexes about 1 us together). Day first,
#: so a day's entries are never touched again once it is over: the pages being written are the
#: current day's only. The report's repeat groups (``repeat_groups``) scan the time range instead.
PAIR_INDEX = "audit_by_day_pair"


class AuditDatabase(Protocol):
    """An audit database. Each method is one transaction; all raise :class:`AuditDatabaseError`."""

    def describe(self) -> str:
        """Which database, for log lines (``sqlite:<path>``); never credentials."""
        ...

    def write(self, records: Sequence[AuditRecord]) -> int:
        """Append ``records`` and add them to the NPI usage tally, all or nothing; returns how
        many were stored (a record whose identity is stored already is skipped, and not tallied)."""
        ...

    def records(
        self, *, since: float | None = None, until: float | None = None, submitter: str | None = None
    ) -> Iterator[AuditRecord]:
        """Records received in ``[since, until)`` (optionally one submitter's), oldest first."""
        ...

    def prune(self, before: float, *, limit: int) -> int:
        """Delete at most ``limit`` records (and tally minutes) older than ``before``; how many records."""
        ...

    def npi_usage(self, submitters: Iterable[str], since: dict[str, float]) -> dict[str, Usage]:
        """Each submitter's usage from ``since[submitter]`` on (exactly: the tally's whole minutes,
        and the records of the part-minute before the first of them)."""
        ...

    def pair_counts(
        self, pairs: Iterable[tuple[str, str, str, str]], since: dict[Target, float]
    ) -> dict[tuple[str, str, str, str], int]:
        """For each ``(submitter, npi, mbi_hash, day)``: records that day received from
        ``since[(submitter, npi)]`` on (0 when absent)."""
        ...

    def ensure_pair_index(self) -> bool:
        """Make the index :meth:`pair_counts` reads (:data:`PAIR_INDEX`) if there is none; whether
        it was made now. Called where enforcement is on: without it, the counts are still right
        but each one scans the day's records."""
        ...

    def repeat_groups(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        submitter: str | None = None,
        limit: int,
    ) -> list[RepeatGroup]:
        """The (submitter, NPI, beneficiary, day) groups of more than ``limit`` records received
        in ``[since, until)`` (optionally one submitter's); counted by the database, so the report
        needs no memory per record for them."""
        ...

    def suspensions(self, *, now: float | None = None, submitter: str | None = None) -> list[Suspension]:
        """Active suspensions at ``now``; with ``now`` None, every suspension ever (newest first)."""
        ...

    def suspend(self, suspension: Suspension, *, now: float) -> bool:
        """Record ``suspension`` unless one for the same target is active at ``now``; whether it was."""
        ...

    def reinstate(self, target: Target, *, now: float) -> int:
        """Lift the target's active suspensions at ``now``; how many."""
        ...

    def last_ended(self, targets: Iterable[Target], *, now: float) -> dict[Target, float]:
        """For each target with a suspension that has ended by ``now``, when the latest one ended."""
        ...

    def count(self) -> int:
        """How many records the database holds."""
        ...

    def close(self) -> None:
        """Release the database; closing twice is harmless."""
        ...


def records_query(
    columns: str, placeholder: str, *, since: float | None, until: float | None, submitter: str | None
) -> tuple[str, list[object]]:
    """The ``SELECT`` of :meth:`AuditDatabase.records` for a backend whose parameters are written
    ``placeholder`` (``?`` or ``%s``), and its arguments: ``since`` included, ``until`` excluded,
    one submitter if given, in the order received."""
    where, args = _span(placeholder, since=since, until=until, submitter=submitter)
    return f"SELECT {columns} FROM audit WHERE {where} ORDER BY received, id", args


def repeat_groups_query(
    placeholder: str,
    *,
    since: float | None,
    until: float | None,
    submitter: str | None,
    limit: int,
) -> tuple[str, list[object]]:
    """The ``SELECT`` of :meth:`AuditDatabase.repeat_groups` (rows: submitter, npi, mbi_hash,
    day, count), and its arguments. Records without an MBI hash or an NPI belong to no group."""
    where, args = _span(placeholder, since=since, until=until, submitter=submitter)
    key = "submitter, npi, mbi_hash, day"
    query = (
        f"SELECT {key}, count(*) FROM audit WHERE {where} AND mbi_hash != '' AND npi != '' "
        f"GROUP BY {key} HAVING count(*) > {placeholder} ORDER BY count(*) DESC, {key}"
    )
    return query, [*args, limit]


def _span(
    placeholder: str, *, since: float | None, until: float | None, submitter: str | None
) -> tuple[str, list[object]]:
    where = [f"received >= {placeholder}", f"received < {placeholder}"]
    args: list[object] = [
        since if since is not None else float("-inf"),
        until if until is not None else float("inf"),
    ]
    if submitter is not None:
        where.append(f"submitter = {placeholder}")
        args.append(submitter)
    return " AND ".join(where), args
