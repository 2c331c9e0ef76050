"""Framing on the socket: bytes in any chunking in, whole messages out (sans-IO, no trio here).

Theory of operation
-------------------
A :class:`FrameReceiver` serves one connection, in the style of h11's ``receive_data`` /
``next_event``: the I/O layer feeds it whatever the socket gave (``b""`` at end of stream) and
drains :meth:`FrameReceiver.next_event` until it returns :data:`NEED_DATA`, :class:`EndOfStream` or
a :class:`FramingError`. The receiver never hands out partial state: an event is a whole
:class:`Message`, or nothing yet, or the end, or an error.

Blanks. CR, LF, space and tab before a message (before the first one and between messages) are
ignored, as ``envelope.py`` ignores them before an ISA. They never start a message, so they do not
set :attr:`FrameReceiver.message_started`; they are dropped as soon as they are seen, so they never
accumulate in :attr:`FrameReceiver.buffered`.

Mode. The first byte that is not a blank decides the connection's framing, once (HETS-NOTES
section 2): SOH (0x01) the HETS transmission wrapper, ``I`` bare X12. Every later message must start
the same way; replies go back in the same framing (:func:`wrap`). Any other first byte means the
bytes are not a framed message: a fatal ``FRAMING`` error, and :attr:`FrameReceiver.mode` stays
``None`` (the connection then answers in the wrapper, HETS's own framing).

The wrapper: SOH, ten ASCII digits giving the payload length (wrapper not counted), STX (0x02), the
payload, ETX (0x03). Each fault is a fatal ``FRAMING`` error, reported as soon as the byte that
proves it arrives: a non-digit among the ten length bytes; an eleventh digit where STX belongs (the
client bug that writes an 11-digit length for payloads of exactly 10, 100, 1000... bytes, named as
such in the detail); any other byte where STX belongs; a byte other than ETX right after the number
of payload bytes the length gives. The payload is opaque here (it may hold SOH, STX or ETX; an empty
payload is delivered and left to the X12 layer to refuse). A length above ``max_message_size`` is a
fatal ``MESSAGE_TOO_LARGE`` error as soon as the ten digits are in, before any payload is buffered.

Bare X12: the interchange is framed by its own 106-byte ISA segment. Byte 3 is the element
separator (the one after ``ISA``), byte 105 the segment terminator (the one after ISA16). The message
ends at the terminator that ends the IEA segment: the segment ID ``IEA``, followed by the element
separator (or the terminator), right after a segment terminator and any CR/LF line breaks (the
line breaks ``segments.py`` drops; the ISA's own terminator counts, so ``ISA...~IEA*...~`` is found).
Line breaks after the IEA's terminator are blanks before the next message. Decisions for bytes that
start with ``I`` but cannot be framed (all fatal ``FRAMING`` errors, since the end of the message
cannot be found and so the stream cannot be resynchronised):

- the first three bytes are not ``ISA``: reported as soon as the offending byte arrives;
- the separator or terminator is an ASCII letter or digit, or the two are the same byte: reported
  once the 106 ISA bytes are in (an ``IEA`` segment cannot be told apart from data).

Any other fault in the ISA (a blank or non-X12 delimiter, an element of the wrong width) is left to
the envelope layer, which answers it with a TA1; framing only needs the two bytes above. A bare
message longer than ``max_message_size`` is a fatal ``MESSAGE_TOO_LARGE`` error as soon as the
first ``max_message_size`` bytes of the message are in without a complete interchange among them.

Cost. The IEA search remembers how far it got (h11 ``_receivebuffer``, wsproto ``Buffer``): each
byte of a message is looked at a bounded number of times however it is chunked, so byte-by-byte
input of an N-byte message costs O(N) in all. The search never looks past ``max_message_size``
bytes of a message, and bytes after a message wait unexamined until that message is taken.

Errors. Nothing that reads peer bytes raises (``_untrusted`` helpers, STYLE point 6): every fault
is a :class:`FramingError` event. All framing errors are fatal: the connection sends the error's
proprietary text (``proprietary.py``) in its framing and closes. Once one is returned the receiver
drops its buffer, discards further input, and returns the same error from every later
:meth:`~FrameReceiver.next_event`. End of stream inside a message is one such error (``FRAMING``);
end of stream between messages is :class:`EndOfStream`.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

import attrs

from hetsock.wire.proprietary import ErrorCode

#: The default cap on one message: the wrapper's payload, or a bare interchange. HETS publishes no
#: limit (HETS-NOTES section 7); a 270 is well under 1 KiB.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024

SOH = 0x01
STX = 0x02
ETX = 0x03

#: The wrapper's length field: ten ASCII digits, zero-padded.
LENGTH_DIGITS = 10
#: SOH and the length field and STX: the wrapper bytes before the payload.
WRAPPER_HEADER_LENGTH = 1 + LENGTH_DIGITS + 1
#: The most bytes a receiver holds after :meth:`FrameReceiver.next_event` returned ``NEED_DATA``,
#: beyond ``max_message_size``: the wrapper's header and trailer.
BUFFER_SLACK = WRAPPER_HEADER_LENGTH + 1

#: The ISA segment's fixed length; the element separator and segment terminator sit at these offsets.
#: (Same as ``hetsock.x12.isa.ISA_LENGTH``; the wire layer does not import the x12 layer.)
_ISA_LENGTH = 106
_ISA_ELEMENT_SEPARATOR = 3
_ISA_SEGMENT_TERMINATOR = 105
_ISA_FIRST = ord("I")

_NOT_BLANK = re.compile(rb"[^\r\n\t ]")
_BLANKS = frozenset(b"\r\n\t ")
_LINE_BREAKS = frozenset(b"\r\n")
_ALPHANUMERIC = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_DIGITS = frozenset(b"0123456789")
_MAX_LENGTH_FIELD = 10**LENGTH_DIGITS - 1
#: A wrapped payload: SOH, the length zero-padded to LENGTH_DIGITS, STX, the payload, ETX.
_WRAPPER = b"\x01%0" + str(LENGTH_DIGITS).encode("ascii") + b"d\x02%b\x03"


class Mode(enum.Enum):
    """A connection's framing, decided by its first byte that is not a blank."""

    #: The HETS transmission wrapper: SOH, 10-digit length, STX, payload, ETX.
    WRAPPED = "wrapped"
    #: Bare X12: the interchange framed by its own ISA header, ending with the IEA segment.
    BARE = "bare"


def _describe_payload(payload: bytes) -> str:
    # Payloads carry names, MBIs and dates of birth: never in a repr (STYLE point 7).
    return f"<{len(payload)} bytes>"


class Message(NamedTuple):
    """One whole message: the wrapper's payload, or a bare interchange from ``ISA`` to the IEA's
    terminator. A named tuple (one is made per request); its repr shows the payload's length only."""

    payload: bytes
    mode: Mode
    #: Offset in the connection's byte stream of the message's first byte (SOH or the ``I`` of ISA).
    started_at_offset: int

    def __repr__(self) -> str:
        payload = _describe_payload(self.payload)
        return f"Message(payload={payload}, mode={self.mode!r}, started_at_offset={self.started_at_offset})"


@attrs.frozen
class NeedData:
    """No whole message yet: feed more bytes with :meth:`FrameReceiver.receive_data`."""


@attrs.frozen
class EndOfStream:
    """The peer closed the stream between messages; no more events will come."""


#: The one :class:`NeedData` value (compare with ``==`` or ``is``).
NEED_DATA = NeedData()
#: The one :class:`EndOfStream` value.
END_OF_STREAM = EndOfStream()


@attrs.frozen
class FramingError:
    """The bytes cannot be framed. ``code`` is the proprietary error to send (``proprietary.py``).

    ``fatal`` means synchronisation is lost: send the error and close the connection. Every
    framing error this module returns is fatal; the field is there so the contract says so.
    """

    code: ErrorCode
    detail: str
    fatal: bool = True


#: What :meth:`FrameReceiver.next_event` returns.
Event = Message | NeedData | FramingError | EndOfStream


class _BarePhase(enum.Enum):
    """Where the IEA search of a bare message stands (the position is ``FrameReceiver._scan``)."""

    #: Looking for the next segment terminator from ``_scan``.
    SEEK_TERMINATOR = enum.auto()
    #: ``_scan`` is just after a terminator: skipping CR/LF line breaks.
    SKIP_LINE_BREAKS = enum.auto()
    #: ``_scan`` is at the start of a segment: is its ID ``IEA``?
    CHECK_SEGMENT_ID = enum.auto()
    #: In the IEA segment: looking for its terminator, the end of the message.
    SEEK_IEA_END = enum.auto()


@attrs.define(on_setattr=attrs.setters.NO_OP)  # hot path: no per-assignment hooks (validated at init)
class FrameReceiver:
    """Framing for one connection: :meth:`receive_data` in, :meth:`next_event` out.

    ``max_message_size`` caps one message (a wrapper's payload or a bare interchange); it must be at
    least the 106 bytes of an ISA segment.
    """

    max_message_size: int = attrs.field(default=DEFAULT_MAX_MESSAGE_SIZE, validator=attrs.validators.ge(_ISA_LENGTH))
    _buffer: bytearray = attrs.field(factory=bytearray, init=False, repr=False)
    #: Stream offset of ``_buffer[0]``.
    _offset: int = attrs.field(default=0, init=False)
    _mode: Mode | None = attrs.field(default=None, init=False)
    _eof: bool = attrs.field(default=False, init=False)
    _error: FramingError | None = attrs.field(default=None, init=False)
    #: Whether ``_buffer[0]`` is the first byte of a message (the blanks before it are gone).
    _in_message: bool = attrs.field(default=False, init=False)
    # The bare IEA search: the delimiters once the ISA is in, the phase and how far it got.
    _separator: int | None = attrs.field(default=None, init=False, repr=False)
    _terminator: int | None = attrs.field(default=None, init=False, repr=False)
    _phase: _BarePhase = attrs.field(default=_BarePhase.SKIP_LINE_BREAKS, init=False, repr=False)
    _scan: int = attrs.field(default=_ISA_LENGTH, init=False, repr=False)

    @property
    def mode(self) -> Mode | None:
        """The connection's framing; ``None`` until the first message's first byte is seen (and for good
        when that byte was neither SOH nor ``I``)."""
        return self._mode

    @property
    def buffered(self) -> int:
        """Bytes held and not yet returned as events (for backpressure).

        After :meth:`next_event` returned ``NEED_DATA`` this is at most ``max_message_size`` +
        :data:`BUFFER_SLACK`; it is 0 once a :class:`FramingError` has been returned.
        """
        return len(self._buffer)

    @property
    def message_started(self) -> bool:
        """Whether part of a message is held (for the per-message deadline), as of the last
        :meth:`next_event`. Blanks between messages do not start one."""
        return self._in_message

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes from the peer; ``b""`` means the peer closed the stream.

        Never raises on the bytes themselves. Raises ``RuntimeError`` only for a caller error:
        non-empty data after end of stream. After a :class:`FramingError` the data is dropped.
        """
        if self._error is not None:
            return
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("receive_data() after end of stream")
        self._buffer += data

    def next_event(self) -> Event:
        """The next event: a :class:`Message`, ``NEED_DATA``, :class:`EndOfStream` or a :class:`FramingError`.

        Never raises: every fault in the peer's bytes is returned as a :class:`FramingError`, and
        the same error is returned again from every later call. ``EndOfStream`` too repeats.
        """
        buffer = self._buffer
        if self._mode is Mode.WRAPPED and not self._in_message and self._error is None:
            # The usual cases on a wrapped connection, decided as the general path below would:
            # nothing held, or a whole message at the front.
            if not buffer:
                return END_OF_STREAM if self._eof else NEED_DATA
            if buffer[0] == SOH and len(buffer) > WRAPPER_HEADER_LENGTH and buffer[WRAPPER_HEADER_LENGTH - 1] == STX:
                field = buffer[1 : WRAPPER_HEADER_LENGTH - 1]
                if field.isdigit():
                    end = WRAPPER_HEADER_LENGTH + int(field)
                    if (
                        end - WRAPPER_HEADER_LENGTH <= self.max_message_size
                        and len(buffer) > end
                        and buffer[end] == ETX
                    ):
                        return self._deliver(Mode.WRAPPED, WRAPPER_HEADER_LENGTH, end, end + 1)
        if self._error is not None:
            return self._error
        if not self._in_message:
            self._skip_blanks()
            if not self._buffer:
                return END_OF_STREAM if self._eof else NEED_DATA
            first = self._buffer[0]
            if self._mode is None:
                if first == SOH:
                    self._mode = Mode.WRAPPED
                elif first == _ISA_FIRST:
                    self._mode = Mode.BARE
                else:
                    return self._fail(
                        ErrorCode.FRAMING,
                        f"byte 0x{first:02x} at offset {self._offset} starts neither the HETS wrapper (SOH) "
                        "nor an X12 interchange (ISA)",
                    )
            expected = SOH if self._mode is Mode.WRAPPED else _ISA_FIRST
            if first != expected:
                return self._fail(
                    ErrorCode.FRAMING,
                    f"byte 0x{first:02x} at offset {self._offset} does not start a message in this "
                    f"connection's framing ({self._mode.value})",
                )
            self._in_message = True
        event = self._next_wrapped_untrusted() if self._mode is Mode.WRAPPED else self._next_bare_untrusted()
        if isinstance(event, NeedData) and self._eof:
            return self._fail(
                ErrorCode.FRAMING,
                f"the stream ended inside a message ({len(self._buffer)} bytes from offset {self._offset})",
            )
        return event

    # -- internals -----------------------------------------------------------------------------

    def _skip_blanks(self) -> None:
        buffer = self._buffer
        if not buffer or buffer[0] not in _BLANKS:  # the usual case: nothing, or a message, starts here
            return
        match = _NOT_BLANK.search(buffer)
        self._consume(len(buffer) if match is None else match.start())

    def _consume(self, count: int) -> None:
        # Deleting from the front of a bytearray is cheap in CPython (it moves a start index).
        del self._buffer[:count]
        self._offset += count

    def _fail(self, code: ErrorCode, detail: str) -> FramingError:
        self._error = FramingError(code, detail, fatal=True)
        self._buffer = bytearray()
        self._in_message = False
        return self._error

    def _deliver(self, mode: Mode, start: int, end: int, total: int) -> Message:
        message = Message(bytes(self._buffer[start:end]), mode, self._offset)
        self._consume(total)
        self._in_message = False
        return message

    def _deliver_bare(self, end: int) -> Message:
        message = self._deliver(Mode.BARE, 0, end, end)
        self._separator = self._terminator = None
        self._phase = _BarePhase.SKIP_LINE_BREAKS
        self._scan = _ISA_LENGTH
        return message

    def _next_wrapped_untrusted(self) -> Event:
        buffer = self._buffer
        held = len(buffer)
        # At most ten bytes to look at, so checking them again on each call is O(1). One C call
        # (bytearray.isdigit: ASCII digits only) for the usual case; the loop only to name a fault
        # (or to find none in a field not yet whole: isdigit() is False for no bytes at all).
        field = buffer[1 : 1 + LENGTH_DIGITS]
        if not field.isdigit():
            for byte in field:
                if byte not in _DIGITS:
                    return self._fail(
                        ErrorCode.FRAMING,
                        f"wrapper length field at offset {self._offset + 1} holds byte 0x{byte:02x}, "
                        f"not a digit (it is {LENGTH_DIGITS} ASCII digits)",
                    )
        if held < 1 + LENGTH_DIGITS:
            return NEED_DATA
        length = int(field)
        if length > self.max_message_size:
            return self._fail(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"wrapper length {length} exceeds the maximum message size {self.max_message_size}",
            )
        if held < WRAPPER_HEADER_LENGTH:
            return NEED_DATA
        marker = buffer[WRAPPER_HEADER_LENGTH - 1]
        if marker != STX:
            if marker in _DIGITS:
                detail = (
                    f"wrapper length field at offset {self._offset + 1} has more than {LENGTH_DIGITS} digits "
                    "(a known client bug for payloads of 10, 100, 1000... bytes); it must be exactly "
                    f"{LENGTH_DIGITS} digits, zero-padded"
                )
            else:
                detail = (
                    f"no STX after the wrapper length field: byte 0x{marker:02x} at offset "
                    f"{self._offset + WRAPPER_HEADER_LENGTH - 1}"
                )
            return self._fail(ErrorCode.FRAMING, detail)
        end = WRAPPER_HEADER_LENGTH + length
        if held <= end:
            return NEED_DATA
        if buffer[end] != ETX:
            return self._fail(
                ErrorCode.FRAMING,
                f"no ETX where the wrapper length {length} says: byte 0x{buffer[end]:02x} at offset "
                f"{self._offset + end}",
            )
        return self._deliver(Mode.WRAPPED, WRAPPER_HEADER_LENGTH, end, end + 1)

    def _next_bare_untrusted(self) -> Event:
        buffer = self._buffer
        held = len(buffer)
        separator, terminator = self._separator, self._terminator
        if separator is None or terminator is None:
            prefix = bytes(buffer[:3])
            if not b"ISA".startswith(prefix):
                return self._fail(
                    ErrorCode.FRAMING,
                    f"a message starting with 'I' at offset {self._offset} is not an ISA segment",
                )
            if held < _ISA_LENGTH:
                return NEED_DATA
            separator = buffer[_ISA_ELEMENT_SEPARATOR]
            terminator = buffer[_ISA_SEGMENT_TERMINATOR]
            if separator in _ALPHANUMERIC or terminator in _ALPHANUMERIC or separator == terminator:
                return self._fail(
                    ErrorCode.FRAMING,
                    f"the ISA at offset {self._offset} gives an unusable element separator (0x{separator:02x}) "
                    f"or segment terminator (0x{terminator:02x}), so the interchange's end cannot be found",
                )
            self._separator, self._terminator = separator, terminator
        end = self._search_iea_untrusted(separator, terminator)
        if end is not None:
            return self._deliver_bare(end)
        if held >= self.max_message_size:
            return self._fail(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"no complete interchange in the first {self.max_message_size} bytes from offset {self._offset} "
                "(the maximum message size)",
            )
        return NEED_DATA

    def _search_iea_untrusted(self, separator: int, terminator: int) -> int | None:
        """Resume the IEA search; the end of the message (exclusive) when found."""
        buffer = self._buffer
        limit = min(len(buffer), self.max_message_size)
        scan = self._scan
        phase = self._phase
        found: int | None = None
        while True:
            if phase is _BarePhase.SEEK_TERMINATOR:
                position = buffer.find(terminator, scan, limit)
                if position < 0:
                    scan = limit
                    break
                scan = position + 1
                phase = _BarePhase.SKIP_LINE_BREAKS
            elif phase is _BarePhase.SKIP_LINE_BREAKS:
                while scan < limit and buffer[scan] in _LINE_BREAKS:
                    scan += 1
                if scan >= limit:
                    break
                phase = _BarePhase.CHECK_SEGMENT_ID
            elif phase is _BarePhase.CHECK_SEGMENT_ID:
                # At most four bytes, looked at again only while they are still arriving.
                available = limit - scan
                if available < 4:
                    if bytes(buffer[scan:limit]) == b"IEA"[:available]:
                        break
                    phase = _BarePhase.SEEK_TERMINATOR
                elif buffer[scan : scan + 3] == b"IEA" and buffer[scan + 3] in (separator, terminator):
                    scan += 3
                    phase = _BarePhase.SEEK_IEA_END
                else:
                    phase = _BarePhase.SEEK_TERMINATOR
            else:
                position = buffer.find(terminator, scan, limit)
                if position < 0:
                    scan = limit
                    break
                found = position + 1
                break
        self._scan = scan
        self._phase = phase
        return found


#: Ends a proprietary error text on a bare X12 connection (see :func:`wrap`).
BARE_TEXT_END = b"\r\n"


def wrap(payload: bytes, mode: Mode) -> bytes:
    """Frame a reply for a connection in ``mode``.

    HETS wrapper: SOH, the ten-digit length, STX, the payload, ETX. Bare X12: an interchange (a
    payload starting ``ISA``) as it is, framed by its own ISA and IEA; any other payload (the
    proprietary error text, which holds no line breaks) followed by CR LF, so a bare client can
    tell where it ends on a connection that stays open. Raises ``ValueError`` if a wrapped
    payload is too long for the ten-digit length field.
    """
    if mode is Mode.BARE:
        return bytes(payload) if payload[:3] == b"ISA" else bytes(payload) + BARE_TEXT_END
    if len(payload) > _MAX_LENGTH_FIELD:
        raise ValueError(f"payload of {len(payload)} bytes does not fit the wrapper's length field")
    # One formatting, one copy of the payload (concatenation would copy it three times).
    return _WRAPPER % (len(payload), payload)
