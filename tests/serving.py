"""Helpers for the server tests: a demo store, server state, and a test-side reader of replies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import trio

from hetsock.config import ServerConfig
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.maintenance import MaintenanceSchedule
from hetsock.pipeline import Services
from hetsock.registry import Registry
from hetsock.server.observer import CloseReason, ConnectionInfo, Exchange, Observer, Observers, Stats
from hetsock.server.state import PipelineResponder, Responder, ServerState
from hetsock.wire.framing import END_OF_STREAM, Mode, wrap
from hetsock.wire.replies import ReplyFramingError, ReplyReceiver
from hetsock.x12.build270 import InquiryRequest, build_270
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SPECIMEN = (DATA / "hets" / "specimen.270").read_bytes()
SPECIMEN_WRAPPED = (DATA / "hets" / "specimen.wrapped").read_bytes()
REGISTRY = Registry.from_toml(ROOT / "config" / "submitters.toml")
#: The wall clock the in-process server tests run at (the specimen has no date of service: "today").
NOW = dt.datetime(2026, 11, 22, 9, 0, 0)


def make_store(path: Path) -> SqliteStore:
    """A real SQLite store holding the demo fixtures."""
    store = SqliteStore.open(path, create=True)
    store.write(fx.BENEFICIARIES)
    return store


def inquiry(**changes: Any) -> bytes:
    """A 270 for DOE JANE from DEMO0001 (change any :class:`InquiryRequest` field)."""
    fields: dict[str, Any] = {
        "mbi": fx.DOE_JANE.mbi,
        "last_name": "DOE",
        "first_name": "JANE",
        "birth_date": dt.date(1940, 4, 1),
        "npi": fx.LINKED_NPI,
        "trace_number": "TRACE0001",
    }
    control = changes.pop("control", 41)
    fields.update(changes)
    return build_270(InquiryRequest(**fields), now=NOW, control=ControlNumbers(control)).encode("latin-1")


@attrs.define
class Recorder(Observer):
    """Keeps every event, for assertions."""

    exchanges: list[Exchange] = attrs.field(factory=list)
    closed: list[tuple[int, CloseReason, int]] = attrs.field(factory=list)
    closed_at: list[float] = attrs.field(factory=list)  #: trio time of each close
    refused: list[tuple[str, CloseReason, str]] = attrs.field(factory=list)

    def request_answered(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def connection_closed(self, connection: ConnectionInfo, reason: CloseReason, requests: int) -> None:
        self.closed.append((connection.id, reason, requests))
        self.closed_at.append(trio.current_time())

    def connection_refused(self, peer_host: str, reason: CloseReason, error_code: str) -> None:
        self.refused.append((peer_host, reason, error_code))


def make_state(
    store: SqliteStore,
    *,
    recorder: Recorder | None = None,
    responder: Responder | None = None,
    schedule: MaintenanceSchedule | None = None,
    wall_clock: Callable[[], dt.datetime] = lambda: NOW,
    registry: Registry = REGISTRY,
    **settings: Any,
) -> ServerState:
    """A worker's state over ``store`` with ``settings`` changing :class:`ServerConfig`."""
    return ServerState(
        settings=ServerConfig(**settings),
        services=Services(registry, store),
        schedule=schedule or MaintenanceSchedule(),
        observer=Observers([Stats(), recorder or Recorder()]),
        responder=responder or PipelineResponder(trio.CapacityLimiter(4)),
        wall_clock=wall_clock,
    )


@attrs.define
class ReplyReader:
    """The test's end of a connection: send requests, read whole replies, see the close."""

    stream: trio.abc.Stream
    mode: Mode = Mode.WRAPPED
    receiver: ReplyReceiver = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.receiver = ReplyReceiver(self.mode)

    async def send(self, data: bytes, *, framed: bool = False) -> None:
        await self.stream.send_all(data if framed else wrap(data, self.mode))

    async def reply(self) -> bytes:
        """The next reply's payload; fails the test if the connection closes first."""
        while True:
            event = self.receiver.next_reply()
            if isinstance(event, bytes):
                return event
            assert event is not END_OF_STREAM, "the connection closed before a reply"
            assert not isinstance(event, ReplyFramingError), event.detail
            self.receiver.receive_data(await self.stream.receive_some(65536))

    async def closed(self) -> None:
        """Wait for the server to close, asserting no more replies come first; then close this end."""
        while True:
            event = self.receiver.next_reply()
            if event is END_OF_STREAM:
                await self.stream.aclose()
                return
            assert not isinstance(event, bytes | ReplyFramingError), f"unexpected reply: {event!r}"
            try:
                data = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:
                await self.stream.aclose()
                return
            self.receiver.receive_data(data)


def error_code(payload: bytes) -> str:
    """The proprietary error code in a reply payload ('' for an interchange)."""
    return payload[53:61].decode("ascii") if payload.startswith(b"HETS") else ""


def reply_kind(payload: bytes) -> str:
    """'271', '999', 'TA1' or the proprietary code."""
    if payload.startswith(b"HETS"):
        return error_code(payload)
    text = payload.decode("latin-1")
    segments = text.split(text[105])
    if segments[1].startswith("TA1"):
        return "TA1"
    return segments[2].split(text[3])[1]  # ST01
