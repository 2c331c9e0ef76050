"""A deterministic synthetic Medicare population, as store documents.

Theory of operation
-------------------
:func:`generate_documents` yields ``count`` documents in the shape of
:meth:`Beneficiary.to_document() <hetsock.eligibility.beneficiary.Beneficiary.to_document>`
(same keys, same key order, lists not tuples), so a store can serialize them as they come and
``Beneficiary.from_document(doc).to_document() == doc`` holds for every one. The first documents
are always the demo fixtures (:data:`hetsock.eligibility.fixtures.BENEFICIARIES`, counted within
``count``); synthetic people follow. Nobody here is a real person.

Determinism. The population is a pure function of ``(count, seed)``: the same pair gives the same
documents, byte for byte, on every run and platform. Synthetic people come in blocks of
:data:`BLOCK` people; block ``b`` draws from its own ``random.Random(f"hetsock:{seed}:{b}")``
(string seeds are hashed with SHA-512, independent of ``PYTHONHASHSEED``), and only
``Random.random()`` is called, whose algorithm (Mersenne Twister, 53-bit floats) Python keeps
stable. Person ``i``'s attributes therefore do not depend on ``count``; their MBI does (below).

MBIs. The MBI alphabets (HETS-NOTES section 4) are laid out in ASCII order (digits before
letters where a position takes both), so numbering them in mixed radix is order-preserving: a
larger number is a larger MBI string (:func:`sorted_mbi`; ``identifiers.mbi_from_number`` lists
letters before digits, so it is a bijection but not order-preserving). Synthetic person ``i`` owns
the number range ``[i * stride, (i + 1) * stride)``, ``stride = MBI_SPACE // synthetic_count``;
their current MBI is an
even offset in it, an earlier MBI (about 1 % of people have one) an odd offset. So every MBI is
valid and distinct, the population spreads over the whole MBI space, and MBIs come out in
ascending order, which lets a B-tree store append instead of splitting pages all over the file
(inserting a million documents in MBI order took 8 us each, in random order 44 us). MBIs of the
demo fixtures are skipped.

Proportions (approximate, by design): 91 % entitled by age (born 1931-1961, fewer of them as age
rises),
8 % disabled (under 65, entitled 24 months after disability), 1 % ESRD; Part A and Part B from
the first day of the month of the 65th birthday (the month before, for a birthday on the 1st) or
from the disability/ESRD date; 5 % with Part B ended or not yet started; a third in Medicare
Advantage (88 % of them with drug coverage), 72 % of the rest with a stand-alone Part D plan; 8 %
with Medicare as secondary payer; 2 % in hospice; 4 % with a home health episode; 2 % deceased;
1 % with a changed MBI. Amounts are 2026's (Part A deductible $1,736, Part B $283, hospital
coinsurance $434 a day, SNF $217, lifetime reserve $868). The demo's "today" is in late 2026, as
the fixtures assume (:data:`REFERENCE_DAY`).

Names are stored the HETS way (HETS-NOTES section 4: no special characters): a hyphen becomes a
space and an apostrophe is dropped (``O'BRIEN`` -> ``OBRIEN``).

Speed. Every table (days, months, names, addresses, plans, NPIs, MBI pieces) is built once, on
first use; a person costs about a dozen ``random()`` calls (one draw is reused for several
independent choices through its different decimal digits) and some list indexing: about 10 us.
Blocks are independent, so ``hetsock seed`` generates them in worker processes
(:mod:`hetsock.cli_seed`); ``scripts/bench_seed.py`` measures the rate.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
from collections.abc import Iterator
from typing import Any

import attrs

from hetsock.eligibility import fixtures
from hetsock.eligibility.identifiers import MBI_LETTERS, npi_from_number

#: Synthetic people per random stream (see the module header: a block is independently seeded).
BLOCK = 10_000
#: The demo's "today": generated dates that should be in the future are after it.
REFERENCE_DAY = "20261115"

_MBI_DIGITS = "0123456789"
_MBI_EITHER = _MBI_DIGITS + MBI_LETTERS  # ASCII order: digits before letters
_MBI_LAYOUT = (
    "123456789",
    MBI_LETTERS,
    _MBI_EITHER,
    _MBI_DIGITS,
    MBI_LETTERS,
    _MBI_EITHER,
    _MBI_DIGITS,
    MBI_LETTERS,
    MBI_LETTERS,
    _MBI_DIGITS,
    _MBI_DIGITS,
)
#: How many distinct MBIs exist (9 * 20 * 30 * 10 * 20 * 30 * 10 * 20 * 20 * 10 * 10).
MBI_SPACE = functools.reduce(lambda total, alphabet: total * len(alphabet), _MBI_LAYOUT, 1)

# 2026 amounts, in cents.
_PART_A_DEDUCTIBLE = fixtures.PART_A_DEDUCTIBLE_CENTS
_PART_B_DEDUCTIBLE = fixtures.PART_B_DEDUCTIBLE_CENTS
_HOSPITAL_COINSURANCE = 43_400
_SNF_COINSURANCE = 21_700
_LIFETIME_RESERVE_COINSURANCE = 86_800

_SURNAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
    "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE",
    "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG",
    "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER",
    "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS", "GOMEZ", "PHILLIPS", "EVANS", "TURNER", "DIAZ",
    "PARKER", "CRUZ", "EDWARDS", "COLLINS", "REYES", "STEWART", "MORRIS", "MORALES", "MURPHY", "COOK", "ROGERS",
    "GUTIERREZ", "ORTIZ", "MORGAN", "COOPER", "PETERSON", "BAILEY", "REED", "KELLY", "HOWARD", "RAMOS", "KIM",
    "COX", "WARD", "RICHARDSON", "WATSON", "BROOKS", "CHAVEZ", "WOOD", "JAMES", "BENNETT", "GRAY", "MENDOZA",
    "RUIZ", "HUGHES", "PRICE", "ALVAREZ", "CASTILLO", "SANDERS", "PATEL", "MYERS", "LONG", "ROSS", "FOSTER",
    "JIMENEZ", "POWELL", "JENKINS", "PERRY", "RUSSELL", "SULLIVAN", "BELL", "COLEMAN", "BUTLER", "HENDERSON",
    "BARNES", "GONZALES", "FISHER", "VASQUEZ", "SIMMONS", "ROMERO", "JORDAN", "PATTERSON", "ALEXANDER", "HAMILTON",
    "GRAHAM", "REYNOLDS", "GRIFFIN", "WALLACE", "MORENO", "WEST", "COLE", "HAYES", "BRYANT", "HERRERA", "GIBSON",
    "ELLIS", "TRAN", "MEDINA", "AGUILAR", "STEVENS", "MURRAY", "FORD", "CASTRO", "MARSHALL", "OWENS", "HARRISON",
    "FERNANDEZ", "MCDONALD", "WOODS", "WASHINGTON", "KENNEDY", "WELLS", "VARGAS", "HENRY", "CHEN", "FREEMAN",
    "WEBB", "TUCKER", "O'BRIEN", "O'CONNOR", "O'NEILL", "D'AMICO", "O'MALLEY", "DE'LUCA"
)  # fmt: skip

_FEMALE_NAMES = (
    "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH", "SUSAN", "MARGARET", "DOROTHY", "NANCY", "KAREN", "BETTY",
    "HELEN", "SANDRA", "DONNA", "CAROL", "RUTH", "SHARON", "DEBORAH", "SHIRLEY", "CYNTHIA", "BRENDA", "VIRGINIA",
    "KATHLEEN", "PAMELA", "MARTHA", "DEBRA", "CAROLYN", "CHRISTINE", "MARIE", "JANET", "CATHERINE", "FRANCES",
    "ANN", "JOYCE", "DIANE", "ALICE", "JUDITH", "ROSE", "JANICE", "JEAN", "CHERYL", "MILDRED", "KATHERINE", "JOAN",
    "EVELYN", "GLORIA", "DORIS", "TERESA", "JUDY", "THERESA", "BEVERLY", "DENISE", "IRENE", "JANE", "LORI",
    "MARILYN", "KATHRYN", "LOUISE", "ANNE", "WANDA", "BONNIE", "JULIA", "RUBY", "LOIS", "PHYLLIS", "NORMA", "PAULA",
    "DIANA", "LILLIAN", "PEGGY", "CONNIE", "ELAINE", "GAIL", "ROSA", "MARIA"
)  # fmt: skip

_MALE_NAMES = (
    "JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "CHARLES", "JOSEPH", "THOMAS", "DANIEL",
    "PAUL", "MARK", "DONALD", "GEORGE", "KENNETH", "STEVEN", "EDWARD", "RONALD", "ANTHONY", "KEVIN", "GARY",
    "TIMOTHY", "JOSE", "LARRY", "JEFFREY", "FRANK", "SCOTT", "ERIC", "STEPHEN", "RAYMOND", "GREGORY", "JERRY",
    "DENNIS", "WALTER", "PATRICK", "PETER", "HAROLD", "DOUGLAS", "HENRY", "CARL", "ARTHUR", "ROGER", "JOE", "JUAN",
    "JACK", "ALBERT", "TERRY", "GERALD", "KEITH", "SAMUEL", "WILLIE", "RALPH", "LAWRENCE", "ROY", "BRUCE", "HARRY",
    "FRED", "WAYNE", "BILLY", "LOUIS", "RANDY", "HOWARD", "EUGENE", "CARLOS", "RUSSELL", "BOBBY", "VICTOR",
    "MARTIN", "ERNEST", "PHILLIP", "CRAIG", "ALAN", "CLARENCE", "EARL", "JIMMY", "ANTONIO", "DALE", "LEROY"
)  # fmt: skip

_MIDDLE_INITIALS = "AABCDEEFGHJJKLLMMNPRRSTW"
_MALE_SUFFIXES = ("JR", "JR", "JR", "JR", "JR", "JR", "JR", "SR", "SR", "III")

_STREETS = (
    "MAIN", "OAK", "PINE", "MAPLE", "CEDAR", "ELM", "WASHINGTON", "LAKE", "HILL", "WALNUT", "PARK", "SPRING",
    "NORTH", "RIDGE", "CHURCH", "WILLOW", "MILL", "SUNSET", "JACKSON", "CHERRY", "HIGHLAND", "LINCOLN", "JEFFERSON",
    "FRANKLIN", "MADISON", "SECOND", "THIRD", "FOURTH", "FIFTH", "CENTER", "MEADOW", "FOREST", "RIVER", "DOGWOOD",
    "HICKORY", "BIRCH", "CHESTNUT", "SYCAMORE", "ASPEN", "LAUREL", "MAGNOLIA", "VALLEY", "BROADWAY", "COLLEGE",
    "ORCHARD", "PROSPECT"
)  # fmt: skip
_STREET_TYPES = ("STREET", "STREET", "STREET", "AVENUE", "AVENUE", "ROAD", "DRIVE", "LANE", "COURT", "WAY", "PLACE")
_UNITS = ("APT", "APT", "APT", "UNIT", "STE")

#: City, state and the first three digits of its ZIP codes.
_CITIES = (
    ("NEW YORK", "NY", "100"), ("BROOKLYN", "NY", "112"), ("BUFFALO", "NY", "142"), ("ALBANY", "NY", "122"),
    ("LOS ANGELES", "CA", "900"), ("SAN DIEGO", "CA", "921"), ("SAN JOSE", "CA", "951"),
    ("SACRAMENTO", "CA", "958"), ("FRESNO", "CA", "937"), ("CHICAGO", "IL", "606"),
    ("SPRINGFIELD", "IL", "627"), ("PEORIA", "IL", "616"), ("HOUSTON", "TX", "770"), ("DALLAS", "TX", "752"),
    ("SAN ANTONIO", "TX", "782"), ("AUSTIN", "TX", "787"), ("EL PASO", "TX", "799"), ("PHOENIX", "AZ", "850"),
    ("TUCSON", "AZ", "857"), ("PHILADELPHIA", "PA", "191"), ("PITTSBURGH", "PA", "152"),
    ("HARRISBURG", "PA", "171"), ("JACKSONVILLE", "FL", "322"), ("MIAMI", "FL", "331"), ("TAMPA", "FL", "336"),
    ("ORLANDO", "FL", "328"), ("SARASOTA", "FL", "342"), ("COLUMBUS", "OH", "432"), ("CLEVELAND", "OH", "441"),
    ("CINCINNATI", "OH", "452"), ("DETROIT", "MI", "482"), ("GRAND RAPIDS", "MI", "495"),
    ("INDIANAPOLIS", "IN", "462"), ("CHARLOTTE", "NC", "282"), ("RALEIGH", "NC", "276"),
    ("ATLANTA", "GA", "303"), ("SAVANNAH", "GA", "314"), ("NASHVILLE", "TN", "372"), ("MEMPHIS", "TN", "381"),
    ("LOUISVILLE", "KY", "402"), ("BALTIMORE", "MD", "212"), ("BOSTON", "MA", "021"),
    ("WORCESTER", "MA", "016"), ("PROVIDENCE", "RI", "029"), ("HARTFORD", "CT", "061"), ("NEWARK", "NJ", "071"),
    ("RICHMOND", "VA", "232"), ("SEATTLE", "WA", "981"), ("SPOKANE", "WA", "992"), ("PORTLAND", "OR", "972"),
    ("DENVER", "CO", "802"), ("ALBUQUERQUE", "NM", "871"), ("LAS VEGAS", "NV", "891"),
    ("SALT LAKE CITY", "UT", "841"), ("BOISE", "ID", "837"), ("MINNEAPOLIS", "MN", "554"),
    ("MILWAUKEE", "WI", "532"), ("MADISON", "WI", "537"), ("DES MOINES", "IA", "503"), ("OMAHA", "NE", "681"),
    ("KANSAS CITY", "MO", "641"), ("ST LOUIS", "MO", "631"), ("OKLAHOMA CITY", "OK", "731"),
    ("LITTLE ROCK", "AR", "722"), ("NEW ORLEANS", "LA", "701"), ("BIRMINGHAM", "AL", "352"),
    ("JACKSON", "MS", "392"), ("COLUMBIA", "SC", "292"), ("CHARLESTON", "WV", "253"), ("PORTLAND", "ME", "041"),
    ("BURLINGTON", "VT", "054"), ("MANCHESTER", "NH", "031"), ("WILMINGTON", "DE", "198"),
    ("WASHINGTON", "DC", "200"), ("HONOLULU", "HI", "968"), ("ANCHORAGE", "AK", "995"),
    ("BILLINGS", "MT", "591"), ("FARGO", "ND", "581"), ("SIOUX FALLS", "SD", "571"), ("CHEYENNE", "WY", "820"),
)  # fmt: skip

#: Medicare Advantage organizations (fictional): contract, name; each offers PBPs 001-003.
_MA_ORGANIZATIONS = (
    ("H1234", "SUNSHINE MEDICARE ADVANTAGE PLAN"), ("H0112", "EVERGREEN SENIOR CARE HMO"),
    ("H0354", "LIBERTY HEALTH ADVANTAGE PPO"), ("H1036", "BLUE RIVER MEDICARE HMO"),
    ("H2001", "PRAIRIE HEALTH PLUS PPO"), ("H2228", "SUMMIT CARE ADVANTAGE"),
    ("H3152", "HARBOR SENIOR HEALTH HMO"), ("H3387", "GOLDEN YEARS HEALTH PLAN"),
    ("H4513", "CARDINAL MEDICARE CHOICE"), ("H5216", "CANYON HEALTH ADVANTAGE HMO"),
    ("H5525", "HERITAGE SENIOR PPO"), ("H5969", "LAKESHORE MEDICARE PLAN"),
    ("H6609", "PIONEER HEALTH ADVANTAGE"), ("H7115", "MAGNOLIA SENIOR CARE"),
    ("H7464", "REDWOOD MEDICARE HMO"), ("H8145", "KEYSTONE ADVANTAGE PPO"),
    ("H8768", "FRONTIER SENIOR HEALTH"), ("H9047", "BAYVIEW MEDICARE ADVANTAGE"),
    ("H9725", "GRANITE SENIOR PLAN"), ("H0544", "SILVER OAK HEALTH HMO"),
)  # fmt: skip
_MA_TIERS = ("", " PLUS", " DUAL")
_TOLL_FREE = ("800", "833", "844", "855", "866", "877", "888")

#: Stand-alone Part D plans (fictional): contract, PBP, name.
_PDP_PLANS = (
    ("S5678", "002", "EVERGREEN RX BASIC"), ("S5678", "003", "EVERGREEN RX ENHANCED"),
    ("S0522", "001", "CLEARPATH RX BASIC"), ("S0522", "004", "CLEARPATH RX PLUS"),
    ("S1822", "001", "NORTHSTAR PRESCRIPTION PLAN"), ("S2874", "001", "VALUE SCRIPT SAVER"),
    ("S3521", "002", "HOMETOWN RX CHOICE"), ("S4802", "001", "CORNERSTONE DRUG PLAN"),
    ("S5601", "001", "PATRIOT PDP SELECT"), ("S5810", "003", "BRIGHTWAY RX VALUE"),
    ("S5884", "001", "MERIDIAN RX SECURE"), ("S6946", "002", "CONTINENTAL PDP PREMIER"),
    ("S7126", "001", "SAGE RX ESSENTIALS"), ("S7694", "001", "ANCHOR PRESCRIPTION SAVER"),
    ("S8067", "002", "TRUEPATH RX BASIC"), ("S9325", "001", "UNITY PDP STANDARD"),
)  # fmt: skip

_GROUP_INSURERS = (
    "ACME HEALTH INSURANCE", "GREAT LAKES EMPLOYER HEALTH", "UNITED WORKERS HEALTH FUND",
    "MERIDIAN GROUP BENEFITS", "PACIFIC EMPLOYERS HEALTH PLAN", "STATE TEACHERS HEALTH PLAN",
    "CITY EMPLOYEES BENEFIT TRUST", "MIDWEST CARPENTERS HEALTH FUND",
)  # fmt: skip
_INSURERS_BY_TYPE = {
    "12": _GROUP_INSURERS,
    "13": _GROUP_INSURERS,
    "43": _GROUP_INSURERS,
    "14": ("LIBERTY AUTO INSURANCE", "SAFEHAVEN MUTUAL AUTO", "HIGHWAY CASUALTY COMPANY"),
    "15": ("STATE WORKERS COMPENSATION FUND", "IRONWORKS COMP INSURANCE"),
    "WC": ("STATE WORKERS COMPENSATION FUND", "IRONWORKS COMP INSURANCE", "REGIONAL COMP MUTUAL"),
    "16": ("PUBLIC HEALTH SERVICE",),
    "41": ("FEDERAL BLACK LUNG PROGRAM",),
    "42": ("DEPARTMENT OF VETERANS AFFAIRS",),
    "47": ("FIRST NATIONAL LIABILITY INSURANCE", "GENERAL CASUALTY LIABILITY"),
}
# MSP insurance type codes, weighted per entitlement reason (out of 20).
_MSP_TYPES_AGED = ("12",) * 11 + ("14", "14", "15", "WC", "16", "41", "42", "47", "47")
_MSP_TYPES_DISABLED = ("43",) * 12 + ("14", "14", "15", "WC", "42", "42", "47", "47")
_MSP_TYPES_ESRD = ("13",) * 14 + ("14", "15", "42", "43", "47", "WC")

_EPOCH = dt.date(1931, 1, 1)
_LAST_DAY = dt.date(2037, 12, 31)


@attrs.frozen
class _Tables:
    """Everything precomputed (built once, see :func:`_tables`)."""

    days: tuple[str, ...]  # CCYYMMDD for every day from _EPOCH to _LAST_DAY
    month_of_day: tuple[int, ...]  # month index (0 = January 1931) of each day
    first_of_month: tuple[str, ...]  # CCYYMM01 per month index
    last_of_month: tuple[str, ...]
    entitled_at_65: tuple[int, ...]  # per birth day: month index of Medicare at 65
    surnames: tuple[str, ...]
    streets: tuple[str, ...]  # "OAK STREET"
    cities: tuple[tuple[str, str, tuple[str, ...]], ...]  # city, state, its 100 ZIP codes
    mbi_head: tuple[str, ...]  # MBI positions 1-3
    mbi_middle: tuple[str, ...]  # positions 4-7
    mbi_tail: tuple[str, ...]  # positions 8-11
    ma_plans: tuple[tuple[str, str, str, list[str], str], ...]
    hospice_npis: tuple[str, ...]
    home_health_npis: tuple[str, ...]


def _day(year: int, month: int, day: int) -> int:
    return (dt.date(year, month, day) - _EPOCH).days


def _month(year: int, month: int) -> int:
    return (year - _EPOCH.year) * 12 + month - 1


def hets_name(name: str) -> str:
    """A name as HETS stores it: uppercase, a hyphen becomes a space, an apostrophe is dropped."""
    return name.upper().replace("-", " ").replace("'", "")


@functools.cache
def _tables() -> _Tables:
    days: list[str] = []
    month_of_day: list[int] = []
    entitled_at_65: list[int] = []
    day = _EPOCH
    one = dt.timedelta(days=1)
    while day <= _LAST_DAY:
        days.append(f"{day.year:04d}{day.month:02d}{day.day:02d}")
        month = _month(day.year, day.month)
        month_of_day.append(month)
        # Medicare starts the month one turns 65, or the month before for a birthday on the 1st.
        entitled_at_65.append(month + 65 * 12 - (1 if day.day == 1 else 0))
        day += one
    months = range(_month(_LAST_DAY.year, 12) + 1)
    first_of_month = [f"{_EPOCH.year + m // 12:04d}{m % 12 + 1:02d}01" for m in months]
    last_of_month = []
    for m in months:
        year, month = _EPOCH.year + (m + 1) // 12, (m + 1) % 12 + 1
        end = dt.date(year, month, 1) - one
        last_of_month.append(f"{end.year:04d}{end.month:02d}{end.day:02d}")

    def pieces(alphabets: tuple[str, ...]) -> tuple[str, ...]:
        return tuple("".join(chars) for chars in itertools.product(*alphabets))

    ma_plans = []
    for index, (contract, name) in enumerate(_MA_ORGANIZATIONS):
        city, state, zip3 = _CITIES[(index * 7) % len(_CITIES)]
        address = [f"PO BOX {1000 + index * 379}", "", city, state, f"{zip3}{index * 13 % 100:02d}"]
        phone = f"{_TOLL_FREE[index % len(_TOLL_FREE)]}555{1000 + index * 421 % 9000:04d}"
        for tier_index, tier in enumerate(_MA_TIERS):
            ma_plans.append((contract, f"{tier_index + 1:03d}", name + tier, address, phone))

    reserved_npis = {
        fixtures.LINKED_NPI,
        fixtures.UNLINKED_NPI,
        fixtures.HOSPICE_NPI,
        fixtures.HOME_HEALTH_NPI,
    }
    hospice_npis = [npi_from_number(31_000_000 + k * 7_919) for k in range(200)]
    home_health_npis = [npi_from_number(67_000_000 + k * 6_007) for k in range(300)]
    return _Tables(
        days=tuple(days),
        month_of_day=tuple(month_of_day),
        first_of_month=tuple(first_of_month),
        last_of_month=tuple(last_of_month),
        entitled_at_65=tuple(entitled_at_65),
        surnames=tuple(hets_name(name) for name in _SURNAMES),
        streets=tuple(f"{street} {kind}" for street in _STREETS for kind in _STREET_TYPES),
        cities=tuple((city, state, tuple(f"{zip3}{k:02d}" for k in range(100))) for city, state, zip3 in _CITIES),
        mbi_head=pieces(_MBI_LAYOUT[0:3]),
        mbi_middle=pieces(_MBI_LAYOUT[3:7]),
        mbi_tail=pieces(_MBI_LAYOUT[7:11]),
        ma_plans=tuple(ma_plans),
        hospice_npis=tuple(npi for npi in hospice_npis if npi not in reserved_npis),
        home_health_npis=tuple(npi for npi in home_health_npis if npi not in reserved_npis),
    )


def sorted_mbi(number: int) -> str:
    """The ``number``-th MBI in ASCII order, for ``0 <= number < MBI_SPACE``: valid, a bijection,
    and order-preserving (``a < b`` iff ``sorted_mbi(a) < sorted_mbi(b)``)."""
    tables = _tables()
    head, rest = divmod(number, len(tables.mbi_middle) * len(tables.mbi_tail))
    middle, tail = divmod(rest, len(tables.mbi_tail))
    return tables.mbi_head[head] + tables.mbi_middle[middle] + tables.mbi_tail[tail]


def generate_documents(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield ``count`` beneficiary documents: the demo fixtures first, then synthetic people.

    Takes ``0 <= count <= MBI_SPACE // 4`` and any integer ``seed``. The documents are a pure
    function of ``(count, seed)``, with distinct valid MBIs, and each satisfies
    ``Beneficiary.from_document(doc).to_document() == doc``. The same as chaining
    :func:`generate_block` over ``range(block_count(count))``. Raises ``ValueError`` for a
    ``count`` out of range.
    """
    for block in range(block_count(count)):
        yield from generate_block(count, seed, block)


def block_count(count: int) -> int:
    """How many blocks :func:`generate_block` splits a population of ``count`` into.
    Raises ``ValueError`` for a ``count`` out of range."""
    if not 0 <= count <= MBI_SPACE // 4:
        raise ValueError(f"count must be between 0 and {MBI_SPACE // 4}")
    people = max(0, count - len(fixtures.BENEFICIARIES))
    return max(1, (people + BLOCK - 1) // BLOCK)


def generate_block(count: int, seed: int, block: int) -> Iterator[dict[str, Any]]:
    """Block ``block`` of the population :func:`generate_documents` yields: block 0 is the demo
    fixtures and the first :data:`BLOCK` synthetic people, block ``b`` the ``b``-th next
    :data:`BLOCK`. Blocks are independent, so they can be generated in parallel and concatenated.
    Raises ``ValueError`` for a ``count`` or ``block`` out of range."""
    if not 0 <= block < block_count(count):
        raise ValueError(f"block must be between 0 and {block_count(count) - 1}")
    demo = fixtures.BENEFICIARIES[:count]
    if block == 0:
        for beneficiary in demo:
            yield beneficiary.to_document()
    people = count - len(demo)
    first = block * BLOCK
    if first < people:
        yield from _block(seed, block, first, min(BLOCK, people - first), MBI_SPACE // people)


_RESERVED_MBIS = frozenset(itertools.chain.from_iterable((b.mbi, *b.previous_mbis) for b in fixtures.BENEFICIARIES))


def _block(seed: int, block: int, first: int, size: int, stride: int) -> Iterator[dict[str, Any]]:
    """Synthetic people ``first .. first + size - 1`` (one block, one random stream)."""
    t = _tables()
    r = random.Random(f"hetsock:{seed}:{block}").random
    days = t.days
    month_of_day = t.month_of_day
    first_of_month = t.first_of_month
    last_of_month = t.last_of_month
    entitled_at_65 = t.entitled_at_65
    surnames = t.surnames
    n_surnames = len(surnames)
    streets, n_streets = t.streets, len(t.streets)
    cities, n_cities = t.cities, len(t.cities)
    mbi_head, mbi_middle, mbi_tail = t.mbi_head, t.mbi_middle, t.mbi_tail
    tail_n = len(mbi_tail)
    head_div = len(mbi_middle) * tail_n
    ma_plans = t.ma_plans
    hospice_npis = t.hospice_npis
    home_health_npis = t.home_health_npis
    reserved = _RESERVED_MBIS
    half = stride // 2

    aged_lo, aged_span = _day(1931, 1, 1), _day(1961, 10, 31) - _day(1931, 1, 1) + 1
    young_lo, young_span = _day(1962, 1, 1), _day(2000, 12, 31) - _day(1962, 1, 1) + 1
    esrd_lo, esrd_span = _day(1940, 1, 1), _day(2000, 12, 31) - _day(1940, 1, 1) + 1
    death_lo, death_span = _day(2022, 1, 1), _day(2026, 11, 1) - _day(2022, 1, 1) + 1
    year_2026, span_2026 = _day(2026, 1, 1), _day(2026, 11, 10) - _day(2026, 1, 1) + 1
    after_today = _day(2026, 11, 16)
    month_1995, month_2000 = _month(1995, 1), _month(2000, 1)
    month_dec_2025, month_jun_2026 = _month(2025, 12), _month(2026, 6)
    b_deductible_period = ["B", "20260101", "20261231"]

    for index in range(first, first + size):
        base = index * stride
        number = base + 2 * int(r() * half)
        mbi = mbi_head[number // head_div] + mbi_middle[number % head_div // tail_n] + mbi_tail[number % tail_n]
        if mbi in reserved:  # a demo fixture's MBI: take the next even slot of this person's range
            number = base + (number - base + 2) % (2 * half)
            mbi = mbi_head[number // head_div] + mbi_middle[number % head_div // tail_n] + mbi_tail[number % tail_n]

        # Who: entitlement reason, birth date, entitlement month.
        u = r()
        esrd = False
        if u < 0.91:
            reason = _MSP_TYPES_AGED
            born = aged_lo + int(aged_span * max(u / 0.91, r()))  # density rising toward the young
            start_month = entitled_at_65[born]
        else:
            if u < 0.99:
                reason = _MSP_TYPES_DISABLED
                born = young_lo + int(young_span * r())
                low = max(month_of_day[born] + 22 * 12, month_1995)
            else:
                reason = _MSP_TYPES_ESRD
                esrd = True
                born = esrd_lo + int(esrd_span * r())
                low = max(month_of_day[born] + 18 * 12, month_2000)
            start_month = low + int(r() * (month_jun_2026 - low + 1)) if low < month_jun_2026 else month_jun_2026
        start = first_of_month[start_month]

        u = r()
        female = u < 0.55
        if female:
            w = r()
            first_name = _FEMALE_NAMES[int(len(_FEMALE_NAMES) * w * w)]
            suffix = ""
        else:
            w = r()
            first_name = _MALE_NAMES[int(len(_MALE_NAMES) * w * w)]
            suffix = _MALE_SUFFIXES[int(u * 1000) % 10] if u > 0.97 else ""
        v = r()
        if v < 0.985:  # squared: the list is in order of frequency
            last_name = surnames[int(n_surnames * (v / 0.985) ** 2)]
        else:  # a hyphenated surname, stored the HETS way (with a space)
            v = (v - 0.985) / 0.015
            last_name = surnames[int(n_surnames * v)] + " " + surnames[int(n_surnames * (v * 1000 % 1))]
        middle = _MIDDLE_INITIALS[int(u * 100_000) % len(_MIDDLE_INITIALS)] if u * 1000 % 1 < 0.45 else ""

        u = r()
        city, state, zips = cities[int(n_cities * u)]
        line1 = f"{int(u * 1e6) % 9899 + 1} {streets[int(u * 1e9) % n_streets]}"
        line2 = f"{_UNITS[int(u * 1e12) % 5]} {int(u * 1e13) % 400 + 1}" if u * 1e4 % 1 < 0.15 else ""
        doc: dict[str, Any] = {
            "v": 1,
            "mbi": mbi,
            "name": [last_name, first_name, middle, suffix],
            "dob": days[born],
            "sex": "F" if female else "M",
            "addr": [line1, line2, city, state, zips[int(u * 1e7) % 100]],
        }

        # Deceased (2 %), changed MBI (1 %), Part B variants (5 %): one draw.
        u = r()
        death = ""
        if u < 0.02:
            died = death_lo + int(death_span * u / 0.02)
            death = days[died]
            if death <= start:
                death = ""
            else:
                doc["dod"] = death
        elif u < 0.03:
            previous = base + 2 * int(r() * half) + 1
            doc["prev"] = [mbi_head[previous // head_div] + mbi_middle[previous % head_div // tail_n] +
                           mbi_tail[previous % tail_n]]  # fmt: skip
        if esrd:
            doc["esrd"] = True
        part_b_start, part_b_end = start, death
        part_b_now = True  # Part B covers late 2026
        if 0.95 <= u < 0.98 and start_month < month_dec_2025:  # Part B ended
            part_b_end = last_of_month[start_month + int(r() * (month_dec_2025 - start_month))]
            if not death or part_b_end < death:
                part_b_now = False
            else:
                part_b_end = death
        elif u >= 0.98 and not death:  # Part B not yet started (general enrollment)
            part_b_start = "20270101" if u < 0.99 else "20270201"
            part_b_now = False
        doc["ent"] = [["A", start, death], ["B", part_b_start, part_b_end]]
        living = not death
        if death and part_b_now:
            part_b_now = False

        # 2026 deductibles and benefit days (the living only).
        u = r()
        if living:
            ded: list[list[Any]] = []
            days_left: list[list[Any]] = []
            if u < 0.25:  # a Part A benefit period this year
                stay = year_2026 + int(span_2026 * u / 0.25 * 0.85)
                ded.append(["A", days[stay], days[stay + 60 + int(u * 1e6) % 60], _PART_A_DEDUCTIBLE,
                            0 if u * 1e3 % 1 < 0.8 else _PART_A_DEDUCTIBLE])  # fmt: skip
                used = int(u * 1e5) % 20 + 1
                days_left.append(["hospital", days[stay], days[stay + 60 + int(u * 1e6) % 60], used, 90 - used,
                                  _HOSPITAL_COINSURANCE])  # fmt: skip
                used = int(u * 1e8) % 41 if u * 1e4 % 1 < 0.3 else 0
                days_left.append(["snf", days[stay], days[stay + 60 + int(u * 1e6) % 60], used, 100 - used,
                                  _SNF_COINSURANCE])  # fmt: skip
            if part_b_now:
                w = r()
                if w < 0.35:
                    remaining = _PART_B_DEDUCTIBLE
                else:
                    remaining = 0 if w < 0.7 else int(_PART_B_DEDUCTIBLE * (w - 0.7) / 0.3)
                ded.append([*b_deductible_period, _PART_B_DEDUCTIBLE, remaining])
            used = 0 if u * 1e9 % 1 < 0.96 else int(u * 1e10) % 30 + 1
            days_left.append(["lifetime_reserve", start, "", used, 60 - used, _LIFETIME_RESERVE_COINSURANCE])
            if ded:
                doc["ded"] = ded
            doc["days"] = days_left

        # Medicare Advantage (a third) or a stand-alone Part D plan.
        u = r()
        if u < 1 / 3 and part_b_start == start and (part_b_end == death):
            contract, pbp, plan_name, plan_address, phone = ma_plans[int(len(ma_plans) * u * 3)]
            since = max(f"{2016 + int(u * 33_000) % 11}0101", start)
            if death and since >= death:
                since = start
            doc["ma"] = [[contract, pbp, plan_name, since, death, plan_address, phone]]
            if u * 1e5 % 1 < 0.88:
                doc["pdp"] = [[contract, pbp, plan_name, since, death]]
        elif u >= 1 / 3 and (u - 1 / 3) * 1.5 < 0.72:
            contract, pbp, plan_name = _PDP_PLANS[int(u * 1e6) % len(_PDP_PLANS)]
            since = max(f"{2006 + int(u * 1e4) % 21}0101", start)
            if death and since >= death:
                since = start
            doc["pdp"] = [[contract, pbp, plan_name, since, death]]

        # Medicare Secondary Payer (8 %), hospice (2 %, more among the deceased), home health (4 %).
        u = r()
        if u < 0.08:
            insurance_type = reason[int(u / 0.08 * 20)]
            insurers = _INSURERS_BY_TYPE[insurance_type]
            since = max(start, first_of_month[start_month + int(u * 1e5) % 60])
            until = last_of_month[start_month + 60 + int(u * 1e6) % 60] if u * 1e3 % 1 < 0.4 else ""
            if until and until < since:
                until = ""
            if death:
                if since >= death:
                    since = start
                if not until or until > death:
                    until = death
            policy = f"GRP{int(u * 1e9) % 100_000:05d}" if u * 1e4 % 1 < 0.5 else ""
            doc["msp"] = [[insurance_type, insurers[int(u * 1e7) % len(insurers)], since, until, policy]]
        elif u < 0.096 or (death and u < 0.30):
            npi = hospice_npis[int(u * 1e7) % len(hospice_npis)]
            if death:
                doc["hospice"] = [[npi, days[died - 5 - int(u * 1e5) % 85], death]]
            else:
                elected = year_2026 + int(span_2026 * r())
                if u * 1e4 % 1 < 0.4:
                    doc["hospice"] = [[npi, days[elected - 90], days[elected - 1]], [npi, days[elected], ""]]
                else:
                    doc["hospice"] = [[npi, days[elected], ""]]
        elif u < 0.136 and living:
            npi = home_health_npis[int(u * 1e7) % len(home_health_npis)]
            episode = year_2026 + int(span_2026 * (u - 0.096) / 0.04)
            doc["hh"] = [[npi, days[episode], days[episode + 59]]]

        # Preventive services and the next day each can be paid.
        if living and part_b_now:
            u = r()
            services: list[list[str]] = []
            if start_month >= month_dec_2025 - 11:
                services.append(["G0438", "BT", first_of_month[start_month + 12]])
            else:
                services.append(["G0439", "BT", days[after_today + int(u * 1e4) % 365]])
            if u < 0.6:
                services.append(["80061", "5", days[after_today + int(u * 1e7) % 1826]])
            if u * 10 % 1 < 0.2:
                services.append(["G0117", "AL", days[after_today + int(u * 1e5) % 365]])
            if female and u * 100 % 1 < 0.65:
                services.append(["77067", "4", days[after_today + int(u * 1e6) % 365]])
            w = u * 1000 % 1
            if w < 0.35:
                services.append(["G0121", "2", days[after_today + int(u * 1e8) % 3652]])
            elif w < 0.6:
                services.append(["82270", "5", days[after_today + int(u * 1e9) % 365]])
            doc["prev_svc"] = services
        yield doc
