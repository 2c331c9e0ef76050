"""A realistic request mix for load tests, each request with the reply it should get (sans-IO).

Theory of operation
-------------------
The server's demo store is the demo fixtures plus a synthetic population that is a pure function
of ``(count, seed)`` (``hetsock.eligibility.synth``; ``hetsock seed`` and the server's first start
use ``[store] demo_beneficiaries`` and seed 2026). :func:`sample_population` regenerates that
population once, keeps a seeded random sample of people (MBI, names, birth date, an earlier MBI)
and the set of every MBI on file, so the mix can ask about people the store holds and MBIs it
does not.

:func:`build_mix` then draws ``size`` requests by category weight, each a 270 built with
``build270`` and an :class:`Expectation`:

=================  ==================================================  ==========================
category           the request                                         what it should get
=================  ==================================================  ==========================
``hit``            a fixture (every 271 shape, an earlier MBI too) or  271
                   a sampled person, name and birth date as stored
``unknown``        a valid MBI nobody has                              271 with AAA 75 (2100C)
``name-mismatch``  a person with a changed last name                   271 with AAA 73 (2100C)
``dob-mismatch``   a person with a birth date a year and a day early   271 with AAA 71 (2100C)
``unlinked-npi``   a valid NPI not linked to the submitter             271 with AAA 41 (2100B)
``invalid-npi``    an NPI that fails its check digit                   271 with AAA 43 (2100B)
``malformed``      in turn: an invalid EQ01 code; a wrong ISA08;       999; TA1 (note 008);
                   a payload that is not X12 (wrapped framing only)    proprietary SBY00503
=================  ==================================================  ==========================

Every request has its own ISA13 and GS06 (the request's number) and TRN02 (``LT`` and the
number), so :func:`verify` can check a reply is the right kind *and* answers this request: the
TRN02 a 271 echoes, the GS06 a 999 names (AK102), the ISA13 a TA1 (TA101) or a proprietary error
(its trace ID) names.

Patient data: the sample holds names and birth dates (synthetic, but treated as patient data):
nothing here puts them in a repr, and mismatch descriptions name only categories, kinds, codes
and trace numbers.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import random
from collections.abc import Mapping, Sequence

import attrs

from hetsock.client.reply import ReplyKind, Summary
from hetsock.eligibility import fixtures, synth
from hetsock.x12.build270 import InquiryRequest, build_270
from hetsock.x12.writer import ControlNumbers


class Category(enum.StrEnum):
    """What a request in the mix is."""

    HIT = "hit"
    UNKNOWN = "unknown"
    NAME_MISMATCH = "name-mismatch"
    DOB_MISMATCH = "dob-mismatch"
    UNLINKED_NPI = "unlinked-npi"
    INVALID_NPI = "invalid-npi"
    MALFORMED = "malformed"


#: The default proportions (percent).
DEFAULT_WEIGHTS: Mapping[Category, float] = {
    Category.HIT: 80,
    Category.UNKNOWN: 5,
    Category.NAME_MISMATCH: 4,
    Category.DOB_MISMATCH: 3,
    Category.UNLINKED_NPI: 2,
    Category.INVALID_NPI: 2,
    Category.MALFORMED: 4,
}

#: Service types the hits ask about (30 most often), so replies vary in size and sections.
_HIT_SERVICE_TYPES: tuple[tuple[str, ...], ...] = (
    ("30",),
    ("30",),
    ("30",),
    ("30",),
    ("47",),
    ("88",),
    ("45", "42"),
    ("AG",),
    ("30", "88"),
)


def parse_weights(text: str) -> dict[Category, float]:
    """``hit=80,unknown=5,...`` (categories not named get 0). Raises ``ValueError``."""
    weights = dict.fromkeys(Category, 0.0)
    for item in text.split(","):
        if not item.strip():
            continue
        name, _, value = item.partition("=")
        try:
            category = Category(name.strip())
            weight = float(value)
        except ValueError:
            raise ValueError(
                f"--mix: {item.strip()!r} is not CATEGORY=WEIGHT with a category among {', '.join(Category)}"
            ) from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError("--mix: each weight must be a finite number, 0 or more")
        weights[category] = weight
    if not any(weights.values()):
        raise ValueError("--mix: every weight is 0")
    return weights


@attrs.frozen
class Person:
    """Who a hit asks about, as the store holds them (patient data: no repr)."""

    mbi: str = attrs.field(repr=False)
    last_name: str = attrs.field(repr=False)
    first_name: str = attrs.field(repr=False)
    birth_date: dt.date = attrs.field(repr=False)
    #: An earlier MBI that the store maps to this person (asked instead of the current one).
    previous_mbi: str = attrs.field(repr=False, default="")


@attrs.frozen
class Population:
    """A sample of the store's population and every MBI it holds."""

    count: int
    seed: int
    fixtures: tuple[Person, ...] = attrs.field(repr=False)
    people: tuple[Person, ...] = attrs.field(repr=False)
    known_mbis: frozenset[str] = attrs.field(repr=False)


def _date(value: str) -> dt.date:
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _person(mbi: str, last: str, first: str, birth: str, previous: str = "") -> Person:
    return Person(mbi, last, first, _date(birth), previous)


def sample_population(
    count: int, seed: int = 2026, *, sample: int = 2000, rng: random.Random | None = None
) -> Population:
    """Regenerate the store's population (``count`` beneficiaries, ``seed``) and sample ``sample``
    synthetic people from it (reservoir sampling, so memory stays small). About 1.3 s per 100,000."""
    rng = rng or random.Random(seed)
    known: set[str] = set()
    chosen: list[Person] = []
    seen = 0
    fixture_mbis = {b.mbi for b in fixtures.BENEFICIARIES}
    for doc in synth.generate_documents(count, seed):
        mbi: str = doc["mbi"]
        previous: list[str] = doc.get("prev", [])
        known.add(mbi)
        known.update(previous)
        if mbi in fixture_mbis:
            continue
        seen += 1
        slot = len(chosen) if len(chosen) < sample else rng.randrange(seen)
        if slot < sample:
            last, first, _, _ = doc["name"]
            person = _person(mbi, last, first, doc["dob"], previous[0] if previous else "")
            if slot == len(chosen):
                chosen.append(person)
            else:
                chosen[slot] = person
    demo = [_person(b.mbi, b.last_name, b.first_name, b.birth_date) for b in fixtures.BENEFICIARIES[:count]]
    demo += [attrs.evolve(p, previous_mbi=prev) for p, b in zip(demo, fixtures.BENEFICIARIES, strict=False)
             for prev in b.previous_mbis]  # fmt: skip
    return Population(count, seed, tuple(demo), tuple(chosen), frozenset(known))


@attrs.frozen
class Expectation:
    """What a request should get back."""

    category: str  #: the mix category, and for malformed requests which kind (``malformed-999``)
    kind: ReplyKind
    correlation: str  #: the TRN02, GS06 or ISA13 the reply must name
    aaa: str = ""  #: the AAA03 a rejection must carry
    loop: str = ""  #: and its loop


@attrs.frozen
class MixedRequest:
    """One request of the mix: the 270 (unframed) and what it should get."""

    payload: bytes = attrs.field(repr=lambda p: f"<{len(p)} bytes>")
    expect: Expectation


def verify(expect: Expectation, got: Summary) -> str | None:
    """``None`` when ``got`` is the reply ``expect`` describes, else what differs (no patient data;
    coarse enough to count by)."""
    wanted = f"{expect.kind.value}" + (f" {expect.aaa}" if expect.aaa else "")
    actual = f"{got.kind.value}" + (f" {','.join(got.aaa_codes)}" if got.aaa_codes else "")
    if got.kind is not expect.kind or (expect.aaa and got.aaa_codes != (expect.aaa,)):
        return f"{expect.category}: expected {wanted}, got {actual}"
    if expect.loop and got.aaa_loops != (expect.loop,):
        return f"{expect.category}: expected the AAA in {expect.loop}, got {','.join(got.aaa_loops) or '-'}"
    if got.correlation != expect.correlation:
        return f"{expect.category}: a {actual} that answers another"
    return None


def _unknown_mbi(population: Population, rng: random.Random) -> str:
    while True:
        mbi = synth.sorted_mbi(rng.randrange(synth.MBI_SPACE))
        if mbi not in population.known_mbis:
            return mbi


def build_mix(
    population: Population,
    weights: Mapping[Category, float] = DEFAULT_WEIGHTS,
    *,
    size: int = 2000,
    seed: int = 1,
    now: dt.datetime | None = None,
    submitter_id: str = fixtures.SUBMITTER,
    npi: str = fixtures.LINKED_NPI,
    receiver_id: str = fixtures.RECEIVER_ID,
    include_not_x12: bool = True,
    first_number: int = 1,
) -> list[MixedRequest]:
    """``size`` requests drawn by ``weights``, reproducible from ``seed``.

    ``include_not_x12=False`` leaves out the payload that is not X12 (on a bare X12 connection
    it is a framing error that closes the connection, not a reply)."""
    rng = random.Random(seed)
    now = now or dt.datetime.now()
    categories = [c for c in Category if weights.get(c, 0) > 0]
    cumulative = [weights[c] for c in categories]
    malformed = ["999", "TA1", "not-x12"] if include_not_x12 else ["999", "TA1"]
    people = population.people or population.fixtures
    requests: list[MixedRequest] = []
    for offset in range(size):
        number = first_number + offset
        category = rng.choices(categories, weights=cumulative)[0]
        trace = f"LT{number:08d}"
        use_fixture = category is Category.HIT and (not population.people or rng.random() < 0.25)
        person = rng.choice(population.fixtures) if use_fixture else rng.choice(people)
        fields: dict[str, object] = {
            "mbi": person.previous_mbi or person.mbi,
            "last_name": person.last_name,
            "first_name": person.first_name,
            "birth_date": person.birth_date,
            "npi": npi,
            "submitter_id": submitter_id,
            "receiver_id": receiver_id,
            "trace_number": trace,
            "service_types": rng.choice(_HIT_SERVICE_TYPES),
        }
        expect = Expectation(category.value, ReplyKind.ELIGIBILITY, trace)
        if category is Category.UNKNOWN:
            fields["mbi"] = _unknown_mbi(population, rng)
            expect = Expectation(category.value, ReplyKind.REJECTION, trace, "75", "2100C")
        elif category is Category.NAME_MISMATCH:
            fields["last_name"] = person.last_name + "ZZ"
            expect = Expectation(category.value, ReplyKind.REJECTION, trace, "73", "2100C")
        elif category is Category.DOB_MISMATCH:
            fields["birth_date"] = person.birth_date - dt.timedelta(days=366)
            expect = Expectation(category.value, ReplyKind.REJECTION, trace, "71", "2100C")
        elif category is Category.UNLINKED_NPI:
            fields["npi"] = fixtures.UNLINKED_NPI
            expect = Expectation(category.value, ReplyKind.REJECTION, trace, "41", "2100B")
        elif category is Category.INVALID_NPI:
            fields["npi"] = fixtures.INVALID_NPI
            expect = Expectation(category.value, ReplyKind.REJECTION, trace, "43", "2100B")
        control = ControlNumbers(number % 10**9, number % 10**9 or 1)
        if category is Category.MALFORMED:
            flavour = malformed[offset % len(malformed)]
            if flavour == "999":
                fields["service_types"] = ("ZZ",)
                expect = Expectation("malformed-999", ReplyKind.ACK_999, str(control.group))
            elif flavour == "TA1":
                fields["receiver_id"] = "X" + receiver_id[:14]
                expect = Expectation("malformed-ta1", ReplyKind.TA1, f"{control.interchange:09d}")
            else:
                payload = f"NOT AN INTERCHANGE {trace}".encode("ascii")
                requests.append(MixedRequest(payload, Expectation("malformed-not-x12", ReplyKind.PROPRIETARY, "")))
                continue
        text = build_270(InquiryRequest(**fields), now=now, control=control)  # type: ignore[arg-type]
        requests.append(MixedRequest(text.encode("latin-1"), expect))
    return requests


def describe_weights(weights: Mapping[Category, float]) -> str:
    """``hit=80,unknown=5,...`` for reports."""
    return ",".join(f"{c.value}={weights[c]:g}" for c in Category if weights.get(c, 0) > 0)


def payloads(mix: Sequence[MixedRequest]) -> list[bytes]:
    return [request.payload for request in mix]
