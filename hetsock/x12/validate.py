"""Group, transaction set and 005010X279A1 checks: the findings a 999 reports.

Theory of operation
-------------------
``validate_group`` judges one GS ... GE group that the envelope has already split (see
``envelope.py``). Group faults become AK905 codes: GS01 not ``HS`` (1), GS08 not
``005010X279A1`` or the pre-errata ``005010X279`` (2), no GE (3), GE02 not GS06 (4), GE01 not the
number of sets (5). A group with such a fault gets no AK2s when GS01 or GS08 is wrong (nothing in
it can be read as a 270), and otherwise each set is still judged.

``validate_transaction_set`` walks one ST ... SE against a grammar (``grammar.TransactionGrammar``:
``GRAMMAR_270`` by default, or the 271's from ``grammar271``; ``validate_group`` takes the same
``grammar`` and checks GS01 and GS08 against it). The walk keeps a stack
of open loops; each segment is matched against the rest of the innermost loop, then its parents
(closing the inner loops, whose missing required segments are reported, IK304 3). A loop's first
segment starts a new iteration of that loop (IK304 4 past its maximum); HL segments always close
every loop and open the 2000 loop their HL03 names, with HL01 counted from 1, HL02 naming the
latest HL of the parent level and HL04 saying truly whether children follow (IK403 7 on the
element that is wrong). A loop with ``bounds`` (the 271's LS ... LE around 2120C) needs its
opening segment before anything inside the bounds, and its closing one once opened (IK304 3 for
the one missing). A segment matching nothing is out of sequence (7) if its loop has passed it,
unexpected (2) if the set uses it elsewhere, not in the set (6) if it is another X12 segment,
and unrecognized (1) otherwise. Each matched segment's elements are checked for count (IK403 3),
presence (1, I10), repetitions (12), components (13), characters (6), code values (7), length
(4, 5), dates (8: a real CCYYMMDD, or for RD8 a real range whose end is not before its start),
times (9), and the X12 syntax rules (2 for a missing paired or conditional element, with a CTX
naming the element that requires it; 10 for an exclusion).

Under the HETS profile (``Rules.single_inquiry``), for the 270 only (its grammar's
``single_inquiry``), the 2000A, 2000B and 2000C loops may occur once (IK304 4), 2000D not at
all (IK304 I4), and 2110C must occur (IK304 I6: the subscriber is the patient); a group with
more than one set has every set rejected with IK502 I6. A copy of the bad value (IK404) is
given only for code values (ID elements), never for names, identifiers or dates, which may be
patient data. At most ``MAX_SEGMENT_FINDINGS`` segments are reported per
set, so a reply stays bounded.
"""

from __future__ import annotations

import bisect

import attrs

from hetsock.x12.codes import ElementError, GroupError, SegmentError, TransactionSetError
from hetsock.x12.dates import is_real_date, is_real_range, is_valid_time
from hetsock.x12.envelope import Group, TransactionSet
from hetsock.x12.fastpath import fast_accept
from hetsock.x12.grammar import GRAMMAR_270, TransactionGrammar
from hetsock.x12.grammar270 import (
    NOT_USED,
    REQUIRED,
    ElementSpec,
    LoopSpec,
    SegmentSpec,
)
from hetsock.x12.isa import is_digits
from hetsock.x12.rules import Rules
from hetsock.x12.segments import X12_CHARACTERS, Delimiters, Segment

MAX_SEGMENT_FINDINGS = 100


@attrs.frozen
class Trigger:
    """What a situational rule hangs on (a 999 CTX): segment, position, loop, element."""

    segment_id: str
    position: int
    loop_id: str
    element: int


@attrs.frozen
class ElementFinding:
    """One IK4: element position (IK401), reference number, error code, safe bad value."""

    element: int
    ref: str
    code: ElementError
    component: int | None = None
    repetition: int | None = None
    bad_value: str | None = None
    trigger: Trigger | None = None


@attrs.frozen
class SegmentFinding:
    """One IK3 with its IK4s: segment ID, position in the set (ST is 1), loop, error code."""

    segment_id: str
    position: int
    loop_id: str
    code: SegmentError
    elements: tuple[ElementFinding, ...] = ()
    business_unit: str | None = None


@attrs.frozen
class TransactionSetReport:
    """What the 999 says of one transaction set (AK2 ... IK5)."""

    set_id: str
    control_number: str
    convention: str
    segment_findings: tuple[SegmentFinding, ...]
    errors: tuple[TransactionSetError, ...]

    @property
    def accepted(self) -> bool:
        return not self.errors


@attrs.frozen
class GroupReport:
    """What the 999 says of one functional group (AK1 ... AK9)."""

    functional_id: str
    control_number: str
    version: str
    transaction_sets: tuple[TransactionSetReport, ...]
    errors: tuple[GroupError, ...]
    included: int
    received: int

    @property
    def accepted_count(self) -> int:
        return sum(1 for report in self.transaction_sets if report.accepted)

    @property
    def accepted(self) -> bool:
        return not self.errors and self.accepted_count == self.received

    @property
    def acknowledgment_code(self) -> str:
        """AK901: A accepted, P partially accepted, R rejected."""
        if self.accepted:
            return "A"
        if self.errors or self.accepted_count == 0:
            return "R"
        return "P"


@attrs.frozen
class ValidatedSet:
    """A transaction set with its report and each segment's loop ID (for building the model)."""

    report: TransactionSetReport
    loops: tuple[tuple[str, Segment], ...] = attrs.field(eq=False, repr=False)


# --- element checks ------------------------------------------------------------------------


def _numeric_error(value: str, spec: ElementSpec) -> ElementError | None:
    digits = value[1:] if value[:1] == "-" else value
    if spec.kind == "R":
        whole, _, fraction = digits.partition(".")
        if not (whole or fraction) or (whole and not is_digits(whole)) or (fraction and not is_digits(fraction)):
            return ElementError.INVALID_CHARACTER
        count = len(whole) + len(fraction)
    else:
        if not is_digits(digits):
            return ElementError.INVALID_CHARACTER
        count = len(digits)
    if count < spec.minimum:
        return ElementError.TOO_SHORT
    if count > spec.maximum:
        return ElementError.TOO_LONG
    return None


def _value_error(value: str, spec: ElementSpec, check_characters: bool) -> ElementError | None:
    """The IK403 code for one simple value, or None when it is good."""
    if check_characters and not X12_CHARACTERS.issuperset(value):
        return ElementError.INVALID_CHARACTER
    kind = spec.kind
    if kind == "AN" or kind == "ID":
        if kind == "ID" and spec.codes is not None:
            return None if value in spec.codes else ElementError.INVALID_CODE_VALUE
        length = len(value)
        if length < spec.minimum:
            return ElementError.TOO_SHORT
        if length > spec.maximum:
            return ElementError.TOO_LONG
        return None
    if kind == "DT":
        return None if is_real_date(value) else ElementError.INVALID_DATE
    if kind == "TM":
        return None if is_valid_time(value) else ElementError.INVALID_TIME
    return _numeric_error(value, spec)


def _safe_copy(value: str, spec: ElementSpec) -> str | None:
    # Only code values are echoed in IK404: anything else may be patient data.
    if spec.kind == "ID" and len(value) <= 10 and X12_CHARACTERS.issuperset(value):
        return value
    return None


def _check_composite(
    position: int, value: str, spec: ElementSpec, d: Delimiters, check: bool, out: list[ElementFinding]
) -> None:
    if d.repetition in value:
        out.append(ElementFinding(position, spec.ref, ElementError.TOO_MANY_REPETITIONS))
        return
    parts = value.split(d.component)
    if len(parts) > len(spec.components):
        out.append(ElementFinding(position, spec.ref, ElementError.TOO_MANY_COMPONENTS))
        return
    for index, component_spec in enumerate(spec.components, start=1):
        part = parts[index - 1] if index <= len(parts) else ""
        if not part:
            if component_spec.usage == REQUIRED:
                out.append(ElementFinding(position, component_spec.ref, ElementError.REQUIRED_MISSING, component=index))
            continue
        if component_spec.usage == NOT_USED:
            out.append(
                ElementFinding(position, component_spec.ref, ElementError.IMPLEMENTATION_NOT_USED, component=index)
            )
            continue
        error = _value_error(part, component_spec, check)
        if error is not None:
            out.append(
                ElementFinding(
                    position, component_spec.ref, error, component=index, bad_value=_safe_copy(part, component_spec)
                )
            )


def check_elements(
    segment: Segment, spec: SegmentSpec, d: Delimiters, check_characters: bool, *, position: int, loop_id: str
) -> list[ElementFinding]:
    """The IK4 findings for one segment against its spec (``position``/``loop_id`` for CTX).

    The loop takes a fast path for the common cases (a code from the list, text of a good
    length) and hands anything else to :func:`_check_element`, which finds the exact fault.
    """
    out: list[ElementFinding] = []
    elements = segment.elements
    count = len(elements) - 1
    compiled = spec.compiled
    if count > len(compiled):
        out.append(ElementFinding(len(compiled) + 1, "", ElementError.TOO_MANY_ELEMENTS))
    repetition_separator = d.repetition
    component_separator = d.component
    for index, usage, kind, codes, minimum, maximum, _repeats, element_spec in compiled:
        if index > count:
            if usage == REQUIRED:
                out.append(ElementFinding(index, element_spec.ref, ElementError.REQUIRED_MISSING))
            continue
        value = elements[index]
        if not value:
            if usage == REQUIRED:
                out.append(ElementFinding(index, element_spec.ref, ElementError.REQUIRED_MISSING))
            continue
        if usage == NOT_USED:
            out.append(ElementFinding(index, element_spec.ref, ElementError.IMPLEMENTATION_NOT_USED))
            continue
        if kind == "ID" and codes is not None and value in codes:
            continue  # codes hold no delimiters and only X12 characters
        if (
            kind == "AN"
            and minimum <= len(value) <= maximum
            and not check_characters
            and repetition_separator not in value
            and component_separator not in value
        ):
            continue
        _check_element(index, value, element_spec, d, check_characters, out)
    if spec.rules:
        _check_syntax_rules(segment, spec, out, position, loop_id)
    if spec.date_format is not None:
        _check_date_format(segment, spec, out)
    return out


def _check_element(
    index: int, value: str, spec: ElementSpec, d: Delimiters, check_characters: bool, out: list[ElementFinding]
) -> None:
    if spec.kind == "C":
        _check_composite(index, value, spec, d, check_characters, out)
        return
    if d.repetition in value:
        repetitions = value.split(d.repetition)
        if len(repetitions) > spec.repeats:
            out.append(ElementFinding(index, spec.ref, ElementError.TOO_MANY_REPETITIONS))
            return
    else:
        repetitions = [value]
    numbered = spec.repeats > 1
    for rep_index, rep in enumerate(repetitions, start=1):
        where = rep_index if numbered else None
        if d.component in rep:
            out.append(ElementFinding(index, spec.ref, ElementError.TOO_MANY_COMPONENTS, repetition=where))
            continue
        if not rep:
            out.append(ElementFinding(index, spec.ref, ElementError.REQUIRED_MISSING, repetition=where))
            continue
        error = _value_error(rep, spec, check_characters)
        if error is not None:
            out.append(ElementFinding(index, spec.ref, error, repetition=where, bad_value=_safe_copy(rep, spec)))


def _check_syntax_rules(
    segment: Segment, spec: SegmentSpec, out: list[ElementFinding], position: int, loop_id: str
) -> None:
    elements = segment.elements
    size = len(elements)

    def present(p: int) -> bool:
        return p < size and elements[p] != ""

    reported = {f.element for f in out}

    def ref(p: int) -> str:
        return spec.elements[p - 1].ref

    def missing(p: int, trigger: int | None) -> None:
        if p not in reported:
            context = Trigger(segment.id, position, loop_id, trigger) if trigger else None
            out.append(ElementFinding(p, ref(p), ElementError.CONDITIONAL_REQUIRED_MISSING, trigger=context))
            reported.add(p)

    for rule in spec.rules:
        first, *rest = rule.positions
        if rule.kind == "P":
            given = [p for p in rule.positions if present(p)]
            if given:
                for p in rule.positions:
                    if not present(p):
                        missing(p, given[0])
        elif rule.kind == "R":
            if not any(present(p) for p in rule.positions):
                missing(first, None)
        elif rule.kind == "C":
            if present(first):
                for p in rest:
                    if not present(p):
                        missing(p, first)
        elif rule.kind == "E":
            given = [p for p in rule.positions if present(p)]
            for p in given[1:]:
                if p not in reported:
                    out.append(
                        ElementFinding(
                            p,
                            ref(p),
                            ElementError.EXCLUSION_VIOLATED,
                            trigger=Trigger(segment.id, position, loop_id, given[0]),
                        )
                    )
                    reported.add(p)


def _check_date_format(segment: Segment, spec: SegmentSpec, out: list[ElementFinding]) -> None:
    assert spec.date_format is not None
    qualifier_at, value_at = spec.date_format
    qualifier, value = segment.get(qualifier_at), segment.get(value_at)
    if not value or any(f.element in (qualifier_at, value_at) for f in out):
        return
    good = is_real_date(value) if qualifier == "D8" else is_real_range(value) if qualifier == "RD8" else True
    if not good:
        out.append(ElementFinding(value_at, spec.elements[value_at - 1].ref, ElementError.INVALID_DATE))


# --- the loop walk -------------------------------------------------------------------------


class _Frame:
    __slots__ = ("bound_reported", "counts", "index", "loop")

    def __init__(self, loop: LoopSpec) -> None:
        self.loop = loop
        self.index = 0
        self.counts = [0] * len(loop.items)
        self.counts[0] = 1
        self.bound_reported = False


def _matches(item: SegmentSpec | LoopSpec, segment: Segment, *, loose: bool) -> bool:
    spec = item.trigger if isinstance(item, LoopSpec) else item
    if spec.id != segment.elements[0]:
        return False
    if spec.discriminator is None or loose:
        return True
    position, value = spec.discriminator
    return segment.get(position) == value


def _item_id(item: SegmentSpec | LoopSpec) -> tuple[str, str]:
    return (item.trigger.id, item.id) if isinstance(item, LoopSpec) else (item.id, "")


class _Walk:
    """One transaction set's walk: state and findings."""

    def __init__(
        self, d: Delimiters, rules: Rules, check_characters: bool, grammar: TransactionGrammar = GRAMMAR_270
    ) -> None:
        self.d = d
        self.rules = rules
        self.grammar = grammar
        self.single_inquiry = rules.single_inquiry and grammar.single_inquiry
        self.required_loops = grammar.single_inquiry_required_loops if self.single_inquiry else frozenset()
        self.check_characters = check_characters
        self.findings: dict[int, list[SegmentFinding]] = {}
        self.stack: list[_Frame] = []
        self.loops: list[tuple[str, Segment]] = []
        self.level_counts: dict[str, int] = {}
        self.latest_hl: dict[str, str] = {}
        self.hl_segments: list[tuple[Segment, int, str]] = []  # (HL, position, loop id)
        self.parents_named: set[str] = set()
        self.lost = False

    def report(self, finding: SegmentFinding) -> None:
        self.findings.setdefault(finding.position, []).append(finding)

    def check(self, segment: Segment, spec: SegmentSpec, position: int, loop_id: str) -> None:
        elements = check_elements(segment, spec, self.d, self.check_characters, position=position, loop_id=loop_id)
        if elements:
            self.report(SegmentFinding(segment.id, position, loop_id, SegmentError.ELEMENT_ERRORS, tuple(elements)))

    def close_frames(self, keep: int, position: int) -> None:
        while len(self.stack) > keep:
            frame = self.stack.pop()
            self._missing_after(frame, frame.index + 1, len(frame.loop.items), position)

    def _missing_after(self, frame: _Frame, start: int, stop: int, position: int) -> None:
        bounds = frame.loop.bound_indices
        for k in range(start, stop):
            item = frame.loop.items[k]
            if frame.counts[k]:
                continue
            if item.usage == REQUIRED or (bounds is not None and k == bounds[1] and frame.counts[bounds[0]] > 0):
                code = SegmentError.REQUIRED_SEGMENT_MISSING
            elif isinstance(item, LoopSpec) and item.id in self.required_loops:
                code = SegmentError.IMPLEMENTATION_DEPENDENT_MISSING  # situational, required by the profile
            else:
                continue
            segment_id, loop_id = _item_id(item)
            self.report(SegmentFinding(segment_id, position, loop_id or frame.loop.id, code))

    def hl(self, segment: Segment, position: int) -> None:
        level = segment.get(3)
        if self.required_loops and level == "23":
            # A dependent follows: the subscriber is not the patient, so no 2110C is due (the
            # 2000D itself is what the one-inquiry rule refuses, with its I4).
            required, self.required_loops = self.required_loops, frozenset()
            self.close_frames(0, position)
            self.required_loops = required
        else:
            self.close_frames(0, position)
        hierarchy = self.grammar.hierarchy
        entry = hierarchy.get(level)
        if entry is None:
            self.lost = True
            spec = hierarchy[self.grammar.fallback_level][0].trigger
            elements = check_elements(segment, spec, self.d, self.check_characters, position=position, loop_id="")
            self.report(SegmentFinding("HL", position, "", SegmentError.ELEMENT_ERRORS, tuple(elements)))
            return
        self.lost = False
        loop, parent_level = entry
        count = self.level_counts.get(level, 0) + 1
        self.level_counts[level] = count
        if self.single_inquiry and level == "23":
            self.report(SegmentFinding("HL", position, loop.id, SegmentError.IMPLEMENTATION_NOT_USED))
        elif count > (1 if self.single_inquiry else loop.max_repeat):
            self.report(SegmentFinding("HL", position, loop.id, SegmentError.LOOP_OVER_MAXIMUM))
        extra: list[ElementFinding] = []
        expected_id = str(len(self.hl_segments) + 1)
        if segment.get(1) and segment.get(1) != expected_id:
            extra.append(ElementFinding(1, "628", ElementError.INVALID_CODE_VALUE))
        if parent_level is not None and segment.get(2):
            if segment.get(2) != self.latest_hl.get(parent_level):
                extra.append(ElementFinding(2, "734", ElementError.INVALID_CODE_VALUE))
            self.parents_named.add(segment.get(2))
        elements = check_elements(
            segment, loop.trigger, self.d, self.check_characters, position=position, loop_id=loop.id
        )
        reported = {f.element for f in elements}
        elements.extend(f for f in extra if f.element not in reported)
        if elements:
            self.report(SegmentFinding("HL", position, loop.id, SegmentError.ELEMENT_ERRORS, tuple(elements)))
        self.latest_hl[level] = segment.get(1)
        self.hl_segments.append((segment, position, loop.id))
        self.stack.append(_Frame(loop))
        self.loops.append((loop.id, segment))

    def segment(self, segment: Segment, position: int) -> None:
        if self.lost:
            return
        for loose in (False, True):
            for depth in range(len(self.stack) - 1, -1, -1):
                if self._try_frame(depth, segment, position, loose=loose):
                    return
        self._unmatched(segment, position)

    def _try_frame(self, depth: int, segment: Segment, position: int, *, loose: bool) -> bool:
        frame = self.stack[depth]
        candidates = frame.loop.positions.get(segment.elements[0])
        if candidates is None:
            return False
        items = frame.loop.items
        first = frame.index if frame.index > 0 else 1
        for k in candidates:
            if k < first:
                continue
            item = items[k]
            if not _matches(item, segment, loose=loose):
                continue
            if len(self.stack) > depth + 1:
                self.close_frames(depth + 1, position)
            if k > frame.index + 1:
                self._missing_after(frame, frame.index + 1, k, position)
            bounds = frame.loop.bound_indices
            if (
                bounds is not None
                and bounds[0] < k <= bounds[1]
                and not frame.counts[bounds[0]]
                and not frame.bound_reported
            ):
                # Inside an LS ... LE with no LS: report the LS missing, once per iteration.
                frame.bound_reported = True
                opening = _item_id(items[bounds[0]])[0]
                self.report(SegmentFinding(opening, position, frame.loop.id, SegmentError.REQUIRED_SEGMENT_MISSING))
            frame.index = k
            frame.counts[k] += 1
            if isinstance(item, LoopSpec):
                if frame.counts[k] > item.max_repeat:
                    self.report(SegmentFinding(segment.id, position, item.id, SegmentError.LOOP_OVER_MAXIMUM))
                self.stack.append(_Frame(item))
                self.loops.append((item.id, segment))
                self.check(segment, item.trigger, position, item.id)
            else:
                if frame.counts[k] > item.max_use:
                    self.report(
                        SegmentFinding(segment.id, position, frame.loop.id, SegmentError.SEGMENT_OVER_MAXIMUM_USE)
                    )
                self.loops.append((frame.loop.id, segment))
                self.check(segment, item, position, frame.loop.id)
            return True
        return False

    def _unmatched(self, segment: Segment, position: int) -> None:
        segment_id = segment.elements[0]
        loop_id = self.stack[-1].loop.id if self.stack else ""
        if segment_id in self.grammar.segment_ids:
            passed = any(
                _matches(item, segment, loose=True)
                for frame in self.stack
                for item in frame.loop.items[1 : frame.index]
            )
            code = SegmentError.NOT_IN_PROPER_SEQUENCE if passed else SegmentError.UNEXPECTED_SEGMENT
        elif segment_id in self.grammar.other_segment_ids:
            code = SegmentError.NOT_IN_TRANSACTION_SET
        else:
            code = SegmentError.UNRECOGNIZED_SEGMENT_ID
        # "???" stands for an ID that cannot be shown; ack999 writes it through writer.echo(), so
        # it becomes another placeholder when "?" is one of the reply's delimiters.
        shown_id = segment_id if 2 <= len(segment_id) <= 3 and segment_id.isascii() and segment_id.isalnum() else "???"
        self.report(SegmentFinding(shown_id, position, loop_id, code))

    def finish(self, position: int) -> None:
        self.close_frames(0, position)
        for level in self.grammar.required_levels:
            if not self.level_counts.get(level):
                self.report(
                    SegmentFinding(
                        "HL", position, self.grammar.hierarchy[level][0].id, SegmentError.REQUIRED_SEGMENT_MISSING
                    )
                )
        for hl, hl_position, loop_id in self.hl_segments:
            has_children = hl.get(1) in self.parents_named
            child_code = hl.get(4)
            if child_code in ("0", "1") and (child_code == "1") != has_children:
                finding = ElementFinding(4, "736", ElementError.INVALID_CODE_VALUE, bad_value=child_code)
                self._add_element_finding(hl, hl_position, loop_id, finding)

    def _add_element_finding(self, segment: Segment, position: int, loop_id: str, finding: ElementFinding) -> None:
        existing = self.findings.get(position, [])
        for i, found in enumerate(existing):
            if found.code is SegmentError.ELEMENT_ERRORS:
                if all(f.element != finding.element for f in found.elements):
                    existing[i] = attrs.evolve(found, elements=(*found.elements, finding))
                return
        self.report(SegmentFinding(segment.id, position, loop_id, SegmentError.ELEMENT_ERRORS, (finding,)))


def validate_transaction_set(
    ts: TransactionSet,
    d: Delimiters,
    rules: Rules,
    *,
    clean_text: bool = False,
    grammar: TransactionGrammar = GRAMMAR_270,
    fast: bool = True,
) -> ValidatedSet:
    """Judge one ST ... SE against ``grammar`` (the 270 by default). Linear in the number of segments.

    ``clean_text``: the caller has checked that the whole interchange holds only X12
    characters and its delimiters, so no element needs a character check of its own.
    ``fast``: a clean set may be accepted by ``fastpath.fast_accept``; ``False`` always walks.
    """
    segments = ts.segments
    st = segments[0]
    set_id, control, convention = st.get(1), st.get(2), st.get(3)
    errors: list[TransactionSetError] = []
    if set_id != grammar.set_id:
        errors.append(TransactionSetError.NOT_SUPPORTED if set_id else TransactionSetError.INVALID_TRANSACTION_SET_ID)
        return ValidatedSet(TransactionSetReport(set_id, control, convention, (), tuple(errors)), ())
    if fast and clean_text and grammar.fast_path:
        tagged = fast_accept(segments, d, rules.single_inquiry)
        if tagged is not None:
            return ValidatedSet(TransactionSetReport(set_id, control, convention, (), ()), tuple(tagged))
    if not 4 <= len(control) <= 9 or not X12_CHARACTERS.issuperset(control):
        errors.append(TransactionSetError.INVALID_CONTROL_NUMBER)
    if convention not in grammar.versions:
        errors.append(TransactionSetError.IMPLEMENTATION_CONVENTION_NOT_SUPPORTED)

    walk = _Walk(d, rules, check_characters=not clean_text, grammar=grammar)
    walk.loops.append(("", st))
    body_end = len(segments) - 1 if ts.has_trailer else len(segments)
    index = 1
    if len(segments) > 1 and segments[1].id == "BHT":
        walk.loops.append(("", segments[1]))
        walk.check(segments[1], grammar.bht, 2, "")
        index = 2
    else:
        walk.report(SegmentFinding("BHT", 2, "", SegmentError.REQUIRED_SEGMENT_MISSING))
    for offset in range(index, body_end):
        segment = segments[offset]
        position = offset + 1
        if segment.elements[0] == "HL":
            walk.hl(segment, position)
        else:
            walk.segment(segment, position)
    walk.finish(body_end + 1)

    if ts.has_trailer:
        se = segments[-1]
        walk.loops.append(("", se))
        se_elements = check_elements(se, grammar.se, d, walk.check_characters, position=len(segments), loop_id="")
        count = se.get(1)
        # SE01 is N0 1-10: the length check keeps int() off huge digit strings (ValueError
        # past 4300 digits, and quadratic before that).
        if not is_digits(count) or len(count) > 10 or int(count) != len(segments):
            errors.append(TransactionSetError.SEGMENT_COUNT_MISMATCH)
        if se.get(2) != control:
            errors.append(TransactionSetError.CONTROL_NUMBER_MISMATCH)
        if se_elements and not errors:
            walk.report(SegmentFinding("SE", len(segments), "", SegmentError.ELEMENT_ERRORS, tuple(se_elements)))
    else:
        errors.append(TransactionSetError.TRAILER_MISSING)
    st_elements = check_elements(st, grammar.st, d, walk.check_characters, position=1, loop_id="")
    if st_elements and not errors:
        walk.report(SegmentFinding("ST", 1, "", SegmentError.ELEMENT_ERRORS, tuple(st_elements)))

    findings = [f for position in sorted(walk.findings) for f in walk.findings[position]]
    findings = _with_business_unit(findings, walk.loops, walk.hl_segments, grammar.business_unit_loops)
    findings = findings[:MAX_SEGMENT_FINDINGS]
    if findings:
        errors.append(TransactionSetError.SEGMENTS_IN_ERROR)
    report = TransactionSetReport(set_id, control, convention, tuple(findings), tuple(errors[:5]))
    return ValidatedSet(report, tuple(walk.loops))


def _with_business_unit(
    findings: list[SegmentFinding],
    loops: list[tuple[str, Segment]],
    hl_segments: list[tuple[Segment, int, str]],
    unit_loops: frozenset[str],
) -> list[SegmentFinding]:
    if not any(f.loop_id in unit_loops for f in findings):
        return findings
    # Each subscriber (2000C, with its 2000D dependents) is a business unit: the position of
    # its HL and its first TRN02. ``loops`` and ``hl_segments`` list the 2000C HLs alike.
    starts = [position for _, position, loop_id in hl_segments if loop_id == "2000C"]
    traces: list[str] = []
    for loop, segment in loops:
        if loop == "2000C" and segment.id == "HL":
            traces.append("")
        elif loop == "2000C" and segment.id == "TRN" and traces and not traces[-1]:
            traces[-1] = segment.get(2)
    out: list[SegmentFinding] = []
    for f in findings:
        if f.loop_id in unit_loops:
            # A missing segment is reported at the segment after its loop: maybe the next HL.
            if f.code is SegmentError.REQUIRED_SEGMENT_MISSING:
                unit = bisect.bisect_left(starts, f.position) - 1
            else:
                unit = bisect.bisect_right(starts, f.position) - 1
            trace = traces[unit] if unit >= 0 else ""
            if trace and X12_CHARACTERS.issuperset(trace) and len(trace) <= 50:
                f = attrs.evolve(f, business_unit=trace)
        out.append(f)
    return out


def validate_group(
    group: Group,
    d: Delimiters,
    rules: Rules,
    *,
    clean_text: bool = False,
    grammar: TransactionGrammar = GRAMMAR_270,
    fast: bool = True,
) -> tuple[GroupReport, tuple[ValidatedSet, ...]]:
    """Judge one functional group and each transaction set in it (``clean_text``, ``grammar`` and
    ``fast`` as above)."""
    gs = group.gs
    functional_id, control, version = gs.get(1), gs.get(6), gs.get(8)
    errors: list[GroupError] = []
    received = len(group.transaction_sets)
    validated: list[ValidatedSet] = []
    if functional_id != grammar.functional_id:
        errors.append(GroupError.NOT_SUPPORTED)
    elif version not in grammar.versions:
        errors.append(GroupError.VERSION_NOT_SUPPORTED)
    else:
        for ts in group.transaction_sets:
            validated.append(validate_transaction_set(ts, d, rules, clean_text=clean_text, grammar=grammar, fast=fast))
        if rules.single_inquiry and grammar.single_inquiry and received > 1:
            validated = [
                attrs.evolve(
                    v,
                    report=attrs.evolve(
                        v.report,
                        errors=(*v.report.errors, TransactionSetError.IMPLEMENTATION_CONVENTION_NOT_SUPPORTED)[:5],
                    ),
                )
                for v in validated
            ]
    # AK902 is "Number of Transaction Sets Included": what the sender says in GE01 (when it is
    # a number AK902 can hold), AK903 the number received.
    included = received
    ge = group.ge
    if ge is None:
        errors.append(GroupError.TRAILER_MISSING)
    else:
        if ge.get(2) != control:
            errors.append(GroupError.CONTROL_NUMBER_MISMATCH)
        count = ge.get(1)
        numeric = is_digits(count) and len(count) <= 6
        if numeric:
            included = int(count)
        if not numeric or included != received:
            errors.append(GroupError.TRANSACTION_SET_COUNT_MISMATCH)
    report = GroupReport(
        functional_id, control, version, tuple(v.report for v in validated), tuple(errors[:5]), included, received
    )
    return report, tuple(validated)
