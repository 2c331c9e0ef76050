"""The store backends the contract tests run against: the same questions, each backend's answers.

A :class:`Backend` opens a store at a location made for one test (a SQLite file in ``tmp_path``,
or a fresh PostgreSQL schema), seeds it as ``hetsock seed`` would, names it for ``--store``, and
reaches under the store with a raw connection of its own to set up what the contract tests check
(a corrupt document, an open write transaction, an unrelated table, a later migration).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, Self

from hetsock.cli_seed import DEFAULT_SEED, SeedReport, seed_postgres, seed_store
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store.base import BeneficiaryStore


class WritableStore(BeneficiaryStore, Protocol):
    """What both stores offer besides the contract: writing, and ``with``."""

    def write(self, beneficiaries: Iterable[Beneficiary] | Iterable[dict[str, Any]], *, batch: int = ...) -> int: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


class RawTransaction(Protocol):
    """A write transaction on the backend's own connection, left open until commit/rollback."""

    def put(self, mbi: str, doc: bytes) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class Backend(Protocol):
    name: str
    #: The store's module: MIGRATIONS, Migration, apply_migrations, SCHEMA_VERSION.
    module: ModuleType
    #: The error class the backend's driver raises for bad SQL.
    driver_error: type[Exception]

    def open(self, *, create: bool = False, read_only: bool = False, timeout: float | None = None) -> WritableStore:
        """The store at this test's location (``timeout``: how long a read may wait)."""
        ...

    def seed(
        self, count: int, seed: int = DEFAULT_SEED, *, replace: bool = False, workers: int | None = None
    ) -> SeedReport: ...

    @property
    def target(self) -> str:
        """The location as ``--store`` takes it."""
        ...

    def raw(self) -> Any:
        """A driver connection to the location, in autocommit mode (a context manager)."""
        ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for the stores' read snapshots (SQLite; PostgreSQL reads have none)."""
        ...

    def scalar(self, query: str) -> Any:
        """The first column of the first row of ``query``."""
        ...

    def content(self) -> list[tuple[Any, ...]]:
        """Every (mbi, doc) and (previous_mbi, mbi) row, sorted."""
        ...

    def set_document(self, mbi: str, doc: bytes) -> None: ...

    def add_unrelated_table(self) -> None: ...

    def write_transaction(self) -> Any:
        """A context manager giving a :class:`RawTransaction` that holds the store's write lock."""
        ...


class SqliteBackend:
    name = "sqlite"
    driver_error: type[Exception] = sqlite3.Error

    def __init__(self, path: Path) -> None:
        from hetsock.eligibility.store import sqlite

        self.path = path
        self.module: ModuleType = sqlite
        #: The stores' clock for their read snapshots (``advance`` moves it).
        self.now = 0.0

    def open(self, *, create: bool = False, read_only: bool = False, timeout: float | None = None) -> WritableStore:
        from hetsock.eligibility.store.sqlite import SqliteStore

        return SqliteStore.open(
            self.path, create=create, read_only=read_only, busy_timeout=timeout or 5.0, clock=lambda: self.now
        )

    def advance(self, seconds: float) -> None:
        """Move the stores' snapshot clock on (their readers take fresh snapshots after a second)."""
        self.now += seconds

    def seed(
        self, count: int, seed: int = DEFAULT_SEED, *, replace: bool = False, workers: int | None = None
    ) -> SeedReport:
        return seed_store(self.path, count, seed, replace=replace, workers=workers)

    @property
    def target(self) -> str:
        return str(self.path)

    def raw(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None)

    def scalar(self, query: str) -> Any:
        connection = self.raw()
        try:
            return connection.execute(query).fetchone()[0]
        finally:
            connection.close()

    def content(self) -> list[tuple[Any, ...]]:
        connection = self.raw()
        try:
            rows = connection.execute("SELECT mbi, doc FROM beneficiary ORDER BY mbi").fetchall()
            rows += connection.execute("SELECT previous_mbi, mbi FROM mbi_alias ORDER BY 1").fetchall()
            return rows
        finally:
            connection.close()

    def set_document(self, mbi: str, doc: bytes) -> None:
        connection = self.raw()
        try:
            connection.execute("UPDATE beneficiary SET doc = ? WHERE mbi = ?", (doc, mbi))
        finally:
            connection.close()

    def add_unrelated_table(self) -> None:
        connection = self.raw()
        connection.execute("CREATE TABLE unrelated(x)")
        connection.close()

    @contextmanager
    def write_transaction(self) -> Iterator[RawTransaction]:
        connection = self.raw()
        connection.execute("BEGIN IMMEDIATE")  # SQLite's one write lock: the store's writer waits for it
        try:
            yield _SqliteTransaction(connection)
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            connection.close()


class _SqliteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put(self, mbi: str, doc: bytes) -> None:
        self._connection.execute("INSERT OR REPLACE INTO beneficiary(mbi, doc) VALUES (?, ?)", (mbi, doc))

    def commit(self) -> None:
        self._connection.execute("COMMIT")

    def rollback(self) -> None:
        self._connection.execute("ROLLBACK")


class PostgresBackend:
    name = "postgres"

    def __init__(self, schema: Any) -> None:  # a pg.PgSchema
        import psycopg

        from hetsock.eligibility.store import postgres

        self.schema = schema
        self.module: ModuleType = postgres
        self.driver_error: type[Exception] = psycopg.Error

    def open(self, *, create: bool = False, read_only: bool = False, timeout: float | None = None) -> WritableStore:
        from hetsock.eligibility.store.postgres import STATEMENT_TIMEOUT, PostgresStore

        return PostgresStore.open(
            self.schema.dsn,
            schema=self.schema.name,
            create=create,
            read_only=read_only,
            statement_timeout=timeout or STATEMENT_TIMEOUT,
            max_size=4,
        )

    def seed(
        self, count: int, seed: int = DEFAULT_SEED, *, replace: bool = False, workers: int | None = None
    ) -> SeedReport:
        return seed_postgres(self.schema.dsn, count, seed, replace=replace, workers=workers, schema=self.schema.name)

    @property
    def target(self) -> str:
        return str(self.schema.url)

    def advance(self, seconds: float) -> None:
        """Every PostgreSQL lookup is its own statement: nothing to let pass."""

    def raw(self) -> Any:
        return self.schema.connect()

    def scalar(self, query: str) -> Any:
        with self.raw() as connection:
            return connection.execute(query.encode()).fetchone()[0]

    def content(self) -> list[tuple[Any, ...]]:
        with self.raw() as connection:
            rows: list[tuple[Any, ...]] = connection.execute("SELECT mbi, doc FROM beneficiary ORDER BY mbi").fetchall()
            rows += connection.execute("SELECT previous_mbi, mbi FROM mbi_alias ORDER BY 1").fetchall()
            return rows

    def set_document(self, mbi: str, doc: bytes) -> None:
        with self.raw() as connection:
            connection.execute("UPDATE beneficiary SET doc = %s WHERE mbi = %s", (doc, mbi))

    def add_unrelated_table(self) -> None:
        with self.raw() as connection:
            connection.execute("CREATE TABLE unrelated(x integer)")

    @contextmanager
    def write_transaction(self) -> Iterator[RawTransaction]:
        with self.raw() as connection:
            connection.execute("BEGIN")
            connection.execute("SELECT value FROM tally WHERE name = 'beneficiaries' FOR UPDATE")  # writers queue
            try:
                yield _PostgresTransaction(connection)
            finally:
                if connection.info.transaction_status != 0:  # not IDLE
                    connection.execute("ROLLBACK")


class _PostgresTransaction:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def put(self, mbi: str, doc: bytes) -> None:
        self._connection.execute(
            "INSERT INTO beneficiary(mbi, doc) VALUES (%s, %s) ON CONFLICT (mbi) DO UPDATE SET doc = excluded.doc",
            (mbi, doc),
        )

    def commit(self) -> None:
        self._connection.execute("COMMIT")

    def rollback(self) -> None:
        self._connection.execute("ROLLBACK")
