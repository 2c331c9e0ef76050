"""The audit database on PostgreSQL (:class:`PostgresAuditDatabase`): the SQLite audit database's
tables and rules in a schema that every hetsock instance, on any number of hosts, writes at once.

Theory of operation
-------------------
Layout. The SQLite audit tables, in one schema (the DSN's ``search_path``, or ``schema``), which
may be the beneficiary store's: the names do not meet (the store keeps its version in
``schema_version``, the audit trail in ``audit_schema_version``).

``audit``
    one row per record; ``traces``, ``service_types`` and ``codes`` are ``text[]``, ``day`` a
    ``date``, times ``double precision`` seconds since the epoch (a record reads back equal to
    the one written). Indexed by time, by submitter and time, and uniquely by the record's
    identity (``origin`` uuid, ``sequence``); where enforcement is on, also by (day, MBI hash,
    NPI, submitter) for the repeat rule (:data:`~hetsock.audit.database.PAIR_INDEX`, made by the
    first instance to start with enforcement on, under an advisory lock; migration 2 dropped the
    first version of it, by MBI hash first).
``npi_usage``
    per submitter and minute: 271 transactions and those with a valid, linked NPI.
``suspension``
    every suspension ever made.

Writing a batch: one transaction. Binary ``COPY`` into a temporary table (made once per
connection, emptied at every commit), then one statement that inserts from it into ``audit``
with ``ON CONFLICT (origin, sequence) DO NOTHING`` and adds what it inserted, and only that, to
``npi_usage``, by (submitter, minute) in sorted order. A retried batch whose first commit did
happen (the connection dropped before the acknowledgement) therefore stores and tallies nothing
twice, even while that first transaction is still finishing on the server: the second insert
waits on the first's uncommitted keys, then skips them.

Several writers. Records never collide (each writer has its own ``origin``). Writers tallying
the same submitter and minute queue on that ``npi_usage`` row from the tally to their commit,
milliseconds; the sorted order keeps two batches from deadlocking (and a deadlock or a
serialization failure is only a failed write, retried at the next flush). :meth:`~PostgresAuditDatabase.suspend`
takes a transaction-scoped advisory lock on the target before it looks for an active
suspension, so two workers judging the same breach at once record one. :meth:`~PostgresAuditDatabase.prune`
runs only where it gets an advisory lock: one pruner at a time across every host; the others
find nothing to do. Migrations run under an advisory lock as well (concurrent openers queue,
the later ones find nothing to do).

Connections. A small :class:`psycopg_pool.ConnectionPool` (1 to 2: a worker's writer and its
suspension watcher share one database), autocommit connections with the store's start-up
parameters (:func:`hetsock.eligibility.store.postgres._target`: ``statement_timeout``, TCP
keepalives and ``tcp_user_timeout``, ``connect_timeout``, ``application_name``) and
``idle_in_transaction_session_timeout``, so a transaction left open by a vanished host releases
its locks. Every call takes a connection for its work and gives it back; one found broken (the
server restarted, the path was cut) is discarded and the call retried on another until
``pool_timeout`` runs out (writes are idempotent, so a retry is safe).

Faults, bounded. Every failure is :class:`~hetsock.audit.database.AuditDatabaseError`, named
without data or credentials (:func:`hetsock.eligibility.store.postgres.describe`). A call waits
at most ``pool_timeout`` (2 s) for a connection; a statement runs at most ``statement_timeout``
(10 s); a host that stops answering is noticed by ``tcp_user_timeout`` (5 s). The audit trail
(:mod:`hetsock.audit.trail`) keeps a failed batch in memory and retries it at the next flush.

Schema versions. As the store: ordered :data:`MIGRATIONS` (append only), applied in one
transaction on open, recorded in ``audit_schema_version``; a newer version than this code knows
is an error.

This module imports psycopg; import it only where PostgreSQL is wanted (the ``postgres`` extra).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
from hetsock.eligibility.store.base import StoreUnavailableError
from hetsock.eligibility.store.postgres import (
    CONNECT_TIMEOUT,
    WRITE_STATEMENT_TIMEOUT,
    Migration,
    _has_schema,
    _target,
    apply_migrations,
    describe,
)

#: Seconds a call may wait for a pool connection, retries on broken connections included.
POOL_TIMEOUT = 2.0
#: Seconds one statement may run on the server (a batch of 1,000 records takes milliseconds).
STATEMENT_TIMEOUT = 10.0
#: Seconds one prune slice may run.
PRUNE_STATEMENT_TIMEOUT = 60.0
#: Seconds a transaction may sit idle before the server ends it (a client that vanished mid-way).
IDLE_IN_TRANSACTION_TIMEOUT = 60.0
#: Seconds the pool keeps retrying a failed connection attempt before a waiting call starts afresh.
RECONNECT_TIMEOUT = 5.0
#: Rows the report's cursor fetches at a time.
FETCH_ROWS = 2000

_T = TypeVar("_T")

#: The schema, in order. Append only; never edit or reorder a released migration.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="audit records, NPI usage per submitter and minute, suspensions",
        statements=(
            """CREATE TABLE audit (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                received double precision NOT NULL,
                replied double precision NOT NULL,
                day date NOT NULL,
                worker integer NOT NULL,
                connection bigint NOT NULL,
                peer_host text NOT NULL,
                peer_port integer NOT NULL,
                submitter text COLLATE "C" NOT NULL,
                npi text COLLATE "C" NOT NULL,
                mbi_hash text COLLATE "C" NOT NULL,
                reference text NOT NULL,
                interchange_control text NOT NULL,
                traces text[] NOT NULL,
                service_types text[] NOT NULL,
                kind text NOT NULL,
                codes text[] NOT NULL,
                aaa_loop text NOT NULL,
                npi_ok boolean,
                delivered boolean NOT NULL,
                latency double precision NOT NULL,
                origin uuid,
                sequence bigint
            )""",
            "CREATE INDEX audit_by_time ON audit (received)",
            "CREATE INDEX audit_by_submitter ON audit (submitter, received)",
            "CREATE INDEX audit_by_pair ON audit (mbi_hash, npi, submitter, day, received) WHERE mbi_hash <> ''",
            "CREATE UNIQUE INDEX audit_by_origin ON audit (origin, sequence)",
            """CREATE TABLE npi_usage (
                submitter text COLLATE "C" NOT NULL,
                minute bigint NOT NULL,
                total bigint NOT NULL,
                valid bigint NOT NULL,
                PRIMARY KEY (submitter, minute)
            )""",
            """CREATE TABLE suspension (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                submitter text COLLATE "C" NOT NULL,
                npi text COLLATE "C" NOT NULL,
                reason text NOT NULL,
                detail text NOT NULL,
                since double precision NOT NULL,
                until double precision,
                lifted double precision
            )""",
            "CREATE INDEX suspension_by_target ON suspension (submitter, npi)",
        ),
    ),
    Migration(
        version=2,
        description="the repeat rule's index only where enforcement is on (audit_by_day_pair, made at start)",
        statements=("DROP INDEX IF EXISTS audit_by_pair",),
    ),
)
#: The schema version this code reads and writes.
SCHEMA_VERSION = MIGRATIONS[-1].version
#: The tables the migrations make (a schema holding one of them without a version is not ours).
TABLES = ("audit", "npi_usage", "suspension")

_TABLES_HERE = (
    "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = current_schema()::regnamespace "
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)

_COLUMNS = (
    "received, replied, day, worker, connection, peer_host, peer_port, submitter, npi, mbi_hash, reference, "
    "interchange_control, traces, service_types, kind, codes, aaa_loop, npi_ok, delivered, latency, origin, sequence"
)
_TYPES = [
    "float8", "float8", "date", "int4", "int8", "text", "int4", "text", "text", "text", "text",
    "text", "text[]", "text[]", "text", "text[]", "text", "bool", "bool", "float8", "uuid", "int8",
]  # fmt: skip
_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS audit_incoming ("
    "received float8, replied float8, day date, worker int4, connection int8, peer_host text, peer_port int4, "
    "submitter text, npi text, mbi_hash text, reference text, interchange_control text, traces text[], "
    "service_types text[], kind text, codes text[], aaa_loop text, npi_ok bool, delivered bool, latency float8, "
    "origin uuid, sequence int8) ON COMMIT DELETE ROWS"
)
_COPY = f"COPY audit_incoming ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
# The minute is floor(received / 60), as SQLite's tally takes it (Python's received // 60).
_STORE = f"""
WITH inserted AS (
    INSERT INTO audit ({_COLUMNS}) SELECT {_COLUMNS} FROM audit_incoming
    ON CONFLICT (origin, sequence) DO NOTHING
    RETURNING submitter, received, npi_ok
), tallied AS (
    INSERT INTO npi_usage (submitter, minute, total, valid)
    SELECT submitter, floor(received / 60)::bigint AS minute, count(*), count(*) FILTER (WHERE npi_ok)
    FROM inserted WHERE npi_ok IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (submitter, minute) DO UPDATE
    SET total = npi_usage.total + excluded.total, valid = npi_usage.valid + excluded.valid
)
SELECT count(*) FROM inserted
"""
_NPI_USAGE = """
SELECT s.submitter, t.total, t.valid, h.total, h.valid
FROM unnest(%s::text[], %s::float8[], %s::int8[]) AS s(submitter, start, minute)
CROSS JOIN LATERAL (
    SELECT coalesce(sum(u.total), 0), coalesce(sum(u.valid), 0) FROM npi_usage AS u
    WHERE u.submitter = s.submitter AND u.minute >= s.minute
) AS t(total, valid)
CROSS JOIN LATERAL (
    SELECT count(*), count(*) FILTER (WHERE a.npi_ok) FROM audit AS a
    WHERE a.submitter = s.submitter AND a.received >= s.start AND a.received < (s.minute * 60)::float8
    AND a.npi_ok IS NOT NULL
) AS h(total, valid)
"""
_PAIR_COUNTS = """
SELECT (
    SELECT count(*) FROM audit AS a
    WHERE a.mbi_hash = p.mbi_hash AND a.npi = p.npi AND a.submitter = p.submitter AND a.day = p.day
    AND a.received >= p.since AND a.mbi_hash <> ''
)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]::date[], %s::float8[]) WITH ORDINALITY
    AS p(submitter, npi, mbi_hash, day, since, n)
ORDER BY p.n
"""
_LAST_ENDED = """
SELECT t.submitter, t.npi, (
    SELECT max(coalesce(s.lifted, s.until)) FROM suspension AS s
    WHERE s.submitter = t.submitter AND s.npi = t.npi AND coalesce(s.lifted, s.until) <= %s
)
FROM unnest(%s::text[], %s::text[]) AS t(submitter, npi)
"""
_ACTIVE = "lifted IS NULL AND since <= %(now)s AND (until IS NULL OR until > %(now)s)"
_SUSPENSION_COLUMNS = "submitter, npi, reason, detail, since, until, lifted, id"
_PAIR_INDEX_LOCK = "SELECT pg_advisory_xact_lock(hashtext('hetsock pair index ' || current_schema()))"
_TARGET_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('hetsock suspension ' || current_schema()), "
    "hashtext(%(submitter)s || ' ' || %(npi)s))"
)
_PRUNE_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('hetsock audit prune ' || current_schema()))"


class PostgresAuditDatabase:
    """An :class:`~hetsock.audit.database.AuditDatabase` in a PostgreSQL schema.

    Build one with :meth:`open`. Every method may be called from any thread, several at once
    (each takes a pool connection); one database serves a worker's writer and its suspension
    watcher. Usable as a context manager (closes on exit). Its repr names the database and
    schema, never the password.
    """

    def __init__(self, label: str, pool: psycopg_pool.ConnectionPool[Any], *, pool_timeout: float) -> None:
        self._label = label
        self._pool = pool
        self._pool_timeout = pool_timeout
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        dsn: str,
        *,
        create: bool = True,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 2,
        pool_timeout: float = POOL_TIMEOUT,
        statement_timeout: float = STATEMENT_TIMEOUT,
        reconnect_timeout: float = RECONNECT_TIMEOUT,
    ) -> PostgresAuditDatabase:
        """Open the audit database in the database ``dsn`` names (a ``postgresql://`` URL or
        ``key=value`` pairs), in ``schema`` if given, else in the first schema of the DSN's
        ``search_path``, applying pending :data:`MIGRATIONS`.

        ``create``: create ``schema`` if missing, and the tables if the schema holds none of
        them (other tables, such as the beneficiary store's, may be there); otherwise a schema
        without an audit database is an error. ``pool_timeout``, ``statement_timeout``
        (seconds): see the module header; the DSN may override ``connect_timeout`` (default
        :data:`~hetsock.eligibility.store.postgres.CONNECT_TIMEOUT`) and the ``options``.

        Raises :class:`~hetsock.audit.database.AuditDatabaseError` (invalid DSN, unreachable
        server, not a hetsock audit database, a newer schema version).
        """
        try:
            target = _target(dsn, schema, statement_timeout, False)
        except StoreUnavailableError as error:
            raise AuditDatabaseError(str(error)) from None
        conninfo = _with_idle_timeout(target.conninfo)
        label = target.label
        try:
            with psycopg.Connection.connect(conninfo, autocommit=True) as connection:
                if create and schema:
                    connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                row = connection.execute("SELECT current_schema()").fetchone()
                current = row[0] if row else None
                if schema is None and current:
                    label += f" (schema {current})"
                tables = {str(r[0]) for r in connection.execute(_TABLES_HERE)} if _has_schema(connection) else set()
                if "audit_schema_version" not in tables:
                    if not create:
                        raise AuditDatabaseError(
                            f"{label}: no audit database here yet (the server creates it on its first start)"
                        )
                    if current is None:
                        raise AuditDatabaseError(f"{label}: the search_path names no existing schema")
                    clash = sorted(tables.intersection(TABLES))
                    if clash:
                        raise AuditDatabaseError(
                            f"{label}: not a hetsock audit database (the schema holds tables named {', '.join(clash)})"
                        )
                connection.execute(f"SET statement_timeout = {round(WRITE_STATEMENT_TIMEOUT * 1000)}".encode())
                _migrate(connection, label)
        except psycopg.Error as error:
            raise AuditDatabaseError(f"{label}: {describe(error)}") from None
        pool = psycopg_pool.ConnectionPool(
            conninfo,
            kwargs={"autocommit": True},
            min_size=min_size,
            max_size=max_size,
            timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
            configure=_configure,
            name="hetsock-audit",
            open=False,
        )
        try:
            pool.open(wait=True, timeout=max(pool_timeout, CONNECT_TIMEOUT))
        except psycopg.Error as error:
            pool.close()
            raise AuditDatabaseError(f"{label}: {describe(error)}") from None
        return cls(label, pool, pool_timeout=pool_timeout)

    def __repr__(self) -> str:
        return f"<PostgresAuditDatabase {self._label}{' closed' if self._closed else ''}>"

    def describe(self) -> str:
        """``postgresql://host:port/db (schema s)``: never the password."""
        return self._label

    def _call(self, work: Callable[[psycopg.Connection[Any]], _T], *, transaction: bool = True) -> _T:
        """Run ``work`` on a pool connection (in one transaction, unless told); a connection found
        broken is handed back (the pool replaces it) and ``work`` run again on the next, until
        ``pool_timeout`` runs out. Raises :class:`AuditDatabaseError`."""
        if self._closed:
            raise AuditDatabaseError(f"{self._label}: the audit database is closed")
        deadline = time.monotonic() + self._pool_timeout
        while True:
            try:
                connection = self._pool.getconn(timeout=max(0.0, deadline - time.monotonic()))
            except psycopg.Error as error:
                raise AuditDatabaseError(f"{self._label}: {describe(error)}") from None
            try:
                if not transaction:
                    return work(connection)
                with connection.transaction():
                    return work(connection)
            except psycopg.OperationalError as error:
                if not connection.broken or time.monotonic() >= deadline:
                    raise AuditDatabaseError(f"{self._label}: {describe(error)}") from None
                # The connection died under us (a restart, a cut path): try a fresh one.
            except psycopg.Error as error:
                raise AuditDatabaseError(f"{self._label}: {describe(error)}") from None
            finally:
                self._pool.putconn(connection)  # a broken one is discarded and replaced

    def write(self, records: Sequence[AuditRecord]) -> int:
        if not records:
            return 0
        try:
            rows = _rows(records)
        except ValueError:
            raise AuditDatabaseError(f"{self._label}: a record's day or origin is malformed") from None

        def store(connection: psycopg.Connection[Any]) -> int:
            with connection.cursor() as cursor:
                with cursor.copy(_COPY) as copy:
                    copy.set_types(_TYPES)
                    for row in rows:
                        copy.write_row(row)
                result = cursor.execute(_STORE).fetchone()
            return int(result[0]) if result else 0

        return self._call(store)

    def records(
        self, *, since: float | None = None, until: float | None = None, submitter: str | None = None
    ) -> Iterator[AuditRecord]:
        query, args = records_query(_COLUMNS, "%s", since=since, until=until, submitter=submitter)
        if self._closed:
            raise AuditDatabaseError(f"{self._label}: the audit database is closed")
        try:
            # A server-side cursor, in a transaction: a year of records streams through in slices.
            with (
                self._pool.connection(timeout=self._pool_timeout) as connection,
                connection.transaction(),
                connection.cursor("audit_records", binary=True) as cursor,
            ):
                cursor.itersize = FETCH_ROWS
                cursor.execute(query.encode(), args)
                for row in cursor:
                    yield _record(row)
        except psycopg.Error as error:
            raise AuditDatabaseError(f"{self._label}: {describe(error)}") from None

    def prune(self, before: float, *, limit: int) -> int:
        def delete(connection: psycopg.Connection[Any]) -> int:
            held = connection.execute(_PRUNE_LOCK).fetchone()
            if not held or not held[0]:
                return 0  # another instance is pruning
            connection.execute(f"SET LOCAL statement_timeout = {round(PRUNE_STATEMENT_TIMEOUT * 1000)}".encode())
            deleted = connection.execute(
                "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE received < %s ORDER BY received LIMIT %s)",
                (before, limit),
            ).rowcount
            connection.execute("DELETE FROM npi_usage WHERE minute < %s", (int(before // 60),))
            return int(deleted)

        return self._call(delete)

    def npi_usage(self, submitters: Iterable[str], since: dict[str, float]) -> dict[str, Usage]:
        names = list(submitters)
        if not names:
            return {}
        starts = [since.get(name, 0.0) for name in names]
        minutes = [math.ceil(start / 60) for start in starts]  # whole minutes from the tally, the rest from records

        def read(connection: psycopg.Connection[Any]) -> dict[str, Usage]:
            rows = connection.execute(_NPI_USAGE, (names, starts, minutes)).fetchall()
            return {str(s): Usage(int(t) + int(ht), int(v) + int(hv)) for s, t, v, ht, hv in rows}

        return self._call(read, transaction=False)

    def pair_counts(
        self, pairs: Iterable[tuple[str, str, str, str]], since: dict[Target, float]
    ) -> dict[tuple[str, str, str, str], int]:
        wanted = list(pairs)
        if not wanted:
            return {}
        columns = [list(column) for column in zip(*wanted, strict=True)]
        starts = [since.get((p[0], p[1]), float("-inf")) for p in wanted]

        def read(connection: psycopg.Connection[Any]) -> dict[tuple[str, str, str, str], int]:
            rows = connection.execute(_PAIR_COUNTS, (*columns, starts)).fetchall()
            return {pair: int(row[0]) for pair, row in zip(wanted, rows, strict=True)}

        return self._call(read, transaction=False)

    def ensure_pair_index(self) -> bool:
        def create(connection: psycopg.Connection[Any]) -> bool:
            connection.execute(_PAIR_INDEX_LOCK)  # two instances starting at once: one builds it
            connection.execute("SET LOCAL statement_timeout = 0")  # a large table takes a while, once
            exists = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (PAIR_INDEX,)).fetchone()
            if exists and exists[0]:
                return False
            connection.execute(
                sql.SQL(
                    "CREATE INDEX {} ON audit (day, mbi_hash, npi, submitter, received) WHERE mbi_hash <> ''"
                ).format(sql.Identifier(PAIR_INDEX))
            )
            return True

        return self._call(create)

    def repeat_groups(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        submitter: str | None = None,
        limit: int,
    ) -> list[RepeatGroup]:
        query, args = repeat_groups_query("%s", since=since, until=until, submitter=submitter, limit=limit)
        return self._call(
            lambda connection: [
                RepeatGroup(str(s), str(n), str(h), str(d), int(c))
                for s, n, h, d, c in connection.execute(query.encode(), args)
            ],
            transaction=False,
        )

    def suspensions(self, *, now: float | None = None, submitter: str | None = None) -> list[Suspension]:
        where: list[str] = []
        args: dict[str, object] = {}
        if now is not None:
            where.append(_ACTIVE)
            args["now"] = now
        if submitter is not None:
            where.append("submitter = %(submitter)s")
            args["submitter"] = submitter
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        query = f"SELECT {_SUSPENSION_COLUMNS} FROM suspension {condition} ORDER BY since DESC, id DESC"
        return self._call(
            lambda connection: [_suspension(row) for row in connection.execute(query.encode(), args)],
            transaction=False,
        )

    def suspend(self, suspension: Suspension, *, now: float) -> bool:
        s = suspension
        args = {"submitter": s.submitter, "npi": s.npi, "now": now}

        def insert(connection: psycopg.Connection[Any]) -> bool:
            connection.execute(_TARGET_LOCK, args)  # whoever judges this target next waits, then sees ours
            inserted = connection.execute(
                "INSERT INTO suspension (submitter, npi, reason, detail, since, until) "
                "SELECT %(submitter)s, %(npi)s, %(reason)s, %(detail)s, %(since)s, %(until)s WHERE NOT EXISTS "
                f"(SELECT 1 FROM suspension WHERE submitter = %(submitter)s AND npi = %(npi)s AND {_ACTIVE})",
                {**args, "reason": s.reason, "detail": s.detail, "since": s.since, "until": s.until},
            ).rowcount
            return bool(inserted)

        return self._call(insert)

    def reinstate(self, target: Target, *, now: float) -> int:
        args = {"submitter": target[0], "npi": target[1], "now": now}

        def lift(connection: psycopg.Connection[Any]) -> int:
            connection.execute(_TARGET_LOCK, args)
            return int(
                connection.execute(
                    f"UPDATE suspension SET lifted = %(now)s WHERE submitter = %(submitter)s AND npi = %(npi)s "
                    f"AND {_ACTIVE}",
                    args,
                ).rowcount
            )

        return self._call(lift)

    def last_ended(self, targets: Iterable[Target], *, now: float) -> dict[Target, float]:
        wanted = list(targets)
        if not wanted:
            return {}

        def read(connection: psycopg.Connection[Any]) -> dict[Target, float]:
            rows = connection.execute(_LAST_ENDED, (now, [t[0] for t in wanted], [t[1] for t in wanted])).fetchall()
            return {(str(s), str(n)): float(ended) for s, n, ended in rows if ended is not None}

        return self._call(read, transaction=False)

    def count(self) -> int:
        """How many records the database holds."""
        row = self._call(lambda c: c.execute("SELECT count(*) FROM audit").fetchone(), transaction=False)
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    def __enter__(self) -> PostgresAuditDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _with_idle_timeout(conninfo: str) -> str:
    """``conninfo`` with ``idle_in_transaction_session_timeout`` among its start-up options,
    before the DSN's own (a ``-c`` given later wins)."""
    options = str(conninfo_to_dict(conninfo).get("options") or "")
    ours = f"-c idle_in_transaction_session_timeout={round(IDLE_IN_TRANSACTION_TIMEOUT * 1000)}"
    return make_conninfo(conninfo, options=f"{ours} {options}".strip())


def _configure(connection: psycopg.Connection[Any]) -> None:
    """Every new pool connection: the staging table for :meth:`PostgresAuditDatabase.write`."""
    connection.execute(_STAGING)


def _migrate(connection: psycopg.Connection[Any], label: str) -> None:
    """Apply the pending :data:`MIGRATIONS` with the store's runner, in the audit's own ledger
    (``audit_schema_version``), so the audit tables and the store may share a schema."""

    def too_new(current: int, known: int) -> AuditDatabaseError:
        return AuditDatabaseError(f"{label}: audit schema version {current}, this hetsock knows {known}")

    apply_migrations(connection, MIGRATIONS, ledger="audit_schema_version", too_new=too_new)


def _rows(records: Sequence[AuditRecord]) -> list[tuple[object, ...]]:
    origins: dict[str, uuid.UUID] = {}
    days: dict[str, dt.date] = {}
    rows: list[tuple[object, ...]] = []
    for r in records:
        origin = None
        if r.origin:
            origin = origins.get(r.origin)
            if origin is None:
                origin = origins[r.origin] = uuid.UUID(hex=r.origin)
        day = days.get(r.day)
        if day is None:
            day = days[r.day] = dt.date.fromisoformat(r.day)
        rows.append(
            (
                r.received,
                r.replied,
                day,
                r.worker,
                r.connection,
                r.peer_host,
                r.peer_port,
                r.submitter,
                r.npi,
                r.mbi_hash,
                r.reference,
                r.interchange_control,
                list(r.traces),
                list(r.service_types),
                r.kind,
                list(r.codes),
                r.aaa_loop,
                r.npi_ok,
                r.delivered,
                r.latency,
                origin,
                r.sequence if origin is not None else None,
            )
        )
    return rows


def _record(row: tuple[Any, ...]) -> AuditRecord:
    (received, replied, day, worker, connection, host, port, submitter, npi, hashed, reference, control) = row[:12]
    traces, service_types, kind, codes, loop, npi_ok, delivered, latency, origin, sequence = row[12:]
    return AuditRecord(
        received=float(received),
        replied=float(replied),
        day=day.isoformat(),
        worker=int(worker),
        connection=int(connection),
        peer_host=str(host),
        peer_port=int(port),
        submitter=str(submitter),
        npi=str(npi),
        mbi_hash=str(hashed),
        reference=str(reference),
        interchange_control=str(control),
        traces=tuple(traces),
        service_types=tuple(service_types),
        kind=str(kind),
        codes=tuple(codes),
        aaa_loop=str(loop),
        npi_ok=npi_ok,
        delivered=bool(delivered),
        latency=float(latency),
        origin=origin.hex if origin is not None else "",
        sequence=int(sequence) if sequence is not None else 0,
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
