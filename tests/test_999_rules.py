"""Every group, transaction set and 005010X279A1 rule has a test: the exact 999 it gets.

Each case mutates ``tests/data/hets/specimen.270`` (segments rebuilt with SE01 recounted, unless
SE01 is the fault) and asserts the whole 999 body from AK1 to AK9: each IK3 (segment ID,
position with ST as 1, loop, IK304), the CTX business unit ``TRN02|<trace>`` of findings in the
subscriber loops, each IK4 (position, reference number, IK403, a copy of a bad code value only),
IK5 and AK9. Specimen positions: ST 1, BHT 2, HL 3, NM1 (2100A) 4, HL 5, NM1 (2100B) 6, HL 7,
TRN 8, NM1 (2100C) 9, DMG 10, EQ 11, SE 12.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from hetsock.x12.ack999 import render_999
from hetsock.x12.check import Accepted, Rejected, check_270
from hetsock.x12.codes import ElementError, GroupError, SegmentError, TransactionSetError
from hetsock.x12.envelope import read_interchange_untrusted
from hetsock.x12.rules import Rules
from hetsock.x12.segments import Delimiters
from hetsock.x12.validate import (
    ElementFinding,
    SegmentFinding,
    TransactionSetReport,
    Trigger,
)
from hetsock.x12.writer import ControlNumbers, echo, substitute_character

DATA = Path(__file__).parent / "data" / "hets"
SPECIMEN = (DATA / "specimen.270").read_text(encoding="ascii")
SPECIMEN_MANY_EQ = (DATA / "specimen-many-eq.270").read_text(encoding="ascii")
NOW = dt.datetime(2027, 1, 2, 3, 4, 5)

SEGMENTS = SPECIMEN.split("~")[:-1]
ISA, GS, ST, BHT, HL_A, NM1_A, HL_B, NM1_B, HL_C, TRN, NM1_C, DMG, EQ, SE, GE, IEA = SEGMENTS

AK1 = "AK1*HS*5014*005010X279A1"
AK2 = "AK2*270*0001*005010X279A1"
CTX = "CTX*TRN02|TRACKNUM0001"
REJECTED_SET = ["IK5*R*5", "AK9*R*1*1*0"]


# --- helpers --------------------------------------------------------------------------------


def interchange(segments: Sequence[str], *, recount: bool = True) -> str:
    """Segments joined into interchange text, each SE01 recounted unless ``recount`` is off."""
    out: list[str] = []
    start = 0
    for segment in segments:
        if segment.startswith("ST*"):
            start = len(out)
        if recount and segment.startswith("SE*"):
            _, _, control = segment.split("*")
            segment = f"SE*{len(out) - start + 1}*{control}"
        out.append(segment)
    return "~".join(out) + "~"


def specimen_with(old: str, *new: str, recount: bool = True) -> str:
    """The specimen with its first ``old`` segment replaced by ``new`` (none: removed)."""
    segments = list(SEGMENTS)
    index = segments.index(old)
    segments[index : index + 1] = new
    return interchange(segments, recount=recount)


def after(anchor: str, *new: str) -> str:
    return specimen_with(anchor, anchor, *new)


def reject_999(data: str | bytes, rules: Rules | None = None) -> Rejected:
    """``data`` gets a 999 rejection; its reply is itself a readable X12 interchange."""
    decision = check_270(data, rules=rules or Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Rejected), decision
    assert decision.kind == "999", decision.reply
    assert decision.note is None
    assert decision.report is not None
    reply = read_interchange_untrusted(decision.reply, Rules.x12())
    (group,) = reply.groups
    assert (group.gs.get(1), group.gs.get(2), group.gs.get(3), group.gs.get(8)) == (
        "FA",
        "CMS",
        "DEMO0001",
        "005010X231A1",
    )
    (ack,) = group.transaction_sets
    assert ack.has_trailer
    assert [ack.segments[0].get(1), ack.segments[0].get(3)] == ["999", "005010X231A1"]
    assert ack.segments[-1].get(1) == str(len(ack.segments))
    return decision


def ack_body(reply: str) -> list[str]:
    """The 999's segments from AK1 to AK9."""
    segments = reply.split("~")
    first = next(i for i, s in enumerate(segments) if s.startswith("AK1*"))
    last = next(i for i, s in enumerate(segments) if s.startswith("AK9*"))
    return segments[first : last + 1]


def findings(decision: Rejected, index: int = 0) -> TransactionSetReport:
    assert decision.report is not None
    return decision.report.transaction_sets[index]


def assert_set_rejected(data: str | bytes, lines: list[str], rules: Rules | None = None) -> Rejected:
    """``data``'s one transaction set is rejected (IK5 R 5) with exactly these IK3/IK4/CTX."""
    decision = reject_999(data, rules)
    assert ack_body(decision.reply) == [AK1, AK2, *lines, *REJECTED_SET]
    assert findings(decision).errors == (TransactionSetError.SEGMENTS_IN_ERROR,)
    return decision


def test_specimens_are_accepted() -> None:
    for text in (SPECIMEN, interchange(SEGMENTS), SPECIMEN_MANY_EQ):
        decision = check_270(text, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
        assert isinstance(decision, Accepted)
    assert interchange(SEGMENTS) == SPECIMEN


# --- functional group (AK905) ---------------------------------------------------------------


def test_gs01_not_hs() -> None:
    decision = reject_999(specimen_with(GS, GS.replace("GS*HS*", "GS*HB*")))
    # Nothing in the group can be read as a 270: no AK2.
    assert ack_body(decision.reply) == ["AK1*HB*5014*005010X279A1", "AK9*R*1*1*0*1"]
    assert decision.report is not None
    assert decision.report.errors == (GroupError.NOT_SUPPORTED,)
    assert decision.report.transaction_sets == ()


@pytest.mark.parametrize("version", ["005010X222A1", "004010X092A1", "005010X279A2"])
def test_gs08_other_version(version: str) -> None:
    decision = reject_999(specimen_with(GS, GS.replace("005010X279A1", version)))
    assert ack_body(decision.reply) == [f"AK1*HS*5014*{version}", "AK9*R*1*1*0*2"]
    assert decision.report is not None
    assert decision.report.errors == (GroupError.VERSION_NOT_SUPPORTED,)


def test_gs08_pre_errata_version_is_accepted() -> None:
    text = specimen_with(GS, GS.replace("005010X279A1", "005010X279"))
    decision = check_270(text, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)
    assert decision.inquiry.version == "005010X279"


def test_ge02_differs_from_gs06() -> None:
    decision = reject_999(specimen_with(GE, "GE*1*5015"))
    # The set itself is sound (IK5 A); the group is not.
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*A", "AK9*R*1*1*1*4"]
    assert decision.report is not None
    assert decision.report.errors == (GroupError.CONTROL_NUMBER_MISMATCH,)


@pytest.mark.parametrize(
    ("count", "included"), [("2", "2"), ("0", "0"), ("000002", "2"), ("", "1"), ("X", "1"), ("1234567", "1")]
)
def test_ge01_not_the_number_of_sets(count: str, included: str) -> None:
    """AK902 is the number of sets the sender says it included (GE01) when GE01 is a number of at
    most six digits (AK902's maximum), else the number received; AK903 is the number received."""
    decision = reject_999(specimen_with(GE, f"GE*{count}*5014"))
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*A", f"AK9*R*{included}*1*1*5"]


def test_ge_missing() -> None:
    decision = reject_999(specimen_with(GE))
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*A", "AK9*R*1*1*1*3"]


# --- transaction set (IK502) ----------------------------------------------------------------


@pytest.mark.parametrize("set_id", ["271", "837"])
def test_st01_not_270(set_id: str) -> None:
    decision = reject_999(specimen_with(ST, ST.replace("270", set_id)))
    assert ack_body(decision.reply) == [
        AK1,
        f"AK2*{set_id}*0001*005010X279A1",
        "IK5*R*1",
        "AK9*R*1*1*0",
    ]
    assert findings(decision).errors == (TransactionSetError.NOT_SUPPORTED,)


def test_st02_differs_from_se02() -> None:
    decision = reject_999(specimen_with(SE, "SE*12*0002"))
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*R*3", "AK9*R*1*1*0"]


@pytest.mark.parametrize("count", ["11", "13", "", "1X"])
def test_se01_wrong_count(count: str) -> None:
    decision = reject_999(specimen_with(SE, f"SE*{count}*0001", recount=False))
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*R*4", "AK9*R*1*1*0"]
    assert findings(decision).errors == (TransactionSetError.SEGMENT_COUNT_MISMATCH,)


def test_se_missing() -> None:
    decision = reject_999(specimen_with(SE))
    assert ack_body(decision.reply) == [AK1, AK2, "IK5*R*2", "AK9*R*1*1*0"]


@pytest.mark.parametrize("convention", ["005010X222A1", "005010X279A2", "X"])
def test_st03_other_convention(convention: str) -> None:
    decision = reject_999(specimen_with(ST, f"ST*270*0001*{convention}"))
    assert ack_body(decision.reply) == [
        AK1,
        f"AK2*270*0001*{convention}",
        "IK5*R*I6",
        "AK9*R*1*1*0",
    ]


def test_two_transaction_sets_under_hets() -> None:
    second = [s.replace("0001", "0002") for s in SEGMENTS[2:14]]
    text = interchange([*SEGMENTS[:14], *second, "GE*2*5014", IEA])
    decision = reject_999(text)
    assert ack_body(decision.reply) == [
        AK1,
        AK2,
        "IK5*R*I6",
        "AK2*270*0002*005010X279A1",
        "IK5*R*I6",
        "AK9*R*2*2*0",
    ]
    # Plain X12 takes both.
    accepted = check_270(text, rules=Rules.x12(), now=NOW, control=ControlNumbers(1))
    assert isinstance(accepted, Accepted)
    assert accepted.report.received == 2


# --- BHT ------------------------------------------------------------------------------------


def test_bht01_bht02_wrong_codes() -> None:
    decision = assert_set_rejected(
        specimen_with(BHT, "BHT*0023*14*TRANSA*20261122*073411"),
        ["IK3*BHT*2**8", "IK4*1*1005*7*0023", "IK4*2*353*7*14"],
    )
    assert findings(decision).segment_findings == (
        SegmentFinding(
            "BHT",
            2,
            "",
            SegmentError.ELEMENT_ERRORS,
            (
                ElementFinding(1, "1005", ElementError.INVALID_CODE_VALUE, bad_value="0023"),
                ElementFinding(2, "353", ElementError.INVALID_CODE_VALUE, bad_value="14"),
            ),
        ),
    )


@pytest.mark.parametrize("date", ["20261131", "2026112", "2026-11-2", "20261122X"])
def test_bht04_not_a_date(date: str) -> None:
    assert_set_rejected(
        specimen_with(BHT, f"BHT*0022*13*TRANSA*{date}*073411"),
        ["IK3*BHT*2**8", "IK4*4*373*8"],
    )


@pytest.mark.parametrize("time", ["076011", "2400", "07341", "073411123", "07AA"])
def test_bht05_not_a_time(time: str) -> None:
    assert_set_rejected(
        specimen_with(BHT, f"BHT*0022*13*TRANSA*20261122*{time}"),
        ["IK3*BHT*2**8", "IK4*5*337*9"],
    )


def test_bht_missing() -> None:
    assert_set_rejected(specimen_with(BHT), ["IK3*BHT*2**3"])


# --- HL hierarchy ---------------------------------------------------------------------------


def test_hl02_names_the_wrong_parent() -> None:
    # 2000C names 2000A as its parent: IK4 2 on that HL, and 2000B's HL04 "1" is then untrue.
    assert_set_rejected(
        specimen_with(HL_C, "HL*3*1*22*0"),
        ["IK3*HL*5*2000B*8", "IK4*4*736*7*1", "IK3*HL*7*2000C*8", CTX, "IK4*2*734*7"],
    )


def test_hl01_not_sequential() -> None:
    assert_set_rejected(
        specimen_with(HL_C, "HL*4*2*22*0"),
        ["IK3*HL*7*2000C*8", CTX, "IK4*1*628*7"],
    )


def test_hl03_unknown_level() -> None:
    # The walk is lost until the next HL: the loop's segments are skipped, and the required
    # 2000C (and so 2000B's child) is missing, reported at the SE's position.
    assert_set_rejected(
        specimen_with(HL_C, "HL*3*2*99*0"),
        ["IK3*HL*5*2000B*8", "IK4*4*736*7*1", "IK3*HL*7**8", "IK4*3*735*7*99", "IK3*HL*12*2000C*3"],
    )


def test_hl04_says_children_follow_but_none_do() -> None:
    assert_set_rejected(
        specimen_with(HL_C, "HL*3*2*22*1"),
        ["IK3*HL*7*2000C*8", CTX, "IK4*4*736*7*1"],
    )


def test_hl04_says_no_children_but_one_follows() -> None:
    assert_set_rejected(
        specimen_with(HL_B, "HL*2*1*21*0"),
        ["IK3*HL*5*2000B*8", "IK4*4*736*7*0"],
    )


# --- segments (IK304) -----------------------------------------------------------------------


def test_2100b_nm1_missing() -> None:
    # Reported at the segment that showed it missing: the 2000C HL, now at position 6.
    decision = assert_set_rejected(specimen_with(NM1_B), ["IK3*NM1*6*2100B*3"])
    assert findings(decision).segment_findings == (
        SegmentFinding("NM1", 6, "2100B", SegmentError.REQUIRED_SEGMENT_MISSING),
    )


def test_2100c_nm1_missing() -> None:
    # DMG and EQ belong to the loop NM1 opens: without it they are unexpected in 2000C.
    assert_set_rejected(
        specimen_with(NM1_C),
        ["IK3*DMG*9*2000C*2", CTX, "IK3*EQ*10*2000C*2", CTX, "IK3*NM1*11*2100C*3", CTX],
    )


def test_unrecognized_segment() -> None:
    assert_set_rejected(after(DMG, "ZZZ*1"), ["IK3*ZZZ*11*2100C*1", CTX])


@pytest.mark.parametrize("segment_id", ["CLM", "EB", "AAA", "NTE"])
def test_x12_segment_not_in_the_270(segment_id: str) -> None:
    assert_set_rejected(after(DMG, f"{segment_id}*1"), [f"IK3*{segment_id}*11*2100C*6", CTX])


def test_270_segment_before_the_loop_it_belongs_to() -> None:
    # DMG ahead of NM1 in 2100C: the 2100C loop has not begun, so DMG is unexpected (2) in
    # 2000C, not out of sequence (7).
    segments = list(SEGMENTS)
    segments[10:12] = [DMG, NM1_C]
    assert_set_rejected(interchange(segments), ["IK3*DMG*9*2000C*2", CTX])


def test_270_segment_after_its_place() -> None:
    # TRN after NM1 in 2000C: its loop has passed it, so it is out of sequence (7).
    assert_set_rejected(after(NM1_C, "TRN*1*TRACKNUM0002*9DEMO00001"), ["IK3*TRN*10*2100C*7", CTX])


def test_270_segment_in_another_loop() -> None:
    # An INS (2100C/2100D only) in 2100B.
    assert_set_rejected(after(NM1_B, "INS*Y*18"), ["IK3*INS*7*2100B*2"])


def test_second_subscriber_under_hets() -> None:
    text = after(
        EQ,
        "HL*4*2*22*0",
        "TRN*1*TRACKNUM0002*9DEMO00002",
        "NM1*IL*1*ROE*JOHN****MI*1EG4TE5MK74",
        "EQ*30",
    )
    # The extra 2000C is its own business unit: its CTX names its own trace number.
    decision = assert_set_rejected(text, ["IK3*HL*12*2000C*4", "CTX*TRN02|TRACKNUM0002"])
    assert findings(decision).segment_findings[0].code is SegmentError.LOOP_OVER_MAXIMUM
    assert isinstance(check_270(text, rules=Rules.x12(), now=NOW, control=ControlNumbers(1)), Accepted)


def test_dependent_under_hets() -> None:
    text = specimen_with(HL_C, "HL*3*2*22*1").replace(
        "EQ*30~", "EQ*30~HL*4*3*23*0~TRN*1*TRACKNUM0002*9DEMO00001~NM1*03*1*ROE*JOHN~EQ*30~"
    )
    text = interchange(text.split("~")[:-1])
    # A 2000D belongs to its subscriber's business unit.
    assert_set_rejected(text, ["IK3*HL*12*2000D*I4", CTX])
    assert isinstance(check_270(text, rules=Rules.x12(), now=NOW, control=ControlNumbers(1)), Accepted)


def test_eligibility_loop_over_99() -> None:
    # EQ at positions 11..110: the 100th opens a 2110C past its maximum.
    assert_set_rejected(specimen_with(EQ, *["EQ*30"] * 100), ["IK3*EQ*110*2110C*4", CTX])
    decision = check_270(specimen_with(EQ, *["EQ*30"] * 99), rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_2100b_ref_over_maximum_use() -> None:
    refs = [f"REF*TJ*12345678{i}" for i in range(10)]
    # REFs at positions 7..16: the 10th is one past REF's maximum use of 9. No CTX in 2100B.
    assert_set_rejected(after(NM1_B, *refs), ["IK3*REF*16*2100B*5"])
    decision = check_270(after(NM1_B, *refs[:9]), rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_segment_over_maximum_use_in_2100c() -> None:
    assert_set_rejected(after(DMG, "DMG*D8*19400401"), ["IK3*DMG*11*2100C*5", CTX])


# --- elements (IK403) -----------------------------------------------------------------------


@pytest.mark.parametrize("extra", ["*X", "*X*Y"])
def test_too_many_elements(extra: str) -> None:
    # NM1 defines twelve elements; IK401 is the first extra one.
    assert_set_rejected(
        specimen_with(NM1_C, NM1_C + "***" + extra),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*13**3"],
    )


def test_required_element_missing() -> None:
    assert_set_rejected(
        specimen_with(NM1_A, "NM1*PR*2******PI*CMS"),
        ["IK3*NM1*4*2100A*8", "IK4*3*1035*1"],
    )


def test_required_trailing_element_missing() -> None:
    assert_set_rejected(specimen_with(TRN, "TRN*1*TRACKNUM0001"), ["IK3*TRN*8*2000C*8", CTX, "IK4*3*509*1"])


def test_not_used_element_present() -> None:
    assert_set_rejected(
        specimen_with(NM1_C, "NM1*IL*1*DOE*JANE**X**MI*1EG4TE5MK73"),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*6*1038*I10"],
    )


def test_element_too_long_does_not_echo_the_name() -> None:
    name = "D" * 61
    decision = assert_set_rejected(
        specimen_with(NM1_C, f"NM1*IL*1*{name}*JANE****MI*1EG4TE5MK73"),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*3*1035*5"],
    )
    assert name not in decision.reply
    assert "JANE" not in decision.reply
    assert "1EG4TE5MK73" not in decision.reply
    (finding,) = findings(decision).segment_findings
    assert finding.elements == (ElementFinding(3, "1035", ElementError.TOO_LONG),)


def test_element_too_short() -> None:
    assert_set_rejected(
        specimen_with(TRN, "TRN*1*TRACKNUM0001*9DEMO0000"),
        ["IK3*TRN*8*2000C*8", CTX, "IK4*3*509*4"],
    )


@pytest.mark.parametrize("character", ["\x01", "\x7f", "\xc9", "\u00e9"])
def test_invalid_character(character: str) -> None:
    text = specimen_with(NM1_C, f"NM1*IL*1*DO{character}E*JANE****MI*1EG4TE5MK73")
    for data in (text, text.encode("latin-1")):
        decision = assert_set_rejected(data, ["IK3*NM1*9*2100C*8", CTX, "IK4*3*1035*6"])
        assert "DO" not in ack_body(decision.reply)[3]


@pytest.mark.parametrize("code", ["ZZ", "31", "A", "123"])
def test_invalid_code_value(code: str) -> None:
    # EQ01 repeats, so IK401 names the repetition; the code value is echoed.
    assert_set_rejected(
        specimen_with(EQ, f"EQ*{code}"),
        ["IK3*EQ*11*2110C*8", CTX, f"IK4*1||1*1365*7*{code}"],
    )


def test_invalid_code_in_a_later_repetition() -> None:
    assert_set_rejected(
        specimen_with(EQ, "EQ*30^1^ZZ"),
        ["IK3*EQ*11*2110C*8", CTX, "IK4*1||3*1365*7*ZZ"],
    )


def test_invalid_code_in_a_component() -> None:
    assert_set_rejected(
        specimen_with(EQ, "EQ**XX|80061"),
        ["IK3*EQ*11*2110C*8", CTX, "IK4*2|1*235*7*XX"],
    )


@pytest.mark.parametrize("date", ["20230230", "19401301", "1940040", "19400401X"])
def test_invalid_date(date: str) -> None:
    decision = assert_set_rejected(
        specimen_with(DMG, f"DMG*D8*{date}"),
        ["IK3*DMG*10*2100C*8", CTX, "IK4*2*1251*8"],
    )
    assert date not in decision.reply


@pytest.mark.parametrize("period", ["20261122-20261101", "20261122", "20261122-20261131", "-"])
def test_invalid_date_range(period: str) -> None:
    assert_set_rejected(
        after(DMG, f"DTP*291*RD8*{period}"),
        ["IK3*DTP*11*2100C*8", CTX, "IK4*3*1251*8"],
    )


def test_date_range_of_one_day_is_accepted() -> None:
    decision = check_270(
        after(DMG, "DTP*291*RD8*20261122-20261122"), rules=Rules.hets(), now=NOW, control=ControlNumbers(1)
    )
    assert isinstance(decision, Accepted)


def test_too_many_repetitions() -> None:
    assert_set_rejected(specimen_with(DMG, "DMG*D8^D8*19400401"), ["IK3*DMG*10*2100C*8", CTX, "IK4*1*1250*12"])
    assert_set_rejected(
        specimen_with(NM1_C, "NM1*IL*1*DOE^ROE*JANE****MI*1EG4TE5MK73"),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*3*1035*12"],
    )


def test_too_many_components() -> None:
    # In a simple element, and past the eight components of the EQ02 composite.
    assert_set_rejected(
        specimen_with(NM1_C, "NM1*IL|X*1*DOE*JANE****MI*1EG4TE5MK73"),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*1*98*13"],
    )
    assert_set_rejected(
        specimen_with(EQ, "EQ**HC|80061|1|2|3|4|5|6|7"),
        ["IK3*EQ*11*2110C*8", CTX, "IK4*2*C003*13"],
    )


def test_paired_element_missing_names_its_trigger() -> None:
    decision = assert_set_rejected(
        specimen_with(NM1_C, "NM1*IL*1*DOE*JANE****MI"),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*9*67*2", "CTX*SITUATIONAL TRIGGER*NM1*9*2100C*8"],
    )
    (finding,) = findings(decision).segment_findings
    assert finding.elements == (
        ElementFinding(9, "67", ElementError.CONDITIONAL_REQUIRED_MISSING, trigger=Trigger("NM1", 9, "2100C", 8)),
    )
    assert finding.business_unit == "TRACKNUM0001"


@pytest.mark.parametrize("eq", ["EQ", "EQ*", "EQ***FAM"])
def test_eq_without_service_type_or_procedure(eq: str) -> None:
    # X12 R0102: one of EQ01 or EQ02; IK401 names the first, with no trigger.
    assert_set_rejected(specimen_with(EQ, eq), ["IK3*EQ*11*2110C*8", CTX, "IK4*1*1365*2"])


@pytest.mark.parametrize(
    ("n4", "lines"),
    [
        pytest.param(
            "N4*SPRINGFIELD*IL*62701*US***X",
            ["IK4*7*1715*10", "CTX*SITUATIONAL TRIGGER*N4*8*2100B*2"],
            id="E0207-exclusion",
        ),
        pytest.param(
            "N4*SPRINGFIELD**62701****X",
            ["IK4*4*26*2", "CTX*SITUATIONAL TRIGGER*N4*8*2100B*7"],
            id="C0704-conditional",
        ),
    ],
)
def test_other_syntax_rules_name_their_trigger(n4: str, lines: list[str]) -> None:
    assert_set_rejected(after(NM1_B, "N3*1 MAIN ST", n4), ["IK3*N4*8*2100B*8", *lines])


# --- the replies ----------------------------------------------------------------------------


def test_no_ctx_business_unit_outside_the_subscriber_loops() -> None:
    decision = assert_set_rejected(
        specimen_with(NM1_B, "NM1*1P*2*SPRINGFIELD CLINIC*****XX"),
        ["IK3*NM1*6*2100B*8", "IK4*9*67*1"],
    )
    assert findings(decision).segment_findings[0].business_unit is None


def test_business_unit_is_each_subscribers_own_trace() -> None:
    # Plain X12 takes two subscribers: a fault in the second names the second's TRN02.
    text = after(
        EQ,
        "HL*4*2*22*0",
        "TRN*1*TRACKNUM0002*9DEMO00002",
        "NM1*IL*1*ROE*JOHN****MI*1EG4TE5MK74",
        "EQ*ZZ",
    )
    assert_set_rejected(text, ["IK3*EQ*15*2110C*8", "CTX*TRN02|TRACKNUM0002", "IK4*1||1*1365*7*ZZ"], rules=Rules.x12())
    text = specimen_with(
        EQ, "EQ*ZZ", "HL*4*2*22*0", "TRN*1*TRACKNUM0002*9DEMO00002", "NM1*IL*1*ROE*JOHN****MI*1EG4TE5MK74", "EQ*30"
    )
    assert_set_rejected(text, ["IK3*EQ*11*2110C*8", CTX, "IK4*1||1*1365*7*ZZ"], rules=Rules.x12())


def test_accepted_999() -> None:
    decision = check_270(SPECIMEN, rules=Rules.hets(), now=NOW, control=ControlNumbers(7, 8, 9))
    assert isinstance(decision, Accepted)
    reply = render_999(
        decision.header,
        decision.inquiry.group_sender,
        decision.inquiry.group_receiver,
        decision.report,
        now=NOW,
        control=ControlNumbers(7, 8, 9),
    )
    assert ack_body(reply) == [AK1, AK2, "IK5*A", "AK9*A*1*1*1"]
    read = read_interchange_untrusted(reply, Rules.x12())
    assert read.header.control_number == "000000007"
    (group,) = read.groups
    assert group.gs.get(6) == "8"
    assert group.transaction_sets[0].segments[0].elements == ["ST", "999", "0009", "005010X231A1"]


def test_rejection_reply_uses_the_callers_control_numbers() -> None:
    decision = check_270(specimen_with(EQ, "EQ*ZZ"), rules=Rules.hets(), now=NOW, control=ControlNumbers(41, 42, 43))
    assert isinstance(decision, Rejected)
    read = read_interchange_untrusted(decision.reply, Rules.x12())
    assert read.header.control_number == "000000041"
    assert read.groups[0].gs.get(6) == "42"
    assert read.groups[0].transaction_sets[0].segments[0].get(2) == "0043"


# --- line breaks: between segments only -----------------------------------------------------


@pytest.mark.parametrize("inside", ["\n", "\r\n", "\r", "\t"])
def test_line_break_inside_an_element_is_an_invalid_character(inside: str) -> None:
    """CR and LF are line breaks only right after a segment terminator; inside an element they
    are characters outside the X12 set, reported as a TAB is (IK403 6), never echoed."""
    assert_set_rejected(
        specimen_with(TRN, TRN.replace("TRACKNUM0001", f"TRACK{inside}NUM0001")),
        ["IK3*TRN*8*2000C*8", "IK4*2*127*6"],
    )
    assert_set_rejected(
        specimen_with(NM1_C, NM1_C.replace("*DOE*", f"*DO{inside}E*")),
        ["IK3*NM1*9*2100C*8", CTX, "IK4*3*1035*6"],
    )


@pytest.mark.parametrize("line_break", ["\n", "\r\n"])
def test_line_breaks_between_segments_are_not_data(line_break: str) -> None:
    text = SPECIMEN.replace("~", "~" + line_break)
    decision = check_270(text, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


# --- "?" as a delimiter: echoed substitutes never become delimiters -------------------------

QUESTION = SPECIMEN.replace("*", "?")


@pytest.mark.parametrize(
    ("data", "kind", "expected"),
    [
        (
            QUESTION.replace("ST?270?0001?", "ST?270?00\x0001?").replace("SE?12?0001", "SE?12?00\x0001"),
            "999",
            "AK2?270?00.01?005010X279A1",
        ),
        (QUESTION.replace("?CMS            ?", "?CMS^           ?", 1), "TA1", "?ZZ?CMS.           ?"),
        (QUESTION.replace("EQ?30~", "EQ?30~Z?1~").replace("SE?12", "SE?13"), "999", "IK3?...?12?2110C?1"),
        (QUESTION.replace("?005010X279A1~ST", "?005010X279\xe9~ST"), "999", "AK1?HS?5014?005010X279."),
    ],
    ids=["st02-nul", "isa08-repetition", "one-letter-segment", "gs08-non-ascii"],
)
def test_substitute_is_never_a_delimiter_of_the_reply(data: str, kind: str, expected: str) -> None:
    decision = check_270(data, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Rejected)
    assert decision.kind == kind
    assert expected in decision.reply
    reply = read_interchange_untrusted(decision.reply, Rules.x12())
    assert reply.header.delimiters.element == "?"


def test_echo_substitute_follows_the_delimiters() -> None:
    default = Delimiters("*", "^", "|", "~")
    assert echo("A\x00B*C", default) == "A?B?C"
    assert substitute_character(Delimiters("?", ".", "|", "~")) == "-"
    assert echo("A\x00B?C.D", Delimiters("?", ".", "|", "~")) == "A-B-C-D"
    assert echo("OK", Delimiters("?", ".", "-", "_")) == "OK"
    assert echo("\x00", Delimiters("?", ".", "-", "_")) == "@"
    assert echo("   ", default, "X") == "X"


# --- 2110C under one inquiry: the subscriber is the patient --------------------------------


def test_no_eq_under_hets_is_a_missing_2110c() -> None:
    """X279A1 2110C is required when the subscriber is the patient (X12 RFI 298); with no 2000D
    (HETS), the subscriber always is: a missing 2110C is IK304 I6, at the segment after 2100C."""
    data = specimen_with(EQ)
    assert_set_rejected(data, ["IK3*EQ*11*2110C*I6", CTX])
    fast = check_270(data, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    full = check_270(data, rules=Rules.hets(), now=NOW, control=ControlNumbers(1), fast=False)
    assert isinstance(fast, Rejected)
    assert isinstance(full, Rejected)
    assert fast.reply == full.reply


def test_a_dependent_without_the_subscribers_eq_is_refused_for_the_dependent_only() -> None:
    # With a 2000D the subscriber is not the patient: no 2110C is due, only the I4 for the 2000D.
    text = specimen_with(HL_C, "HL*3*2*22*1").replace(
        "EQ*30~", "HL*4*3*23*0~TRN*1*TRACKNUM0002*9DEMO00001~NM1*03*1*ROE*JOHN~EQ*30~"
    )
    assert_set_rejected(interchange(text.split("~")[:-1]), ["IK3*HL*11*2000D*I4", CTX])


def test_no_eq_in_plain_x12_is_situational() -> None:
    decision = check_270(specimen_with(EQ), rules=Rules.x12(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


@pytest.mark.parametrize("control", ["0000000001", "001"])
def test_st02_out_of_ak202_range_is_not_copied(control: str) -> None:
    """AK202 is AN 4-9: an ST02 outside that (IK502 7) is written as 0000, keeping the 999 valid."""
    data = specimen_with(ST, f"ST*270*{control}*005010X279A1")
    data = data.replace("SE*12*0001", f"SE*12*{control}")
    decision = reject_999(data)
    assert ack_body(decision.reply) == [AK1, "AK2*270*0000*005010X279A1", "IK5*R*7", "AK9*R*1*1*0"]


def test_st03_longer_than_ak203_is_cut() -> None:
    data = specimen_with(ST, "ST*270*0001*" + "X" * 40)
    decision = reject_999(data)
    assert ack_body(decision.reply)[1] == "AK2*270*0001*" + "X" * 35
