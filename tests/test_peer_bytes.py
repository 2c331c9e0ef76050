"""Anything a peer sends: the connection handler, the ISA glance and the client's reply reader
never fail on arbitrary bytes (hypothesis), and the reply reader is split-invariant."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import SPECIMEN, Recorder, make_state

from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.server.connection import Connection
from hetsock.server.observer import CloseReason
from hetsock.wire.framing import END_OF_STREAM, NEED_DATA, Mode, wrap
from hetsock.wire.replies import ReplyFramingError, ReplyReceiver
from hetsock.x12.isa import EnvelopeGlance, glance_untrusted

PROPRIETARY = (
    b"HETS                     000005014202611220900000000 ISBY00502"
    b" - Authorization for this transaction cannot be validated"
)


def mutations() -> st.SearchStrategy[bytes]:
    """Valid messages, damaged: bytes flipped, cut, repeated, or junk."""
    valid = st.sampled_from([wrap(SPECIMEN, Mode.WRAPPED), wrap(SPECIMEN, Mode.BARE), b"\r\n" + SPECIMEN])

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(valid))
        for _ in range(draw(st.integers(0, 4))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=40))

    return st.one_of(st.binary(max_size=600), damaged(), st.lists(damaged(), max_size=3).map(b"".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutations(), chunk=st.integers(1, 700))
def test_any_bytes_get_replies_or_a_clean_close(store: SqliteStore, data: bytes, chunk: int) -> None:
    recorder = Recorder()
    state = make_state(store, recorder=recorder, max_message_size=1000)
    client, server = trio.testing.memory_stream_pair()
    connection = Connection(server, state, "127.0.0.1", 40000)

    async def main() -> bytes:
        received = bytearray()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.run)
            for start in range(0, len(data), chunk):
                await client.send_all(data[start : start + chunk])
            await client.send_eof()
            while piece := await client.receive_some(65536):
                received += piece
            await client.aclose()
        return bytes(received)

    received = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    ((_, reason, requests),) = recorder.closed
    assert reason in {CloseReason.PEER_CLOSED, CloseReason.FRAMING, CloseReason.TOO_LARGE}
    assert requests == len(recorder.exchanges)
    # Every byte the server sent reads back as whole replies in the connection's framing.
    mode = connection.receiver.mode or Mode.WRAPPED
    reader = ReplyReceiver(mode)
    reader.receive_data(received)
    reader.receive_data(b"")
    replies = []
    while isinstance(event := reader.next_reply(), bytes):
        replies.append(event)
    assert event is END_OF_STREAM
    assert len(replies) == len(recorder.exchanges)
    assert all(r.startswith((b"ISA", b"HETS")) for r in replies)


@given(st.binary(max_size=300))
def test_glance_never_fails(data: bytes) -> None:
    assert isinstance(glance_untrusted(data), EnvelopeGlance)


def test_glance_reads_isa06_isa13_and_isa15() -> None:
    assert glance_untrusted(b"\r\n" + SPECIMEN) == EnvelopeGlance("DEMO0001", "000005014", "P")
    assert glance_untrusted(SPECIMEN[:105]) == EnvelopeGlance()
    assert glance_untrusted(SPECIMEN.replace(b"000005014", b"00000501X", 1)).control_number == ""
    assert glance_untrusted(SPECIMEN.replace(b"*0*P*", b"*0*X*", 1)).usage == ""


@given(st.binary(max_size=400), st.sampled_from([Mode.WRAPPED, Mode.BARE]))
def test_reply_reader_never_fails(data: bytes, mode: Mode) -> None:
    reader = ReplyReceiver(mode, max_reply_size=300)
    reader.receive_data(data)
    reader.receive_data(b"")
    for _ in range(50):
        event = reader.next_reply()
        if event is END_OF_STREAM or isinstance(event, ReplyFramingError):
            break
        assert isinstance(event, bytes) or event is NEED_DATA
    else:
        raise AssertionError("the reader never finished")


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
def test_reply_reader_is_split_invariant(mode: Mode) -> None:
    replies = [SPECIMEN, PROPRIETARY, SPECIMEN]
    stream = b"\r\n".join(wrap(r, mode) for r in replies)
    for chunks in ([stream], [bytes([b]) for b in stream], [stream[:500], stream[500:]]):
        reader = ReplyReceiver(mode)
        got = []
        for piece in chunks:
            reader.receive_data(piece)
            while isinstance(event := reader.next_reply(), bytes):
                got.append(event)
        assert got == replies


def test_reply_reader_faults() -> None:
    wrong = ReplyReceiver(Mode.BARE)
    wrong.receive_data(wrap(SPECIMEN, Mode.WRAPPED))
    assert isinstance(wrong.next_reply(), ReplyFramingError)
    cut = ReplyReceiver(Mode.WRAPPED)
    cut.receive_data(wrap(SPECIMEN, Mode.WRAPPED)[:100])
    cut.receive_data(b"")
    assert isinstance(cut.next_reply(), ReplyFramingError)
    long = ReplyReceiver(Mode.WRAPPED)
    long.receive_data(b"\x010000000010\x02" + b"x" * 11)  # longer than its length field says
    assert isinstance(long.next_reply(), ReplyFramingError)
    closed = ReplyReceiver(Mode.BARE)
    closed.receive_data(PROPRIETARY)  # an error text the server closed after, without CR LF
    closed.receive_data(b"")
    assert closed.next_reply() == PROPRIETARY
