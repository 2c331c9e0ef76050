"""One connection's rules on memory streams, in virtual time (trio's autojump clock).

The handler is the real one (``hetsock.server.connection``) over a real SQLite store of the demo
fixtures; only the socket is a memory stream, so the idle close, the message deadline and the
reply timeout can be asserted at their exact virtual times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import pytest
import trio
import trio.testing
from serving import (
    SPECIMEN,
    SPECIMEN_WRAPPED,
    Recorder,
    ReplyReader,
    error_code,
    inquiry,
    make_state,
    reply_kind,
)

from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.maintenance import MaintenanceSchedule, OneOffWindow
from hetsock.pipeline import Context, Reply, respond
from hetsock.registry import Registry
from hetsock.server.connection import RECEIVE_SIZE, Connection
from hetsock.server.observer import CloseReason
from hetsock.server.state import ServerState
from hetsock.wire.framing import Mode, wrap

UTC = dt.UTC


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def open_connection(
    nursery: trio.Nursery, state: ServerState, mode: Mode = Mode.WRAPPED, peer: str = "127.0.0.1"
) -> tuple[ReplyReader, Connection]:
    """A connection served by the real handler; the test holds the client end."""
    client, server = trio.testing.memory_stream_pair()
    connection = Connection(server, state, peer, 40000)
    state.opened(peer)

    async def run() -> None:
        try:
            await connection.run()
        finally:
            state.closed(peer, connection.submitter_id)

    nursery.start_soon(run)
    return ReplyReader(client, mode), connection


def trn(payload: bytes) -> str:
    """The TRN02 echoed in a 271."""
    text = payload.decode("latin-1")
    for segment in text.split(text[105]):
        if segment.startswith("TRN" + text[3]):
            return segment.split(text[3])[2]
    raise AssertionError("no TRN in the reply")


class SlowResponder:
    """The real pipeline after ``delay`` seconds of (virtual) time."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def __call__(self, payload: bytes, context: Context) -> Reply:
        await trio.sleep(self.delay)
        return respond(payload, context)


# --- answering ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
async def test_answers_the_specimen_in_its_framing(store: SqliteStore, recorder: Recorder, mode: Mode) -> None:
    state = make_state(store, recorder=recorder)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state, mode)
        await reader.send(SPECIMEN)
        payload = await reader.reply()
        assert reply_kind(payload) == "271"
        assert b"NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73~" in payload
        # The same socket serves the next request.
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        await reader.stream.aclose()
    assert [e.reply.kind.value for e in recorder.exchanges] == ["271", "271"]
    assert recorder.closed[0][1:] == (CloseReason.PEER_CLOSED, 2)


async def test_wrapped_reply_bytes(store: SqliteStore) -> None:
    state = make_state(store)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(SPECIMEN_WRAPPED, framed=True)
        raw = b""
        while not raw.endswith(b"\x03"):
            raw += await reader.stream.receive_some(65536)
        payload = raw[12:-1]
        assert raw[:1] == b"\x01"
        assert raw[11:12] == b"\x02"
        assert int(raw[1:11]) == len(payload)
        assert payload.startswith(b"ISA*00*          *00*          *ZZ*CMS            *ZZ*DEMO0001       *")
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
async def test_byte_by_byte(store: SqliteStore, mode: Mode) -> None:
    state = make_state(store)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state, mode)
        for byte in wrap(SPECIMEN, mode):
            await reader.send(bytes([byte]), framed=True)
        assert reply_kind(await reader.reply()) == "271"
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
async def test_pipelined_requests_are_answered_in_order(
    store: SqliteStore, mode: Mode, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, responder=SlowResponder(0.5))
    traces = [f"T{n:04d}" for n in range(6)]
    requests = [inquiry(trace_number=t, control=100 + n) for n, t in enumerate(traces)]
    # Also a request whose first bytes come with the previous one's last bytes.
    stream = b"\r\n".join(wrap(r, mode) for r in requests)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state, mode)
        await reader.send(stream[:700], framed=True)
        await reader.send(stream[700:], framed=True)
        answered = [trn(await reader.reply()) for _ in traces]
        nursery.cancel_scope.cancel()
    assert answered == traces


# --- the idle rule and the message deadline -------------------------------------------------


async def test_idle_socket_closed_at_exactly_the_timeout(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        reader, _ = await open_connection(nursery, state)
        await reader.closed()
        assert trio.current_time() - start == pytest.approx(5.0, abs=1e-9)
    assert recorder.closed[0][1] is CloseReason.IDLE
    assert recorder.exchanges == []  # closed without a message


async def test_idle_timer_restarts_on_each_chunk_and_after_each_reply(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, idle_timeout=5.0)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        reader, _ = await open_connection(nursery, state)
        await trio.sleep(4.0)
        await reader.send(b"\r\n", framed=True)  # any chunk is activity
        await trio.sleep(4.5)
        await reader.send(SPECIMEN)
        await reader.reply()
        replied = trio.current_time() - start
        await reader.closed()
        assert replied == pytest.approx(8.5, abs=1e-9)
        assert trio.current_time() - start == pytest.approx(13.5, abs=1e-9)
    assert recorder.closed[0][1] is CloseReason.IDLE


async def test_no_idle_close_while_a_reply_is_pending(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, responder=SlowResponder(7.0))
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        reader, _ = await open_connection(nursery, state)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        assert trio.current_time() - start == pytest.approx(7.0, abs=1e-9)
        await reader.closed()
        assert trio.current_time() - start == pytest.approx(12.0, abs=1e-9)


async def test_a_message_dribbled_slowly_hits_the_message_deadline(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, idle_timeout=5.0, message_deadline=30.0)
    data = wrap(SPECIMEN, Mode.WRAPPED)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await trio.sleep(1.0)
        first_byte = trio.current_time()

        async def dribble() -> None:
            for byte in data:
                await reader.send(bytes([byte]), framed=True)
                await trio.sleep(4.0)  # under the idle timeout every time

        nursery.start_soon(dribble)
        await reader.closed()
        assert trio.current_time() - first_byte == pytest.approx(30.0, abs=1e-9)
        nursery.cancel_scope.cancel()
    assert recorder.closed[0][1] is CloseReason.DEADLINE
    assert recorder.exchanges == []


async def test_the_deadline_runs_from_each_message_first_byte(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, idle_timeout=5.0, message_deadline=10.0)
    second = wrap(SPECIMEN, Mode.WRAPPED)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await trio.sleep(3.0)
        # A whole message and the first three bytes of the next in one chunk, at t=3.
        await reader.send(wrap(SPECIMEN, Mode.WRAPPED) + second[:3], framed=True)
        assert reply_kind(await reader.reply()) == "271"
        started = trio.current_time()
        for index in range(3, 5):  # keep the socket busy (t=7, t=11), never finish the message
            await trio.sleep(4.0)
            await reader.send(second[index : index + 1], framed=True)
        await reader.closed()
        assert trio.current_time() - started == pytest.approx(10.0, abs=1e-9)
    assert recorder.closed[0][1] is CloseReason.DEADLINE


async def test_the_deadline_does_not_count_time_spent_answering_earlier_messages(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, responder=SlowResponder(20.0), message_deadline=30.0)
    third = wrap(SPECIMEN, Mode.WRAPPED)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        start = trio.current_time()
        # Two whole messages and the start of a third at t=0, the rest of the third at t=1. The
        # server reads again only at t=40, past 30 s from the third's first byte: not the client's time.
        await reader.send(wrap(SPECIMEN, Mode.WRAPPED) * 2 + third[:3], framed=True)
        await trio.sleep(1.0)
        await reader.send(third[3:], framed=True)
        assert [reply_kind(await reader.reply()) for _ in range(3)] == ["271"] * 3
        assert trio.current_time() - start == pytest.approx(60.0, abs=1e-9)
        assert recorder.closed == []
        nursery.cancel_scope.cancel()


async def test_a_long_pipeline_is_answered_whole(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, responder=SlowResponder(0.5))
    traces = [f"T{n:04d}" for n in range(200)]
    # About 94 KB at t=0: more than one read, and 100 s of answering in all.
    pipeline = b"".join(wrap(inquiry(trace_number=t, control=100 + n), Mode.WRAPPED) for n, t in enumerate(traces))
    assert len(pipeline) > RECEIVE_SIZE
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(pipeline, framed=True)
        answered = [trn(await reader.reply()) for _ in traces]
        assert recorder.closed == []
        nursery.cancel_scope.cancel()
    assert answered == traces


async def test_a_dribble_after_pipelined_answers_is_closed_at_the_deadline(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, responder=SlowResponder(20.0), message_deadline=30.0)
    second = wrap(SPECIMEN, Mode.WRAPPED)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        start = trio.current_time()
        # A whole message and the first byte of the next at t=0, then a byte every 4 s (never idle).
        await reader.send(wrap(SPECIMEN, Mode.WRAPPED) + second[:1], framed=True)

        async def dribble() -> None:
            for byte in second[1:]:
                await trio.sleep(4.0)
                await reader.send(bytes([byte]), framed=True)

        nursery.start_soon(dribble)
        assert reply_kind(await reader.reply()) == "271"
        await reader.closed()
        # The server went back to reading at t=20: the second message's deadline is 30 s later.
        assert trio.current_time() - start == pytest.approx(50.0, abs=1e-9)
        nursery.cancel_scope.cancel()
    assert recorder.closed[0][1:] == (CloseReason.DEADLINE, 1)


async def test_a_client_that_stops_reading_is_closed_at_the_reply_timeout(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, reply_timeout=30.0)
    client, server = trio.testing.lockstep_stream_pair()  # no buffering: a write waits for a read
    connection = Connection(server, state, "127.0.0.1", 40000)
    state.opened("127.0.0.1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection.run)
        await client.send_all(wrap(SPECIMEN, Mode.WRAPPED))
        start = trio.current_time()
        await trio.sleep(60)  # never read the reply
    assert recorder.closed[0][1] is CloseReason.WRITE_TIMEOUT
    assert recorder.closed_at[0] - start == pytest.approx(30.0, abs=1e-9)


# --- proprietary errors ---------------------------------------------------------------------


async def test_not_an_interchange_keeps_the_connection(store: SqliteStore) -> None:
    state = make_state(store)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(b"HELLO, IS THIS HETS?")
        payload = await reader.reply()
        assert error_code(payload) == "SBY00503"
        assert payload[51:53] == b" I"
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        nursery.cancel_scope.cancel()


async def test_bare_connection_error_text_ends_with_crlf(store: SqliteStore) -> None:
    state = make_state(store)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state, Mode.BARE)
        await reader.send(inquiry(submitter_id="NOBODY01") + SPECIMEN, framed=True)
        raw = b""
        while raw.count(b"~") < 3:
            raw += await reader.stream.receive_some(65536)
        text, _, rest = raw.partition(b"\r\n")
        assert text.startswith(b"HETS")
        assert error_code(text) == "SBY00502"
        assert rest.startswith(b"ISA*")
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("submitter", "peer"),
    [("NOBODY01", "127.0.0.1"), ("DEMO0009", "127.0.0.1"), ("DEMO0001", "10.1.2.3")],
    ids=["unknown", "suspended", "address-not-allowed"],
)
async def test_authorization_errors_keep_the_connection(store: SqliteStore, submitter: str, peer: str) -> None:
    state = make_state(store)
    async with trio.open_nursery() as nursery:
        reader, connection = await open_connection(nursery, state, peer=peer)
        await reader.send(inquiry(submitter_id=submitter))
        payload = await reader.reply()
        assert error_code(payload) == "SBY00502"
        assert payload[4:34].strip() == b"000000041"  # the request's ISA13 is the trace ID
        await reader.send(inquiry(submitter_id=submitter))
        assert error_code(await reader.reply()) == "SBY00502"
        # Refused, it counts against no submitter's connection limit.
        assert connection.submitter_id is None
        assert not state.by_submitter
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"\x01ABC", "SBY00505", CloseReason.FRAMING),
        (b"\x010000000300X", "SBY00505", CloseReason.FRAMING),  # no STX
        (b"\x01000000000010\x02", "SBY00505", CloseReason.FRAMING),  # the 11-digit length bug
        (b"\x010000000004\x02ISA*X", "SBY00505", CloseReason.FRAMING),  # no ETX where the length says
        (b"\x010000099999\x02", "SBY00504", CloseReason.TOO_LARGE),
        (b"GET / HTTP/1.1\r\n\r\n", "SBY00505", CloseReason.FRAMING),
    ],
    ids=["non-digit-length", "no-stx", "eleven-digits", "no-etx", "too-large", "http"],
)
async def test_framing_errors_send_the_error_then_close(
    store: SqliteStore, recorder: Recorder, data: bytes, code: str, reason: CloseReason
) -> None:
    state = make_state(store, recorder=recorder, max_message_size=1000)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(data, framed=True)
        assert error_code(await reader.reply()) == code
        await reader.closed()
    assert recorder.closed[0][1] is reason
    assert [e.reply.error_code for e in recorder.exchanges] == [code]


async def test_a_bare_message_over_the_size_limit(store: SqliteStore, recorder: Recorder) -> None:
    state = make_state(store, recorder=recorder, max_message_size=400)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state, Mode.BARE)
        await reader.send(SPECIMEN)  # 451 bytes
        payload = await reader.reply()
        assert error_code(payload) == "SBY00504"
        await reader.closed()
    assert recorder.closed[0][1] is CloseReason.TOO_LARGE


async def test_the_stream_ending_inside_a_message(store: SqliteStore, recorder: Recorder) -> None:
    state = make_state(store, recorder=recorder)
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(wrap(SPECIMEN, Mode.WRAPPED)[:200], framed=True)
        await reader.stream.send_eof()  # type: ignore[attr-defined]
        assert error_code(await reader.reply()) == "SBY00505"
        await reader.closed()
    assert recorder.closed[0][1] is CloseReason.FRAMING


async def test_maintenance_on_an_open_connection(store: SqliteStore) -> None:
    window = OneOffWindow(dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC), dt.datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
    clock = [dt.datetime(2026, 11, 22, 9, 59, 59, tzinfo=UTC)]
    state = make_state(store, schedule=MaintenanceSchedule((window,)), wall_clock=lambda: clock[0])
    async with trio.open_nursery() as nursery:
        reader, _ = await open_connection(nursery, state)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        clock[0] = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
        await reader.send(SPECIMEN)
        payload = await reader.reply()
        assert error_code(payload) == "SBY00506"
        assert payload[51:53] == b" U"
        clock[0] = dt.datetime(2026, 11, 22, 11, 0, 0, tzinfo=UTC)
        await reader.send(SPECIMEN)
        assert reply_kind(await reader.reply()) == "271"
        nursery.cancel_scope.cancel()


async def test_overload_when_too_many_requests_are_in_progress(
    store: SqliteStore, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, responder=SlowResponder(10.0), max_in_flight=1, idle_timeout=60.0)
    async with trio.open_nursery() as nursery:
        busy, _ = await open_connection(nursery, state)
        other, _ = await open_connection(nursery, state)
        await busy.send(SPECIMEN)
        await trio.sleep(1.0)
        await other.send(SPECIMEN)
        assert error_code(await other.reply()) == "SBY00507"
        assert reply_kind(await busy.reply()) == "271"
        await other.send(SPECIMEN)  # the same connection, once the load is gone
        assert reply_kind(await other.reply()) == "271"
        nursery.cancel_scope.cancel()


async def test_a_failing_responder_gets_the_internal_error_and_is_logged(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    async def broken(payload: bytes, context: Context) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("DOE JANE 1EG4TE5MK73")  # even a message quoting data never reaches the log
        return respond(payload, context)

    state = make_state(store, responder=broken)
    with caplog.at_level(logging.INFO, logger="hetsock"):
        async with trio.open_nursery() as nursery:
            reader, _ = await open_connection(nursery, state)
            await reader.send(SPECIMEN)
            payload = await reader.reply()
            assert error_code(payload) == "SBY00508"
            assert payload[4:34].strip() == b"000005014"
            await reader.send(SPECIMEN)
            assert reply_kind(await reader.reply()) == "271"
            nursery.cancel_scope.cancel()
    failure = [r for r in caplog.records if r.getMessage() == "responder failed"]
    assert failure
    assert failure[0].exc_info is not None


async def test_submitter_connection_limit(store: SqliteStore, recorder: Recorder) -> None:
    registry = Registry.from_dict(
        {"submitter": [{"id": "DEMO0001", "npis": ["1234567893"], "connection_limit": 1, "addresses": ["127.0.0.0/8"]}]}
    )
    state = make_state(store, recorder=recorder, registry=registry)
    async with trio.open_nursery() as nursery:
        first, first_connection = await open_connection(nursery, state)
        await first.send(SPECIMEN)
        assert reply_kind(await first.reply()) == "271"
        assert first_connection.submitter_id == "DEMO0001"
        second, _ = await open_connection(nursery, state)
        await second.send(SPECIMEN)
        assert error_code(await second.reply()) == "SBY00509"
        await second.closed()
        await first.stream.aclose()
        await trio.testing.wait_all_tasks_blocked()
        third, _ = await open_connection(nursery, state)
        await third.send(SPECIMEN)
        assert reply_kind(await third.reply()) == "271"
        nursery.cancel_scope.cancel()
    assert CloseReason.LIMIT in [reason for _, reason, _ in recorder.closed]


async def test_a_refused_peer_does_not_take_the_submitters_slot(store: SqliteStore) -> None:
    registry = Registry.from_dict(
        {"submitter": [{"id": "DEMO0001", "npis": ["1234567893"], "connection_limit": 1, "addresses": ["127.0.0.0/8"]}]}
    )
    state = make_state(store, registry=registry)
    async with trio.open_nursery() as nursery:
        intruder, _ = await open_connection(nursery, state, peer="10.1.2.3")
        await intruder.send(SPECIMEN)  # names DEMO0001, from an address it does not allow
        assert error_code(await intruder.reply()) == "SBY00502"
        # The intruder's connection stays open; the submitter's one slot is still free.
        legitimate, connection = await open_connection(nursery, state)
        await legitimate.send(SPECIMEN)
        assert reply_kind(await legitimate.reply()) == "271"
        assert connection.submitter_id == "DEMO0001"
        assert state.by_submitter == {"DEMO0001": 1}
        nursery.cancel_scope.cancel()


async def test_a_usage_the_submitter_may_not_send_takes_no_slot(store: SqliteStore) -> None:
    registry = Registry.from_dict(
        {"submitter": [{"id": "DEMO0001", "npis": ["1234567893"], "connection_limit": 1, "usage": ["P"]}]}
    )
    state = make_state(store, registry=registry)
    test_usage = SPECIMEN.replace(b"*0*P*", b"*0*T*", 1)
    assert test_usage != SPECIMEN
    async with trio.open_nursery() as nursery:
        refused, _ = await open_connection(nursery, state)
        await refused.send(test_usage)  # ISA15 T from a submitter allowed only P
        assert error_code(await refused.reply()) == "SBY00502"
        assert state.by_submitter == {}
        legitimate, _ = await open_connection(nursery, state)
        await legitimate.send(SPECIMEN)
        assert reply_kind(await legitimate.reply()) == "271"
        assert state.by_submitter == {"DEMO0001": 1}
        nursery.cancel_scope.cancel()


async def test_a_bug_in_one_connection_closes_only_that_connection(
    store: SqliteStore, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding(trio.abc.Stream):
        async def send_all(self, data: bytes | bytearray | memoryview) -> None:
            pass

        async def wait_send_all_might_not_block(self) -> None:
            pass

        async def receive_some(self, max_bytes: int | None = None) -> bytes:
            raise ValueError("unexpected")

        async def aclose(self) -> None:
            pass

    state = make_state(store, recorder=recorder)
    with caplog.at_level(logging.INFO, logger="hetsock"):
        await Connection(Exploding(), state, "127.0.0.1", 1).run()
    assert recorder.closed[0][1] is CloseReason.ERROR
    assert any(r.getMessage() == "connection handler failed" for r in caplog.records)


# --- graceful stop --------------------------------------------------------------------------


async def test_stop_finishes_the_request_in_progress(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, responder=SlowResponder(2.0))
    async with trio.open_nursery() as nursery:
        reader, connection = await open_connection(nursery, state)
        # Two whole requests read together: both are answered, then the connection closes.
        await reader.send(wrap(SPECIMEN, Mode.WRAPPED) * 2, framed=True)
        await trio.sleep(1.0)
        connection.stop()
        assert reply_kind(await reader.reply()) == "271"
        assert reply_kind(await reader.reply()) == "271"
        await reader.closed()
    assert recorder.closed[0][1:] == (CloseReason.SHUTDOWN, 2)


async def test_stop_closes_an_idle_connection_at_once(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder)
    async with trio.open_nursery() as nursery:
        reader, connection = await open_connection(nursery, state)
        await trio.sleep(1.0)
        start = trio.current_time()
        connection.stop()
        await reader.closed()
        assert trio.current_time() == start
    assert recorder.closed[0][1] is CloseReason.SHUTDOWN


async def test_a_pipelining_client_that_never_reads_cannot_grow_the_server_buffer(
    store: SqliteStore, recorder: Recorder, autojump_clock: trio.abc.Clock
) -> None:
    state = make_state(store, recorder=recorder, reply_timeout=30.0)
    client, server = trio.testing.lockstep_stream_pair()  # nothing is buffered in the transport
    connection = Connection(server, state, "127.0.0.1", 40000)
    pipeline = wrap(SPECIMEN, Mode.WRAPPED) * 2000  # 930 KB of requests, replies never read
    sent = trio.Event()

    async def send_everything() -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await client.send_all(pipeline)
            sent.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection.run)
        nursery.start_soon(send_everything)
        await trio.sleep(10.0)
        # The server answered the first request and is stuck writing it: it reads nothing more.
        assert not sent.is_set()
        assert connection.receiver.buffered <= RECEIVE_SIZE + state.settings.max_message_size
        await trio.sleep(30.0)
        await client.aclose()
    assert recorder.closed[0][1] is CloseReason.WRITE_TIMEOUT
    assert [e.delivered for e in recorder.exchanges] == [False]  # the one reply never got out


async def test_stop_as_a_read_completes_still_answers_what_was_read(store: SqliteStore, recorder: Recorder) -> None:
    state = make_state(store, recorder=recorder)
    async with trio.open_nursery() as nursery:
        reader, connection = await open_connection(nursery, state)
        await trio.testing.wait_all_tasks_blocked()  # the server waits in its read
        await reader.send(SPECIMEN)  # its read completes (the task is now runnable) ...
        connection.stop()  # ... and the stop comes before it runs
        assert reply_kind(await reader.reply()) == "271"
        await reader.closed()
    assert recorder.closed[0][1:] == (CloseReason.SHUTDOWN, 1)
    assert [e.delivered for e in recorder.exchanges] == [True]
