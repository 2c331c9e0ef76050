"""The demo fixtures: one submitter set-up and a beneficiary for each 271 shape.

Every seeded store holds these (``synth.py`` writes them first), the examples and tests use
them, and README lists them. Nobody here is a real person; the MBIs are format-valid but were
chosen by hand (``1EG4TE5MK73`` is CMS's own specimen MBI).

Amounts are 2026 figures: Part A deductible $1,736 per benefit period, Part B $283 a year.
"""

from __future__ import annotations

from hetsock.eligibility.beneficiary import (
    Address,
    Beneficiary,
    BenefitDays,
    Deductible,
    DrugPlanEnrollment,
    Entitlement,
    HomeHealthEpisode,
    HospiceElection,
    Period,
    PlanEnrollment,
    PreventiveService,
    SecondaryPayer,
)

RECEIVER_ID = "CMS"
SUBMITTER = "DEMO0001"  #: active, production and test, linked to LINKED_NPI
SUSPENDED_SUBMITTER = "DEMO0009"
LINKED_NPI = "1234567893"
UNLINKED_NPI = "1987654328"  #: valid check digit, linked to no submitter
INVALID_NPI = "1234567890"  #: fails the check digit
HOSPICE_NPI = "1922334457"
HOME_HEALTH_NPI = "1811223340"

PART_A_DEDUCTIBLE_CENTS = 173_600
PART_B_DEDUCTIBLE_CENTS = 28_300


def _standard_parts(since: str, *, part_b_end: str = "") -> tuple[Entitlement, ...]:
    return (Entitlement("A", Period(since)), Entitlement("B", Period(since, part_b_end)))


def _deductibles(part_b_remaining: int = 12_000) -> tuple[Deductible, ...]:
    return (
        Deductible("A", Period("20261001", "20261130"), PART_A_DEDUCTIBLE_CENTS, 0),
        Deductible("B", Period("20260101", "20261231"), PART_B_DEDUCTIBLE_CENTS, part_b_remaining),
    )


def _days() -> tuple[BenefitDays, ...]:
    return (
        BenefitDays("hospital", Period("20261001", "20261130"), 12, 78, 43_400),
        BenefitDays("snf", Period("20261001", "20261130"), 0, 100, 21_700),
        BenefitDays("lifetime_reserve", Period("19900101"), 0, 60, 86_800),
    )


def _preventive() -> tuple[PreventiveService, ...]:
    return (
        PreventiveService("G0438", "BT", "20270115"),  # annual wellness visit, initial
        PreventiveService("80061", "5", "20281001"),  # lipid panel
        PreventiveService("G0117", "AL", "20270601"),  # glaucoma screening
    )


DOE_JANE = Beneficiary(
    mbi="1EG4TE5MK73",
    last_name="DOE",
    first_name="JANE",
    birth_date="19400401",
    gender="F",
    address=Address("123 MAIN STREET", "", "SPRINGFIELD", "IL", "62701"),
    entitlements=_standard_parts("20050401"),
    deductibles=_deductibles(),
    benefit_days=_days(),
    preventive=_preventive(),
)

ROE_RICHARD = Beneficiary(  # Medicare Advantage with drug coverage
    mbi="2EG4TE5MK74",
    last_name="ROE",
    first_name="RICHARD",
    middle_name="A",
    birth_date="19480715",
    gender="M",
    address=Address("45 OAK AVENUE", "APT 2", "COLUMBUS", "OH", "43004"),
    entitlements=_standard_parts("20130701"),
    advantage_plans=(
        PlanEnrollment(
            "H1234",
            "001",
            "SUNSHINE MEDICARE ADVANTAGE PLAN",
            Period("20240101"),
            Address("PO BOX 1000", "", "TAMPA", "FL", "33601"),
            "8005551234",
        ),
    ),
    drug_plans=(DrugPlanEnrollment("H1234", "001", "SUNSHINE MEDICARE ADVANTAGE PLAN", Period("20240101")),),
)

POE_MARY = Beneficiary(  # original Medicare with a stand-alone Part D plan
    mbi="3EG4TE5MK75",
    last_name="POE",
    first_name="MARY",
    birth_date="19520310",
    gender="F",
    address=Address("9 ELM COURT", "", "DES MOINES", "IA", "50309"),
    entitlements=_standard_parts("20170301"),
    deductibles=_deductibles(part_b_remaining=PART_B_DEDUCTIBLE_CENTS),
    drug_plans=(DrugPlanEnrollment("S5678", "002", "EVERGREEN RX BASIC", Period("20220101")),),
)

MOE_ROBERT = Beneficiary(  # Medicare is secondary: still working, employer group health plan
    mbi="4EG4TE5MK76",
    last_name="MOE",
    first_name="ROBERT",
    birth_date="19580120",
    gender="M",
    address=Address("77 RIVER ROAD", "", "ALBANY", "NY", "12207"),
    entitlements=(Entitlement("A", Period("20230101")), Entitlement("B", Period("20230101"))),
    deductibles=_deductibles(part_b_remaining=0),
    secondary_payers=(SecondaryPayer("12", "ACME HEALTH INSURANCE", Period("20230101"), "GRP44120"),),
)

LOWE_ALICE = Beneficiary(  # hospice election
    mbi="5EG4TE5MK77",
    last_name="LOWE",
    first_name="ALICE",
    birth_date="19380905",
    gender="F",
    address=Address("300 PINE STREET", "", "PORTLAND", "OR", "97201"),
    entitlements=_standard_parts("20030901"),
    deductibles=_deductibles(part_b_remaining=0),
    hospice=(
        HospiceElection(HOSPICE_NPI, Period("20260815", "20261112")),
        HospiceElection(HOSPICE_NPI, Period("20261113")),
    ),
)

COE_EDWARD = Beneficiary(  # deceased
    mbi="6EG4TE5MK78",
    last_name="COE",
    first_name="EDWARD",
    birth_date="19330202",
    gender="M",
    address=Address("12 BIRCH LANE", "", "DENVER", "CO", "80202"),
    death_date="20260301",
    entitlements=(Entitlement("A", Period("19980201", "20260301")), Entitlement("B", Period("19980201", "20260301"))),
)

VOE_LINDA = Beneficiary(  # Part B ended
    mbi="7EG4TE5MK79",
    last_name="VOE",
    first_name="LINDA",
    birth_date="19451111",
    gender="F",
    address=Address("5 MAPLE DRIVE", "", "MADISON", "WI", "53703"),
    entitlements=(Entitlement("A", Period("20101101")), Entitlement("B", Period("20101101", "20231231"))),
    deductibles=(Deductible("A", Period("20260601", "20260731"), PART_A_DEDUCTIBLE_CENTS, PART_A_DEDUCTIBLE_CENTS),),
)

HOE_GEORGE = Beneficiary(  # MBI changed: 9EG4TE5MK71 now maps here
    mbi="8EG4TE5MK70",
    last_name="HOE",
    first_name="GEORGE",
    birth_date="19470620",
    gender="M",
    address=Address("88 CEDAR STREET", "", "BOISE", "ID", "83702"),
    previous_mbis=("9EG4TE5MK71",),
    entitlements=_standard_parts("20120601"),
    deductibles=_deductibles(),
)

GOE_SUSAN = Beneficiary(  # a home health episode
    mbi="1EG4TE5MK80",
    last_name="GOE",
    first_name="SUSAN",
    birth_date="19410808",
    gender="F",
    address=Address("61 SPRUCE WAY", "", "RALEIGH", "NC", "27601"),
    entitlements=_standard_parts("20060801"),
    deductibles=_deductibles(),
    home_health=(HomeHealthEpisode(HOME_HEALTH_NPI, Period("20261020", "20261218")),),
)

NOE_KEVIN = Beneficiary(  # under 65: entitled through ESRD
    mbi="2EG4TE5MK81",
    last_name="NOE",
    first_name="KEVIN",
    birth_date="19800101",
    gender="M",
    address=Address("4 ASPEN PLACE", "", "TUCSON", "AZ", "85701"),
    esrd=True,
    entitlements=_standard_parts("20240401"),
    deductibles=_deductibles(part_b_remaining=0),
    secondary_payers=(SecondaryPayer("13", "DESERT EMPLOYER HEALTH PLAN", Period("20240401", "20250930")),),
)

SMITH_JONES_PAT = Beneficiary(  # hyphenated surname, stored with a space (as HETS stores it)
    mbi="3EG4TE5MK82",
    last_name="SMITH JONES",
    first_name="PAT",
    suffix="JR",
    birth_date="19550505",
    gender="U",
    address=Address("7 WILLOW STREET", "", "BOSTON", "MA", "02108"),
    entitlements=_standard_parts("20200501"),
    deductibles=_deductibles(),
)

#: Every demo beneficiary, in README order.
BENEFICIARIES: tuple[Beneficiary, ...] = (
    DOE_JANE,
    ROE_RICHARD,
    POE_MARY,
    MOE_ROBERT,
    LOWE_ALICE,
    COE_EDWARD,
    VOE_LINDA,
    HOE_GEORGE,
    GOE_SUSAN,
    NOE_KEVIN,
    SMITH_JONES_PAT,
)
