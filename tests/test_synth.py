"""The synthetic population: fixtures first, deterministic, valid, round-tripping, realistic mix."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from hetsock.eligibility import fixtures
from hetsock.eligibility.beneficiary import Beneficiary, Period
from hetsock.eligibility.identifiers import is_valid_mbi, is_valid_npi
from hetsock.eligibility.synth import (
    BLOCK,
    MBI_SPACE,
    block_count,
    generate_block,
    generate_documents,
    hets_name,
    sorted_mbi,
)

COUNT = 20_000
SEED = 7
DEMO = len(fixtures.BENEFICIARIES)


@pytest.fixture(scope="module")
def population() -> list[dict[str, Any]]:
    return list(generate_documents(COUNT, SEED))


@pytest.fixture(scope="module")
def people(population: list[dict[str, Any]]) -> list[Beneficiary]:
    """The synthetic part, as records."""
    return [Beneficiary.from_document(doc) for doc in population[DEMO:]]


def _share(people: list[Beneficiary], predicate: Any) -> float:
    return sum(1 for person in people if predicate(person)) / len(people)


def test_exactly_count_documents_fixtures_first(population: list[dict[str, Any]]) -> None:
    assert len(population) == COUNT
    assert population[:DEMO] == [b.to_document() for b in fixtures.BENEFICIARIES]


@pytest.mark.parametrize("count", [0, 1, DEMO - 1, DEMO, DEMO + 1])
def test_small_counts_are_fixture_prefixes(count: int) -> None:
    documents = list(generate_documents(count, SEED))
    assert len(documents) == count
    assert documents[: min(count, DEMO)] == [b.to_document() for b in fixtures.BENEFICIARIES[:count]]


def test_count_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        list(generate_documents(-1, SEED))
    with pytest.raises(ValueError, match="block"):
        list(generate_block(100, SEED, 1))


def test_same_seed_same_bytes_different_seed_different_people() -> None:
    first = [orjson.dumps(doc) for doc in generate_documents(3_000, SEED)]
    again = [orjson.dumps(doc) for doc in generate_documents(3_000, SEED)]
    other = [orjson.dumps(doc) for doc in generate_documents(3_000, SEED + 1)]
    assert first == again
    assert first[:DEMO] == other[:DEMO]
    assert sum(a != b for a, b in zip(first[DEMO:], other[DEMO:], strict=True)) > 2_900


def test_blocks_concatenate_to_the_population(population: list[dict[str, Any]]) -> None:
    assert block_count(COUNT) == (COUNT - DEMO + BLOCK - 1) // BLOCK
    blocks = itertools.chain.from_iterable(generate_block(COUNT, SEED, b) for b in range(block_count(COUNT)))
    assert list(blocks) == population


def test_a_person_does_not_depend_on_the_population_size_except_for_the_mbi() -> None:
    small = list(generate_documents(2_000, SEED))
    large = list(generate_documents(5_000, SEED))
    strip = [{k: v for k, v in doc.items() if k not in ("mbi", "prev")} for doc in small]
    assert strip == [{k: v for k, v in doc.items() if k not in ("mbi", "prev")} for doc in large[:2_000]]


def test_every_document_round_trips(population: list[dict[str, Any]]) -> None:
    for doc in population:
        again = Beneficiary.from_document(doc).to_document()
        assert again == doc
        assert orjson.dumps(again) == orjson.dumps(doc)


def test_mbis_are_valid_and_distinct_and_npis_valid(
    population: list[dict[str, Any]], people: list[Beneficiary]
) -> None:
    every_mbi = [doc["mbi"] for doc in population] + [m for doc in population for m in doc.get("prev", ())]
    assert all(is_valid_mbi(mbi) for mbi in every_mbi)
    assert len(set(every_mbi)) == len(every_mbi)
    synthetic = [person.mbi for person in people]
    assert synthetic == sorted(synthetic)  # ascending: the store appends
    npis = [h.provider_npi for p in people for h in p.hospice] + [h.agency_npi for p in people for h in p.home_health]
    assert npis
    assert all(is_valid_npi(npi) for npi in npis)


def test_sorted_mbi_is_an_order_preserving_bijection() -> None:
    numbers = [0, 1, 2, 39_999, 40_000, 123_456_789, MBI_SPACE // 2, MBI_SPACE - 2, MBI_SPACE - 1]
    mbis = [sorted_mbi(n) for n in numbers]
    assert all(is_valid_mbi(mbi) for mbi in mbis)
    assert mbis == sorted(mbis)
    assert len(set(mbis)) == len(mbis)
    assert mbis[0] == "1A00A00AA00"
    assert mbis[-1] == "9YY9YY9YY99"


def test_names_addresses_and_dates_are_clean(people: list[Beneficiary]) -> None:
    letters = re.compile(r"[A-Z]+( [A-Z]+)*")
    for person in people:
        assert letters.fullmatch(person.last_name)
        assert letters.fullmatch(person.first_name)
        assert person.middle_name == "" or re.fullmatch(r"[A-Z]", person.middle_name)
        assert person.suffix in ("", "JR", "SR", "III")
        assert re.fullmatch(r"[0-9]{5}", person.address.postal_code)
        assert re.fullmatch(r"[A-Z]{2}", person.address.state)
        for period in _periods(person):
            _date(period.start)
            assert period.end == "" or _date(period.end) >= _date(period.start)
        for service in person.preventive:
            assert _date(service.next_eligible)
    assert hets_name("O'Brien-Smith") == "OBRIEN SMITH"
    surnames = {p.last_name for p in people}
    assert "OBRIEN" in surnames or "OCONNOR" in surnames or "ONEILL" in surnames
    assert any(" " in name for name in surnames)  # hyphenated, stored with a space


def test_proportions_are_roughly_as_designed(people: list[Beneficiary]) -> None:
    def share(predicate: Any) -> float:
        return _share(people, predicate)

    def under_65(p: Beneficiary) -> bool:
        return p.birth_date > "19611231"

    assert 0.45 < share(lambda p: p.gender == "F") < 0.65
    assert 0.35 < share(lambda p: p.middle_name != "") < 0.55
    assert 0.005 < share(lambda p: p.suffix != "") < 0.03
    assert share(lambda p: "19310101" <= p.birth_date <= "19611231") > 0.88
    assert 0.06 < share(lambda p: under_65(p) and not p.esrd) < 0.10
    assert 0.005 < share(lambda p: p.esrd) < 0.02
    assert 0.01 < share(lambda p: p.death_date != "") < 0.03
    assert 0.005 < share(lambda p: p.previous_mbis != ()) < 0.02
    assert 0.28 < share(lambda p: p.advantage_plans != ()) < 0.38
    assert 0.65 < share(lambda p: p.drug_plans != ()) < 0.90
    assert any(d.contract.startswith("S") for p in people for d in p.drug_plans)
    assert 0.06 < share(lambda p: p.secondary_payers != ()) < 0.10
    assert 0.01 < share(lambda p: p.hospice != ()) < 0.03
    assert 0.03 < share(lambda p: p.home_health != ()) < 0.05
    assert 0.03 < share(lambda p: _part_b_ended_or_not_started(p)) < 0.07
    assert {m.insurance_type for p in people for m in p.secondary_payers} == {
        "12", "13", "14", "15", "16", "41", "42", "43", "47", "WC",
    }  # fmt: skip
    assert {s.hcpcs for p in people for s in p.preventive} == {
        "G0438", "G0439", "80061", "G0117", "77067", "G0121", "82270",
    }  # fmt: skip


def test_entitlement_starts_at_65_for_the_aged(people: list[Beneficiary]) -> None:
    for person in people:
        part_a = person.entitlements[0]
        assert part_a.part == "A"
        if person.birth_date <= "19611231" and not person.esrd:
            born = _date(person.birth_date)
            month = dt.date(born.year + 65, born.month, 1)
            if born.day == 1:
                month = (month - dt.timedelta(days=1)).replace(day=1)
            assert part_a.period.start == month.strftime("%Y%m%d")
        if person.death_date:
            assert all(e.period.end and e.period.end <= person.death_date for e in person.entitlements)


def test_2026_amounts(people: list[Beneficiary]) -> None:
    bases = {"A": fixtures.PART_A_DEDUCTIBLE_CENTS, "B": fixtures.PART_B_DEDUCTIBLE_CENTS}
    deductibles = [d for p in people for d in p.deductibles]
    assert {d.part for d in deductibles} == {"A", "B"}
    for deductible in deductibles:
        assert deductible.base_cents == bases[deductible.part]
        assert 0 <= deductible.remaining_cents <= deductible.base_cents
        assert deductible.period.start.startswith("2026")
    remaining_b = {d.remaining_cents for d in deductibles if d.part == "B"}
    assert 0 in remaining_b
    assert fixtures.PART_B_DEDUCTIBLE_CENTS in remaining_b
    assert len(remaining_b) > 100
    totals = {"hospital": 90, "snf": 100, "lifetime_reserve": 60}
    for days in (b for p in people for b in p.benefit_days):
        assert days.used + days.remaining == totals[days.kind]
    for plan in (m for p in people for m in p.advantage_plans):
        assert re.fullmatch(r"H[0-9]{4}", plan.contract)
        assert re.fullmatch(r"[0-9]{3}", plan.pbp)
        assert plan.plan_name
        assert plan.address.line1
        assert re.fullmatch(r"[0-9]{10}", plan.phone)


def _part_b_ended_or_not_started(person: Beneficiary) -> bool:
    part_b = person.entitlements[1].period
    ended = part_b.end != "" and part_b.end != person.death_date
    return ended or part_b.start > "20261115"


def _periods(person: Beneficiary) -> Iterator[Period]:
    for group in (
        person.entitlements,
        person.deductibles,
        person.benefit_days,
        person.advantage_plans,
        person.drug_plans,
        person.secondary_payers,
        person.hospice,
        person.home_health,
    ):
        for item in group:
            yield item.period


def _date(value: str) -> dt.date:
    assert re.fullmatch(r"[0-9]{8}", value), value
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
