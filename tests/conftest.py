"""Shared test fixtures: the sample interchanges under tests/data, and PostgreSQL (see pg.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pg
import pytest

DATA = Path(__file__).parent / "data"


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
