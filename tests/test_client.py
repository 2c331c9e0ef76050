"""The trio client: reuse, reconnection, resending, timeouts and faults, in virtual time.

The server side of each memory-stream connection is the real connection handler
(``hetsock.server.connection.Connection``) over a real SQLite store of the demo fixtures, so the
idle close happens exactly when the server's rule says. Misbehaving peers (a server that stops
mid-reply, answers in the wrong framing, overruns its length field, drops the connection) are
small fault handlers, not stand-ins for the server: they inject the faults a real network or a
broken server would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from serving import NOW, REGISTRY, Recorder, inquiry, make_state

from hetsock.client import (
    Client,
    ClientError,
    ClientSettings,
    ConnectError,
    ConnectionLostError,
    Eligibility,
    ProtocolError,
    Rejection,
    ReplyKind,
    ReplyTimeoutError,
)
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, Services, respond
from hetsock.server.connection import Connection
from hetsock.server.observer import CloseReason
from hetsock.server.state import ServerState
from hetsock.wire.framing import FrameReceiver, Message, Mode, wrap
from hetsock.x12.writer import ControlNumbers


@pytest.fixture
def reply_271(store: SqliteStore) -> bytes:
    return respond(inquiry(), Context(Services(REGISTRY, store), NOW, ControlNumbers(9))).payload


Handler = Callable[[trio.abc.Stream], Awaitable[None]]


class Peers:
    """A connector handing out memory streams; the i-th connection is served by ``handlers[i]``
    (the last one serves every later connection). Counts the connections opened."""

    def __init__(self, nursery: trio.Nursery, *handlers: Handler) -> None:
        self.nursery = nursery
        self.handlers = handlers
        self.opened = 0

    async def __call__(self) -> trio.abc.Stream:
        handler = self.handlers[min(self.opened, len(self.handlers) - 1)]
        self.opened += 1
        client, server = trio.testing.memory_stream_pair()
        self.nursery.start_soon(handler, server)
        return client


def real_server(state: ServerState) -> Handler:
    """Serve a connection with hetsock's own connection handler."""

    async def serve(stream: trio.abc.Stream) -> None:
        state.opened("127.0.0.1")
        connection = Connection(stream, state, "127.0.0.1", 40000)
        try:
            await connection.run()
        finally:
            state.closed("127.0.0.1", connection.submitter_id)

    return serve


async def read_request(stream: trio.abc.Stream) -> bytes:
    receiver = FrameReceiver()
    while True:
        event = receiver.next_event()
        if isinstance(event, Message):
            return event.payload
        receiver.receive_data(await stream.receive_some(65536))


def fault(*, send: Callable[[bytes], bytes] | None = None, then: str = "close") -> Handler:
    """Read one request, send ``send(request)`` (if given), then ``close`` or ``hang``."""

    async def handle(stream: trio.abc.Stream) -> None:
        request = await read_request(stream)
        if send is not None:
            await stream.send_all(send(request))
        if then == "hang":
            await trio.sleep_forever()
        await stream.aclose()

    return handle


def client_for(peers: Peers, mode: Mode = Mode.WRAPPED, **settings: object) -> Client:
    return Client(mode=mode, settings=ClientSettings(**settings), connector=peers)  # type: ignore[arg-type]


# --- the happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
async def test_reuses_one_connection(store: SqliteStore, mode: Mode) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, real_server(make_state(store)))
        async with client_for(peers, mode) as client:
            for _ in range(3):
                reply = await client.send(inquiry())
                assert isinstance(reply, Eligibility)
                assert reply.correlation == "TRACE0001"
            rejected = await client.send(inquiry(last_name="DOH"))
            assert isinstance(rejected, Rejection)
            assert rejected.codes == ("73",)
            assert (client.stats.connections, client.stats.requests, client.stats.reconnects) == (1, 4, 0)
        assert peers.opened == 1


async def test_idle_close_then_transparent_reconnect(store: SqliteStore, autojump_clock: trio.abc.Clock) -> None:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, real_server(make_state(store, recorder=recorder)))
        # idle_timeout=None: the client does not replace the socket early, so it meets the close.
        async with client_for(peers, idle_timeout=None) as client:
            assert isinstance(await client.send(inquiry()), Eligibility)
            await trio.sleep(10)
            assert recorder.closed[0][1] is CloseReason.IDLE
            assert recorder.closed_at == [5.0]  # the server's rule, exactly
            assert isinstance(await client.send(inquiry()), Eligibility)
            assert trio.current_time() == 10.0  # no backoff: the idle close is not a failure
            assert (client.stats.connections, client.stats.reconnects, client.stats.retries) == (2, 1, 0)


async def test_idle_socket_replaced_before_the_server_closes_it(
    store: SqliteStore, autojump_clock: trio.abc.Clock
) -> None:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, real_server(make_state(store, recorder=recorder)))
        async with client_for(peers) as client:  # idle_timeout 4.5 s
            assert isinstance(await client.send(inquiry()), Eligibility)
            await trio.sleep(4.4)
            assert isinstance(await client.send(inquiry()), Eligibility)  # still the same socket
            assert client.stats.connections == 1
            await trio.sleep(4.6)
            assert isinstance(await client.send(inquiry()), Eligibility)
            assert (client.stats.connections, client.stats.reconnects) == (2, 1)
            assert recorder.closed[0][1] is CloseReason.PEER_CLOSED  # we closed it, before the server did


# --- dropped connections: resent ---------------------------------------------------------------


async def test_drop_before_the_reply_is_resent(store: SqliteStore, autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(), real_server(make_state(store)))
        async with client_for(peers) as client:
            reply = await client.send(inquiry())
            assert isinstance(reply, Eligibility)
            assert trio.current_time() == pytest.approx(0.1)  # one backoff
            assert (client.stats.connections, client.stats.retries, client.stats.drops) == (2, 1, 1)


async def test_drop_inside_a_reply_is_resent(
    store: SqliteStore, reply_271: bytes, autojump_clock: trio.abc.Clock
) -> None:
    half = wrap(reply_271, Mode.WRAPPED)[:300]
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: half), real_server(make_state(store)))
        async with client_for(peers) as client:
            assert isinstance(await client.send(inquiry()), Eligibility)
            assert client.stats.drops == 1


async def test_bounded_attempts_with_backoff(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault())
        async with client_for(peers, attempts=4, backoff_initial=0.5, backoff_max=1.5) as client:
            with pytest.raises(ConnectionLostError, match=r"dropped before the reply .*4 tries"):
                await client.send(inquiry())
            assert trio.current_time() == pytest.approx(0.5 + 1.0 + 1.5)
            assert peers.opened == 4


async def test_connect_failures_retried_then_reported(autojump_clock: trio.abc.Clock) -> None:
    attempts = 0

    async def refuse() -> trio.abc.Stream:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError(111, "Connection refused")

    async with Client(port=1, connector=refuse) as client:
        with pytest.raises(ConnectError, match=r"cannot connect to 127\.0\.0\.1:1: Connection refused, 5 tries"):
            await client.send(inquiry())
        assert attempts == 5
        assert trio.current_time() == pytest.approx(0.1 + 0.2 + 0.4 + 0.8)
        assert client.stats.connect_failures == 5


async def test_connect_timeout(autojump_clock: trio.abc.Clock) -> None:
    async def never() -> trio.abc.Stream:
        await trio.sleep_forever()
        raise AssertionError

    async with Client(connector=never, settings=ClientSettings(connect_timeout=2.0, attempts=2)) as client:
        with pytest.raises(ConnectError, match="no answer in 2 s"):
            await client.connect()
        assert trio.current_time() == pytest.approx(2.0 + 0.1 + 2.0)


async def test_server_back_after_a_restart(store: SqliteStore, autojump_clock: trio.abc.Clock) -> None:
    refusals = 3
    state = make_state(store)

    async def restarting() -> trio.abc.Stream:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        client, server = trio.testing.memory_stream_pair()
        nursery.start_soon(real_server(state), server)
        return client

    async with trio.open_nursery() as nursery, Client(connector=restarting) as client:
        assert isinstance(await client.send(inquiry()), Eligibility)
        assert client.stats.retries == 3


# --- faults that are errors, never hangs ---------------------------------------------------------


async def test_server_stops_mid_reply(reply_271: bytes, autojump_clock: trio.abc.Clock) -> None:
    half = wrap(reply_271, Mode.WRAPPED)[:300]
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: half, then="hang"))
        async with client_for(peers, reply_timeout=7.0) as client:
            with pytest.raises(ReplyTimeoutError, match=r"part of a reply, then nothing .* within 7 s"):
                await client.send(inquiry())
            assert trio.current_time() == pytest.approx(7.0)
            assert not client.connected
        nursery.cancel_scope.cancel()


async def test_server_never_answers_and_timeouts_may_be_retried(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(then="hang"))
        async with client_for(peers, reply_timeout=3.0, retry_timeouts=True, attempts=2) as client:
            with pytest.raises(ReplyTimeoutError, match="no reply"):
                await client.send(inquiry())
            assert trio.current_time() == pytest.approx(3.0 + 0.1 + 3.0)
            assert peers.opened == 2
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("mode", "answer", "message"),
    [
        (Mode.WRAPPED, lambda reply: reply, "a reply in bare X12"),  # a bare reply on a wrapped connection
        (Mode.BARE, lambda reply: wrap(reply, Mode.WRAPPED), "neither ISA nor HETS"),
        (Mode.WRAPPED, lambda reply: b"\x010000000100\x02" + reply + b"\x03", "no ETX where the wrapper length"),
        (Mode.WRAPPED, lambda reply: b"\x01000000X100\x02", "not a digit"),
    ],
    ids=["bare-on-wrapped", "wrapped-on-bare", "longer-than-its-length", "bad-length"],
)
async def test_unreadable_replies_are_protocol_errors(
    reply_271: bytes,
    mode: Mode,
    answer: Callable[[bytes], bytes],
    message: str,
    autojump_clock: trio.abc.Clock,
) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: answer(reply_271), then="hang"))
        async with client_for(peers, mode) as client:
            with pytest.raises(ProtocolError, match=message):
                await client.send(inquiry())
            assert trio.current_time() == 0.0  # at once, not at a timeout
            assert not client.connected
        nursery.cancel_scope.cancel()


async def test_reply_over_the_size_limit(reply_271: bytes, autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: wrap(reply_271, Mode.WRAPPED), then="hang"))
        async with client_for(peers, max_reply_size=500) as client:
            with pytest.raises(ProtocolError, match="exceeds the maximum message size"):
                await client.send(inquiry())
        nursery.cancel_scope.cancel()


async def test_unasked_bytes_between_requests_replace_the_connection(
    store: SqliteStore, reply_271: bytes, autojump_clock: trio.abc.Clock
) -> None:
    framed = wrap(reply_271, Mode.WRAPPED)

    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: framed + framed, then="hang"), real_server(make_state(store)))
        async with client_for(peers) as client:
            assert isinstance(await client.send(inquiry()), Eligibility)
            # a second reply nobody asked for is waiting: the stream is out of step, so it is replaced
            assert isinstance(await client.send(inquiry(trace_number="SECOND")), Eligibility)
            assert (client.stats.connections, client.stats.reconnects) == (2, 1)
        nursery.cancel_scope.cancel()


async def test_closed_client_refuses() -> None:
    client = Client()
    await client.aclose()
    with pytest.raises(Exception, match="closed"):
        await client.send(inquiry())


async def test_concurrent_sends_queue_in_order(store: SqliteStore) -> None:
    results: dict[str, str] = {}
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, real_server(make_state(store)))
        async with client_for(peers) as client:

            async def ask(trace: str) -> None:
                reply = await client.send(inquiry(trace_number=trace))
                results[trace] = reply.correlation

            async with trio.open_nursery() as askers:
                for n in range(5):
                    askers.start_soon(ask, f"T{n}")
        assert results == {f"T{n}": f"T{n}" for n in range(5)}
        assert peers.opened == 1


def test_backoff_doubles_to_its_cap() -> None:
    settings = ClientSettings(backoff_initial=0.1, backoff_max=1.0)
    assert [settings.backoff(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_settings_repr_and_client_repr_hold_no_payload() -> None:
    client = Client("127.0.0.1", 7270)
    assert repr(client) == "<Client 127.0.0.1:7270 wrapped connected=False>"
    assert fx.DOE_JANE.mbi not in repr(ClientSettings())
    assert dt.date(1940, 4, 1).isoformat() not in repr(client)


# --- peer bytes: whatever the server sends, a reply or a ClientError, in bounded time ------------

_FRAMED = st.binary(max_size=300).map(lambda payload: wrap(payload, Mode.WRAPPED))
_REPLY_BYTES = st.one_of(
    st.binary(max_size=400),
    _FRAMED,
    st.tuples(_FRAMED, st.binary(max_size=50)).map(lambda pair: pair[0] + pair[1]),
    st.tuples(_FRAMED, st.integers(0, 300)).map(lambda pair: pair[0][: pair[1]]),
    st.sampled_from([b"ISA", b"HETS", b"\x01", b"\r\n"]).flatmap(
        lambda head: st.binary(max_size=200).map(head.__add__)
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from([Mode.WRAPPED, Mode.BARE]),
    data=_REPLY_BYTES,
    chunk=st.integers(1, 64),
    then=st.sampled_from(["close", "hang"]),
)
def test_any_server_bytes_give_a_reply_or_a_client_error(mode: Mode, data: bytes, chunk: int, then: str) -> None:
    async def peer(stream: trio.abc.Stream) -> None:
        try:
            await read_request(stream)
            for start in range(0, len(data), chunk):
                await stream.send_all(data[start : start + chunk])
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the client gave up on us first
        if then == "hang":
            await trio.sleep_forever()
        await stream.aclose()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            peers = Peers(nursery, peer)
            settings = {"attempts": 2, "reply_timeout": 5.0, "backoff_initial": 0.5}
            async with client_for(peers, mode, **settings) as client:
                try:
                    reply = await client.send(inquiry())
                except ClientError:
                    pass
                else:
                    assert reply.kind in set(ReplyKind)
            assert trio.current_time() <= 2 * 5.0 + 0.5
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


# --- cancelled sends, aclose during a send, a refusal before the request is read ---------------


def slow_echo(delay: float) -> Handler:
    """Answer each request, in order, after ``delay`` seconds with a text naming the request."""

    async def handle(stream: trio.abc.Stream) -> None:
        receiver = FrameReceiver()
        while True:
            event = receiver.next_event()
            if isinstance(event, Message):
                await trio.sleep(delay)
                try:
                    await stream.send_all(wrap(b"HETS reply to " + event.payload, Mode.WRAPPED))
                except trio.BrokenResourceError:
                    return  # the client has gone
                continue
            data = await stream.receive_some(65536)
            if not data:
                return
            receiver.receive_data(data)

    return handle


async def test_a_cancelled_send_never_hands_its_reply_to_the_next(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, slow_echo(0.5))
        async with client_for(peers) as client:
            with trio.move_on_after(0.2):  # the caller gives up while the reply is on its way
                await client.send_raw(b"PATIENT-A")
            assert not client.connected  # a reply is still due on that connection: it is dropped
            assert await client.send_raw(b"PATIENT-B") == b"HETS reply to PATIENT-B"
            assert peers.opened == 2
        nursery.cancel_scope.cancel()


async def test_aclose_during_a_send_ends_it_without_reconnecting(autojump_clock: trio.abc.Clock) -> None:
    outcome: list[BaseException | bytes] = []
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, slow_echo(0.5))
        client = client_for(peers)

        async def ask() -> None:
            try:
                outcome.append(await client.send_raw(b"PATIENT-A"))
            except ClientError as error:
                outcome.append(error)

        nursery.start_soon(ask)
        await trio.sleep(0.1)
        await client.aclose()
        await trio.sleep(5)
        assert len(outcome) == 1
        assert isinstance(outcome[0], ClientError)
        assert "closed" in str(outcome[0])
        assert (peers.opened, client.connected, client.stats.retries) == (1, False, 0)
        with pytest.raises(ClientError, match="closed"):
            await client.connect()
        nursery.cancel_scope.cancel()


async def test_an_answer_before_a_failed_write_wins(autojump_clock: trio.abc.Clock) -> None:
    refusal = b"HETS  20261126010101000 ISBY00504 - The request exceeds the maximum message size"

    async def refuse(stream: trio.abc.Stream) -> None:  # answers without reading, then closes
        await stream.send_all(wrap(refusal, Mode.WRAPPED))
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, refuse, fault(then="hang"))
        async with client_for(peers) as client:
            await client.connect()
            await trio.sleep(1)  # the server has answered and closed before the request is written
            assert await client.send_raw(b"HUGE") == refusal
            assert (peers.opened, client.stats.retries, client.connected) == (1, 0, False)
        nursery.cancel_scope.cancel()


async def test_protocol_errors_hold_no_reply_bytes(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        peers = Peers(nursery, fault(send=lambda _: b"SMITH JOHN 1EG4TE5MK73\r\n", then="hang"))
        async with client_for(peers, Mode.BARE) as client:
            with pytest.raises(ProtocolError) as error:
                await client.send(inquiry())
        assert "byte 0x53" in str(error.value)
        assert "SMIT" not in str(error.value)
        nursery.cancel_scope.cancel()
