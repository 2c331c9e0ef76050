"""The 270 as a typed, immutable record: what a lookup needs, and nothing that leaks.

Patient fields (names, member ID, birth date, gender, address) are ``repr=False``: no repr,
traceback or log line built from an :class:`Inquiry` shows them. Build one with
:meth:`Inquiry.from_transaction` from a transaction set the validator accepted; it trusts that
validation (a date element is a real date) and raises nothing on such input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from hetsock.x12.isa import IsaHeader, is_digits
from hetsock.x12.segments import Delimiters


def _date(value: str) -> dt.date | None:
    # Validated DT values are eight ASCII digits: CCYYMMDD, which fromisoformat reads (3.11+).
    if len(value) != 8 or not is_digits(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@attrs.frozen
class Trace:
    """A TRN: trace type, number, assigning entity (10 characters) and its additional ID."""

    trace_type: str
    number: str
    originator: str
    additional: str = ""


@attrs.frozen
class ProcedureInquiry:
    """An EQ02 composite: qualifier (``HC`` for HCPCS), code and modifiers."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()


@attrs.frozen
class Party:
    """A 2100A/2100B entity: entity code, type, name (NM103, and for a person NM104 first, NM105
    middle, NM107 suffix) and primary ID (not patient data)."""

    entity_code: str
    entity_type: str
    name: str
    id_qualifier: str
    id: str
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""


@attrs.frozen
class Person:
    """The patient of loop 2100C (or 2100D). Every field is patient data: none is in the repr."""

    last_name: str = attrs.field(repr=False)
    first_name: str = attrs.field(repr=False)
    middle_name: str = attrs.field(repr=False)
    suffix: str = attrs.field(repr=False)
    id_qualifier: str
    member_id: str = attrs.field(repr=False)
    birth_date: dt.date | None = attrs.field(repr=False)
    gender: str = attrs.field(repr=False)
    #: The raw NM1/DMG segments' values as sent, for echoing back in a 271.
    address: tuple[str, ...] = attrs.field(repr=False, default=())


@attrs.frozen
class Inquiry:
    """One accepted 270 (005010X279A1) with the facts a lookup and its reply need."""

    submitter_id: str  #: ISA06, blanks removed
    receiver_id: str  #: ISA08, blanks removed
    sender_qualifier: str
    receiver_qualifier: str
    usage: str  #: ISA15: P production, T test
    interchange_control: str  #: ISA13
    group_sender: str  #: GS02
    group_receiver: str  #: GS03
    group_control: str  #: GS06
    version: str  #: GS08
    transaction_control: str  #: ST02
    reference: str  #: BHT03
    purpose: str  #: BHT02
    created: str  #: BHT04 + BHT05 as sent
    source: Party  #: loop 2100A
    receiver: Party  #: loop 2100B (the provider; ``receiver.id`` is the NPI with ``XX``)
    subscriber: Person  #: loop 2100C
    dependent: Person | None  #: loop 2100D (never under the HETS profile)
    traces: tuple[Trace, ...]  #: 2000C (and 2000D) TRNs in order
    service_dates: tuple[dt.date, dt.date] | None  #: DTP*291 (D8 gives start == end); None: today
    service_types: tuple[str, ...]  #: EQ01 repetitions of every 2110C, in order
    procedures: tuple[ProcedureInquiry, ...]  #: EQ02 composites
    delimiters: Delimiters

    @property
    def npi(self) -> str | None:
        """The 2100B NPI when NM108 is ``XX``."""
        return self.receiver.id if self.receiver.id_qualifier == "XX" else None

    @classmethod
    def from_transaction(cls, header: IsaHeader, gs: list[str], loops: Sequence[tuple[str, list[str]]]) -> Inquiry:
        """Build from an accepted set's segments (element lists, each tagged with its loop ID)
        and its group's GS elements."""
        d = header.delimiters
        st: list[str] = []
        bht: list[str] = ["BHT", "", "", "", "", ""]
        names: dict[str, list[str]] = {}
        addresses: dict[str, list[str]] = {}
        demographics: dict[str, list[str]] = {}
        traces: list[Trace] = []
        service_dates: tuple[dt.date, dt.date] | None = None
        subscriber_dates: tuple[dt.date, dt.date] | None = None
        service_types: list[str] = []
        procedures: list[ProcedureInquiry] = []
        modelled = _MODELLED
        for loop, e in loops:
            sid = e[0]
            if sid not in modelled:  # HL, SE, REF, PRV, ...: skip them before the chain below
                continue
            if sid == "NM1":
                names[loop] = e
            elif sid == "EQ":
                if len(e) > 1 and e[1]:
                    service_types.extend(e[1].split(d.repetition))
                if len(e) > 2 and e[2]:
                    parts = e[2].split(d.component)
                    procedures.append(
                        ProcedureInquiry(
                            parts[0], parts[1] if len(parts) > 1 else "", tuple(p for p in parts[2:6] if p)
                        )
                    )
            elif sid == "TRN":
                traces.append(Trace(e[1], e[2], e[3], e[4] if len(e) > 4 else ""))
            elif sid == "DMG":
                demographics[loop] = e
            elif sid == "DTP":
                if e[1] == "291":
                    dates = _dates(e[2], e[3])
                    if loop in ("2100C", "2100D"):
                        subscriber_dates = subscriber_dates or dates
                    else:
                        service_dates = service_dates or dates
            elif sid == "N3" or sid == "N4":
                addresses.setdefault(loop, []).extend(e[1:])
            elif sid == "ST":
                st = e
            else:  # BHT
                bht = _padded(e, 6)
        isa = header.elements
        # Positional, in field order (once per request: keywords cost a third more here).
        return cls(
            isa[6].rstrip(" "),  # submitter_id
            isa[8].rstrip(" "),  # receiver_id
            isa[5],  # sender_qualifier
            isa[7],  # receiver_qualifier
            isa[15],  # usage
            isa[13],  # interchange_control
            gs[2],  # group_sender
            gs[3],  # group_receiver
            gs[6],  # group_control
            gs[8],  # version
            _at(st, 2),  # transaction_control
            bht[3],  # reference
            bht[2],  # purpose
            bht[4] + bht[5],  # created
            _party(names.get("2100A")),  # source
            _party(names.get("2100B")),  # receiver
            _person(names.get("2100C"), demographics.get("2100C"), addresses.get("2100C")),  # subscriber
            _person(names["2100D"], demographics.get("2100D"), addresses.get("2100D"))  # dependent
            if "2100D" in names
            else None,
            tuple(traces),
            subscriber_dates or service_dates,  # service_dates
            tuple(service_types),
            tuple(procedures),
            d,  # delimiters
        )


#: The segments :meth:`Inquiry.from_transaction` reads.
_MODELLED = frozenset({"NM1", "EQ", "TRN", "DMG", "DTP", "N3", "N4", "ST", "BHT"})


def _at(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def _padded(elements: list[str], length: int) -> list[str]:
    """``elements`` with blanks for the trailing elements left off, up to ``length`` (so a
    builder can index them directly instead of calling :func:`_at` for each)."""
    missing = length - len(elements)
    return elements + [""] * missing if missing > 0 else elements


def _party(nm1: list[str] | None) -> Party:
    if nm1 is None:
        return Party("", "", "", "", "")
    e = _padded(nm1, 10)
    return Party(e[1], e[2], e[3], e[8], e[9], e[4], e[5], e[7])


def _person(nm1: list[str] | None, dmg: list[str] | None, address: list[str] | None) -> Person:
    e = _padded(nm1 or ["NM1"], 10)
    if dmg is None:
        birth_date, gender = None, ""
    else:  # DMG*D8*<date> with no gender is the usual shape: index rather than pad a copy
        n = len(dmg)
        birth_date = _date(dmg[2]) if n > 2 and dmg[1] == "D8" else None
        gender = dmg[3] if n > 3 else ""
    return Person(e[3], e[4], e[5], e[7], e[8], e[9], birth_date, gender, tuple(address or ()))


def _dates(qualifier: str, value: str) -> tuple[dt.date, dt.date] | None:
    if qualifier == "D8":
        day = _date(value)
        return (day, day) if day else None
    if qualifier == "RD8":
        start, _, end = value.partition("-")
        first, last = _date(start), _date(end)
        return (first, last) if first and last else None
    return None
