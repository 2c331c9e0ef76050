"""``check_271``: the structural check of 271 responses (005010X279A1).

The peer 271s under ``tests/data/peers`` are judged (valid, or invalid with the exact fault the
guide or X12 makes it), then a small hand-written Medicare-style 271 (``MEDICARE_271``, the
HETS-NOTES section 6 patterns) is broken one way at a time and each case asserts its exact
findings. Hypothesis checks that ``check_271`` never raises, on random bytes and on mutated
peer 271s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetsock.x12.check271 import Check271Result, check_271
from hetsock.x12.codes import ElementError, GroupError, SegmentError, Ta1Note, TransactionSetError
from hetsock.x12.grammar270 import LoopSpec, SegmentSpec
from hetsock.x12.grammar271 import GRAMMAR_271, SEGMENT_IDS_271
from hetsock.x12.segments import Delimiters, tokenize_untrusted, write_segments
from hetsock.x12.validate import ElementFinding, SegmentFinding

PEERS = Path(__file__).parent / "data" / "peers"

VALID_PEERS = [
    "linuxforhealth-x12/demo.271",
    "linuxforhealth-x12/271_dependent-health-benefit-check.271",
    "stupidedi/X279-HB271_response-to-generic-request-by-clinic-for-patient-subscriber-eligibility.edi",
    "stupidedi/X279-HB271_response-to-generic-request-by-physician-for-patient-dependent-eligibility.edi",
]
STUPIDEDI_ERROR = "stupidedi/X279A1-HB271_error-response-from-payer-to-clinic-not-eligible-for-inquiries-with-payer.edi"
TIGERSHARK = "tigershark/5010-271-example-1.txt"
LFH_ERROR = "linuxforhealth-x12/271_subscriber-health-benefit-check-error.271"
PEER_271S = {name: (PEERS / name).read_bytes() for name in [*VALID_PEERS, STUPIDEDI_ERROR, TIGERSHARK, LFH_ERROR]}

TRACE = "TRACKNUM0001"

ISA = "ISA*00*          *00*          *ZZ*CMS            *ZZ*DEMO0001       *270102*0304*^*00501*000000001*0*P*|"
GS = "GS*HB*CMS*DEMO0001*20270102*0304*1*X*005010X279A1"
GE_IEA = ["GE*1*1", "IEA*1*000000001"]

#: A Medicare-style 271 body (ST to SE): positions in comments, ST is 1.
MEDICARE_271 = [
    "ST*271*0001*005010X279A1",  # 1
    "BHT*0022*11*TRANSA*20270102*0304",  # 2
    "HL*1**20*1",  # 3  2000A
    "NM1*PR*2*CMS*****PI*CMS",  # 4  2100A
    "HL*2*1*21*1",  # 5  2000B
    "NM1*1P*2*SPRINGFIELD CLINIC*****XX*1234567893",  # 6  2100B
    "HL*3*2*22*0",  # 7  2000C
    f"TRN*2*{TRACE}*9DEMO00001",  # 8
    "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73",  # 9  2100C
    "DMG*D8*19400401*F",  # 10
    "EB*1**30^42^45^48^49^69^76^83^A5^A7^AG^BT^BU^BV*MA",  # 11 2110C (Part A)
    "DTP*291*D8*20050401",  # 12
    "EB*C**30*MA**26*1632",  # 13 2110C (Part A deductible)
    "DTP*291*RD8*20270101-20271231",  # 14
    "EB*R**30*HN",  # 15 2110C (Medicare Advantage)
    "REF*18*H1234 001",  # 16
    "DTP*290*D8*20260101",  # 17
    "LS*2120",  # 18
    "NM1*PRP*2*ADVANTAGE PLAN",  # 19 2120C
    "N3*1 MAIN ST",  # 20
    "N4*BALTIMORE*MD*21244",  # 21
    "PER*IC**TE*8005551212",  # 22
    "LE*2120",  # 23 2110C
    "EB*D**BT*MB*********HC|G0438",  # 24 2110C (preventive)
    "DTP*348*D8*20270601",  # 25
    "SE*26*0001",  # 26
]

#: Words of the beneficiary that no description may repeat.
SECRETS = ("DOE", "JANE", "1EG4TE5MK73", "19400401")


def interchange(body: Sequence[str], *, gs: str = GS, recount: bool = True) -> str:
    """ISA, GS, the body (SE01 recounted unless ``recount`` is off), GE and IEA."""
    segments = list(body)
    if recount and segments and segments[-1].startswith("SE*"):
        control = segments[-1].split("*")[2]
        segments[-1] = f"SE*{len(segments)}*{control}"
    return "~".join([ISA, gs, *segments, *GE_IEA]) + "~"


def medicare_with(old: str, *new: str) -> str:
    """The Medicare 271 with its first ``old`` segment replaced by ``new`` (none: removed)."""
    body = list(MEDICARE_271)
    index = body.index(old)
    body[index : index + 1] = new
    return interchange(body)


def invalid(data: str | bytes) -> Check271Result:
    result = check_271(data)
    assert not result.valid, result.describe()
    lines = "\n".join(result.describe())
    for secret in SECRETS:
        assert secret not in lines
    return result


def unit(finding: SegmentFinding) -> SegmentFinding:
    """``finding`` as it comes from a subscriber loop: with the TRN02 business unit."""
    return SegmentFinding(
        finding.segment_id,
        finding.position,
        finding.loop_id,
        finding.code,
        finding.elements,
        business_unit=TRACE,
    )


def element_errors(segment_id: str, position: int, loop_id: str, *elements: ElementFinding) -> SegmentFinding:
    return SegmentFinding(segment_id, position, loop_id, SegmentError.ELEMENT_ERRORS, elements)


# --- the peers -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALID_PEERS)
def test_valid_peer_271s(name: str) -> None:
    result = check_271(PEER_271S[name])
    assert result.valid, result.describe()
    assert result.findings == ()
    assert result.describe() == ["valid 271 (1 transaction set)"]


def test_stupidedi_error_response_says_hl04_1_with_no_child() -> None:
    # Genuinely invalid: HL*2*1*21*1 says subordinate HL segments follow 2000B (HL04 1), but the
    # set ends after the 2100B AAA. HL04 must say truly whether children follow (X12's HL04; the
    # walk holds the 270 to the same). With HL04 0, the response is valid.
    result = invalid(PEER_271S[STUPIDEDI_ERROR])
    assert result.set_errors == (TransactionSetError.SEGMENTS_IN_ERROR,)
    assert result.findings == (
        element_errors("HL", 5, "2000B", ElementFinding(4, "736", ElementError.INVALID_CODE_VALUE, bad_value="1")),
    )
    fixed = PEER_271S[STUPIDEDI_ERROR].replace(b"HL*2*1*21*1~", b"HL*2*1*21*0~")
    assert check_271(fixed).valid


def test_tigershark_example_miscounts_its_segments() -> None:
    # Genuinely invalid: SE|74 but the set holds 73 segments from ST to SE. Counted right,
    # everything else in it (MSG, HSD, LS/LE around a 2120C NM1 with no NM108) is valid.
    result = invalid(PEER_271S[TIGERSHARK])
    assert result.set_errors == (TransactionSetError.SEGMENT_COUNT_MISMATCH,)
    assert result.findings == ()
    assert check_271(PEER_271S[TIGERSHARK].replace(b"SE|74|0001~", b"SE|73|0001~")).valid


def test_linuxforhealth_error_response_has_se02_not_st02() -> None:
    result = invalid(PEER_271S[LFH_ERROR])
    assert result.set_errors == (TransactionSetError.CONTROL_NUMBER_MISMATCH,)
    assert result.findings == ()
    assert result.describe() == ["not a valid 271", "transaction set 4321: control number mismatch (IK502 3)"]
    assert check_271(PEER_271S[LFH_ERROR].replace(b"SE*8*4323~", b"SE*8*4321~")).valid


def test_270s_are_not_271s() -> None:
    result = invalid((PEERS / "linuxforhealth-x12" / "demo.270").read_bytes())
    assert result.group_errors == (GroupError.NOT_SUPPORTED,)
    # A 270 in an HB group: ST01 is not 271.
    text = (PEERS / "linuxforhealth-x12" / "demo.270").read_text().replace("GS*HS*", "GS*HB*")
    result = invalid(text)
    assert result.group_errors == ()
    assert result.set_errors == (TransactionSetError.NOT_SUPPORTED,)


# --- the Medicare 271 and its faults --------------------------------------------------------


def test_medicare_271_is_valid() -> None:
    result = check_271(interchange(MEDICARE_271))
    assert result.valid, result.describe()
    assert check_271(interchange(MEDICARE_271).encode("ascii")).valid


@pytest.mark.parametrize(
    "body",
    [
        # HETS reject: MBI not found, with the inquiry window echoed.
        [
            *MEDICARE_271[:9],
            "AAA*N**72*C",
            "DMG*D8*19400401",
            "DTP*307*RD8*20260102-20270502",
            "SE*0*0001",
        ],
        # System unavailable: AAA 42 in 2100A, nothing below 2000A.
        [*MEDICARE_271[:2], "HL*1**20*0", MEDICARE_271[3], "AAA*N**42*R", "SE*0*0001"],
        # Unlinked NPI: AAA 41 in 2100B, no subscriber loop.
        [*MEDICARE_271[:4], "HL*2*1*21*0", MEDICARE_271[5], "AAA*N**41*N", "SE*0*0001"],
        # Part D, MSP, hospice and home health patterns; date of death; identifying data changed.
        [
            *MEDICARE_271[:9],
            "INS*Y*18*001*25",
            "DTP*442*D8*20270101",
            "EB*R**88",
            "REF*18*S1234 001",
            "DTP*292*D8*20260101",
            "LS*2120",
            "NM1*PR*2*DRUG PLAN",
            "LE*2120",
            "EB*R**30*12",
            "DTP*290*D8*20200101",
            "LS*2120",
            "NM1*PRP*2*EMPLOYER PLAN",
            "LE*2120",
            "EB*X**45*MA**26",
            "DTP*292*RD8*20260101-20260301",
            "LS*2120",
            "NM1*1P*2******XX*1234567893",
            "LE*2120",
            "EB*B**AG*MA**29*20950**DY*20",
            "HSD*DY*20***29",
            "MSG*SKILLED NURSING DAYS",
            "SE*0*0001",
        ],
    ],
    ids=["subscriber-reject", "source-unavailable", "receiver-reject", "benefit-patterns"],
)
def test_medicare_271_variants_are_valid(body: list[str]) -> None:
    result = check_271(interchange(body))
    assert result.valid, result.describe()


def test_eb_in_the_receiver_loop_is_unexpected() -> None:
    result = invalid(medicare_with(MEDICARE_271[5], MEDICARE_271[5], "EB*1**30*MA"))
    assert result.set_errors == (TransactionSetError.SEGMENTS_IN_ERROR,)
    assert result.findings == (SegmentFinding("EB", 7, "2100B", SegmentError.UNEXPECTED_SEGMENT),)


def test_demographics_after_eb_are_out_of_sequence() -> None:
    result = invalid(medicare_with(MEDICARE_271[9], MEDICARE_271[10], MEDICARE_271[9]))
    # EB (10) opens 2110C; DMG (11) belongs to 2100C, before it; the next DTP then follows EB.
    assert result.findings == (unit(SegmentFinding("DMG", 11, "2110C", SegmentError.NOT_IN_PROPER_SEQUENCE)),)


def test_unknown_eb01_code() -> None:
    result = invalid(medicare_with(MEDICARE_271[10], "EB*Z**30*MA"))
    assert result.findings == (
        unit(
            element_errors("EB", 11, "2110C", ElementFinding(1, "1390", ElementError.INVALID_CODE_VALUE, bad_value="Z"))
        ),
    )


def test_unknown_service_type_in_eb03_repetition() -> None:
    result = invalid(medicare_with(MEDICARE_271[10], "EB*1**30^ZZ*MA"))
    assert result.findings == (
        unit(
            element_errors(
                "EB",
                11,
                "2110C",
                ElementFinding(3, "1365", ElementError.INVALID_CODE_VALUE, repetition=2, bad_value="ZZ"),
            )
        ),
    )


def test_ls_without_le() -> None:
    result = invalid(medicare_with("LE*2120"))
    # LE is missing when the next EB (now position 23) closes the 2110C loop.
    assert result.findings == (unit(SegmentFinding("LE", 23, "2110C", SegmentError.REQUIRED_SEGMENT_MISSING)),)


def test_ls_without_le_at_the_end_of_the_set() -> None:
    body = [*MEDICARE_271[:22], "SE*0*0001"]
    result = invalid(interchange(body))
    assert result.findings == (unit(SegmentFinding("LE", 23, "2110C", SegmentError.REQUIRED_SEGMENT_MISSING)),)


def test_2120c_nm1_before_ls() -> None:
    # The entity's NM1 (18) comes before the LS (19) that should open the bounds.
    body = list(MEDICARE_271)
    body[17:19] = ["NM1*PRP*2*ADVANTAGE PLAN", "LS*2120"]
    result = invalid(interchange(body))
    assert result.findings == (
        unit(SegmentFinding("LS", 18, "2110C", SegmentError.REQUIRED_SEGMENT_MISSING)),
        unit(SegmentFinding("LS", 19, "2120C", SegmentError.NOT_IN_PROPER_SEQUENCE)),
    )


def test_2120c_without_ls() -> None:
    result = invalid(medicare_with("LS*2120"))
    assert result.findings == (unit(SegmentFinding("LS", 18, "2110C", SegmentError.REQUIRED_SEGMENT_MISSING)),)


def test_le_without_ls() -> None:
    result = invalid(medicare_with("DTP*291*D8*20050401", "DTP*291*D8*20050401", "LE*2120"))
    assert result.findings == (unit(SegmentFinding("LS", 13, "2110C", SegmentError.REQUIRED_SEGMENT_MISSING)),)


def test_ls01_must_be_2120() -> None:
    result = invalid(medicare_with("LS*2120", "LS*2100"))
    assert result.findings == (
        unit(
            element_errors(
                "LS", 18, "2110C", ElementFinding(1, "447", ElementError.INVALID_CODE_VALUE, bad_value="2100")
            )
        ),
    )


def test_more_than_23_benefit_entities() -> None:
    entities = [f"NM1*PRP*2*PLAN {i}" for i in range(24)]
    result = invalid(medicare_with("NM1*PRP*2*ADVANTAGE PLAN", *entities))
    # The 24th 2120C loop starts at position 19 + 23 = 42 (N3, N4 and PER follow it).
    assert result.findings == (unit(SegmentFinding("NM1", 42, "2120C", SegmentError.LOOP_OVER_MAXIMUM)),)


def test_date_of_death_qualifier_is_not_a_benefit_date() -> None:
    # DTP*442 (date of death) belongs in 2100C, not after an EB (2110C).
    result = invalid(medicare_with("DTP*348*D8*20270601", "DTP*442*D8*20270601"))
    assert result.findings == (
        unit(
            element_errors(
                "DTP", 25, "2110C", ElementFinding(1, "374", ElementError.INVALID_CODE_VALUE, bad_value="442")
            )
        ),
    )


def test_unknown_dtp_qualifier_and_bad_range() -> None:
    result = invalid(medicare_with("DTP*291*RD8*20270101-20271231", "DTP*999*RD8*20270101-20271231"))
    assert result.findings == (
        unit(
            element_errors(
                "DTP", 14, "2110C", ElementFinding(1, "374", ElementError.INVALID_CODE_VALUE, bad_value="999")
            )
        ),
    )
    result = invalid(medicare_with("DTP*291*RD8*20270101-20271231", "DTP*291*RD8*20271231-20270101"))
    assert result.findings == (
        unit(element_errors("DTP", 14, "2110C", ElementFinding(3, "1251", ElementError.INVALID_DATE))),
    )


def test_hl02_naming_the_wrong_parent() -> None:
    result = invalid(medicare_with("HL*3*2*22*0", "HL*3*1*22*0"))
    # HL02 names HL 1 (a 2000A), not the latest 2000B; so HL 2's HL04 1 now promises in vain.
    assert result.findings == (
        element_errors("HL", 5, "2000B", ElementFinding(4, "736", ElementError.INVALID_CODE_VALUE, bad_value="1")),
        unit(element_errors("HL", 7, "2000C", ElementFinding(2, "734", ElementError.INVALID_CODE_VALUE))),
    )


def test_hl04_promising_a_dependent_that_never_comes() -> None:
    result = invalid(medicare_with("HL*3*2*22*0", "HL*3*2*22*1"))
    assert result.findings == (
        unit(
            element_errors("HL", 7, "2000C", ElementFinding(4, "736", ElementError.INVALID_CODE_VALUE, bad_value="1"))
        ),
    )


def test_subscriber_before_receiver() -> None:
    body = [
        *MEDICARE_271[:4],
        "HL*2*1*22*0",
        f"TRN*2*{TRACE}*9DEMO00001",
        "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73",
        "SE*0*0001",
    ]
    result = invalid(interchange(body))
    # HL02 names HL 1, a 2000A, where a 2000C needs its 2000B parent.
    assert result.findings == (
        unit(element_errors("HL", 5, "2000C", ElementFinding(2, "734", ElementError.INVALID_CODE_VALUE))),
    )


def test_no_information_source_level() -> None:
    body = ["ST*271*0001*005010X279A1", "BHT*0022*11*TRANSA*20270102*0304", "SE*0*0001"]
    result = invalid(interchange(body))
    assert result.findings == (SegmentFinding("HL", 3, "2000A", SegmentError.REQUIRED_SEGMENT_MISSING),)


@pytest.mark.parametrize(
    ("anchor", "position", "loop_id", "aaa", "code"),
    [
        ("HL*1**20*1", 4, "2000A", "AAA*N**72*C", "72"),  # 72 (subscriber ID) is a 2100C reason
        ("NM1*PR*2*CMS*****PI*CMS", 5, "2100A", "AAA*N**43*C", "43"),  # 43 is a 2100B reason
        ("NM1*1P*2*SPRINGFIELD CLINIC*****XX*1234567893", 7, "2100B", "AAA*N**72*C", "72"),
        ("NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73", 10, "2100C", "AAA*N**50*N", "50"),  # 50: provider
        ("DTP*291*D8*20050401", 13, "2110C", "AAA*N**72*C", "72"),
    ],
)
def test_aaa_reason_not_allowed_in_its_loop(anchor: str, position: int, loop_id: str, aaa: str, code: str) -> None:
    result = invalid(medicare_with(anchor, anchor, aaa))
    finding = element_errors(
        "AAA", position, loop_id, ElementFinding(3, "901", ElementError.INVALID_CODE_VALUE, bad_value=code)
    )
    assert result.findings == ((unit(finding),) if loop_id in ("2100C", "2110C") else (finding,))


def test_aaa_in_2000b_is_unexpected() -> None:
    result = invalid(medicare_with("HL*2*1*21*1", "HL*2*1*21*1", "AAA*N**41*N"))
    # 2000B holds no AAA (the receiver's is in 2100B, after its NM1).
    assert result.findings == (SegmentFinding("AAA", 6, "2000B", SegmentError.UNEXPECTED_SEGMENT),)


def test_aaa_follow_up_code() -> None:
    result = invalid(medicare_with("DMG*D8*19400401*F", "AAA*N**72*Q", "DMG*D8*19400401*F"))
    assert result.findings == (
        unit(
            element_errors("AAA", 10, "2100C", ElementFinding(4, "889", ElementError.INVALID_CODE_VALUE, bad_value="Q"))
        ),
    )


def test_eq_is_not_a_271_segment() -> None:
    result = invalid(medicare_with("DMG*D8*19400401*F", "DMG*D8*19400401*F", "EQ*30"))
    assert result.findings == (unit(SegmentFinding("EQ", 11, "2100C", SegmentError.NOT_IN_TRANSACTION_SET)),)


def test_bht_purpose_and_unused_bht06() -> None:
    result = invalid(medicare_with(MEDICARE_271[1], "BHT*0022*13*TRANSA*20270102*0304*RT"))
    assert result.findings == (
        element_errors(
            "BHT",
            2,
            "",
            ElementFinding(2, "353", ElementError.INVALID_CODE_VALUE, bad_value="13"),
            ElementFinding(6, "640", ElementError.IMPLEMENTATION_NOT_USED),
        ),
    )


def test_hets_rules_do_not_apply_to_the_271() -> None:
    # A dependent loop and two subscribers pass: one-inquiry limits are the 270's (HETS) only.
    body = [
        *MEDICARE_271[:6],
        "HL*3*2*22*1",
        "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73",
        "HL*4*3*23*0",
        "NM1*03*1*DOE*JOHN",
        "INS*N*19",
        "EB*1**30",
        "HL*5*2*22*0",
        "NM1*IL*1*ROE*RICHARD****MI*1EG4TE5MK74",
        "SE*0*0001",
    ]
    assert check_271(interchange(body)).valid


def test_not_an_interchange_and_envelope_faults() -> None:
    result = invalid(b"HELLO")
    assert result.detail == "the data does not start with an ISA segment"
    assert result.ta1_note is None
    result = invalid(interchange(MEDICARE_271).replace("IEA*1*000000001", "IEA*1*000000002"))
    assert result.ta1_note is Ta1Note.CONTROL_NUMBER_MISMATCH
    assert result.describe()[1] == "interchange envelope: control number mismatch (TA105 001)"


def test_an_interchange_without_a_271() -> None:
    result = invalid("~".join([ISA, "IEA*0*000000001"]) + "~")
    assert result.detail == "the interchange holds no functional group"
    result = invalid("~".join([ISA, GS, *GE_IEA]).replace("GE*1*1", "GE*0*1") + "~")
    assert result.detail == "a functional group holds no transaction set"
    assert result.ta1_note is Ta1Note.INVALID_CONTENT


def test_describe_names_segments_loops_and_elements() -> None:
    result = invalid(medicare_with(MEDICARE_271[10], "EB*Z**30*MA"))
    assert result.describe() == [
        "not a valid 271",
        "transaction set 0001: segments in error (IK502 5)",
        "  EB (segment 11, loop 2110C): element errors (IK304 8)",
        "    EB01 [1390]: invalid code value (IK403 7), sent 'Z'",
    ]


def test_describe_never_shows_names_ids_or_dates() -> None:
    # Faults in the name, the MBI and the birth date are named, never repeated.
    body = list(MEDICARE_271)
    body[8] = "NM1*IL*1*" + "DOE" * 21 + "*JANE****MI*1EG4TE5MK73^X"
    body[9] = "DMG*D8*19400431*F"
    result = invalid(interchange(body))
    assert result.findings == (
        unit(
            element_errors(
                "NM1",
                9,
                "2100C",
                ElementFinding(3, "1035", ElementError.TOO_LONG),
                ElementFinding(9, "67", ElementError.TOO_MANY_REPETITIONS),
            )
        ),
        unit(element_errors("DMG", 10, "2100C", ElementFinding(2, "1251", ElementError.INVALID_DATE))),
    )
    assert result.describe()[2:] == [
        "  NM1 (segment 9, loop 2100C): element errors (IK304 8)",
        "    NM103 [1035]: too long (IK403 5)",
        "    NM109 [67]: too many repetitions (IK403 12)",
        "  DMG (segment 10, loop 2100C): element errors (IK304 8)",
        "    DMG02 [1251]: invalid date (IK403 8)",
    ]


# --- the grammar ---------------------------------------------------------------------------


def _segment_ids(item: SegmentSpec | LoopSpec) -> set[str]:
    if isinstance(item, SegmentSpec):
        return {item.id}
    return set().union(*(_segment_ids(i) for i in item.items))


def test_segment_ids_are_those_of_the_loops() -> None:
    ids = {"ST", "BHT", "SE"}.union(*(_segment_ids(loop) for loop, _ in GRAMMAR_271.hierarchy.values()))
    assert ids == SEGMENT_IDS_271
    assert not SEGMENT_IDS_271 & GRAMMAR_271.other_segment_ids
    assert {"EQ", "AMT"} <= GRAMMAR_271.other_segment_ids


# --- never raises --------------------------------------------------------------------------


def _sound(result: Check271Result) -> None:
    assert isinstance(result, Check271Result)
    lines = result.describe()
    assert lines
    assert all(isinstance(line, str) for line in lines)
    assert result.valid == (lines == [lines[0]] and lines[0].startswith("valid"))
    repr(result)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=1500))
def test_random_bytes_never_raise(data: bytes) -> None:
    _sound(check_271(data))
    _sound(check_271(PEER_271S[VALID_PEERS[0]][:106] + data))


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    _sound(check_271(text))
    _sound(check_271(interchange(MEDICARE_271)[:106] + text))


_VALUES = ["", "0", "1", "2", "-1", ".", "9" * 20, "20", "21", "22", "23", "2120", "LS", "LE", "EB", "D8", "RD8"]
_VALUES += ["20270230", "20271231-20270101", "HC", "MA", "MB", "72", "N", "Y", "\x00", "\xff"]
_SEGMENTS = [
    ["LS", "2120"],
    ["LE", "2120"],
    ["EB", "1"],
    ["NM1", "PRP", "2", "PLAN"],
    ["HL", "9", "3", "23", "0"],
    ["AAA", "N", "", "72", "C"],
    ["III", "ZZ", "11"],
    ["MSG", "TEXT"],
    ["ST", "271", "0002", "005010X279A1"],
    ["SE", "3", "0002"],
    ["ZZZ"],
    [""],
]


@st.composite
def mutated_271s(draw: st.DrawFn) -> bytes:
    """A peer or the Medicare 271 with one to three random mutations."""
    corpus = [*PEER_271S.values(), interchange(MEDICARE_271).encode("ascii")]
    text = draw(st.sampled_from(corpus)).decode("latin-1")
    d = Delimiters(element=text[3], repetition=text[82], component=text[104], segment=text[105])
    for _ in range(draw(st.integers(1, 3))):
        segments = [s.elements for s in tokenize_untrusted(text, d)]
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace", "truncate", "bytes"]))
        if not segments or kind == "bytes":
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.binary(min_size=1, max_size=20)).decode("latin-1") + text[i:]
            continue
        if kind == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
            continue
        i = draw(st.integers(0, len(segments) - 1))
        if kind == "delete":
            del segments[i]
        elif kind == "duplicate":
            segments.insert(draw(st.integers(0, len(segments))), list(segments[i]))
        elif kind == "swap":
            j = draw(st.integers(0, len(segments) - 1))
            segments[i], segments[j] = segments[j], segments[i]
        elif kind == "insert":
            segments.insert(i, list(draw(st.sampled_from(_SEGMENTS))))
        else:
            segment = segments[i]
            value = draw(st.sampled_from(_VALUES) | st.text(max_size=8))
            segment[draw(st.integers(0, len(segment) - 1))] = value
        text = write_segments(segments, d)
    return text.encode("latin-1", errors="replace")


@settings(deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_271s())
def test_mutated_271s_never_raise(data: bytes) -> None:
    _sound(check_271(data))


# --- what a 271 writer must not do (beyond the 270 validator's checks) ----------------------


def test_trailing_element_separator() -> None:
    result = invalid(medicare_with("DMG*D8*19400401*F", "DMG*D8*19400401*"))
    assert result.findings == (
        unit(element_errors("DMG", 10, "2100C", ElementFinding(3, "", ElementError.TOO_MANY_ELEMENTS))),
    )
    result = invalid(medicare_with("EB*R**30*HN", "EB*R**30*HN**"))
    assert result.findings == (
        unit(element_errors("EB", 15, "2110C", ElementFinding(6, "", ElementError.TOO_MANY_ELEMENTS))),
    )
    result = invalid(medicare_with("NM1*PR*2*CMS*****PI*CMS", "NM1*PR*2*CMS*****PI*CMS*"))
    assert result.findings == (
        element_errors("NM1", 4, "2100A", ElementFinding(10, "", ElementError.TOO_MANY_ELEMENTS)),
    )
    assert "EB06" in "\n".join(invalid(medicare_with("EB*R**30*HN", "EB*R**30*HN**")).describe())


def test_ls_le_with_no_2120c_loop() -> None:
    body = [s for s in MEDICARE_271 if not s.startswith(("NM1*PRP", "N3*", "N4*", "PER*"))]
    result = invalid(interchange(body))
    assert result.findings == (unit(SegmentFinding("NM1", 19, "2120C", SegmentError.REQUIRED_SEGMENT_MISSING)),)
