"""A structural check of a 271 response (005010X279A1): is this interchange a valid 271?

``check_271`` reads one interchange under the plain X12 rules (``Rules.x12()``: no HETS-only
envelope rules, since a 271 travels the other way), requires each functional group to be ``HB``
and each transaction set a ``271``, and walks every set against ``grammar271.GRAMMAR_271`` with
the validator that judges 270s (``validate.py``): segment order, loops and their repeats, the HL
hierarchy, the LS ... LE bounds, segment and element counts, lengths, data types, dates and code
values. Two more faults, which the 270 validator does not hold against senders but a 271 writer
must not make: a segment ending in an element separator (005010 omits trailing empty elements:
IK304 8 with IK403 3 on the empty element), and an ``LS`` directly followed by its ``LE`` (IK304
3 for the 2120C NM1 it should enclose). The result holds the same findings a 999 would carry;
:meth:`Check271Result.describe` puts them in plain lines that name segments, loops and
elements, and repeat only code values (never names, identifiers or dates, which may be patient
data).

It never raises on any input, and its cost is linear in the size of the input.
"""

from __future__ import annotations

import attrs

from hetsock.x12.codes import ElementError, GroupError, SegmentError, Ta1Note, TransactionSetError
from hetsock.x12.envelope import NotAnInterchangeError, decode, read_interchange_untrusted
from hetsock.x12.grammar271 import GRAMMAR_271
from hetsock.x12.isa import EnvelopeError
from hetsock.x12.rules import Rules
from hetsock.x12.segments import X12_CHARACTERS, Segment
from hetsock.x12.validate import ElementFinding, GroupReport, SegmentFinding, ValidatedSet, validate_group

_RULES = Rules.x12()


@attrs.frozen
class Check271Result:
    """The verdict on one interchange expected to carry 271s."""

    valid: bool
    #: Every transaction set's segment findings (IK3 with their IK4), in order.
    findings: tuple[SegmentFinding, ...] = ()
    #: The TA1 note when the interchange envelope itself is bad.
    ta1_note: Ta1Note | None = None
    #: AK905 codes of the functional groups, and IK502 codes of the transaction sets.
    group_errors: tuple[GroupError, ...] = ()
    set_errors: tuple[TransactionSetError, ...] = ()
    #: Why, when the bytes are no interchange, the envelope is bad, or there is no 271 at all.
    detail: str = ""
    #: The full reports (per group and set), for callers that need control numbers.
    reports: tuple[GroupReport, ...] = attrs.field(default=(), repr=False)

    def describe(self) -> list[str]:
        """Plain lines for a person: the verdict, then each fault. No patient data."""
        if self.valid:
            count = sum(len(r.transaction_sets) for r in self.reports)
            return [f"valid 271 ({count} transaction set{'s' if count != 1 else ''})"]
        lines = ["not a valid 271" + (f": {self.detail}" if self.detail else "")]
        if self.ta1_note is not None:
            lines.append(f"interchange envelope: {_name(self.ta1_note)} (TA105 {self.ta1_note.value})")
        for report in self.reports:
            for group_error in report.errors:
                lines.append(f"group {_safe(report.control_number)}: {_name(group_error)} (AK905 {group_error.value})")
            for ts in report.transaction_sets:
                for set_error in ts.errors:
                    lines.append(
                        f"transaction set {_safe(ts.control_number)}: {_name(set_error)} (IK502 {set_error.value})"
                    )
                for finding in ts.segment_findings:
                    lines.extend(_describe_finding(finding))
        return lines


def check_271(data: bytes | str) -> Check271Result:
    """Check one interchange of 271s. Never raises; linear in ``len(data)``."""
    text = decode(data)
    try:
        interchange = read_interchange_untrusted(text, _RULES)
    except NotAnInterchangeError as error:
        return Check271Result(False, detail=str(error))
    except EnvelopeError as error:
        return Check271Result(False, ta1_note=error.note, detail=error.detail)
    d = interchange.header.delimiters
    reports = tuple(
        _with_writer_findings(*validate_group(group, d, _RULES, clean_text=interchange.clean_text, grammar=GRAMMAR_271))
        for group in interchange.groups
    )
    findings = tuple(f for report in reports for ts in report.transaction_sets for f in ts.segment_findings)
    group_errors = tuple(e for report in reports for e in report.errors)
    set_errors = tuple(e for report in reports for ts in report.transaction_sets for e in ts.errors)
    set_count = sum(len(report.transaction_sets) for report in reports)
    detail = ""
    if not reports:
        detail = "the interchange holds no functional group"
    elif not set_count and not group_errors:
        detail = "the interchange holds no transaction set"
    valid = not detail and all(report.accepted for report in reports)
    return Check271Result(
        valid,
        findings=findings,
        group_errors=group_errors,
        set_errors=set_errors,
        detail=detail,
        reports=reports,
    )


def _with_writer_findings(report: GroupReport, validated: tuple[ValidatedSet, ...]) -> GroupReport:
    """``report`` with the faults a 271 writer must not make, beyond what the 270's validator
    judges (it takes them from senders): a segment ending in an element separator (IK304 8 with
    IK403 3 on the empty trailing element; 005010 omits trailing separators), and an ``LS`` directly
    followed by its ``LE`` (IK304 3 for the 2120C NM1: LS/LE are sent only around a 2120C loop)."""
    sets = list(report.transaction_sets)
    changed = False
    for index, v in enumerate(validated):
        extra = _writer_findings(v.loops)
        if extra:
            ts = v.report
            findings = tuple(sorted((*ts.segment_findings, *extra), key=lambda f: f.position))
            errors = ts.errors if TransactionSetError.SEGMENTS_IN_ERROR in ts.errors else (*ts.errors, _IN_ERROR)
            sets[index] = attrs.evolve(ts, segment_findings=findings, errors=errors[:5])
            changed = True
    return attrs.evolve(report, transaction_sets=tuple(sets)) if changed else report


_IN_ERROR = TransactionSetError.SEGMENTS_IN_ERROR


def _writer_findings(loops: tuple[tuple[str, Segment], ...]) -> list[SegmentFinding]:
    # ``loops`` holds the segments the walk placed, ST first; positions count from ST as 1.
    out: list[SegmentFinding] = []
    if not loops:
        return out
    start = loops[0][1].ordinal - 1
    previous = (0, "")
    trace: str | None = None  # the subscriber's first TRN02: the business unit, as validate.py names it
    for loop_id, segment in loops:
        elements = segment.elements
        sid, position = elements[0], segment.ordinal - start
        if sid == "HL" and loop_id == "2000C":
            trace = None
        elif sid == "TRN" and loop_id == "2000C" and trace is None:
            trace = segment.get(2) if X12_CHARACTERS.issuperset(segment.get(2)) and len(segment.get(2)) <= 50 else ""
        unit = (trace or None) if loop_id in GRAMMAR_271.business_unit_loops else None
        if len(elements) > 1 and not elements[-1]:
            empty = ElementFinding(len(elements) - 1, "", ElementError.TOO_MANY_ELEMENTS)
            out.append(SegmentFinding(sid, position, loop_id, SegmentError.ELEMENT_ERRORS, (empty,), unit))
        if sid == "LE" and previous == (position - 1, "LS"):
            out.append(SegmentFinding("NM1", position, "2120C", SegmentError.REQUIRED_SEGMENT_MISSING, (), unit))
        previous = (position, sid)
    return out


def _name(code: Ta1Note | GroupError | TransactionSetError | SegmentError | ElementError) -> str:
    return code.name.lower().replace("_", " ")


def _safe(value: str) -> str:
    # Control numbers are not patient data, but they are echoed from the input: keep them tame.
    return value if len(value) <= 12 and value.isascii() and value.isalnum() else "?"


def _describe_finding(finding: SegmentFinding) -> list[str]:
    where = f"segment {finding.position}" + (f", loop {finding.loop_id}" if finding.loop_id else "")
    lines = [f"  {finding.segment_id} ({where}): {_name(finding.code)} (IK304 {finding.code.value})"]
    lines.extend(_describe_element(finding.segment_id, e) for e in finding.elements)
    return lines


def _describe_element(segment_id: str, finding: ElementFinding) -> str:
    name = f"{segment_id}{finding.element:02d}"
    if finding.component is not None:
        name += f"-{finding.component}"
    if finding.repetition is not None:
        name += f" (repetition {finding.repetition})"
    value = f", sent {finding.bad_value!r}" if finding.bad_value is not None else ""
    because = f", required by {finding.trigger.segment_id}{finding.trigger.element:02d}" if finding.trigger else ""
    ref = f" [{finding.ref}]" if finding.ref else ""
    return f"    {name}{ref}: {_name(finding.code)} (IK403 {finding.code.value}){value}{because}"
