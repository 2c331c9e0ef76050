"""The 005010X279A1 271 as data: segments, elements and loops, for ``validate.py`` via ``GRAMMAR_271``.

Same style as ``grammar270.py`` (and built from its helpers): each element is an
:class:`~hetsock.x12.grammar270.ElementSpec` (X12 data element reference number, data type,
minimum/maximum length, the guide's usage R/S/N and, for ID elements the guide restricts, the
allowed codes). Loop and segment order, repeat counts and usage follow the implementation guide's
271 table of contents; element facts follow the X12 005010 data element dictionary. Where a code
list was uncertain, the list is the wider one (a checker of our own 271s must not reject a good
one): AAA03 per loop is the union of the guide's list and our reading of it, and a few elements
(MPI03, MPI05, HSD07, HSD08) take any code of the right size.

The 271 differs from the 270 in shape: 2000B, 2000C and 2000D are situational (a response
rejected in 2000A/2100A or 2100B stops there), AAA appears in 2000A, 2100A, 2100B, 2100C/D and
2110C/D, and each 2110C/D EB loop may carry the X12 bounded loop ``LS*2120`` ... ``LE*2120``
around up to 23 2120C/D benefit-related entities (``LoopSpec.bounds``).
"""

from __future__ import annotations

from hetsock.x12.grammar import TransactionGrammar

# The 270's element helpers are reused as they are: same X12 segments, same element facts.
from hetsock.x12.grammar270 import (
    _HI,
    _N3,
    _N4,
    _NM1_RULES,
    ACCEPTED_VERSIONS,
    DIAGNOSIS_POINTER_COMPOSITE,
    OTHER_X12_SEGMENT_IDS,
    SE,
    SEGMENT_IDS_270,
    SERVICE_TYPE_CODES,
    C,
    E,
    LoopSpec,
    N,
    R,
    S,
    SegmentSpec,
    SyntaxRule,
    _dmg,
    _dtp,
    _hl,
    _nm1,
    _prv,
    _ref,
    procedure_composite,
)

#: "Greater than 1" in the guide's repeat column.
UNBOUNDED = 1_000_000

# --- code lists --------------------------------------------------------------------------------

#: EB01 (1390) eligibility or benefit information codes.
ELIGIBILITY_CODES = "1 2 3 4 5 6 7 8 A B C D E F G H I J K L M N O P Q R S T U V W X Y CB MC"
#: EB02 (1207) coverage level codes.
COVERAGE_LEVEL_CODES = "CHD DEP ECH EMP ESP FAM IND SPC SPO"
#: EB04 (1336) insurance type codes.
INSURANCE_TYPE_CODES = (
    "12 13 14 15 16 41 42 43 47 AP C1 CO CP D DB EP FF GP HM HN HS IN IP LC LD LI LT MA MB MC MH MI MP "
    "OT PE PL PP PR PS QM RP SP TF WC WU"
)
#: EB06 and HSD05 (615) time period qualifiers.
TIME_PERIOD_CODES = "6 7 13 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36"
#: EB09 (673) quantity qualifiers.
QUANTITY_CODES = "8H 99 CA CE D3 DB DY HS LA LE M2 MN P6 QA S7 S8 VS YY"
#: C003-01 (235) product or service ID qualifiers.
PRODUCT_QUALIFIERS = "AD CJ HC ID IV N4 ZZ"

#: AAA04 (889) follow-up action codes (P only where the guide's 2000A/2100A lists it).
_FOLLOW_UP = "C N R S W X Y"
_FOLLOW_UP_SOURCE = "C N P R S W X Y"

#: AAA03 (901) reject reasons per loop.
AAA_2000A = "04 41 42 79 80 T4"
AAA_2100A = "04 15 41 42 79 80 T4"
AAA_2100B = "15 41 43 44 45 46 47 48 50 51 79 97 T4"
AAA_2100C = (
    "15 33 35 42 43 45 47 48 49 51 52 56 57 58 60 61 62 63 69 70 71 72 73 74 75 76 78 98 AA AE AF AG AO CI E8 IA MA"
)
#: 2100D: the 2100C list and the dependent-only reasons (64-68 patient ID/name/gender/not found/duplicate,
#: 77 subscriber found, patient not found).
AAA_2100D = AAA_2100C + " 64 65 66 67 68 77"
AAA_2110C = "15 33 52 53 54 55 56 57 60 61 62 63 69 70 98 AA AE AF AG AO CI E8 IA MA"

#: DTP01 (374) date qualifiers.
DTP_2100C = "096 102 152 291 307 318 340 341 342 343 346 347 356 357 382 435 442 458 472 539 540 636 771"
DTP_2110C = "096 193 194 198 290 291 292 295 304 307 318 346 348 349 356 357 435 472 636 771"

#: REF01 (128) reference identification qualifiers.
REF_2100C = "18 1L 1W 3H 49 6P CE CT EA EJ F6 GH HJ IF IG MRC N6 NQ Q4 SY Y4"
REF_2110C = "18 1L 1W 49 6P 9F ALS CE CLI F6 F8 FO G1 IG M7 N6 NQ Y4"

#: NM101 (98) entity codes of the 2120C/D benefit-related entity.
ENTITY_2120 = "13 1I 1P 2B 36 73 FA GP GW I3 IL LR OC P3 P4 P5 PR PRP SEP TTP VER VN VY X3 Y2"

_PRV_CODES = "AD AT BI CO CV H HH LA OT P1 P2 PC PE R RF SB SK SU"

# --- segments ----------------------------------------------------------------------------------


def _aaa(reasons: str, follow_up: str = _FOLLOW_UP) -> SegmentSpec:
    return SegmentSpec(
        "AAA",
        (
            E(R, "1073", "ID", 1, 1, "N Y"),
            E(N, "559", "ID", 2, 2),
            E(R, "901", "ID", 2, 2, reasons),
            E(R, "889", "ID", 1, 1, follow_up),
        ),
        max_use=9,
    )


def _per(first_qualifiers: str, more_qualifiers: str) -> SegmentSpec:
    return SegmentSpec(
        "PER",
        (
            E(R, "366", "ID", 2, 2, "IC"),
            E(S, "93", "AN", 1, 60),
            E(S, "365", "ID", 2, 2, first_qualifiers),
            E(S, "364", "AN", 1, 256),
            E(S, "365", "ID", 2, 2, more_qualifiers),
            E(S, "364", "AN", 1, 256),
            E(S, "365", "ID", 2, 2, more_qualifiers),
            E(S, "364", "AN", 1, 256),
            E(N, "443", "AN", 1, 20),
        ),
        max_use=3,
        rules=(SyntaxRule("P", (3, 4)), SyntaxRule("P", (5, 6)), SyntaxRule("P", (7, 8))),
    )


def _trn() -> SegmentSpec:
    return SegmentSpec(
        "TRN",
        (
            E(R, "481", "ID", 1, 2, "1 2"),
            E(R, "127", "AN", 1, 50),
            E(R, "509", "AN", 10, 10),
            E(S, "127", "AN", 1, 50),
        ),
        max_use=3,
    )


def _ins(indicator: str, relationship: str) -> SegmentSpec:
    # The 271 uses INS03/INS04 (001/25: identifying data changed) and INS17; the rest is not used.
    return SegmentSpec(
        "INS",
        (
            E(R, "1073", "ID", 1, 1, indicator),
            E(R, "1069", "ID", 2, 2, relationship),
            E(S, "875", "ID", 3, 3, "001"),
            E(S, "1203", "ID", 2, 3, "25"),
            E(N, "1216", "ID", 1, 3),
            C(N, "C052"),
            E(N, "1219", "ID", 1, 1),
            E(N, "584", "ID", 1, 2),
            E(N, "1220", "ID", 1, 1),
            E(N, "1073", "ID", 1, 1),
            E(N, "1250", "ID", 2, 3),
            E(N, "1251", "AN", 1, 35),
            E(N, "1165", "ID", 1, 1),
            E(N, "19", "AN", 2, 30),
            E(N, "156", "ID", 2, 2),
            E(N, "26", "ID", 2, 3),
            E(S, "1470", "N0", 1, 9),
        ),
    )


_MPI = SegmentSpec(
    "MPI",
    (
        E(R, "1201", "ID", 1, 1, "A C L O P S T"),
        E(R, "584", "ID", 2, 2, "AE AO AS AT AU CC DD HD IR LX PE RE RM RR RU"),
        E(R, "1595", "ID", 1, 1),
        E(S, "352", "AN", 1, 80),
        E(S, "1596", "ID", 2, 2),
        E(S, "1250", "ID", 2, 3, "D8 RD8"),
        E(S, "1251", "AN", 1, 35),
    ),
    max_use=9,
    rules=(SyntaxRule("P", (6, 7)),),
    date_format=(6, 7),
)

_EB = SegmentSpec(
    "EB",
    (
        E(R, "1390", "ID", 1, 2, ELIGIBILITY_CODES),
        E(S, "1207", "ID", 3, 3, COVERAGE_LEVEL_CODES),
        E(S, "1365", "ID", 1, 2, SERVICE_TYPE_CODES, repeats=99),
        E(S, "1336", "ID", 1, 3, INSURANCE_TYPE_CODES),
        E(S, "1204", "AN", 1, 50),
        E(S, "615", "ID", 1, 2, TIME_PERIOD_CODES),
        E(S, "782", "R", 1, 18),
        E(S, "954", "R", 1, 10),
        E(S, "673", "ID", 2, 2, QUANTITY_CODES),
        E(S, "380", "R", 1, 15),
        E(S, "1073", "ID", 1, 1, "N U Y"),
        E(S, "1073", "ID", 1, 1, "N U W Y"),
        procedure_composite(PRODUCT_QUALIFIERS, description_usage=S),
        DIAGNOSIS_POINTER_COMPOSITE,
    ),
    usage=R,
    rules=(SyntaxRule("P", (9, 10)),),
)

_HSD = SegmentSpec(
    "HSD",
    (
        E(S, "673", "ID", 2, 2, "DY FL HS MN VS"),
        E(S, "380", "R", 1, 15),
        E(S, "355", "ID", 2, 2, "DA MO VS WK YR"),
        E(S, "1167", "R", 1, 6),
        E(S, "615", "ID", 1, 2, TIME_PERIOD_CODES),
        E(S, "616", "N0", 1, 3),
        E(S, "678", "ID", 1, 2),
        E(S, "679", "ID", 1, 1),
    ),
    max_use=9,
    rules=(SyntaxRule("P", (1, 2)), SyntaxRule("C", (6, 5))),
)

_MSG = SegmentSpec("MSG", (E(R, "933", "AN", 1, 264), E(N, "934", "ID", 2, 2), E(N, "1470", "N0", 1, 9)), max_use=10)

_III = SegmentSpec(
    "III",
    (
        E(S, "1270", "ID", 1, 3, "GR NI ZZ"),
        E(S, "1271", "AN", 1, 30),
        E(S, "1136", "ID", 2, 2, "44"),
        E(S, "933", "AN", 1, 264),
        E(N, "380", "R", 1, 15),
        C(N, "C001"),
        E(N, "752", "ID", 1, 2),
        E(N, "752", "ID", 1, 2),
        E(N, "752", "ID", 1, 2),
    ),
    usage=R,
    rules=(SyntaxRule("P", (1, 2)),),
)

# LS01/LE01 (447) are AN 1-4 in the X12 dictionary; the guide allows the one value 2120, so they
# are checked as a code (a wrong one is IK403 7, and the value is not patient data).
_LS = SegmentSpec("LS", (E(R, "447", "ID", 1, 4, "2120"),))
_LE = SegmentSpec("LE", (E(R, "447", "ID", 1, 4, "2120"),))

_NM1_2120_BASE = _nm1(ENTITY_2120, "24 34 46 FA FI II MI NI PI PP SV XV XX")
_NM1_2120 = SegmentSpec(
    "NM1",
    (*_NM1_2120_BASE[:9], E(S, "706", "ID", 2, 2, "01 02 27 41 48 65 72"), *_NM1_2120_BASE[10:]),
    usage=R,
    rules=_NM1_RULES,
)

#: The 2120C/D N4 also uses N405 (RJ: a DOD health service region) and N406.
_N4_2120 = SegmentSpec(
    "N4",
    (
        E(R, "19", "AN", 2, 30),
        E(S, "156", "ID", 2, 2),
        E(S, "116", "ID", 3, 15),
        E(S, "26", "ID", 2, 3),
        E(S, "309", "ID", 1, 2, "RJ"),
        E(S, "310", "AN", 1, 30),
        E(S, "1715", "ID", 1, 3),
    ),
    rules=_N4.rules,
)

_BENEFIT_DTP = _dtp(DTP_2110C, 20)
_BENEFIT_REF = _ref(REF_2110C, 9, description=S)

# --- loops -------------------------------------------------------------------------------------


def _benefit_loop(letter: str) -> LoopSpec:
    """2110C/D: one EB with its details, 2115 (III) and the LS ... 2120 ... LE entities."""
    return LoopSpec(
        f"2110{letter}",
        (
            _EB,
            _HSD,
            _BENEFIT_REF,
            _BENEFIT_DTP,
            _aaa(AAA_2110C),
            _MSG,
            LoopSpec(f"2115{letter}", (_III,), usage=S, max_repeat=10),
            _LS,
            LoopSpec(
                f"2120{letter}",
                (
                    _NM1_2120,
                    _N3,
                    _N4_2120,
                    _per("ED EM FX TE UR WP", "ED EM EX FX TE UR WP"),
                    _prv(_PRV_CODES, "PXC"),
                ),
                usage=S,
                max_repeat=23,
            ),
            _LE,
        ),
        usage=S,
        max_repeat=UNBOUNDED,
        bounds=("LS", "LE"),
    )


def _person_items(
    letter: str, nm1: SegmentSpec, ins: SegmentSpec, aaa_reasons: str
) -> tuple[SegmentSpec | LoopSpec, ...]:
    return (
        nm1,
        _ref(REF_2100C, 9, description=S),
        _N3,
        _N4,
        _aaa(aaa_reasons),
        _prv(_PRV_CODES, "9K D3 EI HPI PXC SY TJ"),
        _dmg("F M U"),
        ins,
        _HI,
        _dtp(DTP_2100C, 9),
        _MPI,
        _benefit_loop(letter),
    )


LOOP_2000A = LoopSpec(
    "2000A",
    (
        _hl("20", "0 1", parent=N),
        _aaa(AAA_2000A, _FOLLOW_UP_SOURCE),
        LoopSpec(
            "2100A",
            (
                SegmentSpec(
                    "NM1", _nm1("2B 36 GP P5 PR", "24 46 FI NI PI XV XX", last=R, id_usage=R), usage=R, rules=_NM1_RULES
                ),
                _per("ED EM FX TE UR", "ED EM EX FX TE UR"),
                _aaa(AAA_2100A, _FOLLOW_UP_SOURCE),
            ),
            usage=R,
        ),
    ),
    usage=R,
    max_repeat=UNBOUNDED,
)

LOOP_2000B = LoopSpec(
    "2000B",
    (
        _hl("21", "0 1"),
        LoopSpec(
            "2100B",
            (
                SegmentSpec(
                    "NM1",
                    _nm1("1P 2B 36 80 FA GP P5 PR", "24 34 FI PI PP SV XV XX", id_usage=R),
                    usage=R,
                    rules=_NM1_RULES,
                ),
                _ref("0B 1C 1D 1J 4A CT EL EO HPI JD N5 N7 Q4 SY TJ", 9, description=S),
                _N3,
                _N4,
                _aaa(AAA_2100B),
                _prv(_PRV_CODES, "PXC"),
            ),
            usage=R,
        ),
    ),
    usage=S,
    max_repeat=UNBOUNDED,
)

LOOP_2000C = LoopSpec(
    "2000C",
    (
        _hl("22", "0 1"),
        _trn(),
        LoopSpec(
            "2100C",
            _person_items(
                "C", SegmentSpec("NM1", _nm1("IL", "II MI"), usage=R, rules=_NM1_RULES), _ins("Y", "18"), AAA_2100C
            ),
            usage=R,
        ),
    ),
    usage=S,
    max_repeat=UNBOUNDED,
)

LOOP_2000D = LoopSpec(
    "2000D",
    (
        _hl("23", "0"),
        _trn(),
        LoopSpec(
            "2100D",
            _person_items(
                "D",
                SegmentSpec("NM1", _nm1("03", None, id_usage=N), usage=R, rules=_NM1_RULES),
                _ins("N", "01 19 20 21 34 39 40 53 G8"),
                AAA_2100D,
            ),
            usage=R,
        ),
    ),
    usage=S,
    max_repeat=UNBOUNDED,
)

#: HL03 hierarchical level code -> the 2000 loop it opens, and the level its parent must be.
HIERARCHY: dict[str, tuple[LoopSpec, str | None]] = {
    "20": (LOOP_2000A, None),
    "21": (LOOP_2000B, "20"),
    "22": (LOOP_2000C, "21"),
    "23": (LOOP_2000D, "22"),
}

ST = SegmentSpec("ST", (E(R, "143", "ID", 3, 3, "271"), E(R, "329", "AN", 4, 9), E(R, "1705", "AN", 1, 35)), usage=R)
BHT = SegmentSpec(
    "BHT",
    (
        E(R, "1005", "ID", 4, 4, "0022"),
        E(R, "353", "ID", 2, 2, "06 11"),
        E(S, "127", "AN", 1, 50),
        E(R, "373", "DT", 8, 8),
        E(R, "337", "TM", 4, 8),
        E(N, "640", "ID", 2, 2),
    ),
    usage=R,
)

#: Every segment ID the 271 uses anywhere (an out-of-place one is "unexpected", IK304 2).
SEGMENT_IDS_271 = frozenset(
    {
        "ST", "BHT", "HL", "AAA", "NM1", "PER", "REF", "N3", "N4", "PRV", "TRN", "DMG", "INS", "HI", "DTP",
        "MPI", "EB", "HSD", "MSG", "III", "LS", "LE", "SE",
    }
)  # fmt: skip

GRAMMAR_271 = TransactionGrammar(
    set_id="271",
    functional_id="HB",
    st=ST,
    bht=BHT,
    se=SE,
    hierarchy=HIERARCHY,
    required_levels=("20",),
    segment_ids=SEGMENT_IDS_271,
    other_segment_ids=(OTHER_X12_SEGMENT_IDS | SEGMENT_IDS_270) - SEGMENT_IDS_271,
    versions=ACCEPTED_VERSIONS,
    business_unit_loops=frozenset(
        f"{loop}{letter}" for loop in ("2000", "2100", "2110", "2115", "2120") for letter in "CD"
    ),
)
