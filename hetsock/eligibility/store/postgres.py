"""The PostgreSQL beneficiary store: the SQLite store's data model on a server, through a pool.

Theory of operation
-------------------
Layout. The SQLite store's tables, in one schema (the DSN's ``search_path``, or ``schema``):
``beneficiary(mbi text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL)`` holds each beneficiary as
the orjson bytes of :meth:`Beneficiary.to_document()
<hetsock.eligibility.beneficiary.Beneficiary.to_document>` (:func:`~.base.encode_document`: the
very bytes the SQLite store files), ``mbi_alias(previous_mbi PRIMARY KEY, mbi)`` maps earlier MBIs
to current ones, and ``tally`` keeps the beneficiary count, so :meth:`PostgresStore.count` reads one
row instead of scanning. ``COLLATE "C"``: MBIs are ASCII, compared byte by byte (no locale rules on
every B-tree step), and the index order is the synthetic population's order, so loading appends.

Why ``bytea``, not ``jsonb``. The server never queries inside a document: it fetches one by key and
decodes it whole. ``bytea`` hands back the bytes orjson wrote (decoded in microseconds, one code
path with SQLite), costs the server nothing to load (``jsonb`` parses every document: ``COPY`` of
200,000 documents ran at 290,000 rows a second into ``bytea``, 180,000 into ``jsonb``) and
nothing to serve (``jsonb`` is re-serialized to text on every read). Ad hoc reports can still
look inside: ``convert_from(doc, 'UTF8')::jsonb ->> 'dob'``.

Lookup. One statement, one round trip, prepared once per connection (``prepare=True``; psycopg
re-prepares on a new connection by itself)::

    SELECT doc, false FROM beneficiary WHERE mbi = $1
    UNION ALL
    SELECT b.doc, true FROM mbi_alias a JOIN beneficiary b ON b.mbi = a.mbi WHERE a.previous_mbi = $1
    LIMIT 1

Both branches are primary-key index probes. The ``Append`` under ``LIMIT 1`` runs its branches in
order and stops at the first row, so a current MBI costs one probe (the alias branch shows as
"never executed" in ``EXPLAIN ANALYZE``; ``tests/test_store_postgres.py`` checks both plans), an
earlier MBI two, an unknown one two, all in the same round trip. Results come back in binary
(``bytea`` as is, no hex). On this 2-core VM a round trip on loopback costs about 80 us, which is
most of a lookup.

Connections. A :class:`psycopg_pool.ConnectionPool` (``min_size`` .. ``max_size``) of autocommit
connections: a lookup takes one, runs its statement and returns it, so a server that calls
lookups from worker threads uses one connection per lookup in flight. Every connection is opened
with ``statement_timeout`` (and, for a read-only store, ``default_transaction_read_only``) in its
startup packet, TCP keepalives and ``tcp_user_timeout`` (a vanished host is noticed in seconds, not
after TCP's fifteen minutes), ``connect_timeout`` (psycopg's default is 130 s) and
``application_name=hetsock``; a DSN's own values for these win, except ``search_path`` when
``schema`` is given.

Faults, bounded. Every failure is :class:`StoreUnavailableError`, named without patient data or
credentials (the DSN's password is never shown; server errors are named by their class, SQLSTATE
and primary message, which quotes identifiers but never a bound value, except data exceptions,
named by class alone; the driver's error is not chained, since its ``DETAIL`` may quote a row).
Bounds: a lookup waits at most ``pool_timeout`` for a connection (the pool making a new one
included); a statement runs at most ``statement_timeout`` on the server; a network that stops
answering is noticed by ``tcp_user_timeout`` and keepalives; connecting takes at most
``connect_timeout``.

Connections are checked on use. When a lookup's connection turns out to be broken (the server
restarted, or an administrator ended the backend), the lookup hands it back to the pool, which
discards it and opens a replacement, and tries the next connection, until ``pool_timeout`` runs
out. A lookup is a read, so retrying is safe, and a dead connection fails at once, so once the
server accepts connections again no inquiry gets an AAA 42 for a stale connection. Not the pool's
own ``check`` (a ping before every checkout): it costs a round trip per lookup, about as much as
the lookup itself, and psycopg_pool 3.3 backs off for a second after a failed check, longer than
a lookup may wait. While the database is unreachable a lookup fails after ``pool_timeout``; the
pool keeps reconnecting in the background, with a backoff capped by ``reconnect_timeout``, after
which a waiting lookup starts a fresh attempt: lookups recover by themselves within a few seconds
of the database's return, without a restart.

Writing. :meth:`PostgresStore.write` (records or documents) copies each batch into a temporary
table with binary ``COPY``, then inserts the new MBIs (``ON CONFLICT DO NOTHING``), updates the
changed documents, files aliases and removes rows still filed under an earlier MBI, and adjusts
the tally, all in one transaction that first locks the tally row (writers and seeders queue;
readers never wait). :meth:`PostgresStore.load` (what ``hetsock seed`` uses) builds a whole
population aside, in one transaction: it creates ``beneficiary_seeding`` and ``mbi_alias_seeding``
``LIKE`` the live tables, drops their indexes, fills them with binary ``COPY ... FREEZE`` (legal
because the tables are new in this transaction: rows are written frozen, so no hint-bit writes on
first read and no anti-wraparound vacuum later), builds the indexes again (one sort each: about a
third of the server's time of maintaining the primary key row by row), drops the live tables,
renames the new ones into place and sets the tally; then it runs ``ANALYZE``. Lookups keep
reading the old population until the commit and the new one after it (the server re-plans
prepared statements when a table is replaced); only the final swap takes an exclusive lock, for
milliseconds. A crash or an error rolls everything back. Seeding 1,000,000 people takes about
13 s on the 2-core VM, as long as generating them does (``scripts/bench_store.py``).

Schema versions. As in SQLite: table ``schema_version`` (version, description, applied), ordered
:data:`MIGRATIONS` applied in one transaction on a read-write open (under an advisory lock, so
concurrent openers queue and the later ones find nothing to do); a newer version than this code
knows, or (read-only) an older one, is :class:`StoreUnavailableError`. To change the schema, append
a :class:`Migration`; never edit or reorder a released one. A migration that adds triggers or
foreign keys to ``beneficiary`` or ``mbi_alias`` must also teach :meth:`PostgresStore.load` to
recreate them (``LIKE ... INCLUDING ALL`` copies columns, defaults, constraints and indexes only).

This module imports psycopg; import it only where PostgreSQL is wanted (the ``postgres`` extra).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store.base import (
    EncodedDocument,
    Lookup,
    StoreExistsError,
    StoreUnavailableError,
    decoded,
    encode_document,
    lookup_of,
)

#: Seconds to establish a connection (libpq's ``connect_timeout``: whole seconds, at least 2).
CONNECT_TIMEOUT = 2
#: Seconds a lookup may wait for a pool connection, retries on broken connections included.
POOL_TIMEOUT = 1.0
#: Seconds a statement may run on the server before it is cancelled (``statement_timeout``).
STATEMENT_TIMEOUT = 1.0
#: Seconds one write or load statement may run (a batch of 50,000 rows takes about a second).
WRITE_STATEMENT_TIMEOUT = 600.0
#: Seconds the pool keeps retrying one failed connection attempt (with backoff) before giving up
#: on it; a lookup waiting after that starts a fresh attempt. Small, so recovery is prompt.
RECONNECT_TIMEOUT = 5.0
#: Milliseconds transmitted data may stay unacknowledged before the kernel drops the connection.
TCP_USER_TIMEOUT_MS = 5_000
#: Rows per write transaction, by default.
DEFAULT_BATCH = 50_000

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Connection parameters we set unless the DSN does.
_CONNECTION_DEFAULTS = {
    "application_name": "hetsock",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": str(TCP_USER_TIMEOUT_MS),
}


@attrs.frozen
class Migration:
    """One schema step: SQL statements (and optionally code) run in the migrating transaction."""

    version: int
    description: str
    statements: tuple[str, ...] = ()
    #: Runs after ``statements``, on the same connection, inside the same transaction.
    code: Callable[[psycopg.Connection[Any]], None] | None = attrs.field(default=None, repr=False)


#: The schema, in order. Append only; see the module header.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="beneficiary documents keyed by MBI, earlier MBIs, beneficiary tally",
        statements=(
            'CREATE TABLE beneficiary(mbi text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL)',
            'CREATE TABLE mbi_alias(previous_mbi text COLLATE "C" PRIMARY KEY, mbi text COLLATE "C" NOT NULL)',
            "CREATE TABLE tally(name text PRIMARY KEY, value bigint NOT NULL)",
            "INSERT INTO tally(name, value) VALUES ('beneficiaries', 0)",
        ),
    ),
)
#: The schema version this code reads and writes.
SCHEMA_VERSION = MIGRATIONS[-1].version

_SELECT_VERSION = "SELECT coalesce(max(version), 0) FROM schema_version"
_TABLES_HERE = (
    "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = current_schema()::regnamespace "
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)
_LOOKUP = (
    "SELECT doc, false FROM beneficiary WHERE mbi = %(mbi)s "
    "UNION ALL "
    "SELECT b.doc, true FROM mbi_alias AS a JOIN beneficiary AS b ON b.mbi = a.mbi WHERE a.previous_mbi = %(mbi)s "
    "LIMIT 1"
)
_SELECT_COUNT = "SELECT value FROM tally WHERE name = 'beneficiaries'"
_LOCK_TALLY = "SELECT value FROM tally WHERE name = 'beneficiaries' FOR UPDATE"
_ADD_TO_TALLY = "UPDATE tally SET value = value + %s WHERE name = 'beneficiaries'"
_SET_TALLY = "UPDATE tally SET value = %s WHERE name = 'beneficiaries'"


def apply_migrations(
    connection: psycopg.Connection[Any],
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    ledger: str = "schema_version",
    too_new: Callable[[int, int], Exception] | None = None,
) -> tuple[int, ...]:
    """Bring the schema on ``connection`` (autocommit mode) up to the last of ``migrations``.

    Runs every migration newer than the version recorded in the table ``ledger``, and records
    each, in one transaction under an advisory lock on (``ledger``, schema) (all or nothing; a
    concurrent opener waits, then finds nothing to do). The audit database keeps its own ledger
    (``audit_schema_version``), so both may share a schema. Returns the versions applied (``()``
    when already current). Raises ``ValueError`` if ``migrations`` are not numbered 1, 2, 3, ...;
    ``too_new(current, known)`` (default :class:`StoreUnavailableError`) if the schema's version is
    newer than the last migration; ``psycopg.Error`` if the server fails.
    """
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3, ... in order")
    table = sql.Identifier(ledger)
    applied = []
    with connection.transaction():
        connection.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s || coalesce(current_schema(), '')))", (f"hetsock {ledger} ",)
        )
        connection.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}("
                "version integer PRIMARY KEY, description text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        row = connection.execute(sql.SQL("SELECT coalesce(max(version), 0) FROM {}").format(table)).fetchone()
        current = int(row[0]) if row else 0
        if current > len(migrations):
            if too_new is not None:
                raise too_new(current, len(migrations))
            raise StoreUnavailableError(f"schema version {current} is newer than this hetsock ({len(migrations)})")
        for migration in migrations[current:]:
            for statement in migration.statements:
                connection.execute(statement.encode())
            if migration.code is not None:
                migration.code(connection)
            connection.execute(
                sql.SQL("INSERT INTO {}(version, description) VALUES (%s, %s)").format(table),
                (migration.version, migration.description),
            )
            applied.append(migration.version)
    return tuple(applied)


class _Connection(psycopg.Connection[tuple[Any, ...]]):
    """A pool connection that keeps one binary cursor for reads: making a cursor per statement
    costs about 12 us, an eighth of a lookup. Used by one thread at a time, as its pool lends it."""

    _reader: psycopg.Cursor[tuple[Any, ...]] | None = None

    def reader(self) -> psycopg.Cursor[tuple[Any, ...]]:
        """This connection's cursor for reads (binary results: ``bytea`` as bytes, no hex)."""
        if self._reader is None:
            self._reader = self.cursor(binary=True)
        return self._reader


@attrs.frozen
class _Target:
    """Where a store lives: the connection string to use, and a name for messages (no password)."""

    conninfo: str = attrs.field(repr=False)
    label: str


def _target(dsn: str, schema: str | None, statement_timeout: float, read_only: bool) -> _Target:
    """Merge our connection defaults into ``dsn``. Raises :class:`StoreUnavailableError`."""
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise StoreUnavailableError(f"invalid schema name {schema!r} (lower-case letters, digits, _)")
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        # The parser's message may quote the DSN, password included: say only that it is wrong.
        raise StoreUnavailableError("invalid PostgreSQL DSN (expected postgresql://... or key=value pairs)") from None
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or "5432")
    database = str(params.get("dbname") or params.get("user") or "")
    label = f"postgresql://{host}:{port}/{database}" + (f" (schema {schema})" if schema else "")
    merged: dict[str, Any] = {**_CONNECTION_DEFAULTS, **params}
    merged.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    ours = [f"-c statement_timeout={max(1, round(statement_timeout * 1000))}"]
    if read_only:
        ours.append("-c default_transaction_read_only=on")
    options = [*ours, str(params.get("options") or "")]  # -c given later wins: the DSN's own options
    if schema:
        options.append(f"-c search_path={schema}")
    merged["options"] = " ".join(option for option in options if option)
    return _Target(psycopg.conninfo.make_conninfo("", **merged), label)


def describe(error: BaseException) -> str:
    """A psycopg error in words safe to log: no bound values, no credentials.

    Client-side errors (connecting, a lost connection, timeouts) are libpq's first line; server
    errors their class, SQLSTATE and primary message, which quotes identifiers but never bound
    values, except for data exceptions (SQLSTATE class 22), named by class alone. Never the
    ``DETAIL`` or ``CONTEXT`` fields: those can quote rows (``Key (mbi)=(...) already exists``).
    """
    if isinstance(error, psycopg_pool.PoolTimeout):
        return "no database connection became available in time"
    if isinstance(error, psycopg_pool.PoolClosed):
        return "store is closed"
    if not isinstance(error, psycopg.Error):
        return type(error).__name__
    sqlstate = error.sqlstate
    if not sqlstate:
        first = str(error).strip().splitlines()
        return first[0] if first else type(error).__name__
    primary = error.diag.message_primary
    if sqlstate.startswith("22") or not primary:
        return f"{type(error).__name__} (SQLSTATE {sqlstate})"
    return f"{primary} ({type(error).__name__}, SQLSTATE {sqlstate})"


class PostgresStore:
    """A :class:`~hetsock.eligibility.store.base.BeneficiaryStore` in a PostgreSQL schema.

    Build one with :meth:`open`. ``lookup`` and ``count`` may be called from any number of
    threads at once (each takes a pool connection for one statement); ``write`` and ``load`` are
    serialized. Usable as a context manager (closes on exit). Its repr names the database, never
    the password.
    """

    #: Reads wait on a network: the server calls ``respond()`` in a worker thread.
    blocking = True

    def __init__(
        self, target: _Target, pool: psycopg_pool.ConnectionPool[_Connection], *, read_only: bool, pool_timeout: float
    ) -> None:
        self._target = target
        self._pool = pool
        self._read_only = read_only
        self._pool_timeout = pool_timeout
        self._write_lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        dsn: str,
        *,
        create: bool = False,
        read_only: bool = False,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 8,
        pool_timeout: float = POOL_TIMEOUT,
        statement_timeout: float = STATEMENT_TIMEOUT,
        reconnect_timeout: float = RECONNECT_TIMEOUT,
    ) -> PostgresStore:
        """Open the store in the database ``dsn`` names (a ``postgresql://`` URL or ``key=value``
        pairs), in ``schema`` if given, else in the first schema of the DSN's ``search_path``.

        ``create``: create ``schema`` if missing and the tables in a schema that holds none;
        otherwise a schema without a store is an error. ``read_only``: no migrations, and every
        connection is read-only; :meth:`write` then raises. A read-write open applies pending
        :data:`MIGRATIONS`. ``min_size``/``max_size``: pool connections (a server wants as many as
        it runs lookups at once). ``pool_timeout``, ``statement_timeout`` (seconds): see the module
        header; the DSN may set ``connect_timeout`` (default :data:`CONNECT_TIMEOUT`).
        ``reconnect_timeout``: how long the pool retries one failed connection attempt.

        Raises :class:`StoreUnavailableError` (invalid DSN, unreachable server, not a hetsock
        store, unknown schema version) and ``ValueError`` for ``create`` with ``read_only``.
        """
        if create and read_only:
            raise ValueError("a read-only store cannot be created")
        target = _target(dsn, schema, statement_timeout, read_only)
        try:
            with psycopg.Connection.connect(target.conninfo, autocommit=True) as connection:
                if create and schema:
                    connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                tables = {row[0] for row in connection.execute(_TABLES_HERE)} if _has_schema(connection) else set()
                if "schema_version" not in tables:
                    if tables or not create or read_only:
                        raise StoreUnavailableError(
                            "not a hetsock store (seed one with: hetsock seed --store DSN)"
                            if not tables
                            else "not a hetsock store (the schema holds other tables)"
                        )
                    if not _has_schema(connection):
                        raise StoreUnavailableError("the search_path names no existing schema to create the store in")
                if not read_only:
                    # A migration may rewrite every document: give it the write timeout, not a lookup's.
                    connection.execute(f"SET statement_timeout = {round(WRITE_STATEMENT_TIMEOUT * 1000)}".encode())
                    apply_migrations(connection)
                version = int(connection.execute(_SELECT_VERSION).fetchall()[0][0])
                if version != SCHEMA_VERSION:
                    hint = " (open it read-write once to migrate)" if version < SCHEMA_VERSION else ""
                    raise StoreUnavailableError(f"schema version {version}, this hetsock reads {SCHEMA_VERSION}{hint}")
        except StoreUnavailableError as error:
            raise StoreUnavailableError(f"{target.label}: {error}") from None
        except psycopg.Error as error:
            raise StoreUnavailableError(f"{target.label}: {describe(error)}") from None
        pool = psycopg_pool.ConnectionPool(
            target.conninfo,
            connection_class=_Connection,
            kwargs={"autocommit": True},
            min_size=min_size,
            max_size=max_size,
            timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
            name="hetsock-store",
            open=False,
        )
        try:
            pool.open(wait=True, timeout=max(pool_timeout, CONNECT_TIMEOUT))
        except psycopg.Error as error:
            pool.close()
            raise StoreUnavailableError(f"{target.label}: {describe(error)}") from None
        return cls(target, pool, read_only=read_only, pool_timeout=pool_timeout)

    def __repr__(self) -> str:
        return f"<PostgresStore {self._target.label}{' closed' if self._closed else ''}>"

    @property
    def label(self) -> str:
        """The database (and schema) in words: host, port, database; never credentials."""
        return self._target.label

    def lookup(self, mbi: str) -> Lookup | None:
        """The beneficiary filed under ``mbi``, or the one an earlier MBI ``mbi`` maps to
        (``via_previous_mbi=True``), or ``None``. Raises :class:`StoreUnavailableError`."""
        return lookup_of(self.lookup_document(mbi), self.label)

    def lookup_document(self, mbi: str) -> tuple[dict[str, Any], bool] | None:
        """:meth:`lookup`'s record as the stored document (``Beneficiary.to_document``), and
        whether ``mbi`` was an earlier MBI; ``None`` when neither. Raises :class:`StoreUnavailableError`."""
        return decoded(self.lookup_encoded(mbi), self.label)

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        """:meth:`lookup_document`'s document as stored (orjson bytes, not decoded). Raises
        :class:`StoreUnavailableError`."""
        row = self._fetch_one(_LOOKUP, {"mbi": mbi})
        if row is None:
            return None
        return bytes(row[0]), bool(row[1])

    def describe(self) -> str:
        """Where the store is, for log lines: ``postgresql://host:port/db`` (never the password)."""
        return self._target.label

    def count(self) -> int:
        """How many beneficiaries the store holds. Raises :class:`StoreUnavailableError`."""
        row = self._fetch_one(_SELECT_COUNT, None)
        if row is None:
            raise StoreUnavailableError(f"{self.label}: the beneficiary tally is missing")
        return int(row[0])

    def _fetch_one(self, query: str, params: dict[str, Any] | None) -> tuple[Any, ...] | None:
        """Run one read on a pool connection; the first row or ``None``. A connection found broken
        is handed back (the pool replaces it) and the next one tried, until ``pool_timeout`` runs
        out. Raises :class:`StoreUnavailableError`."""
        if self._closed:
            raise StoreUnavailableError(f"{self.label}: store is closed")
        deadline = time.monotonic() + self._pool_timeout
        while True:
            try:
                connection = self._pool.getconn(timeout=max(0.0, deadline - time.monotonic()))
            except psycopg.Error as error:
                raise StoreUnavailableError(f"{self.label}: {describe(error)}") from None
            try:
                row = connection.reader().execute(query, params, prepare=True).fetchone()
                return row
            except psycopg.OperationalError as error:
                if not connection.broken or time.monotonic() >= deadline:
                    raise StoreUnavailableError(f"{self.label}: {describe(error)}") from None
                # Broken before it answered (the server restarted, the backend was ended): retry.
            except psycopg.Error as error:
                raise StoreUnavailableError(f"{self.label}: {describe(error)}") from None
            finally:
                self._pool.putconn(connection)  # a broken one is discarded and replaced

    @staticmethod
    def encode(document: dict[str, Any]) -> EncodedDocument:
        """A document as this store files it (:func:`~.base.encode_document`)."""
        return encode_document(document)

    def write(
        self, beneficiaries: Iterable[Beneficiary] | Iterable[dict[str, Any]], *, batch: int = DEFAULT_BATCH
    ) -> int:
        """Add or replace beneficiaries, given as records or as their documents; returns how many.

        Commits every ``batch`` items (each batch is one transaction: readers see whole batches).
        A beneficiary already filed under the same MBI is replaced (the last of duplicates in a
        batch wins). For each earlier MBI a document lists, writes the alias and removes a row still
        filed under that earlier MBI. Raises :class:`StoreUnavailableError` if the store is
        read-only, closed or cannot be written, and ``ValueError`` for ``batch < 1``.
        """
        items: Iterable[Beneficiary | dict[str, Any]] = beneficiaries
        return self.write_encoded(map(_encode_item, items), batch=batch)

    def write_encoded(self, rows: Iterable[EncodedDocument], *, batch: int = DEFAULT_BATCH) -> int:
        """:meth:`write` for documents already passed through :meth:`encode`."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        if self._read_only:
            raise StoreUnavailableError(f"{self.label}: store is read-only")
        written = 0
        with self._write_lock:
            documents: dict[str, bytes] = {}
            aliases: dict[str, str] = {}
            for mbi, blob, previous in rows:
                documents[mbi] = blob
                for earlier in previous:
                    aliases[earlier] = mbi
                if len(documents) >= batch:
                    self._write_batch(documents, aliases)
                    written += len(documents)
                    documents, aliases = {}, {}
            if documents:
                self._write_batch(documents, aliases)
                written += len(documents)
        return written

    def _write_batch(self, documents: dict[str, bytes], aliases: dict[str, str]) -> None:
        with self._writing() as connection:
            connection.execute(_LOCK_TALLY)
            connection.execute("CREATE TEMPORARY TABLE incoming (LIKE beneficiary INCLUDING DEFAULTS) ON COMMIT DROP")
            with connection.cursor().copy("COPY incoming (mbi, doc) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["text", "bytea"])
                for row in documents.items():
                    copy.write_row(row)
            added = connection.execute(
                "INSERT INTO beneficiary (mbi, doc) SELECT mbi, doc FROM incoming ON CONFLICT (mbi) DO NOTHING"
            ).rowcount
            if added < len(documents):
                connection.execute(
                    "UPDATE beneficiary AS b SET doc = i.doc FROM incoming AS i WHERE b.mbi = i.mbi AND b.doc <> i.doc"
                )
            if aliases:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO mbi_alias (previous_mbi, mbi) VALUES (%s, %s) "
                        "ON CONFLICT (previous_mbi) DO UPDATE SET mbi = excluded.mbi",
                        list(aliases.items()),
                    )
                added -= connection.execute("DELETE FROM beneficiary WHERE mbi = ANY(%s)", (list(aliases),)).rowcount
            connection.execute(_ADD_TO_TALLY, (added,))

    def load(self, rows: Iterable[EncodedDocument], *, replace: bool = False) -> int:
        """Replace the whole population with ``rows`` (binary ``COPY``, one transaction, then
        ``ANALYZE``); returns how many beneficiaries were loaded.

        Readers see the old population until the commit, the new one after (see the module header).
        Rows must have distinct MBIs, none of them another's earlier MBI (the synthetic population
        is so by construction). Raises :class:`StoreExistsError` if the store holds beneficiaries
        and ``replace`` is false (checked under the tally lock, so two loads never both succeed
        on an empty store), :class:`StoreUnavailableError` if the store is read-only, closed or
        cannot be written (the old population is then untouched).
        """
        if self._read_only:
            raise StoreUnavailableError(f"{self.label}: store is read-only")
        with self._write_lock, self._writing() as connection:
            held_row = connection.execute(_LOCK_TALLY).fetchone()
            held = int(held_row[0]) if held_row else 0
            if held and not replace:
                raise StoreExistsError(f"{self.label} already holds {held:,} beneficiaries; use --replace")
            rebuild: list[sql.Composed | sql.SQL] = []
            for table in ("beneficiary", "mbi_alias"):
                connection.execute(f"DROP TABLE IF EXISTS {table}_seeding".encode())
                connection.execute(f"CREATE TABLE {table}_seeding (LIKE {table} INCLUDING ALL)".encode())
                rebuild += _defer_indexes(connection, f"{table}_seeding")
            aliases: list[tuple[str, str]] = []
            loaded = 0
            with connection.cursor().copy(
                "COPY beneficiary_seeding (mbi, doc) FROM STDIN (FORMAT BINARY, FREEZE)"
            ) as copy:
                copy.set_types(["text", "bytea"])
                write_row = copy.write_row
                for mbi, blob, previous in rows:
                    write_row((mbi, blob))
                    loaded += 1
                    if previous:
                        aliases.extend((earlier, mbi) for earlier in previous)
            with connection.cursor().copy(
                "COPY mbi_alias_seeding (previous_mbi, mbi) FROM STDIN (FORMAT BINARY, FREEZE)"
            ) as copy:
                copy.set_types(["text", "text"])
                for alias in aliases:
                    copy.write_row(alias)
            for statement in rebuild:  # one sort per index, instead of a B-tree insert per row
                connection.execute(statement)
            for table in ("beneficiary", "mbi_alias"):
                _swap_in(connection, table)
            connection.execute(_SET_TALLY, (loaded,))
        with self._writing() as connection:
            connection.execute("ANALYZE beneficiary, mbi_alias")
        return loaded

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection[Any]]:
        """A pool connection in a transaction with the write statement timeout; commits on
        success. Raises :class:`StoreUnavailableError` for any database error."""
        if self._closed:
            raise StoreUnavailableError(f"{self.label}: store is closed")
        try:
            with self._pool.connection(timeout=self._pool_timeout) as connection, connection.transaction():
                connection.execute(f"SET LOCAL statement_timeout = {round(WRITE_STATEMENT_TIMEOUT * 1000)}".encode())
                yield connection
        except psycopg.Error as error:
            raise StoreUnavailableError(f"{self.label}: {describe(error)}") from None

    def close(self) -> None:
        """Close the pool and its connections. Later calls raise :class:`StoreUnavailableError`;
        closing twice is harmless."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _defer_indexes(connection: psycopg.Connection[Any], table: str) -> list[sql.Composed | sql.SQL]:
    """Drop the indexes (primary key included) of the new, empty ``table``; return the statements
    that recreate them as they were, to run once it is loaded."""
    later: list[sql.Composed | sql.SQL] = []
    constraints = connection.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('p', 'u', 'x')",
        (table,),
    ).fetchall()
    for name, definition in constraints:
        table_id, name_id = sql.Identifier(table), sql.Identifier(name)
        connection.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table_id, name_id))
        later.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(table_id, name_id) + sql.SQL(definition))
    indexes = connection.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass",
        (table,),
    ).fetchall()
    for name, definition in indexes:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        later.append(sql.SQL(definition))
    return later


def _swap_in(connection: psycopg.Connection[Any], table: str) -> None:
    """Replace ``table`` by ``table_seeding`` (same transaction), renaming its indexes to match."""
    connection.execute(f"DROP TABLE {table}".encode())
    connection.execute(f"ALTER TABLE {table}_seeding RENAME TO {table}".encode())
    indexes = connection.execute(
        "SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass",
        (table,),
    ).fetchall()
    for (name,) in indexes:
        if name.startswith(f"{table}_seeding"):
            renamed = table + name.removeprefix(f"{table}_seeding")
            connection.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(name), sql.Identifier(renamed))
            )


def _has_schema(connection: psycopg.Connection[Any]) -> bool:
    row = connection.execute("SELECT current_schema() IS NOT NULL").fetchone()
    return bool(row and row[0])


def _encode_item(item: Beneficiary | dict[str, Any]) -> EncodedDocument:
    return encode_document(item.to_document() if isinstance(item, Beneficiary) else item)
