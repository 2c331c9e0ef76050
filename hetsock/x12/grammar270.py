"""The 005010X279A1 270 as data: segments, elements and loops, for ``validate.py``.

Each element is an :class:`ElementSpec` (X12 data element reference number, data type,
minimum/maximum length, the guide's usage R/S/N and, for ID elements the guide restricts, the
allowed codes). Segment and loop IDs, positions and repeat counts follow the implementation
guide's table of contents; element facts follow the X12 005010 data element dictionary.
No guide prose is copied: elements are named by their X12 IDs (``NM109``).
"""

from __future__ import annotations

import attrs

REQUIRED, SITUATIONAL, NOT_USED = "R", "S", "N"

#: (position, usage, kind, codes, minimum, maximum, repeats, spec): one element, flattened.
CompiledElement = tuple[int, str, str, "frozenset[str] | None", int, int, int, "ElementSpec"]


@attrs.frozen
class ElementSpec:
    """One data element (or composite) of a segment as the guide uses it."""

    ref: str  #: X12 data element reference number (IK402), e.g. "1035"; composites "C003"
    kind: str  #: ID, AN, DT, TM, N0, R; "C" for a composite
    minimum: int
    maximum: int
    usage: str = SITUATIONAL
    codes: frozenset[str] | None = None
    repeats: int = 1
    components: tuple[ElementSpec, ...] = ()


@attrs.frozen
class SyntaxRule:
    """An X12 relational condition: P paired, R at least one, C conditional, E exclusive."""

    kind: str
    positions: tuple[int, ...]


@attrs.frozen
class SegmentSpec:
    """A segment use: ID, elements, syntax rules, requirement and maximum use in its loop."""

    id: str
    elements: tuple[ElementSpec, ...]
    usage: str = SITUATIONAL
    max_use: int = 1
    rules: tuple[SyntaxRule, ...] = ()
    #: (qualifier position, value position) of a date whose format its qualifier names.
    date_format: tuple[int, int] | None = None
    #: (position, value): the use only matches segments with this value there (AMT*R vs AMT*PB).
    discriminator: tuple[int, str] | None = None
    #: The elements as flat tuples for the validator's hot loop (derived, not passed).
    compiled: tuple[CompiledElement, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        compiled = tuple(
            (index, e.usage, e.kind, e.codes, e.minimum, e.maximum, e.repeats, e)
            for index, e in enumerate(self.elements, start=1)
        )
        object.__setattr__(self, "compiled", compiled)


@attrs.frozen
class LoopSpec:
    """A loop: its ID, repeat limits and contents (segments and nested loops)."""

    id: str
    items: tuple[SegmentSpec | LoopSpec, ...]
    usage: str = SITUATIONAL
    max_repeat: int = 1
    #: An X12 bounded loop among the items, as (opening, closing) segment IDs, e.g. the 271's
    #: ("LS", "LE") around 2120C: the items after the opening segment, up to and including the
    #: closing one, need the opening one earlier in the iteration, and it needs the closing one.
    bounds: tuple[str, str] | None = None
    #: Segment ID -> indices of the items it can match (derived, not passed).
    positions: dict[str, tuple[int, ...]] = attrs.field(init=False, eq=False, repr=False)
    #: ``bounds`` as item indices (derived, not passed).
    bound_indices: tuple[int, int] | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        positions: dict[str, list[int]] = {}
        for index, item in enumerate(self.items):
            segment_id = item.trigger.id if isinstance(item, LoopSpec) else item.id
            positions.setdefault(segment_id, []).append(index)
        object.__setattr__(self, "positions", {k: tuple(v) for k, v in positions.items()})
        bound_indices = None
        if self.bounds is not None:
            opening, closing = self.bounds
            bound_indices = (positions[opening][0], positions[closing][0])
        object.__setattr__(self, "bound_indices", bound_indices)

    @property
    def trigger(self) -> SegmentSpec:
        first = self.items[0]
        assert isinstance(first, SegmentSpec)
        return first


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


def E(  # noqa: N802 - reads like the guide's tables
    usage: str,
    ref: str,
    kind: str,
    minimum: int,
    maximum: int,
    codes: str | None = None,
    repeats: int = 1,
) -> ElementSpec:
    return ElementSpec(ref, kind, minimum, maximum, usage, _codes(codes) if codes else None, repeats)


def C(usage: str, ref: str, *components: ElementSpec) -> ElementSpec:  # noqa: N802
    return ElementSpec(ref, "C", 0, 0, usage, components=components)


R, S, N = REQUIRED, SITUATIONAL, NOT_USED

SERVICE_TYPE_CODES = (
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 30 32 33 34 35 "
    "36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 "
    "66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 "
    "96 97 98 99 A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AQ "
    "AR B1 B2 B3 BA BB BC BD BE BF BG BH BI BJ BK BL BM BN BP BQ BR BS BT BU BV BW BX BY BZ C1 "
    "CA CB CD CE CF CG CH CI CJ CK CL CM CN CO CP CQ DG DM DS GF GN GY IC MH NI ON PT PU RN RT "
    "TC TN UC"
)
#: The same codes as a set (EQ01 repetitions are checked against it).
SERVICE_TYPES: frozenset[str] = frozenset(SERVICE_TYPE_CODES.split())


def _nm1(entity: str, qualifiers: str | None, *, last: str = S, id_usage: str = S) -> tuple[ElementSpec, ...]:
    return (
        E(R, "98", "ID", 2, 3, entity),
        E(R, "1065", "ID", 1, 1, "1 2"),
        E(last, "1035", "AN", 1, 60),
        E(S, "1036", "AN", 1, 35),
        E(S, "1037", "AN", 1, 25),
        E(N, "1038", "AN", 1, 10),
        E(S, "1039", "AN", 1, 10),
        E(id_usage, "66", "ID", 1, 2, qualifiers),
        E(id_usage, "67", "AN", 2, 80),
        E(N, "706", "ID", 2, 2),
        E(N, "98", "ID", 2, 3),
        E(N, "1035", "AN", 1, 60),
    )


_NM1_RULES = (SyntaxRule("P", (8, 9)), SyntaxRule("C", (11, 10)), SyntaxRule("C", (12, 3)))

_N3 = SegmentSpec("N3", (E(R, "166", "AN", 1, 55), E(S, "166", "AN", 1, 55)))
_N4 = SegmentSpec(
    "N4",
    (
        E(R, "19", "AN", 2, 30),
        E(S, "156", "ID", 2, 2),
        E(S, "116", "ID", 3, 15),
        E(S, "26", "ID", 2, 3),
        E(N, "309", "ID", 1, 2),
        E(N, "310", "AN", 1, 30),
        E(S, "1715", "ID", 1, 3),
    ),
    rules=(SyntaxRule("E", (2, 7)), SyntaxRule("C", (6, 5)), SyntaxRule("C", (7, 4))),
)


def _prv(codes: str, qualifiers: str) -> SegmentSpec:
    return SegmentSpec(
        "PRV",
        (
            E(R, "1221", "ID", 1, 3, codes),
            E(S, "128", "ID", 2, 3, qualifiers),
            E(S, "127", "AN", 1, 50),
            E(N, "156", "ID", 2, 2),
            C(N, "C035"),
            E(N, "1223", "ID", 3, 3),
        ),
        rules=(SyntaxRule("P", (2, 3)),),
    )


def _ref(qualifiers: str, max_use: int, *, description: str = N) -> SegmentSpec:
    return SegmentSpec(
        "REF",
        (
            E(R, "128", "ID", 2, 3, qualifiers),
            E(R, "127", "AN", 1, 50),
            E(description, "352", "AN", 1, 80),
            C(N, "C040"),
        ),
        max_use=max_use,
        rules=(SyntaxRule("R", (2, 3)),),
    )


def _dmg(gender_codes: str | None) -> SegmentSpec:
    return SegmentSpec(
        "DMG",
        (
            E(S, "1250", "ID", 2, 3, "D8"),
            E(S, "1251", "AN", 1, 35),
            E(S, "1068", "ID", 1, 1, gender_codes),
            E(N, "1067", "ID", 1, 1),
            C(N, "C056"),
            E(N, "1066", "ID", 1, 2),
            E(N, "26", "ID", 2, 3),
            E(N, "659", "ID", 1, 2),
            E(N, "380", "R", 1, 15),
            E(N, "1270", "ID", 1, 3),
            E(N, "1271", "AN", 1, 30),
        ),
        rules=(SyntaxRule("P", (1, 2)), SyntaxRule("P", (10, 11)), SyntaxRule("C", (11, 10))),
        date_format=(1, 2),
    )


def _ins(indicator: str, relationship: str) -> SegmentSpec:
    unused = [
        E(N, ref, kind, lo, hi)
        for ref, kind, lo, hi in (
            ("875", "ID", 3, 3),
            ("1203", "ID", 2, 3),
            ("1216", "ID", 1, 3),
        )
    ]
    more_unused = [
        E(N, ref, kind, lo, hi)
        for ref, kind, lo, hi in (
            ("1219", "ID", 1, 1),
            ("584", "ID", 1, 2),
            ("1220", "ID", 1, 1),
            ("1073", "ID", 1, 1),
            ("1250", "ID", 2, 3),
            ("1251", "AN", 1, 35),
            ("1165", "ID", 1, 1),
            ("19", "AN", 2, 30),
            ("156", "ID", 2, 2),
            ("26", "ID", 2, 3),
        )
    ]
    return SegmentSpec(
        "INS",
        (
            E(R, "1073", "ID", 1, 1, indicator),
            E(R, "1069", "ID", 2, 2, relationship),
            *unused,
            C(N, "C052"),
            *more_unused,
            E(R, "1470", "N0", 1, 9),
        ),
    )


def _hi_component(codes: str, usage: str) -> ElementSpec:
    return C(
        usage,
        "C022",
        E(R, "1270", "ID", 1, 3, codes),
        E(R, "1271", "AN", 1, 30),
        E(N, "1250", "ID", 2, 3),
        E(N, "1251", "AN", 1, 35),
        E(N, "782", "R", 1, 18),
        E(N, "380", "R", 1, 15),
        E(N, "799", "AN", 1, 30),
        E(N, "1271", "AN", 1, 30),
        E(N, "1073", "ID", 1, 1),
    )


_HI = SegmentSpec(
    "HI",
    (
        _hi_component("ABK BK", R),
        *(_hi_component("ABF BF", S) for _ in range(7)),
        *(C(N, "C022") for _ in range(4)),
    ),
)


def _dtp(qualifiers: str, max_use: int) -> SegmentSpec:
    return SegmentSpec(
        "DTP",
        (E(R, "374", "ID", 3, 3, qualifiers), E(R, "1250", "ID", 2, 3, "D8 RD8"), E(R, "1251", "AN", 1, 35)),
        max_use=max_use,
        date_format=(2, 3),
    )


def _trn() -> SegmentSpec:
    return SegmentSpec(
        "TRN",
        (E(R, "481", "ID", 1, 2, "1"), E(R, "127", "AN", 1, 50), E(R, "509", "AN", 10, 10), E(S, "127", "AN", 1, 50)),
        max_use=2,
    )


def _hl(level: str, child_codes: str, *, parent: str = R) -> SegmentSpec:
    return SegmentSpec(
        "HL",
        (
            E(R, "628", "AN", 1, 12),
            E(parent, "734", "AN", 1, 12),
            E(R, "735", "ID", 1, 2, level),
            E(R, "736", "ID", 1, 1, child_codes),
        ),
        usage=R,
    )


def _amt(qualifier: str) -> SegmentSpec:
    return SegmentSpec(
        "AMT",
        (E(R, "522", "ID", 1, 3, qualifier), E(R, "782", "R", 1, 18), E(N, "478", "ID", 1, 1)),
        discriminator=(1, qualifier),
    )


def procedure_composite(qualifiers: str, *, description_usage: str) -> ElementSpec:
    """C003, the composite medical procedure identifier (EQ02 in the 270, EB13 in the 271):
    qualifier, code, four modifiers, description (not used), and a second code."""
    return C(
        S,
        "C003",
        E(R, "235", "ID", 2, 2, qualifiers),
        E(R, "234", "AN", 1, 48),
        *(E(S, "1339", "AN", 2, 2) for _ in range(4)),
        E(N, "352", "AN", 1, 80),
        E(description_usage, "234", "AN", 1, 48),
    )


#: C004, the composite diagnosis code pointer (EQ05 in the 270, EB14 in the 271).
DIAGNOSIS_POINTER_COMPOSITE = C(S, "C004", E(R, "1328", "N0", 1, 2), *(E(S, "1328", "N0", 1, 2) for _ in range(3)))

_EQ = SegmentSpec(
    "EQ",
    (
        E(S, "1365", "ID", 1, 2, SERVICE_TYPE_CODES, repeats=99),
        procedure_composite("AD CJ HC ID IV N4 ZZ", description_usage=N),
        E(S, "1207", "ID", 3, 3, "FAM"),
        E(N, "1336", "ID", 1, 3),
        DIAGNOSIS_POINTER_COMPOSITE,
    ),
    usage=R,
    rules=(SyntaxRule("R", (1, 2)),),
)

_III = SegmentSpec(
    "III",
    (
        E(R, "1270", "ID", 1, 3, "ZZ"),
        E(R, "1271", "AN", 1, 30),
        E(N, "1136", "ID", 1, 2),
        E(N, "933", "AN", 1, 264),
        E(N, "380", "R", 1, 15),
        C(N, "C001"),
        E(N, "752", "ID", 1, 2),
        E(N, "752", "ID", 1, 2),
        E(N, "752", "ID", 1, 2),
    ),
    rules=(SyntaxRule("P", (1, 2)),),
)


def _eligibility_loop(loop_id: str) -> LoopSpec:
    return LoopSpec(
        loop_id,
        (
            _EQ,
            *((_amt("R"), _amt("PB")) if loop_id == "2110C" else ()),
            _III,
            _ref("9F G1", 1),
            _dtp("291", 1),
        ),
        usage=S,
        max_repeat=99,
    )


#: Situational loops the HETS one-inquiry rule makes required. X279A1 2110C: "Required when the
#: subscriber is the patient whose eligibility or benefits are being verified" (X12 RFI 298); with
#: no 2000D dependent the subscriber is always the patient, so the inquiry must have an EQ there.
SINGLE_INQUIRY_REQUIRED_LOOPS = frozenset({"2110C"})

_PRV_CODES = "AD AT BI CO CV H HH LA OT P1 P2 PC PE R RF SK SU"

LOOP_2000A = LoopSpec(
    "2000A",
    (
        _hl("20", "1", parent=N),
        LoopSpec(
            "2100A",
            (
                SegmentSpec(
                    "NM1", _nm1("2B 36 GP P5 PR", "24 46 FI NI PI XV XX", last=R, id_usage=R), usage=R, rules=_NM1_RULES
                ),
            ),
            usage=R,
        ),
    ),
    usage=R,
    max_repeat=1_000_000,
)

LOOP_2000B = LoopSpec(
    "2000B",
    (
        _hl("21", "1"),
        LoopSpec(
            "2100B",
            (
                SegmentSpec(
                    "NM1",
                    _nm1("1P 2B 36 80 FA GP P5 PR", "24 34 FI PI PP SV XV XX", last=R, id_usage=R),
                    usage=R,
                    rules=_NM1_RULES,
                ),
                _ref("0B 1C 1D 1J 4A CT EL EO HPI JD N5 N7 Q4 SY TJ", 9, description=S),
                _N3,
                _N4,
                _prv("AD AT BI CO CV H HH LA OT P1 P2 PC PE R RF SB SK SU", "PXC"),
            ),
            usage=R,
        ),
    ),
    usage=R,
    max_repeat=1_000_000,
)

LOOP_2000C = LoopSpec(
    "2000C",
    (
        _hl("22", "0 1"),
        _trn(),
        LoopSpec(
            "2100C",
            (
                SegmentSpec("NM1", _nm1("IL", "II MI"), usage=R, rules=_NM1_RULES),
                _ref("18 1L 1W 3H 6P CT EA EJ F6 GH HJ IG N6 NQ SY Y4", 9),
                _N3,
                _N4,
                _prv(_PRV_CODES, "9K D3 EI HPI PXC SY TJ"),
                _dmg("F M"),
                _ins("Y", "18"),
                _HI,
                _dtp("102 291", 2),
                _eligibility_loop("2110C"),
            ),
            usage=R,
        ),
    ),
    usage=R,
    max_repeat=1_000_000,
)

LOOP_2000D = LoopSpec(
    "2000D",
    (
        _hl("23", "0"),
        _trn(),
        LoopSpec(
            "2100D",
            (
                SegmentSpec("NM1", _nm1("03", None, id_usage=N), usage=R, rules=_NM1_RULES),
                _ref("18 1L 1W 6P CT EA EJ F6 GH HJ IF IG MRC N6 SY Y4", 9),
                _N3,
                _N4,
                _prv(_PRV_CODES, "9K D3 EI HPI PXC SY TJ"),
                _dmg("F M U"),
                _ins("N", "01 19 34 G8"),
                _HI,
                _dtp("102 291", 2),
                _eligibility_loop("2110D"),
            ),
            usage=R,
        ),
    ),
    usage=S,
    max_repeat=1_000_000,
)

#: HL03 hierarchical level code -> the 2000 loop it opens, and the level its parent must be.
HIERARCHY: dict[str, tuple[LoopSpec, str | None]] = {
    "20": (LOOP_2000A, None),
    "21": (LOOP_2000B, "20"),
    "22": (LOOP_2000C, "21"),
    "23": (LOOP_2000D, "22"),
}

ST = SegmentSpec("ST", (E(R, "143", "ID", 3, 3, "270"), E(R, "329", "AN", 4, 9), E(R, "1705", "AN", 1, 35)), usage=R)
BHT = SegmentSpec(
    "BHT",
    (
        E(R, "1005", "ID", 4, 4, "0022"),
        E(R, "353", "ID", 2, 2, "01 13"),
        E(S, "127", "AN", 1, 50),
        E(R, "373", "DT", 8, 8),
        E(R, "337", "TM", 4, 8),
        E(S, "640", "ID", 2, 2, "RT"),
    ),
    usage=R,
)
SE = SegmentSpec("SE", (E(R, "96", "N0", 1, 10), E(R, "329", "AN", 4, 9)), usage=R)

#: Every segment ID the 270 uses anywhere (an out-of-place one is "unexpected", IK304 2).
SEGMENT_IDS_270 = frozenset(
    {"ST", "BHT", "HL", "NM1", "REF", "N3", "N4", "PRV", "TRN", "DMG", "INS", "HI", "DTP", "EQ", "AMT", "III", "SE"}
)

#: Other X12 segment IDs: present in some transaction set, but not in the 270 (IK304 6).
OTHER_X12_SEGMENT_IDS = _codes(
    "AAA ACT AK1 AK2 AK3 AK4 AK5 AK9 BGN BPR CAS CL1 CLM CLP CN1 CR1 CR2 CR3 CRC CTP CTX CUR DN1 DN2 "
    "DSB EB EC ENT FRM GE GS HCP HCR HSD IEA IK3 IK4 IK5 ISA K3 LE LIN LQ LS LUI LX MEA MIA MOA MSG N1 N2 "
    "NTE OI PAT PER PLA PLB PS1 PWK QTY RDM SBR SV1 SV2 SV3 SV4 SV5 SV6 SV7 SVC SVD TA1 TOO TS2 TS3 UM UR"
)

ACCEPTED_VERSIONS = frozenset({"005010X279A1", "005010X279"})
