"""The audit database backends the audit tests run against: the same questions, each backend's answers.

An :class:`AuditBackend` opens an audit database at a location made for one test (a SQLite file
in ``tmp_path``, or a fresh PostgreSQL schema), names it as ``--db`` and ``[audit]`` take it, and
builds audit records for the tests. ``conftest.py``'s ``audit_backend`` fixture gives each test
one per backend (``[sqlite]``, ``[postgres]``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Protocol

from hetsock.audit.database import AuditDatabase
from hetsock.audit.record import AuditRecord

T0 = 1_795_000_000.0  # 2026-11-17, 40 s into a minute


def record(**changes: object) -> AuditRecord:
    """An audit record of a fine 271 from DEMO0001 at :data:`T0`, with ``changes``."""
    fields: dict[str, object] = {
        "received": T0,
        "replied": T0 + 0.001,
        "day": "2026-11-17",
        "worker": 0,
        "connection": 1,
        "peer_host": "127.0.0.1",
        "peer_port": 40000,
        "submitter": "DEMO0001",
        "npi": "1234567893",
        "mbi_hash": "a" * 32,
        "reference": "REF1",
        "interchange_control": "000000041",
        "traces": ("TRACE 1", "TRACE,2"),
        "service_types": ("30", "A7"),
        "kind": "271",
        "codes": (),
        "aaa_loop": "",
        "npi_ok": True,
        "delivered": True,
        "latency": 0.001,
    }
    fields.update(changes)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def numbered(records: list[AuditRecord], origin: str | None = None, first: int = 1) -> list[AuditRecord]:
    """``records`` with an identity, as a writer gives them: one origin, consecutive numbers."""

    origin = origin or uuid.uuid4().hex
    return [r._replace(origin=origin, sequence=first + n) for n, r in enumerate(records)]


class AuditBackend(Protocol):
    name: str

    def open(self, **options: Any) -> AuditDatabase:
        """The audit database at this test's location (created), with backend options."""
        ...

    @property
    def target(self) -> str:
        """The location as ``--db`` takes it (a file, or a ``postgresql://`` URL)."""
        ...

    def settings(self) -> dict[str, Any]:
        """``[audit]`` keys naming this location (``path`` or ``dsn``)."""
        ...


class SqliteAuditBackend:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, **options: Any) -> AuditDatabase:
        from hetsock.audit.sqlite import SqliteAuditDatabase

        return SqliteAuditDatabase.open(self.path, **options)

    @property
    def target(self) -> str:
        return str(self.path)

    def settings(self) -> dict[str, Any]:
        return {"path": self.path}


class PostgresAuditBackend:
    name = "postgres"

    def __init__(self, schema: Any) -> None:  # a pg.PgSchema
        self.schema = schema

    def open(self, **options: Any) -> AuditDatabase:
        from hetsock.audit.postgres import PostgresAuditDatabase

        return PostgresAuditDatabase.open(self.schema.url, **options)

    @property
    def target(self) -> str:
        return str(self.schema.url)

    def settings(self) -> dict[str, Any]:
        return {"dsn": self.schema.url}
