"""Plain-language explanations of TA1 and 999 replies, for people reading them.

Works from the reply text alone (any delimiters), so it serves both ``hetsock check`` and a
client explaining what a server sent back.
"""

from __future__ import annotations

from hetsock.x12.codes import ElementError, GroupError, SegmentError, Ta1Note, TransactionSetError
from hetsock.x12.isa import ISA_LENGTH, is_delimiter_character
from hetsock.x12.segments import Delimiters, Segment, tokenize_untrusted

TA1_TEXT: dict[str, str] = {
    Ta1Note.CONTROL_NUMBER_MISMATCH: "IEA02 must repeat ISA13, the interchange control number.",
    Ta1Note.VERSION_NOT_SUPPORTED: "ISA12 names a version this system does not take: send 00501 (5010).",
    Ta1Note.INVALID_SEGMENT_TERMINATOR: "The segment terminator (the character after ISA16) is not usable: "
    "it must be a punctuation character that no other delimiter uses.",
    Ta1Note.INVALID_SENDER_QUALIFIER: "ISA05 must be ZZ.",
    Ta1Note.INVALID_SENDER_ID: "ISA06 must be your submitter ID, left-justified in 15 characters.",
    Ta1Note.INVALID_RECEIVER_QUALIFIER: "ISA07 must be ZZ.",
    Ta1Note.INVALID_RECEIVER_ID: "ISA08 must be this system's receiver ID (CMS), padded to 15 characters.",
    Ta1Note.UNKNOWN_RECEIVER_ID: "ISA08 must be this system's receiver ID (CMS), padded to 15 characters.",
    Ta1Note.INVALID_AUTHORIZATION_QUALIFIER: "ISA01 must be 00: no authorization information is accepted.",
    Ta1Note.INVALID_AUTHORIZATION_VALUE: "ISA02 must be 10 blanks: never send credentials in the 270.",
    Ta1Note.INVALID_SECURITY_QUALIFIER: "ISA03 must be 00: no security information is accepted.",
    Ta1Note.INVALID_SECURITY_VALUE: "ISA04 must be 10 blanks: never send a password in the 270.",
    Ta1Note.INVALID_DATE: "ISA09 must be a real date, YYMMDD.",
    Ta1Note.INVALID_TIME: "ISA10 must be a real time, HHMM.",
    Ta1Note.INVALID_STANDARDS_IDENTIFIER: "ISA11, the repetition separator, must be a punctuation "
    "character no other delimiter uses (CMS uses ^).",
    Ta1Note.INVALID_VERSION_ID: "ISA12 must be the version number 00501.",
    Ta1Note.INVALID_CONTROL_NUMBER: "ISA13 must be a nine-digit control number.",
    Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED: "ISA14 must be 0 or 1.",
    Ta1Note.INVALID_TEST_INDICATOR: "ISA15 must be P (production) or T (test).",
    Ta1Note.INVALID_NUMBER_OF_GROUPS: "IEA01 must count the functional groups (GS segments).",
    Ta1Note.INVALID_CONTROL_STRUCTURE: "The ISA must be exactly 106 characters of 16 fixed-width elements.",
    Ta1Note.PREMATURE_END: "The interchange ends too early: it needs a whole ISA and a closing IEA.",
    Ta1Note.INVALID_CONTENT: "Between ISA and IEA there must be exactly one well-formed GS ... GE group "
    "(GS02 your submitter ID, GS03 CMS) holding the 270.",
    Ta1Note.INVALID_ELEMENT_SEPARATOR: "The element separator (the character after ISA) must be a "
    "punctuation character, such as *.",
    Ta1Note.INVALID_COMPONENT_SEPARATOR: "ISA16, the component separator, must be a punctuation "
    "character no other delimiter uses (CMS uses |).",
}

SEGMENT_TEXT: dict[str, str] = {
    SegmentError.UNRECOGNIZED_SEGMENT_ID: "is not a segment any X12 transaction uses",
    SegmentError.UNEXPECTED_SEGMENT: "is not allowed where it stands in a 270",
    SegmentError.REQUIRED_SEGMENT_MISSING: "is required here but missing",
    SegmentError.LOOP_OVER_MAXIMUM: "starts a loop that repeats more often than allowed",
    SegmentError.SEGMENT_OVER_MAXIMUM_USE: "repeats more often than allowed",
    SegmentError.NOT_IN_TRANSACTION_SET: "is an X12 segment the 270 does not use",
    SegmentError.NOT_IN_PROPER_SEQUENCE: "is out of order in its loop",
    SegmentError.ELEMENT_ERRORS: "has element errors",
    SegmentError.IMPLEMENTATION_NOT_USED: "is not used by this implementation (HETS takes no dependent loop)",
    SegmentError.IMPLEMENTATION_DEPENDENT_MISSING: "is required by the implementation but missing",
    SegmentError.IMPLEMENTATION_LOOP_UNDER_MINIMUM: "belongs to a loop that occurs too few times",
}

ELEMENT_TEXT: dict[str, str] = {
    ElementError.REQUIRED_MISSING: "is required but empty",
    ElementError.CONDITIONAL_REQUIRED_MISSING: "is required because of another element, but empty",
    ElementError.TOO_MANY_ELEMENTS: "is one element too many for this segment",
    ElementError.TOO_SHORT: "is too short",
    ElementError.TOO_LONG: "is too long",
    ElementError.INVALID_CHARACTER: "holds a character that is not allowed",
    ElementError.INVALID_CODE_VALUE: "is not one of the allowed codes",
    ElementError.INVALID_DATE: "is not a real date (CCYYMMDD; a range CCYYMMDD-CCYYMMDD, start first)",
    ElementError.INVALID_TIME: "is not a real time (HHMM or HHMMSS)",
    ElementError.EXCLUSION_VIOLATED: "may not be sent together with another element",
    ElementError.TOO_MANY_REPETITIONS: "repeats more often than allowed",
    ElementError.TOO_MANY_COMPONENTS: "has more components than allowed",
    ElementError.IMPLEMENTATION_NOT_USED: "is not used in this implementation: leave it empty",
    ElementError.CODE_NOT_USED_IN_IMPLEMENTATION: "is a code this implementation does not use",
}

SET_TEXT: dict[str, str] = {
    TransactionSetError.NOT_SUPPORTED: "ST01 must be 270",
    TransactionSetError.TRAILER_MISSING: "the transaction set has no SE",
    TransactionSetError.CONTROL_NUMBER_MISMATCH: "SE02 must repeat ST02",
    TransactionSetError.SEGMENT_COUNT_MISMATCH: "SE01 must count the segments from ST to SE",
    TransactionSetError.SEGMENTS_IN_ERROR: "one or more segments are in error (listed above)",
    TransactionSetError.INVALID_TRANSACTION_SET_ID: "ST01 is missing",
    TransactionSetError.INVALID_CONTROL_NUMBER: "ST02 must be 4 to 9 characters",
    TransactionSetError.IMPLEMENTATION_CONVENTION_NOT_SUPPORTED: "ST03 must be 005010X279A1, and "
    "an interchange may carry one 270 only",
}

GROUP_TEXT: dict[str, str] = {
    GroupError.NOT_SUPPORTED: "GS01 must be HS (eligibility inquiry)",
    GroupError.VERSION_NOT_SUPPORTED: "GS08 must be 005010X279A1",
    GroupError.TRAILER_MISSING: "the functional group has no GE",
    GroupError.CONTROL_NUMBER_MISMATCH: "GE02 must repeat GS06",
    GroupError.TRANSACTION_SET_COUNT_MISMATCH: "GE01 must count the transaction sets",
    GroupError.INVALID_CONTROL_NUMBER: "GS06 must be a number",
}


def _reply_segments(text: str) -> tuple[list[Segment], Delimiters] | None:
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        return None
    element = text[3]
    if not is_delimiter_character(element):
        return None
    d = Delimiters(element, text[82], text[104], text[105])
    return tokenize_untrusted(text, d), d


def _where(segment_id: str, position: str, loop_id: str) -> str:
    place = f"segment {position}" + (f", loop {loop_id}" if loop_id else "")
    return f"{segment_id} ({place})"


def explain_reply(text: str) -> list[str]:
    """Lines describing a TA1 or 999 reply for a person; empty when the text is neither."""
    parsed = _reply_segments(text)
    if parsed is None:
        return []
    segments, d = parsed
    lines: list[str] = []
    last_segment = ""
    for s in segments:
        sid = s.elements[0]
        if sid == "TA1":
            note = s.get(5)
            lines.append(f"TA1: the interchange {s.get(1)} was rejected (note {note}).")
            lines.append("  " + TA1_TEXT.get(note, "Unknown note code."))
        elif sid == "AK1":
            lines.append(f"999 for functional group {s.get(2)} ({s.get(1)}, {s.get(3)}):")
        elif sid == "AK2":
            lines.append(f"  transaction set {s.get(2)} ({s.get(1)}):")
        elif sid == "IK3":
            last_segment = s.get(1)
            text_ = SEGMENT_TEXT.get(s.get(4), f"error {s.get(4)}")
            lines.append(f"    {_where(s.get(1), s.get(2), s.get(3))} {text_} [IK304 {s.get(4)}]")
        elif sid == "IK4":
            position = s.get(1).split(d.component)
            name = f"{last_segment}{int(position[0]):02d}" if position[0].isdigit() else last_segment
            if len(position) > 1 and position[1]:
                name += f"-{position[1]}"
            if len(position) > 2 and position[2]:
                name += f" (repetition {position[2]})"
            value = f" (sent: {s.get(4)})" if s.get(4) else ""
            text_ = ELEMENT_TEXT.get(s.get(3), f"error {s.get(3)}")
            lines.append(f"      {name} {text_}{value} [IK403 {s.get(3)}]")
        elif sid == "CTX" and s.get(1) == "SITUATIONAL TRIGGER":
            lines.append(f"        because of {s.get(2)}{s.get(5)} at segment {s.get(3)}")
        elif sid == "IK5":
            verdict = "accepted" if s.get(1) == "A" else "rejected"
            reasons = [SET_TEXT.get(code, code) for code in s.elements[2:] if code]
            lines.append(f"    -> {verdict}" + (": " + "; ".join(reasons) if reasons else ""))
        elif sid == "AK9":
            verdict = {"A": "accepted", "P": "partly accepted", "R": "rejected"}.get(s.get(1), s.get(1))
            reasons = [GROUP_TEXT.get(code, code) for code in s.elements[5:] if code]
            lines.append(
                f"  group {verdict}: {s.get(4)} of {s.get(3)} transaction sets accepted"
                + ("; " + "; ".join(reasons) if reasons else "")
            )
    return lines
