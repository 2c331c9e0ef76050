"""Writing outbound interchanges: fixed-width ISA, computed counts, caller-given control numbers.

Every value is checked before it is written: an element separator or segment terminator inside
a value would change the structure, and raises ``ValueError``. Values echoed from a request go
through :func:`echo` first, which replaces anything unsafe. Counts (SE01, GE01, IEA01) are computed, never passed in.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import NamedTuple

import attrs

from hetsock.x12.dates import ccyymmdd, hhmmss
from hetsock.x12.segments import X12_CHARACTERS, Delimiters


@attrs.frozen
class Party:
    """An interchange sender or receiver: ISA05/ISA07 qualifier and ISA06/ISA08 ID."""

    qualifier: str
    id: str


class ControlNumbers(NamedTuple):
    """Control numbers for a reply, chosen by the caller (ISA13, GS06, ST02). A named tuple: one
    is made per request."""

    interchange: int
    group: int = 1
    transaction: int = 1

    @property
    def transaction_text(self) -> str:
        return f"{self.transaction:04d}"


@attrs.frozen
class OutboundSet:
    """A transaction set to write: ST01, ST03 and the segments between ST and SE."""

    set_id: str
    convention: str
    body: Sequence[Sequence[str]]


@attrs.frozen
class OutboundGroup:
    """A functional group to write (one GS ... GE)."""

    functional_id: str
    sender_code: str
    receiver_code: str
    version: str
    transaction_sets: Sequence[OutboundSet]


#: Stand-ins for a character that cannot be echoed, in order of preference; the first that is
#: not one of the reply's four delimiters is used, so one of these five is always free.
_SUBSTITUTES = "?.-_@"


@functools.lru_cache(maxsize=64)
def substitute_character(delimiters: Delimiters) -> str:
    """The character :func:`echo` writes for an unsafe one: ``?``, or when ``?`` is one of
    ``delimiters``, the first of ``. - _ @`` that is not (an X12 character, never a delimiter)."""
    forbidden = delimiters.as_set()
    return next(c for c in _SUBSTITUTES if c not in forbidden)


def echo(value: str, delimiters: Delimiters, fallback: str = "") -> str:
    """``value`` made safe to write: each character outside the X12 set or among ``delimiters``
    becomes :func:`substitute_character` (``?`` unless ``?`` is a delimiter), so the result never
    holds a delimiter; blank gives ``fallback``."""
    forbidden = delimiters.as_set()
    if X12_CHARACTERS.issuperset(value) and forbidden.isdisjoint(value):
        cleaned = value
    else:
        substitute = substitute_character(delimiters)
        cleaned = "".join(c if c in X12_CHARACTERS and c not in forbidden else substitute for c in value)
    return cleaned if cleaned.strip() else fallback


def _check_values(text: str, segments: Sequence[Sequence[str]], delimiters: Delimiters) -> None:
    # Composites legitimately hold the component (and repetition) separator; an element
    # separator or terminator inside a value would change the structure, and shows as more of
    # them in the text than the segments account for (two counts, not a scan per value).
    separators = sum(map(len, segments)) - len(segments)
    if text.count(delimiters.segment) != len(segments) or text.count(delimiters.element) != separators:
        culprit = next(
            (s[0] for s in segments if any(delimiters.element in v or delimiters.segment in v for v in s[1:])), "?"
        )
        raise ValueError(f"a value in {culprit} contains a delimiter")


def _isa(  # the 17 ISA elements (ID first), fixed widths applied
    sender: tuple[str, str],
    receiver: tuple[str, str],
    usage: str,
    date: str,
    time: str,
    control: int,
    delimiters: Delimiters,
    ack_requested: str = "0",
) -> list[str]:
    return [
        "ISA",
        "00",
        _BLANK_10,
        "00",
        _BLANK_10,
        sender[0],
        sender[1].ljust(15)[:15],
        receiver[0],
        receiver[1].ljust(15)[:15],
        date[2:],
        time[:4],
        delimiters.repetition,
        "00501",
        f"{control:09d}",
        ack_requested,
        usage,
        delimiters.component,
    ]


_BLANK_10 = " " * 10


def render_interchange(
    *,
    sender: Party,
    receiver: Party,
    usage: str,
    now: dt.datetime,
    control: ControlNumbers,
    delimiters: Delimiters,
    groups: Sequence[OutboundGroup] = (),
    interchange_segments: Sequence[Sequence[str]] = (),
) -> str:
    """An interchange as text: ISA, any interchange-level segments (TA1), the groups, IEA."""
    date, time = ccyymmdd(now), hhmmss(now)  # once for the ISA and every GS
    segments: list[Sequence[str]] = [
        _isa(
            (sender.qualifier, sender.id),
            (receiver.qualifier, receiver.id),
            usage,
            date,
            time,
            control.interchange,
            delimiters,
        ),
        *interchange_segments,
    ]
    for group_offset, group in enumerate(groups):
        group_control = str(control.group + group_offset)
        segments.append(
            [
                "GS",
                group.functional_id,
                group.sender_code,
                group.receiver_code,
                date,
                time,
                group_control,
                "X",
                group.version,
            ]
        )
        for set_offset, ts in enumerate(group.transaction_sets):
            set_control = f"{control.transaction + set_offset:04d}"
            segments.append(["ST", ts.set_id, set_control, ts.convention])
            segments.extend(ts.body)
            segments.append(["SE", str(len(ts.body) + 2), set_control])
        segments.append(["GE", str(len(group.transaction_sets)), group_control])
    segments.append(["IEA", str(len(groups)), f"{control.interchange:09d}"])
    return _joined(segments, delimiters)


def render_one_set(
    *,
    sender: tuple[str, str],
    receiver: tuple[str, str],
    usage: str,
    stamp: tuple[str, str],
    control: ControlNumbers,
    delimiters: Delimiters,
    group: tuple[str, str, str, str],
    set_id: str,
    body: Sequence[Sequence[str]],
) -> str:
    """An interchange of one group of one transaction set: what :func:`render_interchange` writes
    for one :class:`OutboundGroup` of one :class:`OutboundSet`, the same text, without building
    those records (it runs for every 271). ``sender`` and ``receiver`` are (ISA05/07 qualifier,
    ISA06/08 ID); ``stamp`` is the (CCYYMMDD, HHMMSS) of the ISA and GS; ``group`` is (GS01,
    GS02, GS03, GS08), GS08 also serving as ST03."""
    date, time = stamp
    functional_id, sender_code, receiver_code, version = group
    group_control = str(control.group)
    set_control = f"{control.transaction:04d}"
    segments: list[Sequence[str]] = [
        _isa(sender, receiver, usage, date, time, control.interchange, delimiters),
        ("GS", functional_id, sender_code, receiver_code, date, time, group_control, "X", version),
        ("ST", set_id, set_control, version),
    ]
    segments += body
    segments += (
        ("SE", str(len(body) + 2), set_control),
        ("GE", "1", group_control),
        ("IEA", "1", f"{control.interchange:09d}"),
    )
    return _joined(segments, delimiters)


def _joined(segments: list[Sequence[str]], delimiters: Delimiters) -> str:
    terminator = delimiters.segment
    text = terminator.join(map(delimiters.element.join, segments)) + terminator
    _check_values(text, segments, delimiters)
    return text
