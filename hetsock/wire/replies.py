"""The client's side of the framing: replies out of the bytes a server sends (sans-IO, no trio).

A :class:`ReplyReceiver` serves one client connection in a known framing (the one the client
sends in). Replies come in the same framing as requests (``framing.py``): in the HETS wrapper,
each reply is one wrapped payload (an interchange or the proprietary error text); on a bare X12
connection, an interchange framed by its own ISA and IEA, or a proprietary error text (it starts
``HETS``) ended by CR LF. Blanks between replies are skipped.

Faults are reported, never raised: a reply in the wrong framing, a wrapper whose length field
is not ten digits or whose ETX is missing, a bare reply that is neither ``ISA`` nor ``HETS``, or
more than ``max_reply_size`` bytes without a whole reply, each give a :class:`ReplyFramingError`
(after which the connection's byte stream cannot be trusted: close it).
"""

from __future__ import annotations

import attrs

from hetsock.wire.framing import (
    BARE_TEXT_END,
    END_OF_STREAM,
    NEED_DATA,
    EndOfStream,
    FrameReceiver,
    FramingError,
    Message,
    Mode,
    NeedData,
)

#: Replies are larger than requests (a full 271 is a few KiB); this bounds a broken server.
DEFAULT_MAX_REPLY_SIZE = 1024 * 1024

_BLANKS = b"\r\n\t "
_ISA_LENGTH = 106


@attrs.frozen
class ReplyFramingError:
    """The server's bytes cannot be read as replies in this framing."""

    detail: str


ReplyEvent = bytes | NeedData | EndOfStream | ReplyFramingError


@attrs.define
class ReplyReceiver:
    """Replies for one connection in ``mode``: :meth:`receive_data` in, :meth:`next_reply` out."""

    mode: Mode
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE
    _frames: FrameReceiver | None = attrs.field(default=None, init=False)
    _buffer: bytearray = attrs.field(factory=bytearray, init=False, repr=False)
    _eof: bool = attrs.field(default=False, init=False)
    _error: ReplyFramingError | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if self.mode is Mode.WRAPPED:
            self._frames = FrameReceiver(max_message_size=self.max_reply_size)

    @property
    def pending(self) -> bool:
        """Whether part of a reply is held (bytes other than blanks)."""
        if self._frames is not None:
            return self._frames.message_started or self._frames.buffered > 0
        return bool(bytes(self._buffer).strip(_BLANKS))

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the server; ``b""`` when it closed the connection."""
        if self._frames is not None:
            self._frames.receive_data(data)
        elif not data:
            self._eof = True
        else:
            self._buffer += data

    def next_reply(self) -> ReplyEvent:
        """The next whole reply payload, ``NEED_DATA``, ``END_OF_STREAM`` or a :class:`ReplyFramingError`."""
        if self._error is not None:
            return self._error
        if self._frames is not None:
            event = self._frames.next_event()
            if self._frames.mode is Mode.BARE:  # the frame receiver takes either framing; replies must match
                return self._fail("a reply in bare X12 (it starts 'I', not SOH) on a wrapped connection")
            if isinstance(event, Message):
                return event.payload
            if isinstance(event, FramingError):
                return self._fail(f"wrapped reply: {event.detail}")
            return event
        return self._next_bare()

    def _fail(self, detail: str) -> ReplyFramingError:
        self._error = ReplyFramingError(detail)
        self._buffer = bytearray()
        return self._error

    def _next_bare(self) -> ReplyEvent:
        buffer = self._buffer
        start = 0
        while start < len(buffer) and buffer[start] in _BLANKS:
            start += 1
        del buffer[:start]
        if not buffer:
            return END_OF_STREAM if self._eof else NEED_DATA
        head = bytes(buffer[:4])
        if b"HETS".startswith(head[:4]) and not b"ISA".startswith(head[:3]):
            end = buffer.find(BARE_TEXT_END)
            if end >= 0:
                payload = bytes(buffer[:end])
                del buffer[: end + len(BARE_TEXT_END)]
                return payload
            if self._eof and buffer:  # the server closed right after an error text without CR LF
                payload = bytes(buffer)
                buffer.clear()
                return payload
        elif b"ISA".startswith(head[:3]):
            interchange_end = _interchange_end(buffer)
            if interchange_end is not None:
                payload = bytes(buffer[:interchange_end])
                del buffer[:interchange_end]
                return payload
        else:
            # (the first byte in hex only: a reply's bytes may be patient data)
            return self._fail(f"a bare reply starting with byte 0x{head[0]:02x} is neither ISA nor HETS")
        if len(buffer) > self.max_reply_size:
            return self._fail(f"no whole reply in {len(buffer)} bytes")
        if self._eof:
            return self._fail("the connection closed inside a reply")
        return NEED_DATA


def _interchange_end(buffer: bytearray) -> int | None:
    """The end (exclusive) of the bare interchange at the start of ``buffer``, if it is all there."""
    if len(buffer) < _ISA_LENGTH:
        return None
    separator, terminator = buffer[3], buffer[_ISA_LENGTH - 1]
    position = _ISA_LENGTH
    while True:
        while position < len(buffer) and buffer[position] in b"\r\n":
            position += 1
        if buffer[position : position + 3] == b"IEA" and buffer[position + 3 : position + 4] in (
            bytes([separator]),
            bytes([terminator]),
        ):
            end = buffer.find(terminator, position + 3)
            return None if end < 0 else end + 1
        end = buffer.find(terminator, position)
        if end < 0:
            return None
        position = end + 1
