"""Composing a 270 from plain arguments, so nobody hand-writes X12.

``build_270`` writes a HETS-style 005010X279A1 inquiry: 2100A CMS, 2100B the provider's NPI,
2000C one TRN, 2100C the subscriber by MBI with last and first name, DMG when a birth date is
given, DTP*291 when a date (or range) of service is given, and one EQ with the service types
(repetitions) plus one EQ per HCPCS procedure. Control numbers are the caller's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from hetsock.x12.segments import DEFAULT_DELIMITERS, Delimiters
from hetsock.x12.writer import ControlNumbers, OutboundGroup, OutboundSet, Party, render_interchange


@attrs.frozen
class InquiryRequest:
    """What a person asks: who, about whom, for what. Patient fields stay out of the repr."""

    mbi: str = attrs.field(repr=False)
    last_name: str = attrs.field(repr=False)
    npi: str
    first_name: str = attrs.field(repr=False, default="")
    birth_date: dt.date | None = attrs.field(repr=False, default=None)
    submitter_id: str = "DEMO0001"
    receiver_id: str = "CMS"
    provider_name: str = "PROVIDER"
    service_types: Sequence[str] = ("30",)
    procedures: Sequence[str] = ()
    service_dates: tuple[dt.date, dt.date] | None = None
    usage: str = "P"
    trace_number: str = "1"
    trace_originator: str = "9HETSOCK01"
    reference: str = "HETSOCK"


def build_270(
    request: InquiryRequest,
    *,
    now: dt.datetime,
    control: ControlNumbers,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
) -> str:
    """The 270 interchange text for ``request``."""
    d = delimiters
    body: list[list[str]] = [
        ["BHT", "0022", "13", request.reference, now.strftime("%Y%m%d"), now.strftime("%H%M%S")],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", "CMS", "", "", "", "", "PI", "CMS"],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", request.provider_name, "", "", "", "", "XX", request.npi],
        ["HL", "3", "2", "22", "0"],
        ["TRN", "1", request.trace_number, request.trace_originator],
        _trim(["NM1", "IL", "1", request.last_name, request.first_name, "", "", "", "MI", request.mbi]),
    ]
    if request.birth_date is not None:
        body.append(["DMG", "D8", request.birth_date.strftime("%Y%m%d")])
    if request.service_dates is not None:
        start, end = request.service_dates
        if start == end:
            body.append(["DTP", "291", "D8", start.strftime("%Y%m%d")])
        else:
            body.append(["DTP", "291", "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"])
    if request.service_types:
        body.append(["EQ", d.repetition.join(request.service_types)])
    for code in request.procedures:
        body.append(["EQ", "", f"HC{d.component}{code}"])
    group = OutboundGroup(
        "HS", request.submitter_id, request.receiver_id, "005010X279A1", [OutboundSet("270", "005010X279A1", body)]
    )
    return render_interchange(
        sender=Party("ZZ", request.submitter_id),
        receiver=Party("ZZ", request.receiver_id),
        usage=request.usage,
        now=now,
        control=control,
        delimiters=d,
        groups=[group],
    )


def _trim(segment: list[str]) -> list[str]:
    while segment and segment[-1] == "":
        segment.pop()
    return segment
