"""The C path (hetsock/_native.c via hetsock/native.py) answers exactly as the Python path.

Every test compares ``respond(..., use_native=True)`` with ``respond(..., use_native=False)``:
the whole Reply (kind, payload bytes, audit fields) must be equal, whether the C path answered
or declined. The tests also count how often it answered, so a C path that always declines (and
so trivially agrees) fails them. Skipped where the extension was not built (no C compiler);
``HETSOCK_REQUIRE_NATIVE=1`` (set by .ci/run) turns that skip into a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import make_store

from hetsock import native
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store.base import Lookup, decode_document, lookup_of
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.eligibility.synth import generate_documents
from hetsock.pipeline import Context, Reply, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12 import fastpath
from hetsock.x12.build270 import InquiryRequest, build_270
from hetsock.x12.rules import Rules
from hetsock.x12.segments import Delimiters
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
NOW = dt.datetime(2026, 11, 22, 9, 30, 15)
REGISTRY = Registry.from_toml(ROOT / "config" / "submitters.toml")
SERVICE_TYPES = ("30", "47", "48", "AG", "42", "45", "88", "BT", "AL", "5", "98", "A7", "UC", "1", "35")
PROCEDURES = ("80061", "G0438", "G0117", "77067", "99999")


@pytest.fixture(autouse=True)
def _native_built() -> None:
    if native.ENABLED:
        return
    why = "the C extension hetsock._native is not built (no C compiler at install?) or HETSOCK_NATIVE=0"
    if os.environ.get("HETSOCK_REQUIRE_NATIVE") == "1":
        pytest.fail(why + "; HETSOCK_REQUIRE_NATIVE=1 requires it")
    pytest.skip(why)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteStore, list[Beneficiary]]]:
    documents = list(generate_documents(3_000, seed=20261126))
    store = SqliteStore.open(tmp_path_factory.mktemp("native") / "p.sqlite3", create=True)
    store.write(documents)
    yield store, [Beneficiary.from_document(d) for d in documents]
    store.close()


def both(message: bytes, services: Services, *, peer: str | None = "127.0.0.1", control: int = 7) -> Reply:
    """The reply, after checking that both paths give it; also says whether C answered."""
    context = Context(services, NOW, ControlNumbers(control, control + 1, control + 2), peer)
    fast = respond(message, context, use_native=True)
    slow = respond(message, context, use_native=False)
    assert fast == slow, (fast.kind, slow.kind, fast.payload[:400], slow.payload[:400])
    return fast


def answered_natively(message: bytes, services: Services, peer: str | None = "127.0.0.1") -> bool:
    rules = services.rules
    found = native.answer(
        message, rules, services.registry, services.store, peer, NOW, ControlNumbers(7, 8, 9), services.window
    )
    return not isinstance(found, native.Declined)


def _date(ccyymmdd: str) -> dt.date:
    return dt.date(int(ccyymmdd[:4]), int(ccyymmdd[4:6]), int(ccyymmdd[6:]))


DELIMITER_SETS = (
    Delimiters("*", "^", "|", "~"),
    Delimiters("|", "!", ":", "\n"),
    Delimiters("+", "^", ">", "'"),
    Delimiters("*", "-", ":", "~"),  # '-' as the repetition: the reply changes delimiters (Python path)
    Delimiters(".", "^", "|", "~"),  # '.' likewise
)


def _variant(person: Beneficiary, pick: random.Random) -> tuple[InquiryRequest, Delimiters, str]:
    """One inquiry about ``person``: mostly as a clearinghouse sends it, sometimes with what
    sends it down the Python path (names to normalize, wrong data, an earlier MBI, odd delimiters)."""
    kind = pick.choice(
        ["exact"] * 6 + ["lower", "no-first", "no-birth", "wrong-birth", "previous", "unlinked", "far", "neither"]
    )
    birth = _date(person.birth_date)
    day = NOW.date() - dt.timedelta(days=pick.randint(0, 300))
    dates: tuple[dt.date, dt.date] | None = (day, day)
    roll = pick.random()
    if roll < 0.2:
        dates = None
    elif roll < 0.4:
        dates = (day, day + dt.timedelta(days=pick.randint(1, 40)))
    request = InquiryRequest(
        mbi=person.mbi,
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=birth,
        npi=fx.LINKED_NPI,
        service_types=tuple(pick.sample(SERVICE_TYPES, pick.randint(0, 4))),
        procedures=tuple(pick.sample(PROCEDURES, pick.randint(0, 2))),
        service_dates=dates,
        trace_number=str(pick.randint(1, 10**9)),
        provider_name=pick.choice(("SPRINGFIELD CLINIC", "A", "ST MARY HOSPITAL")),
    )
    if not request.service_types and not request.procedures:
        request = attrs.evolve(request, service_types=("30",))
    if kind == "lower":
        request = attrs.evolve(request, last_name=person.last_name.lower())
    elif kind == "no-first":
        request = attrs.evolve(request, first_name="")
    elif kind == "no-birth":
        request = attrs.evolve(request, birth_date=None)
    elif kind == "neither":
        request = attrs.evolve(request, birth_date=None, first_name="")
    elif kind == "wrong-birth":
        request = attrs.evolve(request, birth_date=birth + dt.timedelta(days=1))
    elif kind == "previous" and person.previous_mbis:
        request = attrs.evolve(request, mbi=person.previous_mbis[0])
    elif kind == "unlinked":
        request = attrs.evolve(request, npi=fx.UNLINKED_NPI)
    elif kind == "far":
        request = attrs.evolve(request, service_dates=(NOW.date() + dt.timedelta(days=200),) * 2)
    delimiters = DELIMITER_SETS[0] if pick.random() < 0.7 else pick.choice(DELIMITER_SETS)
    return request, delimiters, kind


def test_population_answers_agree(population: tuple[SqliteStore, list[Beneficiary]]) -> None:
    store, people = population
    services = Services(REGISTRY, store)
    pick = random.Random(11)
    natively = exact = 0
    for number, person in enumerate(people, start=1):
        request, delimiters, kind = _variant(person, pick)
        message = build_270(request, now=NOW, control=ControlNumbers(number), delimiters=delimiters).encode("latin-1")
        reply = both(message, services, control=number)
        took = answered_natively(message, services)
        natively += took
        if kind == "exact" and delimiters == DELIMITER_SETS[0]:
            exact += 1
            # The common inquiry: the C path answers it unless the rules reject it (a birth
            # after the date of service) or the 271 corrects the name (a suffix on record that
            # build_270 does not send: INS, left to Python).
            assert took or reply.kind is not ReplyKind.ELIGIBILITY or person.suffix, number
        if took:
            assert reply.kind is ReplyKind.ELIGIBILITY
    assert natively >= max(1000, exact * 0.9), (natively, exact)


def test_fixtures_answer_natively(store: SqliteStore) -> None:
    services = Services(REGISTRY, store)
    answered = 0
    for number, person in enumerate(fx.BENEFICIARIES, start=1):
        request = InquiryRequest(
            mbi=person.mbi,
            last_name=person.last_name,
            first_name=person.first_name,
            birth_date=_date(person.birth_date),
            npi=fx.LINKED_NPI,
        )
        message = build_270(request, now=NOW, control=ControlNumbers(number)).encode("latin-1")
        reply = both(message, services, control=number)
        if reply.kind is ReplyKind.ELIGIBILITY and not person.suffix:  # a suffix not sent: INS (Python)
            assert answered_natively(message, services), person.last_name[:1]
            answered += 1
    assert answered >= len(fx.BENEFICIARIES) - 2


def test_specimen_is_answered_natively(specimen: bytes, store: SqliteStore) -> None:
    services = Services(REGISTRY, store)
    assert both(specimen, services).kind is ReplyKind.ELIGIBILITY
    assert answered_natively(specimen, services)


@pytest.mark.parametrize("path", sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md"), ids=str)
def test_corpus_answers_agree(path: Path, store: SqliteStore) -> None:
    data = path.read_bytes()
    for rules in (Rules.hets(), Rules.x12()):
        both(data, Services(REGISTRY, store, rules=rules))


def test_declines_what_python_must_decide(specimen: bytes, store: SqliteStore) -> None:
    services = Services(REGISTRY, store)
    cases = {
        "unknown submitter": specimen.replace(b"DEMO0001", b"DEMO0077"),
        "suspended submitter": specimen.replace(b"DEMO0001", b"DEMO0009"),
        "bad NPI": specimen.replace(b"1234567893", b"1234567890"),
        "name in lower case": specimen.replace(b"*DOE*JANE*", b"*doe*JANE*"),
        "first name differs": specimen.replace(b"*DOE*JANE*", b"*DOE*JAN*"),
        "birth differs": specimen.replace(b"19400401", b"19400402"),
        "unknown MBI": specimen.replace(b"1EG4TE5MK73", b"1EG4TE5MK74"),
        "not an MBI": specimen.replace(b"*MI*1EG4TE5MK73", b"*MI*1EG4TE5MK7B"),
        "an N3 in 2100C": specimen.replace(b"DMG*D8", b"N3*1 MAIN ST~DMG*D8").replace(b"SE*12*", b"SE*13*"),
        "segment count wrong": specimen.replace(b"SE*12*", b"SE*13*"),
        "ISA13 mismatch": specimen.replace(b"IEA*1*000005014", b"IEA*1*000005015"),
    }
    for name, message in cases.items():
        assert message != specimen, name
        assert not answered_natively(message, services), name
        both(message, services)
    # An address outside the submitter's CIDRs (127.0.0.0/8) is refused by Python (SBY00502).
    assert not answered_natively(specimen, services, peer="203.0.113.9")
    both(specimen, services, peer="203.0.113.9")
    # A usage indicator the submitter may not send: likewise.
    submitter = REGISTRY.get("DEMO0001")
    assert submitter is not None
    production_only = Services(Registry({"DEMO0001": attrs.evolve(submitter, usage=frozenset({"P"}))}), store)
    test_usage = specimen.replace(b"*0*P*", b"*0*T*")
    assert answered_natively(specimen, production_only)
    assert not answered_natively(test_usage, production_only)
    assert both(test_usage, production_only).kind is ReplyKind.PROPRIETARY


def _odd_store(tmp_path: Path, change: dict[str, Any]) -> SqliteStore:
    document = fx.DOE_JANE.to_document()
    document.update(change)
    store = SqliteStore.open(tmp_path / "odd.sqlite3", create=True)
    store.write([document])
    return store


@pytest.mark.parametrize(
    "change",
    [
        {"name": ["DOE", "JANE", "É", ""]},  # not ASCII: Latin-1 in the Python path
        {"ded": [["A", "20260101", "", 100]]},  # a row too short: AAA 42 from Python
        {"esrd": 1},  # not a bool
        {"days": [["hospital", "20260101", "", 1, -5, 0]]},  # a negative count
        {"addr": ["1 MAIN*ST", "", "X", "IL", "1"]},  # the element separator in a value
        {"ma": "H1234"},  # not a list
        {"dod": 5},
    ],
    ids=str,
)
def test_odd_records_go_to_python(specimen: bytes, tmp_path: Path, change: dict[str, Any]) -> None:
    store = _odd_store(tmp_path, change)
    try:
        services = Services(REGISTRY, store)
        assert not answered_natively(specimen, services)
        try:
            both(specimen, services)
        except (ValueError, TypeError):  # a delimiter, or a number, where text goes: the Python
            assert "addr" in change or "dod" in change  # path raises (the server answers SBY00508)
    finally:
        store.close()


_SPECIMEN = (DATA / "hets" / "specimen.270").read_bytes()


@st.composite
def mutated_specimen(draw: st.DrawFn) -> bytes:
    data = bytearray(_SPECIMEN)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "segment"]))
        byte = draw(st.sampled_from(b"*^|~0123456789ABZ -:.\r\n\x00\xe9"))
        if action == "replace":
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        elif action == "delete" and len(data) > 1:
            del data[position]
        else:  # drop or repeat a whole segment
            segments = bytes(data).split(b"~")
            index = draw(st.integers(0, len(segments) - 1))
            if draw(st.booleans()):
                del segments[index]
            else:
                segments.insert(index, segments[index])
            data = bytearray(b"~".join(segments))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=mutated_specimen())
def test_mutated_specimens_agree(message: bytes, store: SqliteStore) -> None:
    both(message, Services(REGISTRY, store))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last=st.text(st.sampled_from("ABCDOEJ -'.abc"), min_size=1, max_size=12),
    first=st.text(st.sampled_from("ABCJANE -abc"), max_size=8),
    types=st.lists(st.sampled_from(SERVICE_TYPES), max_size=5),
    procedures=st.lists(st.sampled_from(PROCEDURES), max_size=3),
    offset=st.integers(-500, 200),
    length=st.integers(0, 60),
)
def test_generated_inquiries_agree(
    store: SqliteStore, last: str, first: str, types: list[str], procedures: list[str], offset: int, length: int
) -> None:
    day = NOW.date() + dt.timedelta(days=offset)
    request = InquiryRequest(
        mbi=fx.DOE_JANE.mbi,
        last_name=last.strip() or "DOE",
        first_name=first.strip(),
        birth_date=_date(fx.DOE_JANE.birth_date),
        npi=fx.LINKED_NPI,
        service_types=tuple(types) or ("30",),
        procedures=tuple(procedures),
        service_dates=(day, day + dt.timedelta(days=length)),
    )
    try:
        message = build_270(request, now=NOW, control=ControlNumbers(3)).encode("latin-1")
    except ValueError:  # a name the writer refuses (a delimiter in it)
        return
    both(message, Services(REGISTRY, store))


_ODD_CHARACTERS = "\x00\x01\x07\x1c\x1d\x1e\x1f\x7f!\"&'()+,/:;<=>?@[\\]`{}|~^*"


@pytest.mark.parametrize("position", ["element", "repetition", "component", "segment"])
def test_any_delimiter_character_gets_the_same_reply(position: str, store: SqliteStore) -> None:
    # A NUL component separator was once written as an empty ISA16 by the C path.
    services = Services(REGISTRY, store)
    request = InquiryRequest(
        mbi=fx.DOE_JANE.mbi,
        last_name=fx.DOE_JANE.last_name,
        first_name=fx.DOE_JANE.first_name,
        birth_date=_date(fx.DOE_JANE.birth_date),
        npi=fx.LINKED_NPI,
        service_types=("30", "47"),
        procedures=("G0438",),
    )
    natively = 0
    for character in _ODD_CHARACTERS:
        chosen = {"element": "*", "repetition": "^", "component": ":", "segment": "~", position: character}
        delimiters = Delimiters(chosen["element"], chosen["repetition"], chosen["component"], chosen["segment"])
        if len(set(delimiters.as_set())) < 4:
            continue
        try:
            message = build_270(request, now=NOW, control=ControlNumbers(5), delimiters=delimiters)
        except ValueError:
            continue
        data = message.encode("latin-1")
        both(data, services)
        natively += answered_natively(data, services)
    assert natively > 0


def test_large_control_numbers_agree(specimen: bytes, store: SqliteStore) -> None:
    # ST02 is at least four digits (more past 9,999), GS06 as it is, ISA13 nine digits; past
    # 999,999,999 the C path declines and Python answers.
    services = Services(REGISTRY, store)
    for numbers in [(1, 1, 1), (999_999_999, 123_456_789, 12_345), (1_000_000_000, 5, 10_000), (42, 0, 0)]:
        context = Context(services, NOW, ControlNumbers(*numbers), "127.0.0.1")
        assert respond(specimen, context, use_native=True) == respond(specimen, context, use_native=False)
    found = native.answer(
        specimen,
        services.rules,
        REGISTRY,
        store,
        "127.0.0.1",
        NOW,
        ControlNumbers(999_999_999, 1, 12_345),
        services.window,
    )
    assert not isinstance(found, native.Declined)
    assert b"ST*271*12345*" in found[0]


class _CountingStore:
    """A store that counts the C path's document reads."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.blocking = False
        self.reads = 0

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        self.reads += 1
        return self.store.lookup_encoded(mbi)

    def describe(self) -> str:
        return self.store.describe()


def test_rules_that_need_no_record_are_checked_before_the_lookup(specimen: bytes, store: SqliteStore) -> None:
    counting = _CountingStore(store)
    services = Services(REGISTRY, store)
    window = services.window

    def answer(message: bytes) -> object:
        return native.answer(message, services.rules, REGISTRY, counting, "127.0.0.1", NOW, ControlNumbers(1), window)  # type: ignore[arg-type]

    assert not isinstance(answer(specimen), native.Declined)
    assert counting.reads == 1
    for message in (
        specimen.replace(b"1234567893", b"1234567890"),  # NPI check digit: AAA 43
        specimen.replace(b"*MI*1EG4TE5MK73", b"*MI*1EG4TE5MK7B"),  # not an MBI: AAA 72
        specimen.replace(b"EQ*30~", b"DTP*291*D8*20300101~EQ*30~").replace(b"SE*12*", b"SE*13*"),  # AAA 63
    ):
        assert isinstance(answer(message), native.Declined)
    assert counting.reads == 1


class _CountingSqliteStore(SqliteStore):
    """A real SQLite store that counts its document reads (both paths read through them)."""

    reads = 0

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        self.reads += 1
        return super().lookup_encoded(mbi)


def test_what_the_c_path_learned_is_not_done_again(
    specimen: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request the C path declines after reading the store is answered from that read, and
    # check_270 neither retries an interchange expression that did not match nor matches again
    # one that did.
    make_store(tmp_path / "counted.sqlite3").close()
    store = cast(_CountingSqliteStore, _CountingSqliteStore.open(tmp_path / "counted.sqlite3", read_only=True))
    try:
        services = Services(REGISTRY, store)
        context = Context(services, NOW, ControlNumbers(1), "127.0.0.1")
        lower = specimen.replace(b"*DOE*JANE*", b"*doe*JANE*")  # found, then left to the name matcher
        unknown = specimen.replace(b"1EG4TE5MK73", b"1EG4TE5MK74")  # not found: AAA 75
        for message, kind in ((lower, ReplyKind.ELIGIBILITY), (unknown, ReplyKind.REJECTION)):
            store.reads = 0
            assert respond(message, context).kind is kind
            assert store.reads == 1
        tried: list[bool] = []
        real = fastpath.accept_interchange_fast

        def spy(text: str, rules: Rules, *, matched: bool = False) -> Any:
            tried.append(matched)
            return real(text, rules, matched=matched)

        monkeypatch.setattr("hetsock.x12.check.accept_interchange_fast", spy)
        bad_bht = specimen.replace(b"BHT*0022*13*", b"BHT*0022*99*")  # 999: the expression does not match
        assert respond(bad_bht, context, use_native=True).kind is ReplyKind.ACK_999
        assert tried == []  # not tried again
        assert respond(lower, context, use_native=True).kind is ReplyKind.ELIGIBILITY
        assert tried == [True]  # matched: not matched again
        assert respond(bad_bht, context, use_native=False).kind is ReplyKind.ACK_999
        assert tried == [True, False]
    finally:
        store.close()


# -- the stored document, read by the C code itself ------------------------------------------


class _RawStore:
    """A store holding one document as the given bytes (as a store files them), for what the C
    code's document reader takes and declines."""

    def __init__(self, blob: bytes, mbi: str = fx.DOE_JANE.mbi) -> None:
        self.blob, self.mbi = blob, mbi

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        return (self.blob, False) if mbi == self.mbi else None

    def lookup_document(self, mbi: str) -> tuple[dict[str, Any], bool] | None:
        found = self.lookup_encoded(mbi)
        return None if found is None else (decode_document(found[0], "raw"), found[1])

    def lookup(self, mbi: str) -> Lookup | None:
        return lookup_of(self.lookup_document(mbi), "raw")

    def describe(self) -> str:
        return "raw"


def _raw_services(blob: bytes) -> Services:
    return Services(REGISTRY, cast(SqliteStore, _RawStore(blob)))


def _both_or_same_error(message: bytes, services: Services) -> Reply | type[Exception]:
    """``both()``, or the exception type both paths raise (a record the Python path cannot
    render: the server answers SBY00508)."""
    context = Context(services, NOW, ControlNumbers(7, 8, 9), "127.0.0.1")
    outcomes: list[Reply | type[Exception]] = []
    for use_native in (True, False):
        try:
            outcomes.append(respond(message, context, use_native=use_native))
        except (ValueError, TypeError, KeyError) as error:
            outcomes.append(type(error))
    assert outcomes[0] == outcomes[1], outcomes
    return outcomes[0]


_DOCUMENT = fx.DOE_JANE.to_document()


def test_the_document_is_read_in_any_layout(specimen: bytes) -> None:
    """Whitespace and key order are JSON's own freedom: the C path reads them and answers."""
    import json

    expected = respond(
        specimen,
        Context(_raw_services(orjson.dumps(_DOCUMENT)), NOW, ControlNumbers(7, 8, 9), "127.0.0.1"),
        use_native=False,
    )
    layouts = {
        "orjson": orjson.dumps(_DOCUMENT),
        "indented": json.dumps(_DOCUMENT, indent=2).encode(),
        "spaced": json.dumps(_DOCUMENT, separators=(" , ", " : ")).encode() + b" \r\n\t",
        "keys reversed": orjson.dumps(dict(reversed(list(_DOCUMENT.items())))),
    }
    for name, blob in layouts.items():
        services = _raw_services(blob)
        assert answered_natively(specimen, services), name
        assert both(specimen, services) == expected, name


def _with(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw, old
    return raw.replace(old, new, 1)


_RAW = orjson.dumps(_DOCUMENT)


@pytest.mark.parametrize(
    ("blob", "native"),
    [
        (_with(_RAW, b'"DOE"', b'"\\u0044OE"'), False),  # an escape: orjson makes "DOE" of it
        (_with(_RAW, b'"DOE"', b'"D\\"OE"'), False),  # an escaped quote
        (_with(_RAW, b'"123 MAIN STREET"', b'"123 M\\u0041IN STREET"'), False),  # an escape the 271 would echo
        (_with(_RAW, b"173600", b"173600.0"), False),  # a float where an amount is read
        (_with(_RAW, b'"F"', b'"\xc3\x89"'), False),  # not ASCII where the 271 reads it
        (_with(_RAW, b'{"', b'{"note":"caf\xc3\xa9","'), False),  # not ASCII, in a key the 271 does not read
        (_with(_RAW, b'{"', b'{"dob":"19990101","'), False),  # a repeated key: orjson keeps the last
        (_RAW[:-1] + b',"dob":"19990101"}', False),  # the last differs: AAA 71 from Python
        (_RAW[:-1] + b',"name":' + orjson.dumps(_DOCUMENT["name"]) + b"}", False),  # even the same value
        (_with(_RAW, b'{"', b'{"x":1.5,"'), False),  # a float anywhere
        (_with(_RAW, b'{"', b'{"x":1e2,"'), False),
        (_with(_RAW, b'{"', b'{"x":18446744073709551615,"'), False),  # past 18 digits
        (_with(_RAW, b'{"', b'{"x":-0,"'), True),  # -0 is the int 0 to orjson too
        (_with(_RAW, b'{"', b'{"x":' + b"[" * 20 + b"]" * 20 + b',"'), False),  # nested past the limit
        (_with(_RAW, b'{"', b'{"x":' + b"[" * 10 + b"]" * 10 + b',"'), True),  # within it
        (_with(_RAW, b'{"', b'{"x":[' + b",".join([b"0"] * 1200) + b'],"'), False),  # too many values
        (_with(_RAW, b'{"', b'{"x":{"a":null,"b":true},"'), True),  # an object, null, true
        (_RAW + b" x", False),  # not one JSON value: AAA 42
        (_RAW[:-1], False),  # cut short: AAA 42
        (b"[" + _RAW + b"]", False),  # not an object: AAA 42
        (b"\xef\xbb\xbf" + _RAW, False),  # a byte-order mark: orjson refuses it too
        (b'{"mbi":"' + fx.DOE_JANE.mbi.encode() + b'"}', False),  # no name: AAA 42
    ],
    ids=lambda value: value if isinstance(value, bool) else value[:12].decode("latin-1", "replace"),
)
def test_the_document_reader_takes_plain_json_only(specimen: bytes, blob: bytes, native: bool) -> None:
    services = _raw_services(blob)
    assert answered_natively(specimen, services) is native
    _both_or_same_error(specimen, services)


@st.composite
def mutated_document(draw: st.DrawFn) -> bytes:
    data = bytearray(_RAW)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'"\\{}[],:0123456789-.eE tfn\xc3\x00 ADZ'))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "replace":
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        elif len(data) > 1:
            del data[position]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=mutated_document())
def test_mutated_documents_agree(specimen: bytes, blob: bytes) -> None:
    _both_or_same_error(specimen, _raw_services(blob))
