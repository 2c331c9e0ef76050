"""The interchange envelope: ISA ... IEA around GS ... GE groups around ST ... SE sets.

Theory of operation
-------------------
``read_interchange_untrusted`` takes the bytes of one interchange. Bytes that do not begin with
``ISA`` (after leading line breaks and blanks) are not an interchange at all and raise
:class:`NotAnInterchangeError`; HETS answers those with its proprietary error, not a TA1. Everything
else either yields an :class:`Interchange` or raises :class:`EnvelopeError` carrying the TA1
note. The checks, in order: the ISA (``isa.py``); an IEA as the last segment (023 when there is
none or it lacks its terminator, 024 when anything follows it); IEA02 equal to ISA13 (001);
IEA01 equal to the number of groups (021); then the group structure, whose faults are 024:
every segment between ISA and IEA belongs to a GS ... GE group, the GS is well formed (eight
elements, GS04 a real date, GS05 a time, GS06 one to nine digits, GS07 ``X``), every group
holds at least one ST ... SE set and nothing between them (under both profiles: an empty
group has nothing a 999 could acknowledge), and under the HETS profile there is exactly one
group with GS02 = ISA06 and GS03 = ISA08. Faults the 999
reports (GS01, GS08, the GE, the SE) are left to ``validate.py``.

Bytes are decoded as Latin-1, which maps every byte to one character, so decoding never fails
and positions in the text are positions in the bytes.
"""

from __future__ import annotations

import attrs

from hetsock.x12.codes import Ta1Note
from hetsock.x12.dates import is_real_date, is_valid_time
from hetsock.x12.fastpath import is_clean_text
from hetsock.x12.isa import ISA_LENGTH, EnvelopeError, IsaHeader, is_digits, read_isa_untrusted
from hetsock.x12.rules import Rules
from hetsock.x12.segments import Segment, tokenize_untrusted

_LEADING_BLANKS = "\r\n\t "


class NotAnInterchangeError(Exception):
    """The bytes are not an X12 interchange at all (they do not start with ``ISA``)."""


@attrs.frozen
class TransactionSet:
    """One ST ... SE: its segments in order, SE included when present."""

    segments: list[Segment] = attrs.field(eq=False)
    has_trailer: bool


@attrs.frozen
class Group:
    """One GS ... GE functional group."""

    gs: Segment = attrs.field(eq=False)
    ge: Segment | None = attrs.field(eq=False)
    transaction_sets: tuple[TransactionSet, ...]


@attrs.frozen
class Interchange:
    """A structurally sound interchange: header, groups and trailer."""

    header: IsaHeader
    groups: tuple[Group, ...]
    iea: Segment = attrs.field(eq=False)
    #: Whether the text holds only X12 characters, its delimiters and line breaks between
    #: segments (checked once here so the validator need not check each element's characters).
    clean_text: bool = False


def decode(data: bytes | str) -> str:
    """Interchange text from bytes: Latin-1, so every byte is one character."""
    return data if isinstance(data, str) else data.decode("latin-1")


def read_interchange_untrusted(data: bytes | str, rules: Rules) -> Interchange:
    """Read one interchange and check its envelope.

    Returns the interchange; raises only :class:`NotAnInterchangeError` or :class:`EnvelopeError`.
    """
    text = decode(data).lstrip(_LEADING_BLANKS)
    if not text.startswith("ISA"):
        raise NotAnInterchangeError("the data does not start with an ISA segment")
    header = read_isa_untrusted(text, rules)
    segments = tokenize_untrusted(text[ISA_LENGTH:], header.delimiters, first_ordinal=1)

    def fail(note: Ta1Note, detail: str) -> EnvelopeError:
        return EnvelopeError(note, detail, header)

    iea_count = sum(1 for s in segments if s.elements[0] == "IEA")
    if not segments or segments[-1].elements[0] != "IEA":
        if iea_count:
            raise fail(Ta1Note.INVALID_CONTENT, "data follows the IEA segment")
        raise fail(Ta1Note.PREMATURE_END, "the interchange has no IEA segment")
    iea = segments[-1]
    body = segments[:-1]
    if iea_count > 1:
        raise fail(Ta1Note.INVALID_CONTENT, "data follows the IEA segment")
    terminator = header.delimiters.segment
    if not text.rstrip("\r\n".replace(terminator, "")).endswith(terminator):
        raise fail(Ta1Note.PREMATURE_END, "the IEA segment has no terminator (truncated)")
    if len(iea.elements) != 3:
        raise fail(Ta1Note.INVALID_CONTENT, "the IEA segment must have two elements")
    if iea.get(2) != header.control_number:
        raise fail(Ta1Note.CONTROL_NUMBER_MISMATCH, "IEA02 does not match ISA13")
    groups = _split_groups(body, header, rules)
    count = iea.get(1)
    if not is_digits(count) or len(count) > 5 or int(count) != len(groups):
        raise fail(Ta1Note.INVALID_NUMBER_OF_GROUPS, "IEA01 is not the number of groups")
    if rules.single_inquiry and len(groups) != 1:
        raise fail(Ta1Note.INVALID_CONTENT, "HETS takes exactly one functional group")
    # A group holds at least one transaction set (GE01 has minimum 1), under both profiles: an
    # empty one is not a group structure, and there is no set for a 999 to acknowledge.
    if any(not group.transaction_sets for group in groups):
        raise fail(Ta1Note.INVALID_CONTENT, "a functional group holds no transaction set")
    return Interchange(header, groups, iea, clean_text=is_clean_text(text, header.delimiters))


def _split_groups(body: list[Segment], header: IsaHeader, rules: Rules) -> tuple[Group, ...]:
    groups: list[Group] = []
    index = 0
    if rules.ta1_before_groups:
        # X12 lets TA1 segments stand between ISA and the first GS (an acknowledgment of an
        # interchange); the plain X12 profile reads past them. HETS takes none.
        while index < len(body) and body[index].elements[0] == "TA1":
            index += 1
    while index < len(body):
        gs = body[index]
        if gs.elements[0] != "GS":
            raise EnvelopeError(Ta1Note.INVALID_CONTENT, "a segment stands outside any functional group", header)
        _check_gs(gs, header, rules)
        end = index + 1
        while end < len(body) and body[end].elements[0] not in ("GE", "GS"):
            end += 1
        ge = body[end] if end < len(body) and body[end].elements[0] == "GE" else None
        sets = _split_transaction_sets(body[index + 1 : end], header)
        groups.append(Group(gs, ge, sets))
        index = end + 1 if ge is not None else end
    return tuple(groups)


def _split_transaction_sets(content: list[Segment], header: IsaHeader) -> tuple[TransactionSet, ...]:
    sets: list[TransactionSet] = []
    current: list[Segment] | None = None
    for segment in content:
        segment_id = segment.elements[0]
        if segment_id == "ST":
            if current is not None:
                sets.append(TransactionSet(current, has_trailer=False))
            current = [segment]
        elif current is None:
            raise EnvelopeError(Ta1Note.INVALID_CONTENT, "a segment stands outside any transaction set", header)
        else:
            current.append(segment)
            if segment_id == "SE":
                sets.append(TransactionSet(current, has_trailer=True))
                current = None
    if current is not None:
        sets.append(TransactionSet(current, has_trailer=False))
    return tuple(sets)


def _check_gs(gs: Segment, header: IsaHeader, rules: Rules) -> None:
    def bad(detail: str) -> EnvelopeError:
        return EnvelopeError(Ta1Note.INVALID_CONTENT, f"invalid GS segment: {detail}", header)

    e = gs.elements
    if len(e) != 9:
        raise bad("it must have eight elements")
    if len(e[1]) != 2 or not (e[1].isascii() and e[1].isalnum() and e[1].isupper()):
        raise bad("GS01 is not a functional identifier code")
    for position in (2, 3):
        if not 2 <= len(e[position]) <= 15 or not e[position].isprintable():
            raise bad(f"GS0{position} is not 2 to 15 characters")
    if not is_real_date(e[4]):
        raise bad("GS04 is not a real date CCYYMMDD")
    if not is_valid_time(e[5]):
        raise bad("GS05 is not a real time")
    if not (1 <= len(e[6]) <= 9 and is_digits(e[6])):
        raise bad("GS06 is not one to nine digits")
    if e[7] != "X":
        raise bad("GS07 is not X")
    if not 1 <= len(e[8]) <= 12 or not e[8].isprintable():
        raise bad("GS08 is not 1 to 12 characters")
    if rules.group_ids_match_interchange:
        if e[2] != header.sender_id:
            raise bad("GS02 does not match ISA06")
        if e[3] != header.receiver_id:
            raise bad("GS03 does not match ISA08")
