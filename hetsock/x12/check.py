"""From the bytes of one interchange to a decision: the X12 engine's front door.

``check_270`` never raises on any input. It returns exactly one of:

* :class:`Accepted`: a valid 270 and its :class:`~hetsock.eligibility.inquiry.Inquiry`;
* :class:`Rejected`: the reply that rejects it, a TA1 (envelope) or a 999 (group, transaction
  set or implementation guide), already rendered with the caller's ``now`` and control numbers;
* :class:`NotAnInterchange`: the bytes are not X12 at all (HETS answers with its proprietary
  error, which is the server's to send).

Cost is linear in the size of the input: every step is a split, a single pass over the segments,
or a bounded per-segment check.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

import attrs

from hetsock.eligibility.inquiry import Inquiry
from hetsock.x12.ack999 import render_999
from hetsock.x12.codes import Ta1Note
from hetsock.x12.envelope import NotAnInterchangeError, decode, read_interchange_untrusted
from hetsock.x12.fastpath import accept_interchange_fast, takes_fast_interchange
from hetsock.x12.isa import EnvelopeError, IsaHeader
from hetsock.x12.rules import Rules
from hetsock.x12.segments import Delimiters
from hetsock.x12.ta1 import render_ta1
from hetsock.x12.validate import GroupReport, TransactionSetReport, validate_group
from hetsock.x12.writer import ControlNumbers


class _PendingReport(NamedTuple):
    """What the fast lane knows of an accepted group's report: enough to build it on demand."""

    functional_id: str  #: GS01
    control_number: str  #: GS06
    version: str  #: GS08
    set_id: str  #: ST01
    set_control: str  #: ST02
    convention: str  #: ST03

    def build(self) -> GroupReport:
        transaction_set = TransactionSetReport(self.set_id, self.set_control, self.convention, (), ())
        return GroupReport(
            self.functional_id, self.control_number, self.version, (transaction_set,), (), included=1, received=1
        )


def _as_report(report: GroupReport | _PendingReport) -> GroupReport:
    return report.build() if isinstance(report, _PendingReport) else report


@attrs.frozen
class Accepted:
    """A 270 that passed every envelope and implementation-guide check.

    ``report`` (the group's 999 report, all accepted) is rarely wanted for a valid 270, so the
    fast lane does not build it per request: it passes the six GS and ST values the report
    holds, and ``report`` builds it on each use. Equality and hashing compare built reports.
    """

    inquiry: Inquiry
    header: IsaHeader = attrs.field(repr=False)
    _report: GroupReport | _PendingReport = attrs.field(repr=False, eq=_as_report, alias="report")

    @property
    def report(self) -> GroupReport:
        return _as_report(self._report)


@attrs.frozen
class Rejected:
    """A rejection and the reply that says so."""

    kind: Literal["TA1", "999"]
    reply: str = attrs.field(repr=False)
    #: TA105 note for a TA1.
    note: Ta1Note | None = None
    #: Why, in words without patient data.
    detail: str = ""
    #: The 999's findings.
    report: GroupReport | None = attrs.field(default=None, repr=False)
    #: ISA13 and ISA06 of the request where they could be read (for audit and the trace ID).
    control_number: str = ""
    submitter_id: str = ""

    @property
    def reply_bytes(self) -> bytes:
        return self.reply.encode("latin-1")


@attrs.frozen
class NotAnInterchange:
    """Bytes that are not an X12 interchange at all."""

    reason: str


Decision = Accepted | Rejected | NotAnInterchange


def check_270(
    data: bytes | str,
    *,
    rules: Rules,
    now: dt.datetime,
    control: ControlNumbers,
    receiver_id: str = "CMS",
    fast: bool = True,
    interchange_matched: bool | None = None,
) -> Decision:
    """Tokenize, check and model one interchange. Never raises; linear in ``len(data)``.

    ``fast=False`` skips every fast check (``fastpath.accept_interchange_fast`` for the whole
    interchange and ``fastpath.fast_accept`` per transaction set) and always takes the full
    walk; the decision is the same either way (tests/test_fastpath.py checks it).
    ``interchange_matched``: the caller has already tried the whole-interchange expression
    (``hetsock.native``): ``False``, it did not match and is not tried again; ``True``, it matched
    and is not matched again.
    """
    text = decode(data)
    if fast and interchange_matched is not False and takes_fast_interchange(rules):
        accepted = accept_interchange_fast(text, rules, matched=interchange_matched is True)
        if accepted is not None:
            return _accepted_fast(*accepted)
    try:
        interchange = read_interchange_untrusted(text, rules)
    except NotAnInterchangeError as error:
        return NotAnInterchange(str(error))
    except EnvelopeError as error:
        header = error.header
        return Rejected(
            "TA1",
            render_ta1(header, error.note, now=now, control=control, receiver_id=receiver_id),
            note=error.note,
            detail=error.detail,
            control_number=header.control_number if header else "",
            submitter_id=header.sender_id if header else "",
        )
    header = interchange.header
    group = interchange.groups[0] if interchange.groups else None
    if group is None:  # only possible with the HETS rules relaxed: nothing to acknowledge
        return Rejected(
            "TA1",
            render_ta1(header, Ta1Note.INVALID_CONTENT, now=now, control=control, receiver_id=receiver_id),
            note=Ta1Note.INVALID_CONTENT,
            detail="the interchange holds no functional group",
            control_number=header.control_number,
            submitter_id=header.sender_id,
        )
    d = header.delimiters
    results = [validate_group(g, d, rules, clean_text=interchange.clean_text, fast=fast) for g in interchange.groups]
    report, validated = results[0]
    if any(not r.accepted or not v for r, v in results):
        reports = [r for r, _ in results]
        reply = render_999(
            header, group.gs.get(2), group.gs.get(3), reports, now=now, control=control, receiver_id=receiver_id
        )
        return Rejected(
            "999",
            reply,
            detail="the 270 breaks X12 or 005010X279A1 rules",
            report=next(r for r, v in results if not r.accepted or not v),
            control_number=header.control_number,
            submitter_id=header.sender_id,
        )
    loops = [(loop, segment.elements) for loop, segment in validated[0].loops]
    inquiry = Inquiry.from_transaction(header, group.gs.elements, loops)
    return Accepted(inquiry, header, report)


def _accepted_fast(isa: list[str], gs: list[str], loops: list[tuple[str, list[str]]], d: Delimiters) -> Accepted:
    header = IsaHeader(tuple(isa), d)
    inquiry = Inquiry.from_transaction(header, gs, loops)
    st = loops[0][1]
    return Accepted(inquiry, header, _PendingReport(gs[1], gs[6], gs[8], st[1], st[2], st[3]))
