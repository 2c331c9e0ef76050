"""The HETS proprietary error text (HETS-NOTES section 5) and our error codes.

Layout, one line, fixed positions (1-based):

====== ====== =========================================================================
1-4    4      ``HETS``
5-34   30     trace ID, right-justified: the request's ISA13 when known, else blanks
35-42  8      date CCYYMMDD
43-51  9      time HHMMSS plus milliseconds
52-53  2      response code: `` I`` the request was refused, `` U`` the system could not serve it
54-61  8      error code (:class:`ErrorCode`)
62-    varies ``" - "`` and the description
====== ====== =========================================================================

Only ``SBY00502`` is public; the rest are ours, numbered after it, and listed in README.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs


class ErrorCode(enum.Enum):
    """Proprietary error codes: (code, response code, description)."""

    #: Unknown or suspended submitter, an originating address or usage (P/T) it may not use.
    AUTHORIZATION = ("SBY00502", " I", "Authorization for this transaction cannot be validated")
    #: The payload is not an X12 interchange.
    NOT_AN_INTERCHANGE = ("SBY00503", " I", "The request is not an X12 270 interchange")
    #: The message is larger than the configured maximum.
    MESSAGE_TOO_LARGE = ("SBY00504", " I", "The request exceeds the maximum message size")
    #: The framing is broken: the HETS wrapper (no STX, a non-digit length, no ETX where the length
    #: says), a bare interchange whose ISA cannot be read, or a first byte that starts neither.
    FRAMING = ("SBY00505", " I", "The message framing is invalid; the connection will be closed")
    #: A maintenance window: the system is unavailable.
    UNAVAILABLE = ("SBY00506", " U", "The HETS 270/271 system is unavailable for maintenance")
    #: Too busy to take the request now.
    OVERLOADED = ("SBY00507", " U", "The system is busy; resubmit the request later")
    #: An internal error while answering.
    INTERNAL = ("SBY00508", " U", "An internal error occurred; resubmit the request")
    #: Too many connections (in total, from the address, or for the submitter).
    CONNECTION_LIMIT = ("SBY00509", " I", "The connection limit has been reached; the connection will be closed")
    #: The eligibility database cannot be reached and no 271 could be built.
    STORE_UNAVAILABLE = ("SBY00510", " U", "Eligibility information is temporarily unavailable")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def response_code(self) -> str:
        return self.value[1]

    @property
    def description(self) -> str:
        return self.value[2]


@attrs.frozen
class ProprietaryError:
    """A rendered-to-be error: code, trace ID and time."""

    code: ErrorCode
    trace_id: str = ""
    when: dt.datetime = attrs.field(factory=lambda: dt.datetime(1970, 1, 1))

    def render(self) -> str:
        """The fixed-layout text."""
        trace = "".join(c for c in self.trace_id if c.isascii() and c.isprintable())[-30:]
        when = self.when
        stamp = when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"
        return f"HETS{trace:>30}{stamp}{self.code.response_code}{self.code.code} - {self.code.description}"

    def render_bytes(self) -> bytes:
        return self.render().encode("ascii")


def render_error(code: ErrorCode, *, trace_id: str = "", now: dt.datetime) -> bytes:
    """The proprietary error text for ``code`` as bytes."""
    return ProprietaryError(code, trace_id, now).render_bytes()


@attrs.frozen
class ParsedError:
    """A proprietary error read back (for clients)."""

    trace_id: str
    date: str
    time: str
    response_code: str
    code: str
    description: str


def parse_error(text: str) -> ParsedError | None:
    """Read a proprietary error text; ``None`` when ``text`` does not have the layout."""
    if len(text) < 61 or not text.startswith("HETS"):
        return None
    description = text[61:]
    if description.startswith(" - "):
        description = description[3:]
    return ParsedError(text[4:34].strip(), text[34:42], text[42:51], text[51:53], text[53:61], description)
