"""Reading the ISA header: delimiters, fixed-width elements, and the TA1 note for each fault.

Theory of operation
-------------------
The ISA is exactly 106 characters: ``ISA``, the element separator (offset 3), sixteen
fixed-width elements, and the segment terminator (offset 105). ISA11 (offset 82) is the
repetition separator and ISA16 (offset 104) the component separator. Nothing else in the
interchange can be read until these are known, so faults here decide the TA1 note (TA105) in
this order: too short (023), element separator (026), an element of the wrong width (the note
for that element), ISA12 (017 not a version, 003 a version we do not support, so a 4010
interchange, whose ISA11 is the standards identifier ``U``, gets 003), the other delimiters
(016 ISA11, 027 ISA16, 004 terminator), then each element's value in ISA order.

A delimiter must be one character that is not a letter, digit or space, and the four roles must
use four different characters. CR and LF may serve as the segment terminator only.
"""

from __future__ import annotations

import datetime as dt

import attrs

from hetsock.x12.codes import Ta1Note
from hetsock.x12.rules import Rules
from hetsock.x12.segments import Delimiters, Segment

ISA_LENGTH = 106

#: (width, TA1 note when the element is malformed) for ISA01..ISA16.
_ISA_FIELDS: tuple[tuple[int, Ta1Note], ...] = (
    (2, Ta1Note.INVALID_AUTHORIZATION_QUALIFIER),
    (10, Ta1Note.INVALID_AUTHORIZATION_VALUE),
    (2, Ta1Note.INVALID_SECURITY_QUALIFIER),
    (10, Ta1Note.INVALID_SECURITY_VALUE),
    (2, Ta1Note.INVALID_SENDER_QUALIFIER),
    (15, Ta1Note.INVALID_SENDER_ID),
    (2, Ta1Note.INVALID_RECEIVER_QUALIFIER),
    (15, Ta1Note.INVALID_RECEIVER_ID),
    (6, Ta1Note.INVALID_DATE),
    (4, Ta1Note.INVALID_TIME),
    (1, Ta1Note.INVALID_STANDARDS_IDENTIFIER),
    (5, Ta1Note.INVALID_VERSION_ID),
    (9, Ta1Note.INVALID_CONTROL_NUMBER),
    (1, Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED),
    (1, Ta1Note.INVALID_TEST_INDICATOR),
    (1, Ta1Note.INVALID_COMPONENT_SEPARATOR),
)

_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))


class EnvelopeError(Exception):
    """An interchange envelope fault. Carries the TA1 note code its reply must give.

    ``header`` is whatever of the ISA could be read, for the TA1's TA101-TA103 and its
    envelope; it is ``None`` when the ISA itself could not be read.
    """

    def __init__(self, note: Ta1Note, detail: str, header: IsaHeader | None = None) -> None:
        super().__init__(f"TA1 {note.value}: {detail}")
        self.note = note
        self.detail = detail
        self.header = header


@attrs.frozen
class IsaHeader:
    """The ISA's elements, fixed widths kept (``sender_id`` keeps its trailing blanks)."""

    elements: tuple[str, ...] = attrs.field(repr=False)  # ISA01..ISA16 at indices 1..16
    delimiters: Delimiters

    def __getitem__(self, position: int) -> str:
        return self.elements[position]

    @property
    def sender_qualifier(self) -> str:
        return self.elements[5]

    @property
    def sender_id(self) -> str:
        return self.elements[6].rstrip(" ")

    @property
    def receiver_qualifier(self) -> str:
        return self.elements[7]

    @property
    def receiver_id(self) -> str:
        return self.elements[8].rstrip(" ")

    @property
    def control_number(self) -> str:
        return self.elements[13]

    @property
    def usage(self) -> str:
        return self.elements[15]

    def segment(self) -> Segment:
        return Segment(0, list(self.elements))


#: Lengths of the 17 pieces of a well-formed ISA split on its element separator (the last
#: piece is ISA16 and the segment terminator).
_GOOD_SHAPE = (3, *(width for width, _ in _ISA_FIELDS[:15]), 2)


def _elements_or_fault(text: str, parts: list[str]) -> list[str]:
    """The slow path: find which element of a misshapen ISA is at fault."""
    elements = ["ISA"]
    for index, (width, note) in enumerate(_ISA_FIELDS, start=1):
        value = parts[index] if index < len(parts) else None
        if index == 16 and value is not None:
            value = value[:1]
        if value is None or len(value) != width:
            if len(text) < ISA_LENGTH:
                raise EnvelopeError(Ta1Note.PREMATURE_END, "the interchange ends inside the ISA")
            raise EnvelopeError(note, f"ISA{index:02d} is not {width} characters")
        elements.append(value)
    if len(text) < ISA_LENGTH:
        raise EnvelopeError(Ta1Note.PREMATURE_END, "the ISA has no segment terminator")
    # Every width is right, so the one shape left is a terminator equal to the element
    # separator (an 18th piece): a delimiter fault (004), judged after ISA12 like the others.
    return elements


def is_delimiter_character(char: str, *, terminator: bool = False) -> bool:
    """Whether ``char`` may serve as a delimiter."""
    if len(char) != 1 or char.isalnum() or char == " ":
        return False
    if char in "\r\n":
        return terminator
    return char.isascii()


def is_digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts superscripts and other scripts)."""
    return value.isascii() and value.isdigit()


def is_yymmdd(value: str) -> bool:
    """ISA09: a real date YYMMDD."""
    if len(value) != 6 or not is_digits(value):
        return False
    try:
        dt.date.fromisoformat("20" + value)  # CCYYMMDD, as in dates.is_real_date
    except ValueError:
        return False
    return True


def is_hhmm(value: str) -> bool:
    """ISA10: a real time HHMM."""
    return len(value) == 4 and is_digits(value) and int(value[:2]) < 24 and int(value[2:]) < 60


def _is_text(value: str) -> bool:
    return all(c in _PRINTABLE_ASCII for c in value)


def read_isa_untrusted(text: str, rules: Rules) -> IsaHeader:
    """Read and check the ISA at the start of ``text``.

    Takes text that starts with ``ISA``. Returns the header; raises only :class:`EnvelopeError`.
    """
    if len(text) < 4:
        raise EnvelopeError(Ta1Note.PREMATURE_END, "the interchange ends inside the ISA")
    separator = text[3]
    if not is_delimiter_character(separator):
        raise EnvelopeError(Ta1Note.INVALID_ELEMENT_SEPARATOR, "ISA element separator is invalid")
    parts = text[:ISA_LENGTH].split(separator)
    if len(parts) == 17 and len(text) >= ISA_LENGTH and tuple(map(len, parts)) == _GOOD_SHAPE:
        elements = parts[:16]
        elements.append(parts[16][0])
    else:
        elements = _elements_or_fault(text, parts)
    partial = IsaHeader(tuple(elements), Delimiters(separator, "^", "|", "~"))
    version = elements[12]
    if not is_digits(version):
        raise EnvelopeError(Ta1Note.INVALID_VERSION_ID, "ISA12 is not a version", partial)
    if version != "00501":
        raise EnvelopeError(Ta1Note.VERSION_NOT_SUPPORTED, "ISA12 is not 00501", partial)

    repetition, component, terminator = elements[11], elements[16], text[ISA_LENGTH - 1]
    if not is_delimiter_character(repetition) or repetition == separator:
        raise EnvelopeError(Ta1Note.INVALID_STANDARDS_IDENTIFIER, "ISA11 repetition separator is invalid", partial)
    if not is_delimiter_character(component) or component in (separator, repetition):
        raise EnvelopeError(Ta1Note.INVALID_COMPONENT_SEPARATOR, "ISA16 component separator is invalid", partial)
    if not is_delimiter_character(terminator, terminator=True) or terminator in (
        separator,
        repetition,
        component,
    ):
        raise EnvelopeError(Ta1Note.INVALID_SEGMENT_TERMINATOR, "the segment terminator is invalid", partial)
    header = IsaHeader(tuple(elements), Delimiters(separator, repetition, component, terminator))
    _check_isa_values(header, rules)
    return header


def _check_isa_values(header: IsaHeader, rules: Rules) -> None:
    e = header.elements
    check_each = not _PRINTABLE_ASCII.issuperset("".join(e[1:16]))

    def fail(note: Ta1Note, detail: str) -> EnvelopeError:
        return EnvelopeError(note, detail, header)

    for index in range(1, 16 if check_each else 1):
        if not _is_text(e[index]):
            raise fail(_ISA_FIELDS[index - 1][1], f"ISA{index:02d} holds an invalid character")
    allowed_auth = ("00", "03") if rules.allow_credentials else ("00",)
    if e[1] not in allowed_auth:
        raise fail(Ta1Note.INVALID_AUTHORIZATION_QUALIFIER, "ISA01 must be 00 (no credentials)")
    if e[1] == "00" and e[2].strip(" "):
        raise fail(Ta1Note.INVALID_AUTHORIZATION_VALUE, "ISA02 must be blank")
    allowed_security = ("00", "01") if rules.allow_credentials else ("00",)
    if e[3] not in allowed_security:
        raise fail(Ta1Note.INVALID_SECURITY_QUALIFIER, "ISA03 must be 00 (no credentials)")
    if e[3] == "00" and e[4].strip(" "):
        raise fail(Ta1Note.INVALID_SECURITY_VALUE, "ISA04 must be blank")
    if e[5] not in rules.id_qualifiers:
        raise fail(Ta1Note.INVALID_SENDER_QUALIFIER, "ISA05 is not an accepted qualifier")
    # ISA06 and ISA08 are echoed (swapped) in every reply's ISA: a delimiter in either, which
    # their fixed width lets through, is not data (X12 keeps delimiters out of data).
    d = header.delimiters
    delimiters = (d.repetition, d.component, d.segment)
    if not e[6].strip(" ") or e[6][0] == " " or any(c in e[6] for c in delimiters):
        raise fail(Ta1Note.INVALID_SENDER_ID, "ISA06 is blank, starts with a blank or holds a delimiter")
    if e[7] not in rules.id_qualifiers:
        raise fail(Ta1Note.INVALID_RECEIVER_QUALIFIER, "ISA07 is not an accepted qualifier")
    receiver = e[8].rstrip(" ")
    if not receiver or e[8][0] == " " or any(c in e[8] for c in delimiters):
        raise fail(Ta1Note.INVALID_RECEIVER_ID, "ISA08 is blank, starts with a blank or holds a delimiter")
    if rules.receiver_ids is not None and receiver not in rules.receiver_ids:
        raise fail(Ta1Note.UNKNOWN_RECEIVER_ID, "ISA08 is not this system's receiver ID")
    if not is_yymmdd(e[9]):
        raise fail(Ta1Note.INVALID_DATE, "ISA09 is not a real date YYMMDD")
    if not is_hhmm(e[10]):
        raise fail(Ta1Note.INVALID_TIME, "ISA10 is not a real time HHMM")
    if not is_digits(e[13]):
        raise fail(Ta1Note.INVALID_CONTROL_NUMBER, "ISA13 is not nine digits")
    if e[14] not in ("0", "1"):
        raise fail(Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED, "ISA14 must be 0 or 1")
    if e[15] not in ("P", "T"):
        raise fail(Ta1Note.INVALID_TEST_INDICATOR, "ISA15 must be P or T")


@attrs.frozen
class EnvelopeGlance:
    """What can be read of an interchange's ISA without judging it: ISA06 and ISA13, blanks
    removed, and ISA15 (``P`` or ``T``)."""

    sender_id: str = ""
    control_number: str = ""
    usage: str = ""


_NO_GLANCE = EnvelopeGlance()


def glance_untrusted(data: bytes) -> EnvelopeGlance:
    """ISA06 (the submitter), ISA13 (the trace ID for errors) and ISA15 of ``data``, read from the
    fixed ISA layout; empty strings where they cannot be read. Never raises; looks at 106 bytes at most."""
    start = 0
    while start < len(data) and data[start] in b"\r\n\t ":
        start += 1
    isa = data[start : start + ISA_LENGTH]
    if len(isa) < ISA_LENGTH or not isa.startswith(b"ISA"):
        return _NO_GLANCE
    elements = isa.split(isa[3:4])
    if len(elements) < 17:
        return _NO_GLANCE
    sender = elements[6].decode("latin-1").strip()
    control = elements[13].decode("latin-1")
    usage = elements[15].decode("latin-1")
    return EnvelopeGlance(
        sender if sender.isascii() and sender.isalnum() else "",
        control if len(control) == 9 and control.isdigit() else "",
        usage if usage in ("P", "T") else "",
    )
