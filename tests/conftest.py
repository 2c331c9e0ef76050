"""Shared test fixtures: the sample interchanges under tests/data, PostgreSQL (see pg.py), the audit
database backends (see audits.py), and the session's patient-data scan (see phi.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import audits
import pg
import phi
import pytest
from serving import make_store

from hetsock.eligibility.store.sqlite import SqliteStore

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """A real SQLite store holding the demo fixtures, shared by the tests that only read it."""
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


@pytest.fixture
def specimen() -> bytes:
    """CMS-style reference 270 (one line, * ^ | ~)."""
    return (DATA / "hets" / "specimen.270").read_bytes()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[pg.PgDatabase]:
    """A database created for this test session and dropped after it; skips (or, with
    HETSOCK_REQUIRE_POSTGRES=1, fails) when no PostgreSQL server can be reached."""
    yield from pg.session_database()


@pytest.fixture
def pg_schema(pg_database: pg.PgDatabase) -> Iterator[pg.PgSchema]:
    """A fresh, empty schema in the session's database, dropped after the test."""
    yield from pg.fresh_schema(pg_database)


@pytest.fixture(params=["sqlite", "postgres"])
def audit_backend(request: pytest.FixtureRequest, tmp_path: Path) -> audits.AuditBackend:
    """Where a test's audit database lives: a SQLite file, or a fresh PostgreSQL schema (skipped,
    or failed under HETSOCK_REQUIRE_POSTGRES=1, without a server)."""
    if request.param == "sqlite":
        return audits.SqliteAuditBackend(tmp_path / "audit.sqlite3")
    return audits.PostgresAuditBackend(request.getfixturevalue("pg_schema"))


@pytest.fixture(autouse=True)
def _collect_logs() -> None:
    """Every test's ``hetsock`` log records go to the session's patient-data scan (tests/phi.py)."""
    phi.arm()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of the session holds a demo fixture's patient data."""
    leaks = phi.find_patient_data(phi.LOG_LINES)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(f"PATIENT DATA IN LOGS: {len(leaks)} line(s) of {len(phi.LOG_LINES)}", red=True)
            for what, line in leaks[:20]:
                reporter.write_line(f"  {what}: {line[:300]}", red=True)
    elif reporter is not None:
        reporter.write_line(f"patient-data scan: {len(phi.LOG_LINES)} log lines, no fixture data")
