"""What a server sent back, read into typed values (sans-IO: bytes in, records out).

Theory of operation
-------------------
A reply payload (one message, its framing already removed by ``hetsock.wire.replies``) is one of
five things (HETS-NOTES section 5): a 271 with eligibility and benefits, a 271 rejecting the
inquiry with an AAA, a 999 rejecting the group or transaction set, a TA1 rejecting the envelope,
or the proprietary error text (``HETS`` + fixed fields). :func:`read_reply_untrusted` tells which
from the bytes alone and returns the matching record; anything else is :class:`Unrecognized`,
never an exception (STYLE point 6: any bytes in, a record out).

Interchanges are read in their own delimiters (ISA offsets 3, 82, 104 and 105) with the engine's
tokenizer. What decides the kind: ``TA1`` as the first segment after the ISA; otherwise the first
transaction set's ST01 (``271`` or ``999``); a 271 with any AAA segment is a rejection. Each
record carries the request's identity as the server echoed it, so a client can check a reply
answers the request it sent (:attr:`Reply.correlation`): the TRN02 trace numbers for a 271, AK102
(the request's GS06) for a 999, TA101 (the request's ISA13) for a TA1, the trace ID (the request's
ISA13) for a proprietary error.

:func:`summarize_untrusted` is the cheap path for load generators: kind, AAA codes and the
correlation key, without decoding benefits.

Patient data (names, MBI, birth date, address) is read for the caller but never shown in a repr.
"""

from __future__ import annotations

import enum

import attrs

from hetsock.client.benefits import Coverage, decode_coverage_untrusted
from hetsock.wire.proprietary import parse_error
from hetsock.x12.segments import Delimiters, Segment, split_element, tokenize_untrusted

_ISA_LENGTH = 106
_NOT_DELIMITERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ")


class ReplyKind(enum.StrEnum):
    """What a reply is (the same values as ``hetsock.pipeline.ReplyKind``, plus one for anything else)."""

    #: A 271 with eligibility and benefits.
    ELIGIBILITY = "271"
    #: A 271 rejecting the inquiry with an AAA.
    REJECTION = "271-AAA"
    #: A 999 rejecting the group, transaction set or implementation-guide use.
    ACK_999 = "999"
    #: A TA1 rejecting the interchange envelope.
    TA1 = "TA1"
    #: The HETS proprietary error text.
    PROPRIETARY = "proprietary"
    #: None of the above: not something a HETS-style server answers with.
    UNRECOGNIZED = "unrecognized"


def _size(payload: bytes) -> str:
    return f"<{len(payload)} bytes>"


@attrs.frozen
class Subscriber:
    """The 2100C subscriber as the 271 names them (patient data: no repr)."""

    last_name: str = attrs.field(repr=False, default="")
    first_name: str = attrs.field(repr=False, default="")
    middle_name: str = attrs.field(repr=False, default="")
    suffix: str = attrs.field(repr=False, default="")
    member_id: str = attrs.field(repr=False, default="")  #: the MBI (NM109)
    birth_date: str = attrs.field(repr=False, default="")  #: DMG02, CCYYMMDD
    gender: str = attrs.field(repr=False, default="")
    address: tuple[str, ...] = attrs.field(repr=False, default=())  #: N3 and N4 elements

    @property
    def display_name(self) -> str:
        """``LAST, FIRST M SUFFIX`` (patient data: for the user's own terminal only)."""
        given = " ".join(part for part in (self.first_name, self.middle_name, self.suffix) if part)
        return f"{self.last_name}, {given}" if given else self.last_name


@attrs.frozen
class Aaa:
    """One AAA segment: why a 271 rejects the inquiry, and in which loop."""

    loop: str  #: 2100A (the source, CMS), 2100B (the provider) or 2100C (the subscriber)
    reason: str  #: AAA03, e.g. ``75`` subscriber not found
    follow_up: str  #: AAA04: C correct and resubmit, N do not, R resubmission allowed, Y wait for us
    valid: str = "N"  #: AAA01


@attrs.frozen
class _Common271:
    payload: bytes = attrs.field(repr=_size)
    control_number: str  #: the reply's ISA13
    submitter_id: str  #: the reply's ISA08: who it is for
    reference: str  #: BHT03, echoed from the 270
    traces: tuple[str, ...]  #: TRN02 trace numbers echoed from the 270's TRN segments
    provider_id: str  #: 2100B NM109 (the NPI as sent)
    subscriber: Subscriber = attrs.field(repr=False)

    @property
    def correlation(self) -> str:
        return self.traces[0] if self.traces else ""


@attrs.frozen
class Eligibility(_Common271):
    """A 271 with eligibility and benefits, decoded (:class:`~hetsock.client.benefits.Coverage`)."""

    coverage: Coverage = attrs.field(factory=Coverage)

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.ELIGIBILITY


@attrs.frozen
class Rejection(_Common271):
    """A 271 rejecting the inquiry: its AAA segments, and the allowed inquiry window when given."""

    aaa: tuple[Aaa, ...] = ()
    #: DTP*307: the first and last allowed dates of service (CCYYMMDD), when the 271 gives them.
    window: tuple[str, str] | None = None

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.REJECTION

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(a.reason for a in self.aaa)


@attrs.frozen
class ElementNote:
    """An IK4: an element fault inside the segment of the IK3 before it."""

    position: str  #: IK401 as sent: ``element:component:repetition`` in the reply's component separator
    reference: str  #: IK402, the X12 data element number
    code: str  #: IK403
    bad_value: str = ""  #: IK404 (code values only; the server never echoes names or IDs)


@attrs.frozen
class SegmentNote:
    """An IK3: a segment in error, with its IK4 element faults."""

    segment_id: str
    position: str  #: counting ST as 1
    loop: str
    code: str  #: IK304
    elements: tuple[ElementNote, ...] = ()


@attrs.frozen
class Ack999:
    """A 999 acknowledgment (HETS sends it only to reject)."""

    payload: bytes = attrs.field(repr=_size)
    control_number: str  #: the reply's ISA13
    group_control: str  #: AK102: the rejected request's GS06
    accepted: bool  #: AK901 is ``A``
    group_errors: tuple[str, ...] = ()  #: AK905...
    set_errors: tuple[str, ...] = ()  #: IK502...
    segments: tuple[SegmentNote, ...] = ()
    #: TRN02 values from business-unit CTX segments (``CTX*TRN02:...``), when findings carry them.
    traces: tuple[str, ...] = ()

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.ACK_999

    @property
    def correlation(self) -> str:
        return self.group_control


@attrs.frozen
class Ta1:
    """A TA1 interchange acknowledgment (HETS sends it only to reject)."""

    payload: bytes = attrs.field(repr=_size)
    control_number: str  #: TA101: the rejected request's ISA13
    date: str  #: TA102
    time: str  #: TA103
    acknowledgment: str  #: TA104, ``R`` rejected
    note: str  #: TA105, the note code

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.TA1

    @property
    def correlation(self) -> str:
        return self.control_number


@attrs.frozen
class ProprietaryError:
    """The HETS proprietary error text, read into its fixed fields."""

    payload: bytes = attrs.field(repr=_size)
    trace_id: str  #: the request's ISA13 when the server could read it, else empty
    code: str  #: e.g. ``SBY00502``
    response_code: str  #: ``I`` refused, ``U`` could not be served
    description: str
    date: str = ""
    time: str = ""

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.PROPRIETARY

    @property
    def correlation(self) -> str:
        return self.trace_id


@attrs.frozen
class Unrecognized:
    """Bytes that are none of the replies above (a server that is not HETS-like, or a broken one)."""

    payload: bytes = attrs.field(repr=_size)
    detail: str

    @property
    def kind(self) -> ReplyKind:
        return ReplyKind.UNRECOGNIZED

    @property
    def correlation(self) -> str:
        return ""


#: Any reply, typed.
Reply = Eligibility | Rejection | Ack999 | Ta1 | ProprietaryError | Unrecognized


@attrs.frozen
class Summary:
    """The cheap reading of a reply (:func:`summarize_untrusted`): enough to check it answers a request."""

    kind: ReplyKind
    correlation: str = ""
    aaa_codes: tuple[str, ...] = ()
    #: AAA loops, parallel to ``aaa_codes``.
    aaa_loops: tuple[str, ...] = ()
    detail: str = ""


def delimiters_of(text: str) -> Delimiters | None:
    """The delimiters an interchange's ISA gives, or ``None`` when they cannot be read."""
    if len(text) < _ISA_LENGTH or not text.startswith("ISA"):
        return None
    d = Delimiters(text[3], text[82], text[104], text[105])
    if any(c in _NOT_DELIMITERS for c in (d.element, d.repetition, d.component, d.segment)):
        return None
    if len(d.as_set()) != 4:  # four roles, four characters
        return None
    return d


def _decode(payload: bytes | bytearray) -> str:
    return bytes(payload).decode("latin-1")


def _isa(segments: list[Segment], position: int) -> str:
    return segments[0].get(position).strip() if segments else ""


def summarize_untrusted(payload: bytes) -> Summary:
    """Kind, correlation key and AAA codes of a reply payload. Never raises; linear in its size."""
    text = _decode(payload)
    if text.startswith("HETS"):
        parsed = parse_error(text.rstrip("\r\n"))
        if parsed is None:
            return Summary(ReplyKind.UNRECOGNIZED, detail="text starting HETS without the proprietary error layout")
        return Summary(ReplyKind.PROPRIETARY, parsed.trace_id)
    d = delimiters_of(text.lstrip("\r\n"))
    if d is None:
        return Summary(ReplyKind.UNRECOGNIZED, detail="neither an X12 interchange nor a proprietary error")
    segments = tokenize_untrusted(text.lstrip("\r\n"), d)
    return _summarize_segments(segments)


def _summarize_segments(segments: list[Segment]) -> Summary:
    if len(segments) > 1 and segments[1].id == "TA1":
        return Summary(ReplyKind.TA1, segments[1].get(1))
    set_id = next((s.get(1) for s in segments if s.id == "ST"), "")
    if set_id == "999":
        return Summary(ReplyKind.ACK_999, next((s.get(2) for s in segments if s.id == "AK1"), ""))
    if set_id != "271":
        return Summary(ReplyKind.UNRECOGNIZED, detail=f"an interchange without a 271 or 999 (ST01 {set_id[:6]!r})")
    trace = ""
    codes: list[str] = []
    loops: list[str] = []
    level = ""
    for s in segments:
        sid = s.id
        if sid == "HL":
            level = s.get(3)
        elif sid == "TRN" and not trace:
            trace = s.get(2)
        elif sid == "AAA":
            codes.append(s.get(3))
            loops.append(_LOOP_OF_LEVEL.get(level, ""))
    if codes:
        return Summary(ReplyKind.REJECTION, trace, tuple(codes), tuple(loops))
    return Summary(ReplyKind.ELIGIBILITY, trace)


#: HL03 hierarchical level code -> the 2100 loop an AAA in it belongs to.
_LOOP_OF_LEVEL = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}


def read_reply_untrusted(payload: bytes) -> Reply:
    """The typed reading of one reply payload. Never raises; linear in its size."""
    text = _decode(payload)
    if text.startswith("HETS"):
        parsed = parse_error(text.rstrip("\r\n"))
        if parsed is None:
            return Unrecognized(payload, "text starting HETS without the proprietary error layout")
        return ProprietaryError(
            payload,
            parsed.trace_id,
            parsed.code.strip(),
            parsed.response_code.strip(),
            parsed.description,
            parsed.date,
            parsed.time,
        )
    text = text.lstrip("\r\n")
    d = delimiters_of(text)
    if d is None:
        return Unrecognized(payload, "neither an X12 interchange nor a proprietary error")
    segments = tokenize_untrusted(text, d)
    summary = _summarize_segments(segments)
    if summary.kind is ReplyKind.TA1:
        ta1 = segments[1]
        return Ta1(payload, ta1.get(1), ta1.get(2), ta1.get(3), ta1.get(4), ta1.get(5))
    if summary.kind is ReplyKind.ACK_999:
        return _read_999(payload, segments, d)
    if summary.kind is ReplyKind.UNRECOGNIZED:
        return Unrecognized(payload, summary.detail)
    return _read_271(payload, segments, d)


def _read_999(payload: bytes, segments: list[Segment], d: Delimiters) -> Ack999:
    group_control = ""
    accepted = False
    group_errors: tuple[str, ...] = ()
    set_errors: list[str] = []
    notes: list[SegmentNote] = []
    elements: list[ElementNote] = []
    traces: list[str] = []
    current: SegmentNote | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            notes.append(attrs.evolve(current, elements=tuple(elements)))
            elements.clear()
            current = None

    for s in segments:
        sid = s.id
        if sid == "AK1":
            group_control = s.get(2)
        elif sid == "IK3":
            flush()
            current = SegmentNote(s.get(1), s.get(2), s.get(3), s.get(4))
        elif sid == "IK4" and current is not None:
            elements.append(ElementNote(s.get(1), s.get(2), s.get(3), s.get(4)))
        elif sid == "CTX":
            first = split_element(s.get(1), d)[0]
            if first[0] == "TRN02" and len(first) > 1 and first[1] not in traces:
                traces.append(first[1])
        elif sid == "IK5":
            flush()
            set_errors.extend(code for code in s.elements[2:] if code)
        elif sid == "AK9":
            flush()
            accepted = s.get(1) == "A"
            group_errors = tuple(code for code in s.elements[5:] if code)
    flush()
    return Ack999(
        payload,
        _isa(segments, 13),
        group_control,
        accepted,
        group_errors,
        tuple(set_errors),
        tuple(notes),
        tuple(traces),
    )


def _read_271(payload: bytes, segments: list[Segment], d: Delimiters) -> Eligibility | Rejection:
    level = ""
    reference = ""
    provider_id = ""
    traces: list[str] = []
    aaa: list[Aaa] = []
    window: tuple[str, str] | None = None
    name: Segment | None = None
    birth = ("", "")
    address: list[str] = []
    benefits = False
    for s in segments:
        sid = s.id
        if benefits or sid == "EB":  # the 2110C benefit loops: read by decode_coverage_untrusted,
            benefits = True  # but for an AAA among them (a service type refused, say)
            if sid == "AAA":
                aaa.append(Aaa("2110C", s.get(3), s.get(4), s.get(1)))
            continue
        if sid == "BHT":
            reference = s.get(3)
        elif sid == "HL":
            level = s.get(3)
        elif sid == "NM1" and level == "21":
            provider_id = s.get(9)
        elif level != "22":
            if sid == "AAA":
                aaa.append(Aaa(_LOOP_OF_LEVEL.get(level, ""), s.get(3), s.get(4), s.get(1)))
        elif sid == "TRN":
            traces.append(s.get(2))
        elif sid == "NM1" and s.get(1) == "IL":
            name = s
        elif sid in ("N3", "N4"):
            address.extend(value for value in s.elements[1:] if value)
        elif sid == "DMG":
            birth = (s.get(2), s.get(3))
        elif sid == "AAA":
            aaa.append(Aaa("2100C", s.get(3), s.get(4), s.get(1)))
        elif sid == "DTP" and s.get(1) == "307" and s.get(2) == "RD8":
            start, _, end = s.get(3).partition("-")
            window = (start, end)
    subscriber = Subscriber()
    if name is not None:
        subscriber = Subscriber(
            name.get(3), name.get(4), name.get(5), name.get(7), name.get(9), birth[0], birth[1], tuple(address)
        )
    control, submitter = _isa(segments, 13), _isa(segments, 8)
    if aaa:
        return Rejection(
            payload, control, submitter, reference, tuple(traces), provider_id, subscriber, tuple(aaa), window
        )
    coverage = decode_coverage_untrusted(segments, d)
    return Eligibility(payload, control, submitter, reference, tuple(traces), provider_id, subscriber, coverage)
