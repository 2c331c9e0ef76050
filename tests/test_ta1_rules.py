"""Every interchange envelope rule has a test: a violating interchange in, the exact TA1 out.

Each case mutates ``tests/data/hets/specimen.270`` (HETS-NOTES section 3 and 5): ISA elements are
replaced at their fixed width, so the ISA stays 106 characters unless the width is the fault.
The reply must be a TA1 with TA104 ``R`` and the note code of the rule (``TA1*<ISA13>*<ISA09>*
<ISA10>*R*<code>``, with the fallbacks ``ta1.py`` documents when those could not be read), and
must itself be a readable interchange.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hetsock.x12.check import Accepted, Rejected, check_270
from hetsock.x12.codes import Ta1Note
from hetsock.x12.envelope import read_interchange_untrusted
from hetsock.x12.isa import ISA_LENGTH, EnvelopeError, read_isa_untrusted
from hetsock.x12.rules import Rules
from hetsock.x12.segments import tokenize_untrusted
from hetsock.x12.writer import ControlNumbers

DATA = Path(__file__).parent / "data"
SPECIMEN = (DATA / "hets" / "specimen.270").read_text(encoding="ascii")
SPECIMEN_LINES = (DATA / "hets" / "specimen-lines.270").read_bytes()
PYX12_4010 = (DATA / "peers" / "pyx12" / "4010-X092A1-270_repeat_init_segment.270").read_bytes()
PEER_270S = sorted(
    [
        *(DATA / "peers" / "linuxforhealth-x12").glob("*.270"),
        *(DATA / "peers" / "stupidedi").glob("X279A1-HS270*.edi"),
    ]
)

#: The reply's clock: distinct from the specimen's ISA09/ISA10 (261122, 0734), so a TA1 that
#: falls back to its own date and time shows it.
NOW = dt.datetime(2027, 1, 2, 3, 4, 5)
NOW_DATE, NOW_TIME = "270102", "0304"

ISA, _, REST = SPECIMEN.partition("~")
ISA_ELEMENTS = ISA.split("*")  # "ISA", ISA01 .. ISA16
ISA13, ISA09, ISA10 = ISA_ELEMENTS[13], ISA_ELEMENTS[9], ISA_ELEMENTS[10]
SPECIMEN_SEGMENTS = SPECIMEN.split("~")[:-1]


def test_specimen_is_what_the_mutations_assume() -> None:
    assert len(ISA) + 1 == ISA_LENGTH
    assert (ISA13, ISA09, ISA10) == ("000005014", "261122", "0734")
    assert isinstance(check_270(SPECIMEN, rules=Rules.hets(), now=NOW, control=ControlNumbers(1)), Accepted)


# --- helpers --------------------------------------------------------------------------------


def isa_with(**changes: str) -> str:
    """The specimen with ISA elements replaced (``isa06="X"``), each padded to its fixed width.

    A value longer than the element's width is kept as given (for width faults).
    """
    elements = list(ISA_ELEMENTS)
    for name, value in changes.items():
        index = int(name.removeprefix("isa"))
        width = len(ISA_ELEMENTS[index])
        elements[index] = value.ljust(width) if len(value) < width else value
    return "*".join(elements) + "~" + REST


def reject(data: str | bytes, rules: Rules | None = None) -> Rejected:
    decision = check_270(data, rules=rules or Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Rejected), decision
    return decision


def reply_segments(reply: str) -> list[list[str]]:
    """The reply read back as an interchange: its ISA checks out, and TA1 then IEA follow.

    ``read_interchange_untrusted`` cannot be used: a TA1-only interchange has no functional
    group, and the envelope reader (built for 270 requests) rejects any segment outside one.
    """
    header = read_isa_untrusted(reply, Rules.x12())
    assert reply.endswith(header.delimiters.segment)
    segments = tokenize_untrusted(reply[ISA_LENGTH:], header.delimiters)
    assert [s.id for s in segments] == ["TA1", "IEA"]
    assert segments[1].elements == ["IEA", "0", header.control_number]
    return [header.segment().elements, *(s.elements for s in segments)]


def assert_ta1(
    data: str | bytes,
    note: Ta1Note,
    *,
    ta101: str = ISA13,
    ta102: str = ISA09,
    ta103: str = ISA10,
    rules: Rules | None = None,
) -> Rejected:
    """``data`` is rejected with exactly ``TA1*ta101*ta102*ta103*R*note`` and nothing else."""
    decision = reject(data, rules)
    assert decision.kind == "TA1"
    assert decision.note is note
    assert decision.report is None
    isa, ta1, _iea = reply_segments(decision.reply)
    assert ta1 == ["TA1", ta101, ta102, ta103, "R", note.value]
    assert f"TA1*{ta101}*{ta102}*{ta103}*R*{note.value}~" in decision.reply
    assert isa[13] == "000000001"  # the reply's own control number, not the request's
    return decision


def no_header(data: str | bytes, note: Ta1Note) -> None:
    """A fault found before the ISA could be read: TA1 falls back to 000000000 and ``now``."""
    decision = assert_ta1(data, note, ta101="000000000", ta102=NOW_DATE, ta103=NOW_TIME)
    isa = reply_segments(decision.reply)[0]
    assert (isa[5], isa[6], isa[7], isa[8]) == ("ZZ", "CMS".ljust(15), "ZZ", "UNKNOWN".ljust(15))


# --- ISA element values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "note"),
    [
        pytest.param({"isa01": "03"}, Ta1Note.INVALID_AUTHORIZATION_QUALIFIER, id="ISA01-not-00"),
        pytest.param({"isa02": "SECRET"}, Ta1Note.INVALID_AUTHORIZATION_VALUE, id="ISA02-not-blank"),
        pytest.param({"isa03": "01"}, Ta1Note.INVALID_SECURITY_QUALIFIER, id="ISA03-not-00"),
        pytest.param({"isa04": "PASSWORD"}, Ta1Note.INVALID_SECURITY_VALUE, id="ISA04-not-blank"),
        pytest.param({"isa05": "30"}, Ta1Note.INVALID_SENDER_QUALIFIER, id="ISA05-not-ZZ"),
        pytest.param({"isa06": ""}, Ta1Note.INVALID_SENDER_ID, id="ISA06-blank"),
        pytest.param({"isa06": " DEMO0001"}, Ta1Note.INVALID_SENDER_ID, id="ISA06-leading-blank"),
        pytest.param({"isa06": "DEMO^0001"}, Ta1Note.INVALID_SENDER_ID, id="ISA06-a-delimiter"),
        pytest.param({"isa07": "01"}, Ta1Note.INVALID_RECEIVER_QUALIFIER, id="ISA07-not-ZZ"),
        pytest.param({"isa08": "CMT"}, Ta1Note.UNKNOWN_RECEIVER_ID, id="ISA08-not-CMS"),
        pytest.param({"isa08": ""}, Ta1Note.INVALID_RECEIVER_ID, id="ISA08-blank"),
        pytest.param({"isa08": "CMS|"}, Ta1Note.INVALID_RECEIVER_ID, id="ISA08-a-delimiter"),
        pytest.param({"isa14": "2"}, Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED, id="ISA14-2"),
        pytest.param({"isa15": "X"}, Ta1Note.INVALID_TEST_INDICATOR, id="ISA15-X"),
    ],
)
def test_isa_element_value(changes: dict[str, str], note: Ta1Note) -> None:
    text = isa_with(**changes)
    assert text.index("~") + 1 == ISA_LENGTH
    assert_ta1(text, note)


@pytest.mark.parametrize("date", ["261332", "260230", "2611AA"])
def test_isa09_not_a_real_date(date: str) -> None:
    # TA102 echoes ISA09 only when it is a real date, else the reply's own date.
    assert_ta1(isa_with(isa09=date), Ta1Note.INVALID_DATE, ta102=NOW_DATE)


@pytest.mark.parametrize("time", ["2560", "2400", "07AA"])
def test_isa10_not_a_real_time(time: str) -> None:
    assert_ta1(isa_with(isa10=time), Ta1Note.INVALID_TIME, ta103=NOW_TIME)


@pytest.mark.parametrize("separator", ["U", "7", " ", "*"])
def test_isa11_repetition_separator_invalid(separator: str) -> None:
    # "U" is where 4010 put its standards identifier; "*" is already the element separator.
    text = isa_with(isa11=separator)
    assert text.index("~") + 1 == ISA_LENGTH or separator == "*"
    if separator == "*":
        # ISA11 equal to the element separator splits into an empty ISA11: a width fault, 016.
        no_header(text, Ta1Note.INVALID_STANDARDS_IDENTIFIER)
    else:
        assert_ta1(text, Ta1Note.INVALID_STANDARDS_IDENTIFIER)


def test_isa12_unsupported_version() -> None:
    assert_ta1(isa_with(isa12="00401"), Ta1Note.VERSION_NOT_SUPPORTED)


@pytest.mark.parametrize("version", ["0050A", "V5010"])
def test_isa12_not_a_version(version: str) -> None:
    assert_ta1(isa_with(isa12=version), Ta1Note.INVALID_VERSION_ID)


@pytest.mark.parametrize("control", ["00000501A", "-00005014", "00000501 "])
def test_isa13_not_digits(control: str) -> None:
    # TA101 echoes ISA13 only when it is nine digits.
    text = isa_with(isa13=control).replace("IEA*1*000005014", f"IEA*1*{control}")
    assert_ta1(text, Ta1Note.INVALID_CONTROL_NUMBER, ta101="000000000")


def test_isa_control_character_is_the_elements_note() -> None:
    # A character outside printable ASCII in ISA02 is that element's fault (011), not a blank.
    assert_ta1(isa_with(isa02="\x01"), Ta1Note.INVALID_AUTHORIZATION_VALUE)


def test_isa4010_interchange_gets_version_not_supported() -> None:
    # Its ISA11 is the 4010 standards identifier "U": ISA12 is judged first, so 003, not 016.
    assert_ta1(PYX12_4010, Ta1Note.VERSION_NOT_SUPPORTED, ta101="000168037", ta102="000816", ta103="2105")


# --- fixed widths ---------------------------------------------------------------------------

_WIDTH_NOTES = [
    Ta1Note.INVALID_AUTHORIZATION_QUALIFIER,
    Ta1Note.INVALID_AUTHORIZATION_VALUE,
    Ta1Note.INVALID_SECURITY_QUALIFIER,
    Ta1Note.INVALID_SECURITY_VALUE,
    Ta1Note.INVALID_SENDER_QUALIFIER,
    Ta1Note.INVALID_SENDER_ID,
    Ta1Note.INVALID_RECEIVER_QUALIFIER,
    Ta1Note.INVALID_RECEIVER_ID,
    Ta1Note.INVALID_DATE,
    Ta1Note.INVALID_TIME,
    Ta1Note.INVALID_STANDARDS_IDENTIFIER,
    Ta1Note.INVALID_VERSION_ID,
    Ta1Note.INVALID_CONTROL_NUMBER,
    Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED,
    Ta1Note.INVALID_TEST_INDICATOR,
]


_WIDTH_CASES = [
    pytest.param(index, note, shorter, id=f"ISA{index:02d}-{'short' if shorter else 'long'}")
    for index, note in enumerate(_WIDTH_NOTES, start=1)
    for shorter in (True, False)
    if shorter or index < 15  # ISA15 too long would need ISA16 shorter: there is no room
]


@pytest.mark.parametrize(("index", "note", "shorter"), _WIDTH_CASES)
def test_isa_element_of_wrong_width(index: int, note: Ta1Note, shorter: bool) -> None:
    # One element a character short and the next a character long (or the reverse), so the
    # ISA keeps 106 characters and only the width of ISAnn is wrong.
    elements = list(ISA_ELEMENTS)
    if shorter:
        elements[index] = elements[index][:-1]
        elements[index + 1] += elements[index + 1][-1]
    else:
        elements[index] += elements[index][-1]
        elements[index + 1] = elements[index + 1][:-1]
    isa = "*".join(elements)
    assert len(isa) + 1 == ISA_LENGTH
    no_header(isa + "~" + REST, note)


def test_isa16_component_separator_missing() -> None:
    # ISA16 empty, so the ISA is 105 characters: the terminator lands in ISA16 and the next
    # segment's first letter becomes the terminator.
    text = SPECIMEN.replace("*P*|~", "*P*~", 1)
    assert_ta1(text, Ta1Note.INVALID_SEGMENT_TERMINATOR)


# --- length and delimiters ------------------------------------------------------------------


@pytest.mark.parametrize("length", [3, 4, 50, 104, 105])
def test_isa_shorter_than_106_characters(length: int) -> None:
    no_header(SPECIMEN[:length], Ta1Note.PREMATURE_END)


@pytest.mark.parametrize("separator", ["A", "x", "1", " ", "\n", "\xe9"])
def test_element_separator_invalid(separator: str) -> None:
    # Every element separator replaced, as a sender using that character would send it.
    no_header(SPECIMEN.replace("*", separator), Ta1Note.INVALID_ELEMENT_SEPARATOR)


@pytest.mark.parametrize("separator", ["A", "5", "^"])
def test_component_separator_invalid(separator: str) -> None:
    # "^" is already the repetition separator.
    text = isa_with(isa16=separator)
    assert text.index("~") + 1 == ISA_LENGTH
    assert_ta1(text, Ta1Note.INVALID_COMPONENT_SEPARATOR)


def test_component_separator_same_as_element_separator() -> None:
    # ISA16 "*" reads as an empty ISA16: a width fault, whose note is still 027.
    no_header(isa_with(isa16="*"), Ta1Note.INVALID_COMPONENT_SEPARATOR)


@pytest.mark.parametrize("terminator", ["A", "z", "9", " ", "^", "|", "*"])
def test_segment_terminator_invalid(terminator: str) -> None:
    # A letter, digit or blank, or the repetition, component or element separator.
    text = SPECIMEN.replace("~", terminator)
    assert text[ISA_LENGTH - 1] == terminator
    assert_ta1(text, Ta1Note.INVALID_SEGMENT_TERMINATOR)


def test_terminator_same_as_element_separator_is_judged_after_isa12() -> None:
    # isa.py's order: ISA12 (003) before the delimiters (004).
    text = isa_with(isa12="00401").replace("~", "*")
    assert_ta1(text, Ta1Note.VERSION_NOT_SUPPORTED)


@pytest.mark.parametrize("breaks", ["\r\n", "\n"])
def test_line_breaks_after_terminators_are_accepted(breaks: str) -> None:
    decision = check_270(SPECIMEN.replace("~", "~" + breaks), rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_specimen_lines_is_accepted() -> None:
    assert b"~\r\n" in SPECIMEN_LINES
    decision = check_270(SPECIMEN_LINES, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


# --- IEA ------------------------------------------------------------------------------------


def test_iea02_differs_from_isa13() -> None:
    # TA101 is the ISA13 value.
    assert_ta1(SPECIMEN.replace("IEA*1*000005014", "IEA*1*000005015"), Ta1Note.CONTROL_NUMBER_MISMATCH)


@pytest.mark.parametrize("count", ["2", "0", "", "A", "01x", "000001"])
def test_iea01_not_the_number_of_groups(count: str) -> None:
    assert_ta1(SPECIMEN.replace("IEA*1*", f"IEA*{count}*"), Ta1Note.INVALID_NUMBER_OF_GROUPS)


def test_iea_missing() -> None:
    assert_ta1(SPECIMEN.replace("IEA*1*000005014~", ""), Ta1Note.PREMATURE_END)


@pytest.mark.parametrize("cut", ["IEA*1*00000", "GE*1*5014~", "SE*12*", "ST*270", "GS*HS*"])
def test_interchange_truncated(cut: str) -> None:
    assert_ta1(SPECIMEN[: SPECIMEN.index(cut) + len(cut)], Ta1Note.PREMATURE_END)


def test_iea_without_terminator() -> None:
    # A last segment with no terminator is a truncated interchange, even when it reads "IEA".
    assert_ta1(SPECIMEN[:-1], Ta1Note.PREMATURE_END)
    # Line breaks after the last terminator are not data.
    decision = check_270(SPECIMEN + "\r\n\r\n", rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_truncated_after_the_isa() -> None:
    assert_ta1(SPECIMEN[:ISA_LENGTH], Ta1Note.PREMATURE_END)


@pytest.mark.parametrize(
    "after",
    ["XYZ", "XYZ~", "GS*HS*DEMO0001*CMS*20261122*073411*5015*X*005010X279A1~", SPECIMEN],
    ids=["text", "segment", "segment-GS", "second-interchange"],
)
def test_data_after_iea(after: str) -> None:
    assert_ta1(SPECIMEN + after, Ta1Note.INVALID_CONTENT)


def test_iea_with_extra_element() -> None:
    assert_ta1(SPECIMEN.replace("IEA*1*000005014", "IEA*1*000005014*X"), Ta1Note.INVALID_CONTENT)


# --- group structure (024) ------------------------------------------------------------------


def _replacing(old: str, *new: str) -> str:
    segments = list(SPECIMEN_SEGMENTS)
    index = segments.index(old)
    segments[index : index + 1] = new
    return "~".join(segments) + "~"


GS = SPECIMEN_SEGMENTS[1]


@pytest.mark.parametrize(
    "segment",
    ["REF*XX*1", "TA1*000000001*261122*0734*A*000", "ST*270*0001*005010X279A1", "XYZ"],
)
def test_segment_between_isa_and_gs(segment: str) -> None:
    assert_ta1(_replacing(GS, segment, GS), Ta1Note.INVALID_CONTENT)


def test_segment_between_ge_and_iea() -> None:
    assert_ta1(_replacing("GE*1*5014", "GE*1*5014", "REF*XX*1"), Ta1Note.INVALID_CONTENT)


def test_segment_between_gs_and_st() -> None:
    assert_ta1(_replacing(GS, GS, "BHT*0022*13*X*20261122*0734"), Ta1Note.INVALID_CONTENT)


@pytest.mark.parametrize(
    "gs",
    [
        pytest.param("GS*HS*DEMO0001*CMS*20261332*073411*5014*X*005010X279A1", id="GS04-month-13"),
        pytest.param("GS*HS*DEMO0001*CMS*261122*073411*5014*X*005010X279A1", id="GS04-YYMMDD"),
        pytest.param("GS*HS*DEMO0001*CMS*20261122*076011*5014*X*005010X279A1", id="GS05-time"),
        pytest.param("GS*HS*DEMO0001*CMS*20261122*073411*5014A*X*005010X279A1", id="GS06-letters"),
        pytest.param("GS*HS*DEMO0001*CMS*20261122*073411*5014*T*005010X279A1", id="GS07-not-X"),
        pytest.param("GS*HS*DEMO0001*CMS*20261122*073411*5014*X", id="GS-too-few"),
        pytest.param("GS*HS*DEMO0001*CMS*20261122*073411*5014*X*005010X279A1*Y", id="GS-too-many"),
        pytest.param("GS*H*DEMO0001*CMS*20261122*073411*5014*X*005010X279A1", id="GS01-one-char"),
        pytest.param("GS*HS*D*CMS*20261122*073411*5014*X*005010X279A1", id="GS02-one-char"),
        pytest.param("GS*HS*DEMO0001*CMSX*20261122*073411*5014*X*005010X279A1", id="GS03-not-ISA08"),
        pytest.param("GS*HS*DEMO0002*CMS*20261122*073411*5014*X*005010X279A1", id="GS02-not-ISA06"),
    ],
)
def test_malformed_gs(gs: str) -> None:
    assert_ta1(_replacing(GS, gs), Ta1Note.INVALID_CONTENT)


def test_gs_ids_may_differ_from_isa_under_x12_rules() -> None:
    text = _replacing(GS, GS.replace("*CMS*", "*CMSX*"))
    decision = check_270(text, rules=Rules.x12(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_two_groups_under_hets() -> None:
    group = SPECIMEN_SEGMENTS[1:-1]
    second = [s.replace("5014", "5015") for s in group]
    text = "~".join([ISA, *group, *second, "IEA*2*000005014"]) + "~"
    assert_ta1(text, Ta1Note.INVALID_CONTENT)
    # Plain X12 takes the two groups.
    decision = check_270(text, rules=Rules.x12(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


def test_group_without_transaction_set_under_hets() -> None:
    text = "~".join([ISA, GS, "GE*0*5014", "IEA*1*000005014"]) + "~"
    assert_ta1(text, Ta1Note.INVALID_CONTENT)


@pytest.mark.parametrize("ge", ["GE*0*5014", "GE*1*5014"])
def test_group_without_transaction_set_under_x12(ge: str) -> None:
    # Plain X12 too: a group holds at least one set (GE01 minimum 1); no 999 saying "accepted".
    text = "~".join([ISA, GS, ge, "IEA*1*000005014"]) + "~"
    assert_ta1(text, Ta1Note.INVALID_CONTENT, rules=Rules.x12())
    # One empty group among good ones rejects the interchange as well.
    group = SPECIMEN_SEGMENTS[1:-1]
    text = "~".join([ISA, *group, GS.replace("5014", "5015"), ge.replace("5014", "5015"), "IEA*2*000005014"]) + "~"
    assert_ta1(text, Ta1Note.INVALID_CONTENT, rules=Rules.x12())


def test_interchange_without_group_under_x12() -> None:
    # Nothing to acknowledge with a 999: check.py answers 024.
    text = "~".join([ISA, "IEA*0*000005014"]) + "~"
    assert_ta1(text, Ta1Note.INVALID_CONTENT)
    assert_ta1(text, Ta1Note.INVALID_CONTENT, rules=Rules.x12())


def test_segment_outside_transaction_set() -> None:
    text = _replacing("GE*1*5014", "REF*XX*1", "GE*1*5014")
    assert_ta1(text, Ta1Note.INVALID_CONTENT)


# --- peers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PEER_270S, ids=[p.name[:40] for p in PEER_270S])
def test_peer_270s_pass_x12_and_fail_hets_envelope(path: Path) -> None:
    data = path.read_bytes()
    decision = check_270(data, rules=Rules.x12(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted), getattr(decision, "reply", decision)
    rejected = reject(data)
    assert rejected.kind == "TA1"
    # Not addressed to CMS, or carrying ISA01 authorization: envelope faults, never a 999.
    assert rejected.note in (Ta1Note.INVALID_AUTHORIZATION_QUALIFIER, Ta1Note.UNKNOWN_RECEIVER_ID)
    reply_segments(rejected.reply)


def test_peer_corpus_is_present() -> None:
    assert len(PEER_270S) == 5


# --- the reply ------------------------------------------------------------------------------


def test_ta1_reply_swaps_sender_and_receiver() -> None:
    decision = assert_ta1(isa_with(isa14="2"), Ta1Note.INVALID_ACKNOWLEDGMENT_REQUESTED)
    isa = reply_segments(decision.reply)[0]
    assert isa[5:9] == ["ZZ", "CMS".ljust(15), "ZZ", "DEMO0001".ljust(15)]
    assert isa[15] == "P"
    assert decision.control_number == ISA13
    assert decision.submitter_id == "DEMO0001"


def test_envelope_reader_raises_only_envelope_error() -> None:
    with pytest.raises(EnvelopeError) as raised:
        read_interchange_untrusted(isa_with(isa15="X"), Rules.hets())
    assert raised.value.note is Ta1Note.INVALID_TEST_INDICATOR
