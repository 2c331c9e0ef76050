"""The audit database in one SQLite file (:class:`SqliteAuditDatabase`).

Every worker process writes to the same file: WAL journal (readers never wait for the writer),
a busy timeout (a writer waits for another's transaction instead of failing), and one
``BEGIN IMMEDIATE`` transaction per batch, so N workers each committing about once a second
hardly ever meet. ``synchronous = FULL``: a committed batch survives a power cut, not only a
crash of the process. ``hetsock audit report`` and ``hetsock submitters`` open the same file
beside the running server.

Schema (``PRAGMA user_version`` counts the migrations applied; add one to :data:`MIGRATIONS`):

``audit``
    one row per record (:class:`~hetsock.audit.record.AuditRecord`); ``traces`` is a JSON array,
    ``service_types`` and ``codes`` are comma-separated; indexed by time and by submitter and
    time. Where enforcement is on, also by (day, MBI hash, NPI, submitter) for the repeat
    rule (:data:`~hetsock.audit.database.PAIR_INDEX`, made at start, not by a migration; migration
    3 dropped the first version of it, by MBI hash first, which every database had).
``audit_run``
    the records' identities (``origin``, ``sequence``; NULL for a record without one), as runs:
    each batch :meth:`SqliteAuditDatabase.write` stores adds one row per origin, its first and
    last sequence number (a writer numbers its records in order: one run a batch), and
    :meth:`~SqliteAuditDatabase.write` skips records a run already holds, so a retried batch is
    stored once. Until migration 4 a unique index on (origin, sequence) did this, one entry per
    record: a quarter of the cost of an insert (1 of 4 us a record, ``scripts/bench_audit.py``).
``npi_usage``
    per submitter and minute (``received // 60``): 271 transactions and those with a valid,
    linked NPI; kept by :meth:`SqliteAuditDatabase.write` in the batch's transaction. A span that
    starts inside a minute is counted from the tally's whole minutes plus that part-minute's
    records (``audit_by_submitter``), so a reinstatement at 10:00:30 counts nothing before it.
``suspension``
    every suspension ever made; ``lifted`` is set when an operator reinstates.
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import orjson

from hetsock.audit import native
from hetsock.audit.database import (
    PAIR_INDEX,
    AuditDatabaseError,
    RepeatGroup,
    Suspension,
    Target,
    Usage,
    records_query,
    repeat_groups_query,
)
from hetsock.audit.record import AuditRecord

#: Each migration brings the schema from its index to the next version.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        received REAL NOT NULL,
        replied REAL NOT NULL,
        day TEXT NOT NULL,
        worker INTEGER NOT NULL,
        connection INTEGER NOT NULL,
        peer_host TEXT NOT NULL,
        peer_port INTEGER NOT NULL,
        submitter TEXT NOT NULL,
        npi TEXT NOT NULL,
        mbi_hash TEXT NOT NULL,
        reference TEXT NOT NULL,
        interchange_control TEXT NOT NULL,
        traces TEXT NOT NULL,
        service_types TEXT NOT NULL,
        kind TEXT NOT NULL,
        codes TEXT NOT NULL,
        aaa_loop TEXT NOT NULL,
        npi_ok INTEGER,
        delivered INTEGER NOT NULL,
        latency REAL NOT NULL
    );
    CREATE INDEX audit_by_time ON audit(received);
    CREATE INDEX audit_by_submitter ON audit(submitter, received);
    CREATE INDEX audit_by_pair ON audit(mbi_hash, npi, submitter, day, received) WHERE mbi_hash != '';
    CREATE TABLE npi_usage (
        submitter TEXT NOT NULL,
        minute INTEGER NOT NULL,
        total INTEGER NOT NULL,
        valid INTEGER NOT NULL,
        PRIMARY KEY (submitter, minute)
    ) WITHOUT ROWID;
    CREATE TABLE suspension (
        id INTEGER PRIMARY KEY,
        submitter TEXT NOT NULL,
        npi TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        since REAL NOT NULL,
        until REAL,
        lifted REAL
    );
    CREATE INDEX suspension_by_target ON suspension(submitter, npi);
    """,
    """
    ALTER TABLE audit ADD COLUMN origin TEXT;
    ALTER TABLE audit ADD COLUMN sequence INTEGER;
    CREATE UNIQUE INDEX audit_by_origin ON audit(origin, sequence) WHERE origin IS NOT NULL;
    """,
    """
    DROP INDEX IF EXISTS audit_by_pair;
    """,
    """
    CREATE TABLE audit_run (
        origin TEXT NOT NULL,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL,
        written REAL NOT NULL,
        PRIMARY KEY (origin, first)
    ) WITHOUT ROWID;
    INSERT INTO audit_run(origin, first, last, written)
        SELECT origin, min(sequence), max(sequence), max(received) FROM (
            SELECT origin, sequence, received,
                sequence - row_number() OVER (PARTITION BY origin ORDER BY sequence) AS run
            FROM audit WHERE origin IS NOT NULL
        ) GROUP BY origin, run;
    DROP INDEX audit_by_origin;
    """,
)

_COLUMNS = (
    "received, replied, day, worker, connection, peer_host, peer_port, submitter, npi, mbi_hash, reference, "
    "interchange_control, traces, service_types, kind, codes, aaa_loop, npi_ok, delivered, latency, origin, sequence"
)
#: Rows per INSERT statement when writing a batch. Statements of many rows rather than
#: ``executemany``: Python's sqlite3 lets go of the GIL around every statement step, and on a busy
#: worker each time costs the writer thread a wait to get it back (up to the 5 ms switch
#: interval) and the event loop a thread switch; a row per step made the trail one of the
#: worker's largest costs. At most this many, and within the connection's limit on parameters
#: per statement (a build option: 999 before SQLite 3.32, and in some builds still).
_ROWS_PER_INSERT = 100
_COLUMN_COUNT = 22


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_rows(count: int) -> str:
    """The INSERT of ``count`` rows (SQLite keeps each compiled in the connection's cache)."""
    return f"INSERT INTO audit({_COLUMNS}) VALUES " + ", ".join(["(" + ", ".join("?" * _COLUMN_COUNT) + ")"] * count)


#: A record's tally minute in SQL: the largest m with 60 m <= received, exactly Python's
#: ``received // 60`` (``CAST`` of the rounded quotient, one less where that rounded up), so a
#: record sits in the same minute as the boundaries ``npi_usage`` compares with.
MINUTE_OF_RECEIVED = "CAST(received / 60 AS INTEGER) - (CAST(received / 60 AS INTEGER) * 60.0 > received)"
#: The NPI tally of the audit rows after id ``?``: per submitter and minute, its 271s (npi_ok not
#: NULL) and those with a valid linked NPI. ``NOT INDEXED``: the rows are found by the rowid range
#: (the batch just written). Left to itself, SQLite's planner walks all of ``audit_by_submitter``
#: instead (to group without sorting), so every flush cost time in proportion to the whole
#: table: a 5,000-record flush took 65-81 ms with 600,000 rows stored, against 36-41 ms now
#: (24-27 ms at 30,000 rows either way).
_TALLY_ADDED = f"""
INSERT INTO npi_usage(submitter, minute, total, valid)
SELECT submitter, minute, count(*), sum(npi_ok) FROM (
    SELECT submitter, npi_ok, {MINUTE_OF_RECEIVED} AS minute FROM audit NOT INDEXED
    WHERE id > ? AND npi_ok IS NOT NULL
) WHERE true GROUP BY submitter, minute
ON CONFLICT(submitter, minute) DO UPDATE SET total = total + excluded.total, valid = valid + excluded.valid
"""
_ACTIVE = "lifted IS NULL AND since <= ? AND (until IS NULL OR until > ?)"
_SUSPENSION_COLUMNS = "submitter, npi, reason, detail, since, until, lifted, id"


def _row(record: AuditRecord) -> tuple[object, ...]:
    return (
        record.received,
        record.replied,
        record.day,
        record.worker,
        record.connection,
        record.peer_host,
        record.peer_port,
        record.submitter,
        record.npi,
        record.mbi_hash,
        record.reference,
        record.interchange_control,
        orjson.dumps(record.traces).decode(),  # a tuple is a JSON array to orjson
        ",".join(record.service_types),
        record.kind,
        ",".join(record.codes),
        record.aaa_loop,
        None if record.npi_ok is None else int(record.npi_ok),
        int(record.delivered),
        record.latency,
        record.origin or None,
        record.sequence if record.origin else None,
    )


def _insert(connection: sqlite3.Connection, records: list[AuditRecord]) -> None:
    """Insert ``records`` (their :func:`_row` values, made in C where it is built), as many to
    a statement as the connection's parameter limit allows (at most :data:`_ROWS_PER_INSERT`;
    asked each time: a cheap call, and the limit can change)."""
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(_ROWS_PER_INSERT, limit // _COLUMN_COUNT))
    for start in range(0, len(records), per_statement):
        part = records[start : start + per_statement]
        connection.execute(_insert_rows(len(part)), native.sqlite_values(part, _row))


def _record(row: tuple[Any, ...]) -> AuditRecord:
    (received, replied, day, worker, connection, host, port, submitter, npi, hashed, reference, control) = row[:12]
    traces, service_types, kind, codes, loop, npi_ok, delivered, latency, origin, sequence = row[12:]
    return AuditRecord(
        received=float(received),
        replied=float(replied),
        day=str(day),
        worker=int(worker),
        connection=int(connection),
        peer_host=str(host),
        peer_port=int(port),
        submitter=str(submitter),
        npi=str(npi),
        mbi_hash=str(hashed),
        reference=str(reference),
        interchange_control=str(control),
        traces=tuple(orjson.loads(str(traces))),
        service_types=tuple(str(service_types).split(",")) if service_types else (),
        kind=str(kind),
        codes=tuple(str(codes).split(",")) if codes else (),
        aaa_loop=str(loop),
        npi_ok=None if npi_ok is None else bool(npi_ok),
        delivered=bool(delivered),
        latency=float(latency),
        origin=str(origin or ""),
        sequence=int(sequence or 0),
    )


def _suspension(row: tuple[Any, ...]) -> Suspension:
    submitter, npi, reason, detail, since, until, lifted, ident = row
    return Suspension(
        str(submitter),
        str(npi),
        str(reason),
        str(detail),
        float(since),
        None if until is None else float(until),
        None if lifted is None else float(lifted),
        int(ident),
    )


class SqliteAuditDatabase:
    """An :class:`~hetsock.audit.database.AuditDatabase` in one SQLite file. One connection,
    usable from any thread one call at a time (calls are serialized); open one per task that
    uses it concurrently (the writer, the suspension watcher)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self._path = path
        self._connection = connection
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, busy_timeout: float = 5.0) -> Self:
        """Open (and with ``create``, make) the database in ``path``, applying pending migrations.
        Raises :class:`AuditDatabaseError` (missing without ``create``, not SQLite, newer schema)."""
        path = Path(path)
        uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        connection: sqlite3.Connection | None = None
        try:
            if create:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise AuditDatabaseError(f"{path}: cannot create its directory: {error.strerror}") from None
            connection = sqlite3.connect(
                uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise AuditDatabaseError(f"{path}: cannot switch to WAL journal mode")
            connection.execute("PRAGMA synchronous = FULL")
            _migrate(connection, path)
        except sqlite3.Error as error:
            if connection is not None:
                connection.close()
            raise AuditDatabaseError(f"{path}: {_describe(error)}") from None
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        return cls(path, connection)

    @property
    def path(self) -> Path:
        return self._path

    def describe(self) -> str:
        return f"sqlite:{self._path}"

    def _run(self, work: str, *args: object) -> sqlite3.Cursor:
        try:
            return self._connection.execute(work, args)
        except sqlite3.Error as error:
            raise AuditDatabaseError(f"{self._path}: {_describe(error)}") from None

    def _transaction(self) -> _Transaction:
        if self._closed:
            raise AuditDatabaseError(f"{self._path}: the audit database is closed")
        return _Transaction(self)

    def write(self, records: Sequence[AuditRecord]) -> int:
        if not records:
            return 0
        with self._transaction() as connection:
            fresh = _unstored(connection, records)
            # The tally is counted by SQLite from the rows this transaction adds (it holds the one
            # write lock, so they are the ones after the largest id now).
            (before,) = connection.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()
            _insert(connection, list(fresh))
            connection.execute(_TALLY_ADDED, (before,))
            connection.executemany(
                "INSERT INTO audit_run(origin, first, last, written) VALUES (?, ?, ?, ?)", _runs(fresh)
            )
        return len(fresh)

    def records(
        self, *, since: float | None = None, until: float | None = None, submitter: str | None = None
    ) -> Iterator[AuditRecord]:
        query, args = records_query(_COLUMNS, "?", since=since, until=until, submitter=submitter)
        with self._lock:
            cursor = self._run(query, *args)
            try:
                rows = cursor.fetchmany(1000)
                while rows:
                    yield from (_record(row) for row in rows)
                    rows = cursor.fetchmany(1000)
            except sqlite3.Error as error:
                raise AuditDatabaseError(f"{self._path}: {_describe(error)}") from None

    def prune(self, before: float, *, limit: int) -> int:
        with self._transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE received < ? ORDER BY received LIMIT ?)",
                (before, limit),
            ).rowcount
            connection.execute("DELETE FROM npi_usage WHERE minute < ?", (int(before // 60),))
            connection.execute("DELETE FROM audit_run WHERE written < ?", (before,))  # its records are older
        return int(deleted)

    def npi_usage(self, submitters: Iterable[str], since: dict[str, float]) -> dict[str, Usage]:
        result: dict[str, Usage] = {}
        with self._lock:
            for submitter in submitters:
                start = since.get(submitter, 0.0)
                minute = math.ceil(start / 60)  # whole minutes from the tally, the part before from records
                total, valid = self._run(
                    "SELECT coalesce(sum(total), 0), coalesce(sum(valid), 0) FROM npi_usage "
                    "WHERE submitter = ? AND minute >= ?",
                    submitter,
                    minute,
                ).fetchone()
                head_total, head_valid = self._run(
                    "SELECT count(*), coalesce(sum(npi_ok), 0) FROM audit WHERE submitter = ? AND received >= ? "
                    "AND received < ? AND npi_ok IS NOT NULL",
                    submitter,
                    start,
                    minute * 60.0,
                ).fetchone()
                result[submitter] = Usage(int(total) + int(head_total), int(valid) + int(head_valid))
        return result

    def pair_counts(
        self, pairs: Iterable[tuple[str, str, str, str]], since: dict[Target, float]
    ) -> dict[tuple[str, str, str, str], int]:
        result: dict[tuple[str, str, str, str], int] = {}
        with self._lock:
            for pair in pairs:
                submitter, npi, hashed, day = pair
                (count,) = self._run(
                    "SELECT count(*) FROM audit WHERE mbi_hash = ? AND npi = ? AND submitter = ? AND day = ? "
                    "AND received >= ? AND mbi_hash != ''",
                    hashed,
                    npi,
                    submitter,
                    day,
                    since.get((submitter, npi), float("-inf")),
                ).fetchone()
                result[pair] = int(count)
        return result

    def ensure_pair_index(self) -> bool:
        with self._transaction() as connection:
            if connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (PAIR_INDEX,)
            ).fetchone():
                return False
            connection.execute(
                f"CREATE INDEX {PAIR_INDEX} ON audit(day, mbi_hash, npi, submitter, received) WHERE mbi_hash != ''"
            )
        return True

    def repeat_groups(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        submitter: str | None = None,
        limit: int,
    ) -> list[RepeatGroup]:
        query, args = repeat_groups_query("?", since=since, until=until, submitter=submitter, limit=limit)
        with self._lock:
            rows = self._run(query, *args).fetchall()
        return [RepeatGroup(str(s), str(n), str(h), str(d), int(c)) for s, n, h, d, c in rows]

    def suspensions(self, *, now: float | None = None, submitter: str | None = None) -> list[Suspension]:
        where: list[str] = []
        args: list[object] = []
        if now is not None:
            where.append(_ACTIVE)
            args += [now, now]
        if submitter is not None:
            where.append("submitter = ?")
            args.append(submitter)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        query = f"SELECT {_SUSPENSION_COLUMNS} FROM suspension {condition} ORDER BY since DESC, id DESC"
        with self._lock:
            return [_suspension(row) for row in self._run(query, *args).fetchall()]

    def suspend(self, suspension: Suspension, *, now: float) -> bool:
        s = suspension
        with self._transaction() as connection:
            inserted = connection.execute(
                "INSERT INTO suspension(submitter, npi, reason, detail, since, until) SELECT ?, ?, ?, ?, ?, ? "
                f"WHERE NOT EXISTS (SELECT 1 FROM suspension WHERE submitter = ? AND npi = ? AND {_ACTIVE})",
                (s.submitter, s.npi, s.reason, s.detail, s.since, s.until, s.submitter, s.npi, now, now),
            ).rowcount
        return bool(inserted)

    def reinstate(self, target: Target, *, now: float) -> int:
        with self._transaction() as connection:
            lifted = connection.execute(
                f"UPDATE suspension SET lifted = ? WHERE submitter = ? AND npi = ? AND {_ACTIVE}",
                (now, target[0], target[1], now, now),
            ).rowcount
        return int(lifted)

    def last_ended(self, targets: Iterable[Target], *, now: float) -> dict[Target, float]:
        result: dict[Target, float] = {}
        with self._lock:
            for submitter, npi in targets:
                (ended,) = self._run(
                    "SELECT max(coalesce(lifted, until)) FROM suspension WHERE submitter = ? AND npi = ? "
                    "AND coalesce(lifted, until) <= ?",
                    submitter,
                    npi,
                    now,
                ).fetchone()
                if ended is not None:
                    result[(submitter, npi)] = float(ended)
        return result

    def count(self) -> int:
        """How many records the database holds."""
        with self._lock:
            (count,) = self._run("SELECT count(*) FROM audit").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()

    def __enter__(self) -> SqliteAuditDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Transaction:
    """``with``: BEGIN IMMEDIATE ... COMMIT under the database's lock (ROLLBACK on error)."""

    def __init__(self, database: SqliteAuditDatabase) -> None:
        self._database = database

    def __enter__(self) -> sqlite3.Connection:
        database = self._database
        database._lock.acquire()
        try:
            database._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            database._lock.release()
            raise AuditDatabaseError(f"{database._path}: {_describe(error)}") from None
        except BaseException:
            database._lock.release()
            raise
        return database._connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        database = self._database
        connection = database._connection
        try:
            if kind is None:
                try:
                    connection.execute("COMMIT")
                except sqlite3.Error as fault:
                    raise AuditDatabaseError(f"{database._path}: {_describe(fault)}") from None
            elif connection.in_transaction:
                connection.execute("ROLLBACK")
        finally:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            database._lock.release()
        if isinstance(error, sqlite3.Error):
            raise AuditDatabaseError(f"{database._path}: {_describe(error)}") from None


# AuditRecord.received, .origin, .sequence
_RECEIVED, _ORIGIN, _SEQUENCE = operator.itemgetter(0), operator.itemgetter(20), operator.itemgetter(21)


_RUNS_FROM = "SELECT first, last FROM audit_run WHERE origin = ? AND first BETWEEN ? AND ?"
_RUN_BEFORE = "SELECT first, last FROM audit_run WHERE origin = ? AND first < ? ORDER BY first DESC LIMIT 1"


def _spans(records: Sequence[AuditRecord]) -> dict[str, tuple[int, int]]:
    """Each origin's lowest and highest sequence number in ``records`` (records without one aside)."""
    spans: dict[str, tuple[int, int]] = {}
    origins = set(map(_ORIGIN, records))
    if len(origins) == 1:  # the usual batch: one writer's records (read in C, not per record)
        (origin,) = origins
        if origin:
            sequences = list(map(_SEQUENCE, records))
            spans[origin] = (min(sequences), max(sequences))
        return spans
    for record in records:
        if record.origin:
            low, high = spans.get(record.origin, (record.sequence, record.sequence))
            spans[record.origin] = (min(low, record.sequence), max(high, record.sequence))
    return spans


def _unstored(connection: sqlite3.Connection, records: Sequence[AuditRecord]) -> Sequence[AuditRecord]:
    """``records`` less those whose identity a stored run holds (inside the write transaction,
    which holds SQLite's one write lock: nobody stores one meanwhile): one read per origin of the
    runs that overlap the batch's span, usually none."""
    held: dict[str, list[tuple[int, int]]] = {}
    for origin, (low, high) in _spans(records).items():
        # Runs never overlap, so those overlapping [low, high] are the ones starting in it and
        # at most one starting before it: two searches of the primary key, however many runs
        # the origin has.
        runs = connection.execute(_RUNS_FROM, (origin, low, high)).fetchall()
        before = connection.execute(_RUN_BEFORE, (origin, low)).fetchone()
        if before is not None and before[1] >= low:
            runs.append(before)
        if runs:
            held[origin] = runs
    if not held:
        return records

    def stored(record: AuditRecord) -> bool:
        return any(first <= record.sequence <= last for first, last in held.get(record.origin, ()))

    return [r for r in records if not r.origin or not stored(r)]


def _runs(records: Sequence[AuditRecord]) -> list[tuple[str, int, int, float]]:
    """The runs of consecutive sequence numbers in ``records``, per origin: (origin, first, last,
    the latest received). One for the usual batch; more only for records written out of order."""
    spans = _spans(records)
    if len(spans) == 1:
        ((origin, (low, high)),) = spans.items()
        if high - low + 1 == len(records) and len(set(map(_SEQUENCE, records))) == len(records):
            return [(origin, low, high, max(map(_RECEIVED, records)))]
    by_origin: dict[str, dict[int, float]] = {}
    for record in records:
        if record.origin:
            by_origin.setdefault(record.origin, {})[record.sequence] = record.received
    runs: list[tuple[str, int, int, float]] = []
    for origin, received in by_origin.items():
        sequences = sorted(received)
        start = previous = sequences[0]
        latest = received[start]
        for sequence in sequences[1:]:
            if sequence != previous + 1:
                runs.append((origin, start, previous, latest))
                start, latest = sequence, received[sequence]
            latest = max(latest, received[sequence])
            previous = sequence
        runs.append((origin, start, previous, latest))
    return runs


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise AuditDatabaseError(f"{path}: audit schema version {version}, this hetsock knows {len(MIGRATIONS)}")
        if version == 0 and connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise AuditDatabaseError(f"{path}: not a hetsock audit database")
        for index in range(version, len(MIGRATIONS)):
            for statement in MIGRATIONS[index].split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {index + 1}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _describe(error: sqlite3.Error) -> str:
    """The fault in SQLite's words (never a value from a row)."""
    name = getattr(error, "sqlite_errorname", "") or type(error).__name__
    return f"{str(error) or name} ({name})"
