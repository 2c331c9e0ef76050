"""The audit trail's trio tasks: :class:`AuditTrail` (observer and batch writer) and
:class:`SuspensionWatcher` (keeps the active suspensions laid over the registry).

Theory of operation
-------------------
The server calls :meth:`AuditTrail.request_answered` on its event loop after every reply; it
only appends the :class:`~hetsock.server.observer.Exchange` to a list (no I/O, no hashing, a
fraction of a microsecond). The writer task wakes every ``flush_interval`` (1 s), takes what
is queued, turns it into :class:`~hetsock.audit.record.AuditRecord`\\ s (the MBI becomes its keyed
hash; the reply bytes are let go; each record is numbered, under an ``origin`` drawn at random
for this writer, so the database stores a retried record once) and writes them in transactions
of at most ``batch_size``, in a worker thread, so a slow or locked database never holds the
event loop. A crash of the process therefore loses at most the records of the last flush
interval.

A failing database (locked past its busy timeout, disk full, a PostgreSQL server restarting or
out of reach) never stalls replies: the batch stays pending and is retried at the next flush
(whether or not its last attempt was in fact committed: the records' identity makes the retry
store only what is missing), the failure is counted (``failures``) and logged
(``audit-write-failed`` once, ``audit-still-failing`` every :data:`LOG_EVERY` seconds,
``audit-recovered`` after). Meanwhile records are held in memory up to ``max_backlog`` per
worker; beyond that new ones are dropped, counted (``dropped``) and logged (``audit-dropped``)
rather than grow memory without bound: the one way, besides a crash or a database still failing
at shutdown, that the trail can miss a reply.

Shutdown: :meth:`AuditTrail.close` (after the listener has finished every connection) makes the
writer flush everything queued, retrying a failing database for :data:`FLUSH_ON_STOP` seconds;
what it still cannot write is counted (``lost``) and logged (``audit-lost``).

With enforcement on, each committed batch is judged (:func:`hetsock.audit.enforcement.check`)
and a new suspension wakes the :class:`SuspensionWatcher`, which rereads the active suspensions
(also every ``poll_interval``, and on SIGHUP) and, when they change, has the server lay them over
the registry. Worker 0's writer also prunes records older than ``retention_days``, once at start
and then hourly, in slices of :data:`PRUNE_SLICE`, one slice after each flush, so no
transaction holds the database long and the flushes go on while a large prune runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable

import attrs
import trio

from hetsock.audit import enforcement, native
from hetsock.audit.background import BackgroundThread
from hetsock.audit.database import AuditDatabase, AuditDatabaseError, Suspension
from hetsock.audit.record import AuditRecord
from hetsock.config import AuditConfig, EnforcementConfig
from hetsock.logs import LOGGER_NAME, log_event
from hetsock.registry import Registry
from hetsock.server.observer import Exchange, Observer

logger = logging.getLogger(LOGGER_NAME + ".audit")

#: Seconds between repeated log lines about the same trouble (failing database, drops).
LOG_EVERY = 60.0
#: Seconds the final flush keeps retrying a failing database at shutdown.
FLUSH_ON_STOP = 3.0
_STOP_RETRY = 0.2
#: Seconds between prunes (worker 0), and records deleted per transaction.
PRUNE_EVERY = 3600.0
#: Flush intervals the oldest unwritten record may wait before the work moves to a thread of
#: normal priority (see ``background.py``): the trail never falls behind for long, even on a
#: worker so busy that the lower-priority thread gets little of the core.
CATCH_UP_AFTER = 3
#: Exchanges made into records per job on the writer's thread (the runner is chosen per job).
RECORDS_PER_JOB = 250
PRUNE_SLICE = 10_000


def _epoch(clock: Callable[[], dt.datetime]) -> float:
    return clock().timestamp()


@attrs.define(eq=False)
class AuditTrail(Observer):
    """Queues every exchange and writes audit records in batches from :meth:`run`."""

    database: AuditDatabase
    key: bytes = attrs.field(repr=False)
    settings: AuditConfig = attrs.field(factory=AuditConfig)
    worker: int = 0
    #: With a policy, committed batches are judged and suspensions recorded.
    enforcement: EnforcementConfig | None = None
    #: The wall clock for enforcement and pruning (tests replace it).
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now
    #: Called on the event loop with the suspensions a batch earned.
    on_suspended: Callable[[list[Suspension]], None] | None = None
    #: Seconds the final flush retries a failing database.
    flush_on_stop: float = FLUSH_ON_STOP
    written: int = 0
    failures: int = 0
    dropped: int = 0
    lost: int = 0
    #: Exchanges answered and not yet taken by the writer (appended on the event loop; the
    #: writer swaps the list for a new one: no channel, no lock, one thread touches it).
    _queue: list[Exchange] = attrs.field(factory=list)
    #: Set once the writer has taken its last exchanges (at close): later ones are lost.
    _queue_closed: bool = False
    _pending: list[AuditRecord] = attrs.field(factory=list)
    _closing: trio.Event = attrs.field(factory=trio.Event)
    _done: trio.Event = attrs.field(factory=trio.Event)
    _failing_since: float | None = None
    _last_failure_log: float = 0.0
    _last_drop_log: float = -LOG_EVERY
    #: This writer's records' origin (see :class:`~hetsock.audit.record.AuditRecord`) and the
    #: next record's sequence number.
    _origin: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    _sequence: int = 1
    #: A prune in progress (worker 0): records received before this go, a slice per flush.
    _prune_before: float | None = None
    _pruned: int = 0
    #: Where records are made and written: a thread of lower priority (see ``background.py``),
    #: or, once the oldest record waiting is :data:`CATCH_UP_AFTER` flush intervals old, one of
    #: normal priority until the trail has caught up.
    _thread: BackgroundThread = attrs.field(factory=lambda: BackgroundThread("hetsock-audit-writer"))
    _catch_up: BackgroundThread = attrs.field(factory=lambda: BackgroundThread("hetsock-audit-catch-up", nice=None))
    #: trio time since which records have been waiting (``None``: none are).
    _waiting_since: float | None = None

    # -- the request path ----------------------------------------------------------------------

    def request_answered(self, exchange: Exchange) -> None:
        queue = self._queue
        if len(queue) + len(self._pending) >= self.settings.max_backlog:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log >= LOG_EVERY:
                self._last_drop_log = now
                log_event(
                    logger,
                    "audit-dropped",
                    level=logging.ERROR,
                    worker=self.worker,
                    dropped_total=self.dropped,
                    backlog=self.backlog,
                )
            return
        if self._queue_closed:
            self.lost += 1
            log_event(logger, "audit-lost", level=logging.ERROR, worker=self.worker, records=1, why="closed")
            return
        queue.append(exchange)

    @property
    def backlog(self) -> int:
        """Records answered but not yet written."""
        return len(self._queue) + len(self._pending)

    # -- the writer ----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush what is queued and stop (the writer task returns once it has)."""
        self._closing.set()

    async def wait_closed(self) -> None:
        await self._done.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The writer: every ``flush_interval`` write what is queued; on :meth:`close`, flush and return."""
        task_status.started()
        next_prune = trio.current_time()
        try:
            while True:
                with trio.move_on_after(self.settings.flush_interval):
                    await self._closing.wait()
                if self._closing.is_set():
                    self._queue_closed = True  # what comes after this flush is lost
                    await self._flush_on_stop()
                    return
                await self._flush()
                if self.worker == 0 and self.settings.retention_days:
                    if self._prune_before is None and trio.current_time() >= next_prune:
                        next_prune = trio.current_time() + PRUNE_EVERY
                        self._prune_before = _epoch(self.wall_clock) - self.settings.retention_days * 86_400
                        self._pruned = 0
                    if self._prune_before is not None:
                        await self._prune_slice(self._prune_before)
        finally:
            if self.backlog:
                self.lost += self.backlog
                log_event(logger, "audit-lost", level=logging.ERROR, worker=self.worker, records=self.backlog)
                self._pending.clear()
                self._queue = []
            log_event(
                logger,
                "audit-closed",
                worker=self.worker,
                written=self.written,
                failures=self.failures,
                dropped=self.dropped,
                lost=self.lost,
            )
            self._thread.stop()
            self._catch_up.stop()
            self._done.set()

    def _take(self) -> list[Exchange]:
        taken, self._queue = self._queue, []
        return taken

    def _records(self, exchanges: list[Exchange], first: int) -> list[AuditRecord]:
        """On the writer's thread: the records of ``exchanges``, numbered from ``first`` (in C
        where it is built: ``audit/native.py``)."""
        return native.records(exchanges, self.key, self._origin, first)

    def _runner(self) -> BackgroundThread:
        """The lower-priority thread, or the catch-up one while the trail is behind."""
        now = trio.current_time()
        if self._waiting_since is None:
            self._waiting_since = now - self.settings.flush_interval  # the oldest waited about that long
        behind = now - self._waiting_since >= CATCH_UP_AFTER * self.settings.flush_interval
        return self._catch_up if behind else self._thread

    async def _flush(self) -> bool:
        """Write everything queued; whether it all went (else it stays pending for the next flush)."""
        started = trio.current_time()
        taken = self._take()
        if not taken and not self._pending:
            self._waiting_since = None
            return True
        for start in range(0, len(taken), RECORDS_PER_JOB):  # so the runner is chosen afresh between
            part, first = taken[start : start + RECORDS_PER_JOB], self._sequence
            self._sequence += len(part)
            self._pending.extend(await self._runner().run(functools.partial(self._records, part, first)))
        while self._pending:
            chunk = self._pending[: self.settings.batch_size]
            runner = self._runner()
            try:
                stored, suspended = await runner.run(functools.partial(self._write, chunk))
            except AuditDatabaseError as error:
                self._failed(error)
                return False
            del self._pending[: len(chunk)]
            self.written += len(chunk)
            if stored < len(chunk):  # a failed attempt had committed after all: nothing stored twice
                log_event(logger, "audit-already-stored", worker=self.worker, records=len(chunk) - stored)
            self._recovered()
            if suspended:
                for suspension in suspended:
                    log_event(
                        logger,
                        "suspended",
                        level=logging.WARNING,
                        submitter=suspension.submitter,
                        npi=suspension.npi or "-",
                        reason=suspension.reason,
                        detail=suspension.detail,
                        until=enforcement.describe_time(suspension.until),
                        worker=self.worker,
                    )
                if self.on_suspended is not None:
                    self.on_suspended(suspended)
        # What came while this flush ran has waited at most since it started.
        self._waiting_since = started if self._queue else None
        return True

    async def _flush_on_stop(self) -> None:
        deadline = trio.current_time() + self.flush_on_stop
        while not await self._flush():
            if trio.current_time() >= deadline:
                return  # run()'s finally counts and logs what is left
            await trio.sleep(_STOP_RETRY)

    def _write(self, records: list[AuditRecord]) -> tuple[int, list[Suspension]]:
        """In a worker thread: one transaction, then (with a policy) the enforcement check; the
        records newly stored, and the suspensions made."""
        stored = self.database.write(records)
        if self.enforcement is None or not self.enforcement.enabled:
            return stored, []
        try:
            return stored, enforcement.check(
                self.database, records, now=_epoch(self.wall_clock), policy=self.enforcement
            )
        except AuditDatabaseError as error:  # judged again with the next batch
            log_event(logger, "enforcement-failed", level=logging.WARNING, worker=self.worker, detail=str(error))
            return stored, []

    def _failed(self, error: AuditDatabaseError) -> None:
        self.failures += 1
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last_failure_log = now
            log_event(
                logger,
                "audit-write-failed",
                level=logging.ERROR,
                worker=self.worker,
                detail=str(error),
                backlog=self.backlog,
            )
        elif now - self._last_failure_log >= LOG_EVERY:
            self._last_failure_log = now
            log_event(
                logger,
                "audit-still-failing",
                level=logging.ERROR,
                worker=self.worker,
                detail=str(error),
                backlog=self.backlog,
                failures=self.failures,
                seconds=round(now - self._failing_since),
            )

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log_event(
                logger,
                "audit-recovered",
                worker=self.worker,
                seconds=round(time.monotonic() - self._failing_since, 1),
                failures=self.failures,
            )
            self._failing_since = None

    async def _prune_slice(self, before: float) -> None:
        """One slice of a prune, between two flushes: a prune of a busy day's records takes many
        slices, and the records answered meanwhile must not wait for all of them."""
        try:
            deleted = await self._thread.run(lambda: self.database.prune(before, limit=PRUNE_SLICE))
        except AuditDatabaseError as error:
            log_event(logger, "audit-prune-failed", level=logging.WARNING, detail=str(error))
            deleted = 0  # tried again at the next hour
        self._pruned += deleted
        if deleted < PRUNE_SLICE:
            if self._pruned:
                log_event(logger, "audit-pruned", records=self._pruned, retention_days=self.settings.retention_days)
            self._prune_before = None


@attrs.define(eq=False)
class SuspensionWatcher:
    """Keeps the active suspensions (from the audit database) and lays them over a registry.

    :meth:`view` is what the server calls on every registry it answers with (the file's, again
    after each SIGHUP); :meth:`run` rereads the table every ``interval`` seconds, or at once after
    :meth:`wake`, and calls ``refresh`` when the active set changed (expiries included)."""

    database: AuditDatabase
    interval: float = 2.0
    worker: int = 0
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now
    refresh: Callable[[], None] | None = None
    active: tuple[Suspension, ...] = ()
    _wake: trio.Event = attrs.field(factory=trio.Event)
    _last_failure_log: float = -LOG_EVERY

    def view(self, registry: Registry) -> Registry:
        return enforcement.apply_suspensions(registry, self.active)

    def load(self) -> None:
        """Read the active suspensions now (blocking; at start-up, before serving)."""
        self._update(self.database.suspensions(now=_epoch(self.wall_clock)))

    def wake(self) -> None:
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            with trio.move_on_after(self.interval):
                await self._wake.wait()
            self._wake = trio.Event()
            now = _epoch(self.wall_clock)
            try:
                active = await trio.to_thread.run_sync(functools.partial(self.database.suspensions, now=now))
            except AuditDatabaseError as error:  # keep the last known set
                if time.monotonic() - self._last_failure_log >= LOG_EVERY:
                    self._last_failure_log = time.monotonic()
                    log_event(logger, "suspensions-unreadable", level=logging.WARNING, detail=str(error))
                continue
            if self._update(active) and self.refresh is not None:
                self.refresh()

    def _update(self, suspensions: list[Suspension]) -> bool:
        active = tuple(sorted(suspensions, key=lambda s: s.id))
        if active == self.active:
            return False
        before = {s.id: s for s in self.active}
        after = {s.id: s for s in active}
        for ident in after.keys() - before.keys():
            s = after[ident]
            log_event(
                logger,
                "suspension-applied",
                worker=self.worker,
                submitter=s.submitter,
                npi=s.npi or "-",
                reason=s.reason,
                until=enforcement.describe_time(s.until),
            )
        for ident in before.keys() - after.keys():
            s = before[ident]
            log_event(logger, "suspension-ended", worker=self.worker, submitter=s.submitter, npi=s.npi or "-")
        self.active = active
        return True
