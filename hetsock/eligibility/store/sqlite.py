"""The SQLite beneficiary store: one file, one document per beneficiary, one read per inquiry.

Theory of operation
-------------------
Layout. Table ``beneficiary(mbi TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID`` holds each
beneficiary as the JSON document of :meth:`Beneficiary.to_document()
<hetsock.eligibility.beneficiary.Beneficiary.to_document>` (serialized with orjson), keyed by
current MBI. A 271 reports everything about one person (entitlement, deductibles, plans,
secondary payers, hospice, home health, preventive services), so keeping it all in one row makes
an inquiry one B-tree descent and one row read, instead of a join or a query per benefit. In a
``WITHOUT ROWID`` table the primary key *is* the table's B-tree: the row sits in the index leaf
and there is no second index to maintain or consult. Table ``mbi_alias(previous_mbi TEXT PRIMARY
KEY, mbi TEXT NOT NULL) WITHOUT ROWID`` maps an earlier MBI to the current one.

Lookup. ``SELECT doc FROM beneficiary WHERE mbi = ?``; on a miss, ``SELECT b.doc FROM mbi_alias
... JOIN beneficiary ... WHERE previous_mbi = ?``. Both are primary-key probes, so their cost
grows with the depth of the B-tree (logarithmically, 3 or 4 pages for millions of people), not
with the population. The statements are constant strings, prepared once per connection by the
sqlite3 module's statement cache; nothing derived from patient data is cached here besides
SQLite's own page cache.

Dates are stored as they are in the record: X12 ``CCYYMMDD`` strings. They sort and compare as
dates, go into a 271 without conversion, and need no time zone.

Concurrency. The file is in WAL mode with ``synchronous=NORMAL`` (a commit is durable once the
WAL is checkpointed; an OS crash can lose the last commits but never corrupts the file). Readers
never block on the writer and the writer never blocks readers: each thread that calls
:meth:`SqliteStore.lookup` gets its own read-only connection (opened on first use, ``mode=ro``)
and one cursor on it, reused by its lookups; separate from the one writer connection.

Snapshots. A read connection reads inside one read transaction, one snapshot of the store, for
up to :data:`SNAPSHOT_SECONDS` (1 s), then ends it and takes a fresh one with its next lookup. A
transaction per lookup (autocommit) costs three system calls each time (SQLite takes and drops
the WAL read lock with ``fcntl`` and checks the WAL file with ``fstat``): on the server's event
loop that was about 13 us of a request's 100 (measured with ``scripts/bench_server.py``). The
price: a lookup may not see what another process committed in the last second (eligibility data
changes in daily loads). What this store object writes itself (:meth:`SqliteStore.write`) every
one of its readers sees from the next lookup on: a write ends the snapshots. Ending snapshots
every second also lets the WAL checkpoint catch up past them.

Writing. :meth:`SqliteStore.write` takes records or documents and writes them in transactions of
``batch`` rows with ``executemany`` (``INSERT OR IGNORE``, then an ``UPDATE`` pass only when some
MBIs were already present); a reader sees whole batches. A document listing earlier MBIs
(``prev``) also writes their aliases and removes any row still filed under an earlier MBI.
:meth:`SqliteStore.encode` (MBI, orjson bytes, earlier MBIs) and :meth:`SqliteStore.write_encoded`
split the work so that documents can be serialized in other processes (``hetsock seed`` does).
Inserting in MBI order appends to the B-tree; the synthetic population comes in that order.
The beneficiary count is kept in table ``tally``, updated in the same transaction from the
statements' row counts, so :meth:`SqliteStore.count` reads one row (``count(*)`` walks every leaf:
0.15 s for a million; a trigger would halve the insert rate): :meth:`write` must stay the only
way rows are added or removed.

Schema versions. Table ``schema_version`` records each applied migration (version, description,
UTC time). :data:`MIGRATIONS` is the ordered list; opening a store read-write applies, in one
transaction, every migration newer than the file's version, so opening is idempotent. A file
whose version is newer than this code knows, or (read-only) older, is
:class:`StoreUnavailableError`. To change the schema, append ``Migration(version=N + 1,
description=..., statements=(...))`` (and ``code=`` for a data change that SQL alone cannot
express, e.g. rewriting documents to a new ``"v"``); never edit or reorder a released migration.

Failures. :meth:`SqliteStore.open` raises :class:`StoreUnavailableError` when the file is missing
(unless ``create``), is not an SQLite database, is not a hetsock store (an empty file becomes one
only with ``create``), is locked past the busy timeout, or has an unknown schema version.
:meth:`lookup` and :meth:`count` raise it when a read fails (file corrupt or unreadable, locked
past the timeout, a document that does not decode) or the store is closed. An open store keeps
its file open: deleting or renaming the file under a running store is not detected and is unsafe
with WAL (stop the server before replacing a store).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store.base import EncodedDocument as EncodedDocument  # re-exported: it was defined here
from hetsock.eligibility.store.base import Lookup, StoreUnavailableError, decoded, encode_document, lookup_of

#: Page size of a new store file: 8 KiB pages hold a dozen typical documents (about 500 bytes).
PAGE_SIZE = 8192
#: Page cache per read connection, in KiB: enough for the interior B-tree pages of a few
#: million beneficiaries, so a lookup reads at most one leaf page from the OS.
READER_CACHE_KIB = 16_384
#: Page cache of the writer connection, in KiB (large transactions spill less).
WRITER_CACHE_KIB = 65_536
#: Rows per write transaction, by default.
DEFAULT_BATCH = 50_000
#: Seconds a read connection keeps one snapshot (read transaction) before taking a fresh one
#: (module header, "Snapshots"): how late a lookup may see another process's commit.
SNAPSHOT_SECONDS = 1.0


@attrs.frozen
class Migration:
    """One schema step: SQL statements (and optionally code) run in the migrating transaction."""

    version: int
    description: str
    statements: tuple[str, ...] = ()
    #: Runs after ``statements``, on the same connection, inside the same transaction.
    code: Callable[[sqlite3.Connection], None] | None = attrs.field(default=None, repr=False)


#: The schema, in order. Append only; see the module header.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="beneficiary documents keyed by MBI, earlier MBIs, beneficiary tally",
        statements=(
            "CREATE TABLE beneficiary(mbi TEXT PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID",
            "CREATE TABLE mbi_alias(previous_mbi TEXT PRIMARY KEY, mbi TEXT NOT NULL) WITHOUT ROWID",
            "CREATE TABLE tally(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
            "INSERT INTO tally(name, value) VALUES ('beneficiaries', 0)",
        ),
    ),
)
#: The schema version this code reads and writes.
SCHEMA_VERSION = MIGRATIONS[-1].version

_CREATE_SCHEMA_VERSION = (
    "CREATE TABLE IF NOT EXISTS schema_version("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)"
)
_SELECT_VERSION = "SELECT coalesce(max(version), 0) FROM schema_version"
_SELECT_CURRENT = "SELECT doc FROM beneficiary WHERE mbi = ?"
_SELECT_BY_PREVIOUS = "SELECT b.doc FROM mbi_alias AS a JOIN beneficiary AS b ON b.mbi = a.mbi WHERE a.previous_mbi = ?"
_SELECT_COUNT = "SELECT value FROM tally WHERE name = 'beneficiaries'"
_INSERT = "INSERT OR IGNORE INTO beneficiary(mbi, doc) VALUES (?, ?)"
_UPDATE = "UPDATE beneficiary SET doc = ?2 WHERE mbi = ?1 AND doc IS NOT ?2"
_INSERT_ALIAS = "INSERT OR REPLACE INTO mbi_alias(previous_mbi, mbi) VALUES (?, ?)"
_DELETE_PREVIOUS = "DELETE FROM beneficiary WHERE mbi = ?"
_ADD_TO_TALLY = "UPDATE tally SET value = value + ? WHERE name = 'beneficiaries'"


def apply_migrations(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> tuple[int, ...]:
    """Bring the database on ``connection`` (autocommit mode) up to the last of ``migrations``.

    Runs every migration newer than the recorded version, and records each, in one ``BEGIN
    IMMEDIATE`` transaction (all or nothing; a concurrent opener waits, then finds nothing to do).
    Returns the versions applied (``()`` when already current). Raises ``ValueError`` if
    ``migrations`` are not numbered 1, 2, 3, ...; :class:`StoreUnavailableError` if the database's
    version is newer than the last migration; ``sqlite3.Error`` if SQLite fails.
    """
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3, ... in order")
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_CREATE_SCHEMA_VERSION)
        current = connection.execute(_SELECT_VERSION).fetchone()[0]
        if current > len(migrations):
            raise StoreUnavailableError(f"schema version {current} is newer than this hetsock ({len(migrations)})")
        applied = []
        for migration in migrations[current:]:
            for statement in migration.statements:
                connection.execute(statement)
            if migration.code is not None:
                migration.code(connection)
            connection.execute(
                "INSERT INTO schema_version(version, description, applied) "
                "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                (migration.version, migration.description),
            )
            applied.append(migration.version)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return tuple(applied)


def _uri(path: Path, mode: str) -> str:
    return f"{path.absolute().as_uri()}?mode={mode}"


class SqliteStore:
    """A :class:`~hetsock.eligibility.store.base.BeneficiaryStore` in one SQLite file.

    Build one with :meth:`open`. ``lookup`` and ``count`` may be called from any number of
    threads at once: each thread gets its own read-only connection on first use, kept until
    :meth:`close` (so prefer a bounded pool of threads, as trio's is). ``write`` calls are
    serialized. Usable as a context manager (closes on exit).
    """

    #: Reads are local page reads (microseconds): the server calls lookups on its event loop.
    blocking = False

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection | None,
        busy_timeout: float,
        snapshot_seconds: float = SNAPSHOT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._writer = writer
        self._busy_timeout = busy_timeout
        self._snapshot_seconds = snapshot_seconds
        self._clock = clock
        #: Counts this object's committed write batches: a reader whose snapshot is older takes a new one.
        self._generation = 0
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _readers and _closed
        self._write_lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = False,
        read_only: bool = False,
        busy_timeout: float = 5.0,
        snapshot_seconds: float = SNAPSHOT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> SqliteStore:
        """Open the store in the file ``path``.

        ``create``: make the file (and the schema) if missing; otherwise a missing file is an error.
        ``read_only``: no writer connection and no migrations (the schema must be current);
        :meth:`write` then raises. ``busy_timeout``: seconds to wait for a lock before giving up.
        ``snapshot_seconds``: how long a reader keeps one snapshot (0: a fresh one every lookup),
        on ``clock`` (module header, "Snapshots").
        A read-write open switches the file to WAL and applies pending :data:`MIGRATIONS`.

        Raises :class:`StoreUnavailableError` (missing, not SQLite, not a hetsock store, or an
        unknown schema version) and ``ValueError`` for ``create`` with ``read_only``.
        """
        if create and read_only:
            raise ValueError("a read-only store cannot be created")
        path = Path(path)
        writer: sqlite3.Connection | None = None
        store: SqliteStore | None = None
        try:
            if not read_only:
                writer = sqlite3.connect(
                    _uri(path, "rwc" if create else "rw"),
                    uri=True,
                    timeout=busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                tables = {row[0] for row in writer.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "schema_version" not in tables and (tables or not create):
                    raise StoreUnavailableError("not a hetsock store")
                writer.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # a no-op once the file has pages
                if writer.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                    raise StoreUnavailableError("cannot switch to WAL journal mode")
                writer.execute("PRAGMA synchronous = NORMAL")
                writer.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
                apply_migrations(writer)
            store = cls(path, writer, busy_timeout, snapshot_seconds, clock)
            version = store._schema_version()
            if version != SCHEMA_VERSION:
                hint = " (open it read-write once to migrate)" if version < SCHEMA_VERSION else ""
                raise StoreUnavailableError(f"schema version {version}, this hetsock reads {SCHEMA_VERSION}{hint}")
            return store
        except (sqlite3.Error, StoreUnavailableError) as error:
            if store is not None:
                store.close()
            elif writer is not None:
                writer.close()
            message = _describe(error) if isinstance(error, sqlite3.Error) else str(error)
            if isinstance(error, StoreUnavailableError) and message.startswith(f"{path}: "):
                raise
            raise StoreUnavailableError(f"{path}: {message}") from error
        except BaseException:
            if store is not None:
                store.close()
            elif writer is not None:
                writer.close()
            raise

    def _schema_version(self) -> int:
        reader = self._reader()
        try:
            version: int = reader.execute(_SELECT_VERSION).fetchone()[0]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                raise StoreUnavailableError("not a hetsock store") from error
            raise
        return version

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (opened on first use)."""
        try:
            connection: sqlite3.Connection = self._local.connection
        except AttributeError:
            with self._lock:
                if self._closed:
                    raise StoreUnavailableError(f"{self._path}: store is closed") from None
                try:
                    connection = sqlite3.connect(
                        _uri(self._path, "ro"),
                        uri=True,
                        timeout=self._busy_timeout,
                        isolation_level=None,
                        check_same_thread=False,  # used by one thread; closed by whoever closes the store
                    )
                    connection.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
                except sqlite3.Error as error:
                    raise StoreUnavailableError(f"{self._path}: {_describe(error)}") from error
                self._readers.append(connection)
                self._local.connection = connection
        return connection

    def _snapshot(self) -> sqlite3.Cursor:
        """This thread's cursor on its read connection (kept for every lookup: ``execute`` on the
        connection would make and discard a cursor per query), inside a read transaction no
        older than ``snapshot_seconds`` and no older than this object's last write."""
        local = self._local
        try:
            cursor: sqlite3.Cursor = local.cursor
        except AttributeError:
            cursor = local.cursor = self._reader().cursor()
            local.renew_at, local.generation = -math.inf, -1
        now = self._clock()
        if now >= local.renew_at or local.generation != self._generation:
            local.renew_at = -math.inf  # until the new snapshot is in place
            if cursor.connection.in_transaction:
                cursor.execute("COMMIT")  # ends the read (nothing was written)
            cursor.execute("BEGIN")  # deferred: the next read takes the snapshot
            local.renew_at, local.generation = now + self._snapshot_seconds, self._generation
        return cursor

    def lookup(self, mbi: str) -> Lookup | None:
        """The beneficiary filed under ``mbi``, or the one an earlier MBI ``mbi`` maps to
        (``via_previous_mbi=True``), or ``None``. Raises :class:`StoreUnavailableError`."""
        return lookup_of(self.lookup_document(mbi), str(self._path))

    def lookup_document(self, mbi: str) -> tuple[dict[str, Any], bool] | None:
        """:meth:`lookup`'s record as the stored document (``Beneficiary.to_document``), and
        whether ``mbi`` was an earlier MBI; ``None`` when neither. Raises :class:`StoreUnavailableError`."""
        return decoded(self.lookup_encoded(mbi), str(self._path))

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        """:meth:`lookup_document`'s document as stored (orjson bytes, not decoded). Raises
        :class:`StoreUnavailableError`."""
        try:
            cursor = self._snapshot()
            row = cursor.execute(_SELECT_CURRENT, (mbi,)).fetchone()
            via_previous = False
            if row is None:
                row = cursor.execute(_SELECT_BY_PREVIOUS, (mbi,)).fetchone()
                if row is None:
                    return None
                via_previous = True
        except sqlite3.Error as error:
            self._local.renew_at = -math.inf  # the next lookup starts afresh
            raise StoreUnavailableError(f"{self._path}: {_describe(error)}") from error
        blob = row[0]
        if isinstance(blob, str):  # a document filed as TEXT: the same bytes
            blob = blob.encode("utf-8", "surrogatepass")
        elif not isinstance(blob, bytes):
            raise StoreUnavailableError(f"{self._path}: a document does not decode (not text)")
        return blob, via_previous

    def describe(self) -> str:
        """Where the store is, for log lines: ``sqlite:<path>``."""
        return f"sqlite:{self._path}"

    def count(self) -> int:
        """How many beneficiaries the store holds. Raises :class:`StoreUnavailableError`."""
        try:
            row = self._snapshot().execute(_SELECT_COUNT).fetchone()
        except sqlite3.Error as error:
            self._local.renew_at = -math.inf
            raise StoreUnavailableError(f"{self._path}: {_describe(error)}") from error
        if row is None:
            raise StoreUnavailableError(f"{self._path}: the beneficiary tally is missing")
        value: int = row[0]
        return value

    @staticmethod
    def encode(document: dict[str, Any]) -> EncodedDocument:
        """A document as this store files it: ``(mbi, orjson bytes, earlier MBIs)``. Pure and
        picklable, so callers may encode in other processes and pass the rows to
        :meth:`write_encoded`."""
        return encode_document(document)

    def write(
        self, beneficiaries: Iterable[Beneficiary] | Iterable[dict[str, Any]], *, batch: int = DEFAULT_BATCH
    ) -> int:
        """Add or replace beneficiaries, given as records or as their documents; returns how many.

        Commits every ``batch`` items (each batch is one transaction: readers see whole batches).
        A beneficiary already filed under the same MBI is replaced. For each earlier MBI a document
        lists, writes the alias and removes a row still filed under that earlier MBI. Documents are
        trusted (they come from ``to_document()`` or the synthetic generator). Raises
        :class:`StoreUnavailableError` if the store is read-only, closed or cannot be written, and
        ``ValueError`` for ``batch < 1``.
        """
        items: Iterable[Beneficiary | dict[str, Any]] = beneficiaries
        return self.write_encoded(map(_encode_item, items), batch=batch)

    def write_encoded(self, rows: Iterable[EncodedDocument], *, batch: int = DEFAULT_BATCH) -> int:
        """:meth:`write` for documents already passed through :meth:`encode`."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        writer = self._writer
        if writer is None:
            raise StoreUnavailableError(f"{self._path}: store is read-only")
        written = 0
        with self._write_lock:
            if self._closed:
                raise StoreUnavailableError(f"{self._path}: store is closed")
            documents: list[tuple[str, bytes]] = []
            aliases: list[tuple[str, str]] = []
            for mbi, blob, previous in rows:
                documents.append((mbi, blob))
                if previous:
                    aliases.extend((earlier, mbi) for earlier in previous)
                if len(documents) >= batch:
                    self._write_batch(writer, documents, aliases)
                    written += len(documents)
                    documents, aliases = [], []
            if documents:
                self._write_batch(writer, documents, aliases)
                written += len(documents)
        return written

    def _write_batch(
        self, writer: sqlite3.Connection, rows: list[tuple[str, bytes]], aliases: list[tuple[str, str]]
    ) -> None:
        try:
            writer.execute("BEGIN IMMEDIATE")
            try:
                added = writer.executemany(_INSERT, rows).rowcount
                if added < len(rows):
                    writer.executemany(_UPDATE, rows)
                if aliases:
                    writer.executemany(_INSERT_ALIAS, aliases)
                    added -= writer.executemany(_DELETE_PREVIOUS, [(earlier,) for earlier, _ in aliases]).rowcount
                writer.execute(_ADD_TO_TALLY, (added,))
                writer.execute("COMMIT")
                self._generation += 1  # every reader sees it from its next lookup
            except BaseException:
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise StoreUnavailableError(f"{self._path}: {_describe(error)}") from error

    def close(self) -> None:
        """Close every connection (the last one out checkpoints the WAL into the file).
        Later calls raise :class:`StoreUnavailableError`; closing twice is harmless."""
        with self._write_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _encode_item(item: Beneficiary | dict[str, Any]) -> EncodedDocument:
    return SqliteStore.encode(item.to_document() if isinstance(item, Beneficiary) else item)


def _describe(error: sqlite3.Error) -> str:
    """SQLite's message (it never quotes bound values, so no patient data)."""
    return str(error) or type(error).__name__
