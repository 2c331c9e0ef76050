"""Helpers for the operations tests: a worker with its audit trail in a temporary directory."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import trio
from serving import ROOT, ReplyReader

from hetsock.audit import open_audit_database
from hetsock.audit.record import AuditRecord
from hetsock.config import (
    AuditConfig,
    Config,
    EligibilityConfig,
    EnforcementConfig,
    MetricsConfig,
    ServerConfig,
)
from hetsock.pipeline import Services
from hetsock.server.operations import Worker, prepare, run_worker
from hetsock.wire.framing import Mode


def ops_config(
    directory: Path,
    *,
    registry: Path | None = None,
    audit: dict[str, Any] | None = None,
    enforcement: dict[str, Any] | None = None,
    metrics: bool = False,
    **server: Any,
) -> Config:
    """A configuration whose audit database and key live in ``directory`` (flushed every 50 ms;
    ``audit`` may move the database, e.g. to PostgreSQL with ``dsn``); metrics off unless asked for."""
    audit_settings: dict[str, Any] = {
        "path": directory / "audit.sqlite3",
        "secret_file": directory / "audit.key",
        "flush_interval": 0.05,
    }
    audit_settings.update(audit or {})
    return Config(
        eligibility=EligibilityConfig(registry=registry or ROOT / "config" / "submitters.toml"),
        server=ServerConfig(**server),
        audit=AuditConfig(**audit_settings),
        enforcement=EnforcementConfig(**(enforcement or {})),
        metrics=MetricsConfig(enabled=metrics, port=0),
    )


@contextlib.asynccontextmanager
async def running_worker(
    config: Config,
    services: Services,
    *,
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
    **options: Any,
) -> AsyncIterator[Worker]:
    """A worker (listener, audit trail, suspensions, metrics) on an ephemeral port; shut down
    gracefully, and its trail flushed, when the block ends."""
    operations = prepare(config, wall_clock=wall_clock)
    try:
        async with trio.open_nursery() as nursery:
            start = functools.partial(
                run_worker, config, services, operations, port=0, wall_clock=wall_clock, **options
            )
            worker: Worker = await nursery.start(start)
            try:
                yield worker
            finally:
                worker.server.shutdown()
    finally:
        operations.close()


def audit_records(config: Config) -> list[AuditRecord]:
    """Every record in the configuration's audit database, oldest first."""
    database = open_audit_database(config, create=False)
    try:
        return list(database.records())
    finally:
        database.close()


@attrs.define
class Client:
    """A client connection to a worker, closed by :meth:`close`."""

    reader: ReplyReader

    @classmethod
    async def connect(cls, port: int, mode: Mode = Mode.WRAPPED) -> Client:
        return cls(ReplyReader(await trio.open_tcp_stream("127.0.0.1", port), mode))

    async def ask(self, payload: bytes) -> bytes:
        await self.reader.send(payload)
        return await self.reader.reply()

    async def close(self) -> None:
        await self.reader.stream.aclose()


async def ask_once(port: int, payload: bytes, mode: Mode = Mode.WRAPPED) -> bytes:
    """One request on a new connection, closed after the reply."""
    client = await Client.connect(port, mode)
    try:
        return await client.ask(payload)
    finally:
        await client.close()


def traffic() -> dict[str, tuple[bytes, str, tuple[str, ...]]]:
    """One request for each kind of reply: name -> (payload, reply kind, reply codes)."""
    from serving import SPECIMEN, inquiry

    from hetsock.eligibility import fixtures as fx

    return {
        "271": (inquiry(), "271", ()),
        "aaa41": (inquiry(npi=fx.UNLINKED_NPI, trace_number="T41"), "271-AAA", ("AAA41",)),
        "aaa43": (inquiry(npi=fx.INVALID_NPI, trace_number="T43"), "271-AAA", ("AAA43",)),
        "aaa73": (inquiry(last_name="NOBODY", trace_number="T73"), "271-AAA", ("AAA73",)),
        "a7": (inquiry(service_types=("30", "A7"), trace_number="TA7"), "271", ()),
        "ta1": (SPECIMEN.replace(b"IEA*1*000005014", b"IEA*1*000005015"), "TA1", ("TA1-001",)),
        "999": (SPECIMEN.replace(b"EQ*30~", b"EQ*ZZ~"), "999", ("IK3-8", "IK4-7", "IK5-5")),
        "not-x12": (b"THIS IS NOT X12", "proprietary", ("SBY00503",)),
        "suspended": (inquiry(submitter_id=fx.SUSPENDED_SUBMITTER), "proprietary", ("SBY00502",)),
    }
