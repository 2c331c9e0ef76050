"""PostgreSQL for the tests: a database made for the session, a schema per test, a proxy to cut.

Where the server is. ``HETSOCK_TEST_POSTGRES`` names a server and a role that may create
databases (default ``postgresql://postgres@127.0.0.1:5432/postgres``, trust auth on this project's
machines). The session creates its own database there (``hetsock_test_<pid>_<random>``, from
``template0``), so concurrent test runs never meet, and drops it at the end (``WITH (FORCE)``).
Each test that asks for :func:`~conftest.pg_schema` gets a fresh schema in it, dropped after.

No server. When psycopg is missing or the server cannot be reached in a few seconds, the tests
that need PostgreSQL are skipped with the reason, unless ``HETSOCK_REQUIRE_POSTGRES=1`` (as
``.ci/run`` sets it), which turns the skip into a failure: CI must never pass by skipping them.

This module imports psycopg only inside functions: the SQLite half of the suite runs without it.
"""

from __future__ import annotations

import itertools
import os
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import pytest

from hetsock.faults import TcpProxy

__all__ = ["PgDatabase", "PgSchema", "TcpProxy", "fresh_schema", "session_database", "unavailable"]

if TYPE_CHECKING:
    import psycopg

ADMIN_DSN_ENV = "HETSOCK_TEST_POSTGRES"
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REQUIRE_ENV = "HETSOCK_REQUIRE_POSTGRES"

_schemas = itertools.count(1)


def unavailable(reason: str) -> NoReturn:
    """Skip the test for want of PostgreSQL, or fail it when ``HETSOCK_REQUIRE_POSTGRES=1``."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL for the tests: {reason} (set {ADMIN_DSN_ENV}, or run a server on 127.0.0.1:5432)")


@attrs.frozen
class PgDatabase:
    """The session's database."""

    name: str
    host: str
    port: int
    user: str
    password: str = attrs.field(repr=False, default="")

    def url(self, *, schema: str | None = None, port: int | None = None) -> str:
        """A ``postgresql://`` URL for this database (``schema`` as its search_path; another
        ``port``, e.g. a proxy's, on 127.0.0.1)."""
        credentials = urllib.parse.quote(self.user, safe="")
        if self.password:
            credentials += ":" + urllib.parse.quote(self.password, safe="")
        host = "127.0.0.1" if port is not None else self.host
        url = f"postgresql://{credentials}@{host}:{port or self.port}/{self.name}"
        if schema:
            url += "?options=" + urllib.parse.quote(f"-c search_path={schema}", safe="")
        return url

    def connect(self, *, schema: str | None = None) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection (the caller closes it)."""
        import psycopg

        return psycopg.connect(self.url(schema=schema), autocommit=True, connect_timeout=5)


@attrs.frozen
class PgSchema:
    """A schema made for one test in the session's database."""

    database: PgDatabase
    name: str

    @property
    def url(self) -> str:
        """A URL whose connections use this schema (what ``--store`` and ``dsn`` take)."""
        return self.database.url(schema=self.name)

    @property
    def dsn(self) -> str:
        """The database's URL (pass ``schema=`` to the store)."""
        return self.database.url()

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection with this schema as its search_path (the caller closes it)."""
        return self.database.connect(schema=self.name)


def session_database() -> Iterator[PgDatabase]:
    """Create the session's database, yield it, drop it. Skips or fails (:func:`unavailable`)
    if there is no server."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as error:
        unavailable(f"psycopg is not installed ({error}; pip install -e '.[test]')")
    admin_dsn = os.environ.get(ADMIN_DSN_ENV) or DEFAULT_ADMIN_DSN
    params = conninfo_to_dict(admin_dsn)
    name = f"hetsock_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        first = str(error).strip().splitlines()
        unavailable(
            f"cannot connect to {params.get('host')}:{params.get('port', 5432)}: {first[0] if first else error}"
        )
    with admin:
        try:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE template0".encode())
        except psycopg.Error as error:
            unavailable(f"cannot create a database for the tests: {error.diag.message_primary or error}")
    database = PgDatabase(
        name=name,
        host=str(params.get("host") or "127.0.0.1"),
        port=int(params.get("port") or 5432),
        user=str(params.get("user") or "postgres"),
        password=str(params.get("password") or ""),
    )
    try:
        yield database
    finally:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def fresh_schema(database: PgDatabase) -> Iterator[PgSchema]:
    """Create a fresh schema, yield it, drop it (with everything in it)."""
    name = f"t{next(_schemas)}_{secrets.token_hex(2)}"
    with database.connect() as connection:
        connection.execute(f"CREATE SCHEMA {name}".encode())
    try:
        yield PgSchema(database, name)
    finally:
        with database.connect() as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())
