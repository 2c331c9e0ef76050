"""Every 271 for 1,000 seeded beneficiaries passes the 271 structure check.

The population is the synthetic one ``hetsock seed`` writes (fixtures first), in a real SQLite
store; each beneficiary is asked about by MBI, name and birth date, with service types drawn
(deterministically) from those a clearinghouse sends, and a date of service inside the window.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.eligibility.synth import generate_documents
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12.build270 import InquiryRequest, build_270
from hetsock.x12.check271 import check_271
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 22, 9, 0)
SERVICE_TYPES = ("30", "47", "48", "AG", "42", "45", "88", "BT", "AL", "5", "98", "A7", "UC")


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteStore, list[Beneficiary]]]:
    documents = list(generate_documents(1_000, seed=20261122))
    store = SqliteStore.open(tmp_path_factory.mktemp("population") / "p.sqlite3", create=True)
    store.write(documents)
    yield store, [Beneficiary.from_document(d) for d in documents]
    store.close()


def test_every_271_is_structurally_valid(population: tuple[SqliteStore, list[Beneficiary]]) -> None:
    store, people = population
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    services = Services(registry, store)
    pick = random.Random(7)
    kinds: Counter[str] = Counter()
    for number, person in enumerate(people, start=1):
        types = tuple(pick.sample(SERVICE_TYPES, pick.randint(1, 4)))
        day = NOW.date() - dt.timedelta(days=pick.randint(0, 300))
        request = InquiryRequest(
            mbi=person.previous_mbis[0] if person.previous_mbis and pick.random() < 0.5 else person.mbi,
            last_name=person.last_name,
            first_name=person.first_name,
            birth_date=dt.date(int(person.birth_date[:4]), int(person.birth_date[4:6]), int(person.birth_date[6:])),
            npi=fx.LINKED_NPI,
            service_types=types,
            procedures=tuple(pick.sample(("80061", "G0438", "G0117", "77067"), pick.randint(0, 2))),
            service_dates=(day, day),
        )
        text = build_270(request, now=NOW, control=ControlNumbers(number))
        reply = respond(text.encode("latin-1"), Context(services, NOW, ControlNumbers(number), "127.0.0.1"))
        kinds[reply.kind.value + ":" + ",".join(reply.aaa_codes)] += 1
        result = check_271(reply.payload)
        assert result.valid, (number, result.describe())
        # Only a birth after the date of service (60) may reject someone asked about correctly.
        assert reply.kind is ReplyKind.ELIGIBILITY or reply.aaa_codes == ("60",), (number, reply)
    assert kinds["271:"] >= 990, kinds
