"""The 999 implementation acknowledgment (005010X231A1), rejecting or accepting.

Layout: AK1 (GS01, GS06, GS08 of the request), then per transaction set AK2 (ST01-ST03), each
finding as IK3 (segment ID, position in the set, loop ID, IK304), a CTX business unit identifier
(``TRN02`` and the trace number) for findings in the subscriber loops, each element finding as
IK4 (position ``element:component:repetition``, reference number, IK403, copy of a bad code
value) with a CTX ``SITUATIONAL TRIGGER`` naming the element a syntax rule hangs on; IK5 (``A``
or ``R`` and up to five IK502 codes); and AK9 (A, P or R, the counts, up to five AK905 codes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hetsock.x12.isa import IsaHeader
from hetsock.x12.segments import Delimiters
from hetsock.x12.ta1 import reply_delimiters, reply_parties
from hetsock.x12.validate import ElementFinding, GroupReport, SegmentFinding, Trigger
from hetsock.x12.writer import ControlNumbers, OutboundGroup, OutboundSet, echo, render_interchange

ACK_VERSION = "005010X231A1"


def _position(d: Delimiters, element: int, component: int | None, repetition: int | None) -> str:
    parts = [str(element), str(component) if component else "", str(repetition) if repetition else ""]
    while parts and not parts[-1]:
        parts.pop()
    return d.component.join(parts)


def _trigger_ctx(trigger: Trigger, d: Delimiters) -> list[str]:
    return [
        "CTX",
        "SITUATIONAL TRIGGER",
        trigger.segment_id,
        str(trigger.position),
        trigger.loop_id,
        str(trigger.element),
    ]


def _element_segments(finding: ElementFinding, d: Delimiters) -> list[list[str]]:
    ik4 = ["IK4", _position(d, finding.element, finding.component, finding.repetition), finding.ref, finding.code.value]
    if finding.bad_value:
        ik4.append(echo(finding.bad_value, d))
    out = [ik4]
    if finding.trigger is not None:
        out.append(_trigger_ctx(finding.trigger, d))
    return out


def _segment_segments(finding: SegmentFinding, d: Delimiters) -> list[list[str]]:
    # IK301 is the segment ID, or the validator's "???" for one that cannot be shown: echoed,
    # so the placeholder never holds a delimiter of the reply (``?`` may be one).
    out = [["IK3", echo(finding.segment_id, d), str(finding.position), finding.loop_id, finding.code.value]]
    if finding.business_unit:
        out.append(["CTX", d.component.join(("TRN02", echo(finding.business_unit, d, "UNKNOWN")))])
    for element in finding.elements:
        out.extend(_element_segments(element, d))
    return out


def ack_body(report: GroupReport, d: Delimiters) -> list[list[str]]:
    """The segments between ST and SE of a 999 for ``report``."""
    body: list[list[str]] = [["AK1", report.functional_id, report.control_number, echo(report.version, d, "UNKNOWN")]]
    for ts in report.transaction_sets:
        # AK202 is AN 4-9 and AK203 AN 1-35: an ST02 out of range (IK502 7) is written as the
        # placeholder 0000, an ST03 cut to 35, so the 999 is itself valid.
        control_number = echo(ts.control_number, d, "0000")
        ak2 = ["AK2", echo(ts.set_id, d, "270"), control_number if 4 <= len(control_number) <= 9 else "0000"]
        if ts.convention:
            ak2.append(echo(ts.convention, d)[:35])
        body.append(ak2)
        for finding in ts.segment_findings:
            body.extend(_segment_segments(finding, d))
        body.append(["IK5", "A" if ts.accepted else "R", *(code.value for code in ts.errors)])
    body.append(
        [
            "AK9",
            report.acknowledgment_code,
            str(report.included),
            str(report.received),
            str(report.accepted_count),
            *(code.value for code in report.errors),
        ]
    )
    return body


def _group_code(value: str, d: Delimiters, fallback: str) -> str:
    """A reply's GS02/GS03: the request's code made safe, else the ISA ID; 2 to 15 characters
    (a blank request code and a one-character ISA ID must not give a GS the envelope refuses)."""
    code = echo(value, d, fallback)
    return code if len(code) >= 2 else code.ljust(2)


def render_999(
    header: IsaHeader,
    group_sender: str,
    group_receiver: str,
    report: GroupReport | Sequence[GroupReport],
    *,
    now: dt.datetime,
    control: ControlNumbers,
    receiver_id: str = "CMS",
) -> str:
    """A 999 for ``report``, from the request's receiver back to its sender.

    Several reports (an interchange of several groups, plain X12 profile only) give one 999
    transaction set per group, in one FA group.
    """
    reports = [report] if isinstance(report, GroupReport) else list(report)
    d = reply_delimiters(header)
    sender, receiver = reply_parties(header, receiver_id, d)
    group = OutboundGroup(
        functional_id="FA",
        sender_code=_group_code(group_receiver, d, sender.id),
        receiver_code=_group_code(group_sender, d, receiver.id),
        version=ACK_VERSION,
        transaction_sets=[OutboundSet("999", ACK_VERSION, ack_body(r, d)) for r in reports],
    )
    return render_interchange(
        sender=sender, receiver=receiver, usage=header.usage, now=now, control=control, delimiters=d, groups=[group]
    )
