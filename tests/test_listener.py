"""The listener over real loopback TCP, in process: ``nursery.start(serve, ...)`` on port 0.

Real sockets run in real time (virtual time and real sockets do not mix), so these tests keep
their waits short; the exact timer rules are tested on memory streams in test_connection.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
from serving import (
    NOW,
    ROOT,
    SPECIMEN,
    Recorder,
    ReplyReader,
    error_code,
    reply_kind,
)

from hetsock.config import Config, EligibilityConfig, ServerConfig
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.maintenance import MaintenanceSchedule, OneOffWindow, WeeklyWindow
from hetsock.pipeline import Context, Reply, Services, respond
from hetsock.registry import Registry
from hetsock.server.listener import Server, serve
from hetsock.server.observer import CloseReason
from hetsock.wire.framing import Mode

UTC = dt.UTC


def config_with(registry: Path | None = None, **server: object) -> Config:
    eligibility = EligibilityConfig(registry=registry or ROOT / "config" / "submitters.toml")
    return Config(eligibility=eligibility, server=ServerConfig(**server))  # type: ignore[arg-type]


def services_for(store: SqliteStore, registry: Path | None = None) -> Services:
    return Services(Registry.from_toml(registry or ROOT / "config" / "submitters.toml"), store)


async def start_server(nursery: trio.Nursery, config: Config, services: Services, **options: Any) -> Server:
    """``serve`` started in ``nursery`` on port 0 (unless told otherwise)."""
    options.setdefault("port", 0)
    server: Server = await nursery.start(functools.partial(serve, config, services, **options))
    return server


_OPEN: list[trio.abc.Stream] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    """Close every client socket a test opened (an unclosed socket is a ResourceWarning)."""
    yield
    while _OPEN:
        await _OPEN.pop().aclose()


async def connect(server: Server, mode: Mode = Mode.WRAPPED, source: str | None = None) -> ReplyReader:
    """A client connection (from ``source``, an address to bind, if given)."""
    if source is None:
        stream: trio.SocketStream = await trio.open_tcp_stream("127.0.0.1", server.port)
    else:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        await sock.bind((source, 0))
        await sock.connect(("127.0.0.1", server.port))
        stream = trio.SocketStream(sock)
    _OPEN.append(stream)
    return ReplyReader(stream, mode)


async def test_serves_on_an_ephemeral_port(store: SqliteStore) -> None:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, config_with(), services_for(store), observers=[recorder], wall_clock=lambda: NOW
        )
        assert server.port > 0
        for mode in (Mode.WRAPPED, Mode.BARE):
            reader = await connect(server, mode)
            await reader.send(SPECIMEN)
            assert reply_kind(await reader.reply()) == "271"
            await reader.stream.aclose()
        server.shutdown()
    assert [e.reply.kind.value for e in recorder.exchanges] == ["271", "271"]
    assert {e.connection.peer_host for e in recorder.exchanges} == {"127.0.0.1"}
    assert server.stats.accepted == 2


async def test_total_connection_limit(store: SqliteStore) -> None:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, config_with(max_connections=2), services_for(store), observers=[recorder])
        held = [await connect(server), await connect(server)]
        for reader in held:  # make sure both are being served
            await reader.send(SPECIMEN)
            await reader.reply()
        for mode in (Mode.WRAPPED, Mode.BARE):
            refused = await connect(server, mode)
            await refused.send(SPECIMEN)
            payload = await refused.reply()
            assert error_code(payload) == "SBY00509"
            assert payload[4:34].strip() == b"000005014"  # the trace ID is the request's ISA13
            await refused.closed()
        # The connections already open are untouched.
        await held[0].send(SPECIMEN)
        assert reply_kind(await held[0].reply()) == "271"
        await held[1].stream.aclose()
        await trio.sleep(0.05)
        admitted = await connect(server)
        await admitted.send(SPECIMEN)
        assert reply_kind(await admitted.reply()) == "271"
        server.shutdown()
    assert [r[1:] for r in recorder.refused] == [(CloseReason.LIMIT, "SBY00509")] * 2


async def test_per_address_connection_limit(store: SqliteStore) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, config_with(max_connections_per_address=1), services_for(store))
        first = await connect(server, source="127.0.0.1")
        await first.send(SPECIMEN)
        assert reply_kind(await first.reply()) == "271"
        second = await connect(server, source="127.0.0.1")
        await second.send(SPECIMEN)
        assert error_code(await second.reply()) == "SBY00509"
        await second.closed()
        other_address = await connect(server, source="127.0.0.2")  # DEMO0001 may send from 127.0.0.0/8
        await other_address.send(SPECIMEN)
        assert reply_kind(await other_address.reply()) == "271"
        server.shutdown()


async def test_a_refused_client_that_sends_nothing_still_gets_the_error(store: SqliteStore) -> None:
    window = OneOffWindow(dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
    config = Config(
        eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"),
        maintenance=MaintenanceSchedule((window,)),
    )
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, config, services_for(store), wall_clock=lambda: dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        )
        silent = await connect(server)
        start = trio.current_time()
        payload = await silent.reply()  # in the HETS wrapper, after the refusal's wait for first bytes
        assert error_code(payload) == "SBY00506"
        assert 0.9 <= trio.current_time() - start < 3.0
        await silent.closed()
        bare = await connect(server, Mode.BARE)
        await bare.send(SPECIMEN)
        payload = await bare.reply()
        assert error_code(payload) == "SBY00506"
        assert payload[4:34].strip() == b"000005014"
        await bare.closed()
        server.shutdown()
    assert server.stats.refused == {"maintenance": 2}
    assert server.stats.accepted == 0


async def test_graceful_shutdown_drains_requests_in_progress(store: SqliteStore) -> None:
    started = trio.Event()

    async def slow(payload: bytes, context: Context) -> Reply:
        started.set()
        await trio.sleep(0.5)
        return respond(payload, context)

    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, config_with(grace_period=5.0), services_for(store), responder=slow, observers=[recorder]
        )
        busy = await connect(server)
        idle = await connect(server)
        await busy.send(SPECIMEN)
        await started.wait()
        server.shutdown()
        assert reply_kind(await busy.reply()) == "271"  # the request in progress is answered
        await busy.closed()
        await idle.closed()
        with pytest.raises(OSError, match="connect"):  # the listening socket is closed
            await trio.open_tcp_stream("127.0.0.1", server.port)
    reasons = sorted(reason.value for _, reason, _ in recorder.closed)
    assert reasons == ["shutdown", "shutdown"]


async def test_grace_period_bounds_the_shutdown(store: SqliteStore) -> None:
    async def stuck(payload: bytes, context: Context) -> Reply:
        await trio.sleep(60)
        raise AssertionError("not reached")

    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, config_with(grace_period=0.3), services_for(store), responder=stuck, observers=[recorder]
        )
        reader = await connect(server)
        await reader.send(SPECIMEN)
        await trio.sleep(0.1)
        start = trio.current_time()
        server.shutdown()
        await reader.closed()
        assert trio.current_time() - start < 2.0
    # Cancelled when the grace period ended: a shutdown close, and the request (never answered)
    # has no exchange.
    assert [(reason, requests) for _, reason, requests in recorder.closed] == [(CloseReason.SHUTDOWN, 1)]
    assert recorder.exchanges == []


async def test_reload_swaps_registry_and_windows_without_dropping_connections(
    store: SqliteStore, tmp_path: Path
) -> None:
    registry = tmp_path / "submitters.toml"
    registry.write_text((ROOT / "config" / "submitters.toml").read_text())
    config_file = tmp_path / "hetsock.toml"
    config_file.write_text(f'[eligibility]\nregistry = "{registry}"\n')
    config = Config.from_toml(config_file)
    clock = [dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)]
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, config, services_for(store, registry), config_path=config_file, wall_clock=lambda: clock[0]
        )
        reader = await connect(server)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        # Suspend DEMO0001 and add a maintenance window, then reload.
        registry.write_text(registry.read_text().replace('status = "active"', 'status = "suspended"'))
        config_file.write_text(
            config_file.read_text()
            + '\n[[maintenance]]\nfrom = "2026-11-22T10:00:00+00:00"\nuntil = "2026-11-22T11:00:00+00:00"\n'
        )
        assert server.reload()
        await reader.send(SPECIMEN)
        assert error_code(await reader.reply()) == "SBY00502"
        clock[0] = dt.datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
        await reader.send(SPECIMEN)
        assert error_code(await reader.reply()) == "SBY00506"
        # A broken file keeps what is in force.
        registry.write_text("this is [not toml")
        assert not server.reload()
        clock[0] = dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
        await reader.send(SPECIMEN)
        assert error_code(await reader.reply()) == "SBY00502"
        server.shutdown()
    assert server.stats.accepted == 1


async def test_one_bad_client_does_not_disturb_the_others(store: SqliteStore) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, config_with(), services_for(store))
        good = await connect(server)
        bad = await connect(server)
        await bad.send(b"\x01NOT A LENGTH", framed=True)
        await good.send(SPECIMEN)
        assert reply_kind(await good.reply()) == "271"
        assert error_code(await bad.reply()) == "SBY00505"
        await bad.closed()
        await good.send(SPECIMEN)
        assert reply_kind(await good.reply()) == "271"
        server.shutdown()


async def test_a_reload_that_cannot_load_never_ends_the_worker(store: SqliteStore, tmp_path: Path) -> None:
    # Files that make the loaders fail in ways of their own (a directory where a zone should be,
    # a list inside usage) are logged; what is in force stays, and the server keeps serving.
    registry = tmp_path / "submitters.toml"
    registry.write_text((ROOT / "config" / "submitters.toml").read_text())
    config_file = tmp_path / "hetsock.toml"
    config_file.write_text(f'[eligibility]\nregistry = "{registry}"\n')
    async with trio.open_nursery() as nursery:
        server = await start_server(
            nursery, Config.from_toml(config_file), services_for(store, registry), config_path=config_file
        )
        config_file.write_text(
            config_file.read_text() + '[[maintenance]]\ndays = ["Sat"]\nstart = "07:30"\nend = "16:00"\n'
            'timezone = "America"\n'
        )
        registry.write_text(registry.read_text().replace('usage = ["P", "T"]', 'usage = [["P"]]', 1))
        assert not server.reload()
        reader = await connect(server)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        server.shutdown()


async def test_a_fault_before_the_connection_loop_closes_that_socket_only(store: SqliteStore) -> None:
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, config_with(), services_for(store))
        good = await connect(server)
        await good.send(SPECIMEN)
        assert reply_kind(await good.reply()) == "271"
        # A window whose times carry an offset cannot be compared with local clock times (the
        # configuration refuses such times now; this one is built by hand): TypeError at accept.
        every_day = frozenset(range(7))
        broken = WeeklyWindow(every_day, dt.time(0, 0, tzinfo=UTC), dt.time(23, 59, tzinfo=UTC), ZoneInfo("UTC"))
        server.state.replace_schedule(MaintenanceSchedule((broken,)))
        bad = await connect(server)
        await bad.closed()
        server.state.replace_schedule(MaintenanceSchedule())
        await good.send(SPECIMEN)
        assert reply_kind(await good.reply()) == "271"
        again = await connect(server)
        await again.send(SPECIMEN)
        assert reply_kind(await again.reply()) == "271"
        server.shutdown()
