"""Framing (``hetsock/wire/framing.py``): the HETS wrapper and bare X12, in any chunking.

As in h11's ``tests/test_io.py``, every framing case is fed three ways: whole, one byte at a time,
and followed by the start of the next message; all three must give the same events. Hypothesis
then checks that any split of any valid stream gives its payloads in order, that random bytes never
raise nor grow the buffer past the cap, and that a byte-by-byte bare interchange costs linear work.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import SupportsIndex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetsock.wire.framing import (
    BUFFER_SLACK,
    DEFAULT_MAX_MESSAGE_SIZE,
    END_OF_STREAM,
    NEED_DATA,
    EndOfStream,
    Event,
    FrameReceiver,
    FramingError,
    Message,
    Mode,
    NeedData,
    wrap,
)
from hetsock.wire.proprietary import ErrorCode

HETS = Path(__file__).parent / "data" / "hets"
SPECIMEN = (HETS / "specimen.270").read_bytes()
SPECIMEN_MANY_EQ = (HETS / "specimen-many-eq.270").read_bytes()
SPECIMEN_LINES = (HETS / "specimen-lines.270").read_bytes()
SPECIMEN_WRAPPED = (HETS / "specimen.wrapped").read_bytes()
ISA = SPECIMEN[:106]

#: The start of a following message, per framing (h11 test_io's "followed by the next message").
NEXT_START = {Mode.WRAPPED: b"\x01000000", Mode.BARE: b"ISA*00*  "}


def drain(receiver: FrameReceiver) -> list[Event]:
    """Events until the receiver needs data, ends or fails (``NEED_DATA`` itself left out)."""
    events: list[Event] = []
    while True:
        event = receiver.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)
        if not isinstance(event, Message):
            return events


def feed(
    chunks: Iterable[bytes], *, eof: bool, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
) -> tuple[list[Event], FrameReceiver]:
    receiver = FrameReceiver(max_message_size)
    events: list[Event] = []
    for chunk in chunks:
        receiver.receive_data(chunk)
        events += drain(receiver)
        if events and isinstance(events[-1], FramingError):
            return events, receiver
    if eof:
        receiver.receive_data(b"")
        events += drain(receiver)
    return events, receiver


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def summary(events: list[Event]) -> list[object]:
    """Events to compare: messages whole, errors by code (the detail is prose)."""
    return [(e.code, e.fatal) if isinstance(e, FramingError) else e for e in events]


def check_three_ways(
    data: bytes, expected: list[Event], *, mode: Mode, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
) -> None:
    """``data`` gives ``expected`` whole, byte by byte, and followed by the next message's start."""
    fails = bool(expected) and isinstance(expected[-1], FramingError)
    at_end = expected if fails else [*expected, END_OF_STREAM]
    for chunks in ([data], bytewise(data)):
        events, receiver = feed(chunks, eof=True, max_message_size=max_message_size)
        assert summary(events) == summary(at_end)
        assert receiver.buffered == 0
        assert not receiver.message_started
    events, receiver = feed([data + NEXT_START[mode]], eof=False, max_message_size=max_message_size)
    assert summary(events) == summary(expected)
    if not fails:
        assert receiver.message_started
        assert receiver.buffered == len(NEXT_START[mode])
        assert receiver.next_event() == NEED_DATA
        assert receiver.mode is mode


def error(code: ErrorCode) -> FramingError:
    return FramingError(code, "", fatal=True)


def bare_interchange(body: bytes, *, separator: bytes = b"*", terminator: bytes = b"~") -> bytes:
    """The specimen ISA in the given delimiters, ``body`` segments (``*`` and ``~``) and an IEA."""
    isa = ISA[:105].replace(b"*", separator) + terminator
    text = isa + body + b"IEA*1*000005014~"
    return isa + text[106:].replace(b"*", separator).replace(b"~", terminator)


# --- valid messages, three ways ------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [SPECIMEN, SPECIMEN_MANY_EQ, SPECIMEN_LINES],
    ids=["specimen", "specimen-many-eq", "specimen-lines"],
)
def test_bare_specimens(data: bytes) -> None:
    payload = data.rstrip(b"\r\n")
    check_three_ways(data, [Message(payload, Mode.BARE, 0)], mode=Mode.BARE)


def test_wrapped_specimen() -> None:
    assert SPECIMEN_WRAPPED[0] == 0x01
    check_three_ways(SPECIMEN_WRAPPED, [Message(SPECIMEN, Mode.WRAPPED, 0)], mode=Mode.WRAPPED)


def test_several_wrapped_messages_in_one_chunk() -> None:
    payloads = [SPECIMEN, SPECIMEN_MANY_EQ, b"", b"\x01\x02\x03 opaque bytes \x03"]
    data = b"".join(wrap(p, Mode.WRAPPED) for p in payloads)
    expected: list[Event] = []
    offset = 0
    for payload in payloads:
        expected.append(Message(payload, Mode.WRAPPED, offset))
        offset += len(payload) + 13
    check_three_ways(data, expected, mode=Mode.WRAPPED)


def test_several_bare_messages_in_one_chunk() -> None:
    data = SPECIMEN + SPECIMEN_MANY_EQ + SPECIMEN_LINES + SPECIMEN
    starts = [0, len(SPECIMEN), len(SPECIMEN) + len(SPECIMEN_MANY_EQ)]
    starts.append(starts[-1] + len(SPECIMEN_LINES))
    payloads = [SPECIMEN, SPECIMEN_MANY_EQ, SPECIMEN_LINES.rstrip(b"\r\n"), SPECIMEN]
    expected: list[Event] = [Message(p, Mode.BARE, s) for p, s in zip(payloads, starts, strict=True)]
    check_three_ways(data, expected, mode=Mode.BARE)


@pytest.mark.parametrize("blank", [b"\r\n", b"\n", b"\r", b"\r\n\r\n", b" ", b"\t \r\n "])
@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
def test_blanks_before_and_between_messages_are_ignored(blank: bytes, mode: Mode) -> None:
    message = wrap(SPECIMEN, mode)
    data = blank + message + blank + message + blank
    expected: list[Event] = [
        Message(SPECIMEN, mode, len(blank)),
        Message(SPECIMEN, mode, 2 * len(blank) + len(message)),
    ]
    check_three_ways(data, expected, mode=mode)


def test_blanks_alone_are_not_a_message() -> None:
    receiver = FrameReceiver()
    receiver.receive_data(b"\r\n \t\r\n")
    assert receiver.next_event() == NEED_DATA
    assert not receiver.message_started
    assert receiver.buffered == 0
    assert receiver.mode is None
    receiver.receive_data(b"")
    assert receiver.next_event() == END_OF_STREAM
    assert receiver.next_event() == END_OF_STREAM


def test_iea_is_found_only_as_a_segment_id() -> None:
    # "IEA" inside an element, a segment ID that merely starts with IEA, and an element that is IEA.
    body = SPECIMEN[106:].replace(b"DOE", b"IEA").replace(b"EQ*30~", b"EQ*30~IEAB*1~REF*IEA*IEA~")
    data = ISA + body
    assert data.count(b"IEA") == 5
    check_three_ways(data, [Message(data, Mode.BARE, 0)], mode=Mode.BARE)


def test_iea_right_after_the_isa() -> None:
    data = ISA + b"IEA*0*000005014~"
    check_three_ways(data, [Message(data, Mode.BARE, 0)], mode=Mode.BARE)


@pytest.mark.parametrize(
    ("separator", "terminator"), [(b"!", b"'"), (b"*", b"\n"), (b"*", b"\r"), (b"\r", b"~"), (b"+", b" ")]
)
def test_bare_in_other_delimiters(separator: bytes, terminator: bytes) -> None:
    data = bare_interchange(b"GS*HS~ST*270~SE*2~GE*1~", separator=separator, terminator=terminator)
    assert data[3:4] == separator
    assert data[105:106] == terminator
    check_three_ways(data, [Message(data, Mode.BARE, 0)], mode=Mode.BARE)


def test_bare_line_breaks_after_terminators_are_skipped() -> None:
    data = ISA + b"\r\n\r\nGS*HS~\nST*270~\r\n\r\nIEA*1*000005014~"
    check_three_ways(data, [Message(data, Mode.BARE, 0)], mode=Mode.BARE)


# --- wrap ----------------------------------------------------------------------------------


def test_wrap_renders_the_specimen_wrapper() -> None:
    assert wrap(SPECIMEN, Mode.WRAPPED) == SPECIMEN_WRAPPED
    assert wrap(SPECIMEN, Mode.BARE) == SPECIMEN
    assert wrap(b"", Mode.WRAPPED) == b"\x010000000000\x02\x03"
    # On a bare connection a proprietary error text ends with CR LF (it has no framing of its own).
    assert wrap(b"HETS   000000001 ISBY00503 - x", Mode.BARE) == b"HETS   000000001 ISBY00503 - x\r\n"


@pytest.mark.parametrize(
    ("payload", "mode"),
    [
        *((p, Mode.WRAPPED) for p in [SPECIMEN, b"", b"x", b"\x03" * 10, bytes(range(256)) * 4]),
        (SPECIMEN, Mode.BARE),
        (SPECIMEN_MANY_EQ, Mode.BARE),
    ],
)
def test_wrap_round_trips(payload: bytes, mode: Mode) -> None:
    for chunks in ([wrap(payload, mode)], bytewise(wrap(payload, mode))):
        events, _ = feed(chunks, eof=True)
        assert events == [Message(payload, mode, 0), END_OF_STREAM]


# --- fatal framing errors ------------------------------------------------------------------


def test_wrapper_without_stx() -> None:
    data = b"\x010000000451X" + SPECIMEN + b"\x03"
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)
    events, _ = feed([data[:12]], eof=False)
    assert summary(events) == summary([error(ErrorCode.FRAMING)])
    assert isinstance(events[0], FramingError)
    assert "no STX" in events[0].detail


@pytest.mark.parametrize("position", range(1, 11))
def test_wrapper_with_a_non_digit_in_the_length(position: int) -> None:
    header = bytearray(b"\x010000000451\x02")
    header[position] = ord("a")
    data = bytes(header) + SPECIMEN + b"\x03"
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)
    # Reported as soon as the bad byte arrives.
    events, _ = feed([data[: position + 1]], eof=False)
    assert summary(events) == summary([error(ErrorCode.FRAMING)])


def test_wrapper_with_stx_inside_the_length() -> None:
    data = b"\x01451\x02" + SPECIMEN + b"\x03"
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)


@pytest.mark.parametrize("trailer", [b"X", b"\x02", b"\x01", b"\r"])
def test_wrapper_without_etx_where_the_length_says(trailer: bytes) -> None:
    data = SPECIMEN_WRAPPED[:-1] + trailer
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)
    too_long = b"\x010000000450\x02" + SPECIMEN + b"\x03"
    check_three_ways(too_long, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)


@pytest.mark.parametrize("size", [10, 100, 1000, 10000])
def test_wrapper_with_an_eleven_digit_length(size: int) -> None:
    # The client bug of HETS-NOTES section 2: an 11-digit length for 10, 100, 1000... bytes.
    payload = b"x" * size
    data = b"\x01" + f"{size:011d}".encode() + b"\x02" + payload + b"\x03"
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)
    events, _ = feed([data], eof=False)
    assert isinstance(events[0], FramingError)
    assert "more than 10 digits" in events[0].detail


@pytest.mark.parametrize("junk", [b"GET / HTTP/1.1\r\n\r\n", b"\x02", b"\x03", b"\x00", b"isa*", b"\r\n  ~", b"\xff"])
def test_junk_first_byte(junk: bytes) -> None:
    check_three_ways(junk, [error(ErrorCode.FRAMING)], mode=Mode.WRAPPED)
    _, receiver = feed([junk], eof=False)
    assert receiver.mode is None


@pytest.mark.parametrize(("first", "second"), [(SPECIMEN_WRAPPED, SPECIMEN), (SPECIMEN, SPECIMEN_WRAPPED)])
def test_framing_is_per_connection(first: bytes, second: bytes) -> None:
    mode = Mode.WRAPPED if first[0] == 1 else Mode.BARE
    data = first + b"\r\n" + second
    check_three_ways(data, [Message(SPECIMEN, mode, 0), error(ErrorCode.FRAMING)], mode=mode)


def test_wrapped_over_size_is_known_from_the_length() -> None:
    data = wrap(b"x" * 1001, Mode.WRAPPED)
    check_three_ways(data, [error(ErrorCode.MESSAGE_TOO_LARGE)], mode=Mode.WRAPPED, max_message_size=1000)
    events, _ = feed([data[:11]], eof=False, max_message_size=1000)
    assert summary(events) == summary([error(ErrorCode.MESSAGE_TOO_LARGE)])
    fits = wrap(b"x" * 1000, Mode.WRAPPED)
    check_three_ways(fits, [Message(b"x" * 1000, Mode.WRAPPED, 0)], mode=Mode.WRAPPED, max_message_size=1000)
    default = b"\x01" + f"{DEFAULT_MAX_MESSAGE_SIZE + 1:010d}".encode()
    events, _ = feed([default], eof=False)
    assert summary(events) == summary([error(ErrorCode.MESSAGE_TOO_LARGE)])


def test_bare_over_size() -> None:
    filler = b"REF*XX*" + b"9" * 80 + b"~"
    body = filler * 10
    data = bare_interchange(body)
    size = len(data)
    check_three_ways(data, [error(ErrorCode.MESSAGE_TOO_LARGE)], mode=Mode.BARE, max_message_size=size - 1)
    check_three_ways(data, [Message(data, Mode.BARE, 0)], mode=Mode.BARE, max_message_size=size)
    # No IEA at all: the error comes once max_message_size bytes are in, never holding more.
    receiver = FrameReceiver(1000)
    receiver.receive_data(ISA)
    for _ in range(20):
        receiver.receive_data(filler)
        event = receiver.next_event()
        assert receiver.buffered <= 1000 + BUFFER_SLACK
        if not isinstance(event, NeedData):
            break
    assert summary([event]) == summary([error(ErrorCode.MESSAGE_TOO_LARGE)])
    assert receiver.buffered == 0


@pytest.mark.parametrize("start", [b"IX", b"ISB", b"I\r\n", b"IS "])
def test_bare_that_is_not_an_isa(start: bytes) -> None:
    data = start + SPECIMEN[len(start) :]
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.BARE)
    events, _ = feed([start], eof=False)
    assert summary(events) == summary([error(ErrorCode.FRAMING)])


@pytest.mark.parametrize(
    "isa",
    [
        ISA.replace(b"DEMO0001       ", b"DEMO0001      ", 1),  # one byte short: byte 105 is the G of GS
        ISA[:105] + b"A",
        ISA[:105] + b"7",
        ISA[:105] + b"*",
        ISA[:3] + b"Z" + ISA[4:],
    ],
    ids=["short-isa", "letter-terminator", "digit-terminator", "terminator-is-separator", "letter-separator"],
)
def test_bare_with_unusable_delimiters(isa: bytes) -> None:
    data = isa + SPECIMEN[106:]
    check_three_ways(data, [error(ErrorCode.FRAMING)], mode=Mode.BARE)


@pytest.mark.parametrize(
    ("message", "payload", "mode"),
    [
        (SPECIMEN_WRAPPED, SPECIMEN, Mode.WRAPPED),
        (SPECIMEN, SPECIMEN, Mode.BARE),
        (SPECIMEN_LINES, SPECIMEN_LINES.rstrip(b"\r\n"), Mode.BARE),
    ],
    ids=["wrapped", "bare", "bare-lines"],
)
def test_end_of_stream_inside_a_message(message: bytes, payload: bytes, mode: Mode) -> None:
    end = len(wrap(payload, mode))
    for cut in range(1, end):
        events, receiver = feed([message[:cut]], eof=True)
        assert summary(events) == summary([error(ErrorCode.FRAMING)]), cut
        assert receiver.buffered == 0
    # After a whole message, part of another: the message, then the error.
    events, _ = feed([message + message[:20]], eof=True)
    assert summary(events) == summary([Message(payload, mode, 0), error(ErrorCode.FRAMING)])


# --- receiver state ------------------------------------------------------------------------


def test_message_started_and_buffered() -> None:
    receiver = FrameReceiver()
    assert not receiver.message_started
    receiver.receive_data(b"\r\n")
    assert receiver.next_event() == NEED_DATA
    assert (receiver.message_started, receiver.buffered) == (False, 0)
    receiver.receive_data(SPECIMEN_WRAPPED[:100])
    assert receiver.next_event() == NEED_DATA
    assert (receiver.message_started, receiver.buffered) == (True, 100)
    receiver.receive_data(SPECIMEN_WRAPPED[100:])
    assert receiver.next_event() == Message(SPECIMEN, Mode.WRAPPED, 2)
    assert (receiver.message_started, receiver.buffered) == (False, 0)
    assert receiver.next_event() == NEED_DATA


def test_a_failed_receiver_stays_failed() -> None:
    receiver = FrameReceiver()
    receiver.receive_data(b"\x01000000045x")
    first = receiver.next_event()
    assert isinstance(first, FramingError)
    assert first.fatal
    receiver.receive_data(SPECIMEN_WRAPPED)
    receiver.receive_data(b"")
    assert receiver.buffered == 0
    assert receiver.next_event() is first
    assert not receiver.message_started


def test_data_after_end_of_stream_is_a_caller_error() -> None:
    receiver = FrameReceiver()
    receiver.receive_data(b"")
    receiver.receive_data(b"")
    with pytest.raises(RuntimeError):
        receiver.receive_data(b"x")


def test_payload_stays_out_of_reprs() -> None:
    events, receiver = feed([SPECIMEN_WRAPPED + SPECIMEN_WRAPPED[:300]], eof=False)
    assert "DOE" not in repr(events[0])
    assert "451 bytes" in repr(events[0])
    assert "DOE" not in repr(receiver)


def test_max_message_size_must_hold_an_isa() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        FrameReceiver(105)
    assert FrameReceiver().max_message_size == 64 * 1024


# --- properties ----------------------------------------------------------------------------

BLANKS = st.sampled_from([b"", b"", b"\r\n", b"\n", b" ", b"\t\r\n"])
SEGMENT_IDS = st.from_regex(r"\A[A-Z][A-Z0-9]{1,2}\Z").filter(lambda s: s != "IEA")
ELEMENT_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ^|IEA", max_size=10)


@st.composite
def bare_interchanges(draw: st.DrawFn) -> bytes:
    """An interchange in random delimiters, with random segments and line breaks, ending with IEA."""
    separator = draw(st.sampled_from([b"*", b"!", b"+"]))
    terminator = draw(st.sampled_from([b"~", b"'", b"\n"]))
    segments = draw(st.lists(st.tuples(SEGMENT_IDS, st.lists(ELEMENT_TEXT, max_size=5)), max_size=8))
    body = b""
    for segment_id, elements in segments:
        body += b"*".join([segment_id.encode(), *(e.encode() for e in elements)]) + b"~"
        body += draw(st.sampled_from([b"", b"", b"\r\n", b"\n"]))
    return bare_interchange(body, separator=separator, terminator=terminator)


@st.composite
def streams(draw: st.DrawFn) -> tuple[Mode, list[bytes], bytes, list[int]]:
    """A mode, payloads, the stream that frames them (with blanks between) and cut points."""
    mode = draw(st.sampled_from(Mode))
    interchanges = st.one_of(bare_interchanges(), st.sampled_from([SPECIMEN, SPECIMEN_MANY_EQ]))
    payloads = draw(
        st.lists(st.one_of(interchanges, st.binary(max_size=200)) if mode is Mode.WRAPPED else interchanges)
    )
    stream = b"".join(draw(BLANKS) + wrap(p, mode) for p in payloads) + draw(BLANKS)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    return mode, payloads, stream, cuts


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at ``cuts`` (sorted), without empty pieces (``b""`` would mean end of stream)."""
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@settings(deadline=None, max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_any_split_of_valid_messages_gives_the_payloads_in_order(
    case: tuple[Mode, list[bytes], bytes, list[int]],
) -> None:
    mode, payloads, stream, cuts = case
    events, _ = feed(split(stream, cuts), eof=True)
    assert events[-1] == END_OF_STREAM
    messages = events[:-1]
    assert all(isinstance(m, Message) and m.mode is mode for m in messages)
    assert [m.payload for m in messages if isinstance(m, Message)] == payloads
    for message in messages:
        assert isinstance(message, Message)
        start = message.started_at_offset
        assert stream[start : start + 1] == (b"\x01" if mode is Mode.WRAPPED else b"I")


#: Starts that lead random bytes into each part of the receiver.
PREFIXES = [
    b"",
    b"\x01",
    b"\x010000000",
    b"\x010000000100\x02",
    b"I",
    b"ISA",
    ISA,
    SPECIMEN[:300],
    SPECIMEN[:-5],
    SPECIMEN_WRAPPED[:200],
    b"\r\n",
]


@settings(deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(PREFIXES),
    st.binary(max_size=1500),
    st.lists(st.integers(0, 2000), max_size=10),
    st.booleans(),
)
def test_random_bytes_never_raise_and_stay_bounded(prefix: bytes, junk: bytes, cuts: list[int], eof: bool) -> None:
    max_size = 256
    data = prefix + junk
    receiver = FrameReceiver(max_size)
    failed = False
    for chunk in split(data, sorted(c for c in cuts if c <= len(data))):
        receiver.receive_data(chunk)
        for event in drain(receiver):
            assert isinstance(event, Message | FramingError | EndOfStream)
            if isinstance(event, Message):
                assert len(event.payload) <= max_size
            if isinstance(event, FramingError):
                assert event.fatal
                failed = True
        assert receiver.buffered <= max_size + BUFFER_SLACK
    if eof and not failed:
        receiver.receive_data(b"")
        assert isinstance(receiver.next_event(), FramingError | EndOfStream | Message)


class CountingBuffer(bytearray):
    """A receive buffer that counts the bytes its ``find`` calls cover."""

    searched = 0

    def find(  # type: ignore[override]
        self, sub: int, start: SupportsIndex | None = None, end: SupportsIndex | None = None, /
    ) -> int:
        begin = 0 if start is None else int(start)
        stop = len(self) if end is None else int(end)
        CountingBuffer.searched += max(0, stop - begin)
        return super().find(sub, start, end)


def test_bytewise_60kb_bare_interchange_costs_linear_work() -> None:
    segment = b"REF*EJ*" + b"0123456789" * 5 + b"~\r\n"
    data = bare_interchange(segment * (60_000 // len(segment)))
    assert 60_000 <= len(data) <= DEFAULT_MAX_MESSAGE_SIZE
    receiver = FrameReceiver()
    receiver._buffer = CountingBuffer()
    CountingBuffer.searched = 0
    events: list[Event] = []
    for chunk in bytewise(data):
        receiver.receive_data(chunk)
        events += drain(receiver)
    assert events == [Message(data, Mode.BARE, 0)]
    # Each byte is searched once: a rescan from the start on each byte would be ~1.8e9.
    assert CountingBuffer.searched <= len(data)


def test_delivered_messages_are_independent_of_the_buffer() -> None:
    events, _ = feed([SPECIMEN_WRAPPED * 2], eof=False)
    assert len(events) == 2
    first = events[0]
    assert isinstance(first, Message)
    assert type(first.payload) is bytes
    assert first._replace(started_at_offset=0) == Message(SPECIMEN, Mode.WRAPPED, 0)
