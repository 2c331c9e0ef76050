"""The PROXY protocol header: the parser (v1, v2, any bytes) and the listener behind a balancer."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from serving import REGISTRY, ROOT, SPECIMEN, Recorder, ReplyReader, error_code, reply_kind

from hetsock.config import Config, EligibilityConfig, ServerConfig
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, Reply, Services, respond
from hetsock.server.listener import Server, serve
from hetsock.wire.framing import Mode, wrap
from hetsock.wire.proxy import (
    NEED_MORE,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    read_proxy_header_untrusted,
)


def v2(source: str, port: int, *, command: int = 0x21, tlv: bytes = b"") -> bytes:
    address = ipaddress.ip_address(source)
    family = 0x11 if address.version == 4 else 0x21
    body = address.packed + address.packed + port.to_bytes(2, "big") + (7270).to_bytes(2, "big") + tlv
    return V2_SIGNATURE + bytes([command, family]) + len(body).to_bytes(2, "big") + body


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PROXY TCP4 10.1.2.3 127.0.0.1 5555 7270\r\nISA", ProxyHeader(("10.1.2.3", 5555), 41)),
        (b"PROXY TCP6 2001:db8::1 ::1 5555 7270\r\n", ProxyHeader(("2001:db8::1", 5555), 38)),
        (b"PROXY UNKNOWN\r\n", ProxyHeader(None, 15)),
        (v2("10.1.2.3", 4444) + b"ISA", ProxyHeader(("10.1.2.3", 4444), 28)),
        (v2("2001:db8::7", 4444, tlv=b"\x03\x00\x04abcd"), ProxyHeader(("2001:db8::7", 4444), 59)),
        (v2("10.1.2.3", 4444, command=0x20), ProxyHeader(None, 28)),  # LOCAL: a health check
    ],
)
def test_headers(data: bytes, expected: ProxyHeader) -> None:
    assert read_proxy_header_untrusted(data) == expected
    for cut in range(expected.length):  # any prefix of a header asks for more
        assert read_proxy_header_untrusted(data[:cut]) is NEED_MORE, cut


@pytest.mark.parametrize(
    "data",
    [
        b"ISA*00*",
        b"\x010000000451\x02",
        b"PROXY TCP4 10.1.2.3 127.0.0.1 5555\r\n",
        b"PROXY TCP4 2001:db8::1 ::1 5555 7270\r\n",  # family does not match
        b"PROXY TCP4 10.1.2.300 127.0.0.1 5555 7270\r\n",
        b"PROXY TCP4 10.1.2.3 127.0.0.1 99999 7270\r\n",
        b"PROXY TCP4 10.1.2.3 127.0.0.1 +8_0 7270\r\n",  # int() would read it
        b"PROXY TCP4 10.1.2.3 127.0.0.1 5555 x\r\n",  # the destination port too
        b"PROXY TCP4 10.1.2.3 ::1 5555 7270\r\n",  # the destination's family too
        b"PROXY TCP6 fe80::1%eth0 ::1 5555 7270\r\n",  # a scope ID: one client, many spellings
        b"PROXY " + b"x" * 200,
        V2_SIGNATURE + b"\x31\x11\x00\x0c" + b"\x00" * 12,  # version 3
        V2_SIGNATURE + b"\x21\x11\x00\x04" + b"\x00" * 4,  # address block too short
        V2_SIGNATURE + b"\x21\x11\xff\xff",  # too long
    ],
)
def test_not_headers(data: bytes) -> None:
    assert isinstance(read_proxy_header_untrusted(data), ProxyHeaderError)


@given(st.binary(max_size=120))
def test_any_bytes(data: bytes) -> None:
    result = read_proxy_header_untrusted(data)
    assert result is NEED_MORE or isinstance(result, ProxyHeader | ProxyHeaderError)
    if isinstance(result, ProxyHeader):
        assert 0 < result.length <= len(data)


@given(st.binary(max_size=60))
def test_any_bytes_after_the_signature(tail: bytes) -> None:
    result = read_proxy_header_untrusted(V2_SIGNATURE + tail)
    assert result is NEED_MORE or isinstance(result, ProxyHeader | ProxyHeaderError)


# --- the listener behind a balancer -----------------------------------------------------------


async def start(nursery: trio.Nursery, store: SqliteStore, **server: Any) -> Server:
    config = Config(
        eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"),
        server=ServerConfig(proxy_protocol=True, **server),
    )
    started: Server = await nursery.start(functools.partial(serve, config, Services(REGISTRY, store), port=0))
    return started


async def test_the_client_address_comes_from_the_header(store: SqliteStore) -> None:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        server = await start(nursery, store)
        server.state.observer.add(recorder)  # type: ignore[attr-defined]
        # DEMO0001 may send from 127.0.0.0/8 only: behind the balancer its real address decides.
        for header, kind in (
            (b"PROXY TCP4 127.0.0.9 127.0.0.1 5555 7270\r\n", "271"),
            (v2("10.9.8.7", 5556), "SBY00502"),
        ):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            reader = ReplyReader(stream)
            await reader.send(header + b"\x010000000451\x02" + SPECIMEN + b"\x03", framed=True)
            assert reply_kind(await reader.reply()) == kind
            await stream.aclose()
        # No header: closed without a message.
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        reader = ReplyReader(stream)
        await reader.send(SPECIMEN)
        await reader.closed()
        server.shutdown()
    assert [e.connection.peer_host for e in recorder.exchanges] == ["127.0.0.9", "10.9.8.7"]


async def test_per_address_limit_counts_real_addresses(store: SqliteStore) -> None:
    async with trio.open_nursery() as nursery:
        server = await start(nursery, store, max_connections_per_address=1)
        readers = []
        for source, kind in (("127.0.0.9", "271"), ("127.0.0.10", "271"), ("127.0.0.9", "SBY00509")):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            reader = ReplyReader(stream)
            await reader.send(f"PROXY TCP4 {source} 127.0.0.1 5555 7270\r\n".encode(), framed=True)
            await reader.send(SPECIMEN)
            payload = await reader.reply()
            assert (reply_kind(payload) if kind == "271" else error_code(payload)) == kind
            readers.append(reader)
        for reader in readers:
            await reader.stream.aclose()
        server.shutdown()


async def test_untrusted_peers_may_not_send_headers(store: SqliteStore) -> None:
    async with trio.open_nursery() as nursery:
        server = await start(nursery, store, trusted_proxies=("10.0.0.0/8",))
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        reader = ReplyReader(stream)
        await reader.send(b"PROXY TCP4 127.0.0.9 127.0.0.1 5555 7270\r\n" + SPECIMEN, framed=True)
        await reader.closed()
        server.shutdown()


async def wait_for(condition: Callable[[], bool], interval: float = 0.01) -> None:
    """Poll ``condition``: the server's counters have no event to wait on."""
    with trio.fail_after(5):
        while not condition():  # noqa: ASYNC110
            await trio.sleep(interval)


async def test_sockets_waiting_for_their_header_are_bounded(store: SqliteStore) -> None:
    # Before its header a socket's client address is unknown, so the limits cannot judge it yet:
    # at most max_connections sockets may be in that phase; more are closed at once.
    async with trio.open_nursery() as nursery:
        server = await start(nursery, store, max_connections=2)
        silent = [await trio.open_tcp_stream("127.0.0.1", server.port) for _ in range(2)]
        await wait_for(lambda: server.state.setting_up == 2)
        extra = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        with trio.fail_after(2):
            await extra.closed()
        for stream in silent:
            await stream.aclose()
        await wait_for(lambda: server.state.setting_up == 0)
        # The phase's count is given back: a client with a header is served.
        reader = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        await reader.send(b"PROXY TCP4 127.0.0.9 127.0.0.1 5555 7270\r\n", framed=True)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        await reader.stream.aclose()
        server.shutdown()


async def test_a_header_arriving_after_shutdown_began_is_not_served(store: SqliteStore) -> None:
    answering = trio.Event()
    release = trio.Event()

    async def slow(payload: bytes, context: Context) -> Reply:
        answering.set()
        await release.wait()
        return respond(payload, context)

    config = Config(
        eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"),
        server=ServerConfig(proxy_protocol=True, grace_period=5.0),
    )
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(
            functools.partial(serve, config, Services(REGISTRY, store), port=0, responder=slow)
        )
        busy = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        await busy.send(b"PROXY TCP4 127.0.0.8 127.0.0.1 5555 7270\r\n", framed=True)
        await busy.send(SPECIMEN)
        await answering.wait()  # busy is being answered: the shutdown waits for it
        late = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        await wait_for(lambda: server.state.setting_up == 1)
        server.shutdown()
        await wait_for(lambda: server.state.shutting_down, interval=0.001)
        await late.send(b"PROXY TCP4 127.0.0.9 127.0.0.1 5555 7270\r\n" + wrap(SPECIMEN, Mode.WRAPPED), framed=True)
        with trio.fail_after(5):
            await late.closed()  # closed once its header is read, with no reply
        release.set()
        assert reply_kind(await busy.reply()) == "271"  # the request in progress is answered
        with trio.fail_after(5):
            await busy.closed()
    assert server.stats.accepted == 1  # busy only: late never became a connection
