"""The audit writer's C code (hetsock/_audit_native.c via hetsock/audit/native.py) gives exactly
what the Python reference gives: ``record_of`` for each exchange, ``sqlite._row`` for each record,
value for value and type for type, over every reply kind and every odd value, and hypothesis-made
ones; its HMAC-SHA256 matches the standard's vectors and ``hmac``. The tests count the items the C
code handed back to Python, so C code that took nothing (and so trivially agreed) fails them.
Skipped where the extension was not built; ``HETSOCK_REQUIRE_NATIVE=1`` (.ci/run) makes that a
failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import os
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetsock.audit import native
from hetsock.audit.record import AuditRecord, key_pads, record_of
from hetsock.audit.sqlite import _row
from hetsock.pipeline import Reply, ReplyKind
from hetsock.server.observer import ConnectionInfo, Exchange

KEY = bytes(range(32))
ORIGIN = "0123456789abcdef0123456789abcdef"
OPENED = dt.datetime(2026, 12, 6, 9, 0)
CONNECTION = ConnectionInfo(17, "127.0.0.1", 40123, 1, OPENED)
WHEN = dt.datetime(2026, 12, 6, 9, 30, 15, 123456)
A_999 = (
    b"ISA*00*          *00*          *ZZ*CMS            *ZZ*DEMO0001       *261206*0930*^*00501*000000001*0*P*:~"
    b"GS*FA*CMS*DEMO0001*20261206*0930*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HS*1*005010X279A1~"
    b"AK2*270*0001*005010X279A1~IK3*NM1*4*2100*8~IK4*9*67*7*BAD~IK5*R*5~AK9*R*1*1*0~SE*8*0001~GE*1*1~IEA*1*000000001~"
)


@pytest.fixture(autouse=True)
def _built() -> None:
    if native.ENABLED:
        return
    why = "the C extension hetsock._audit_native is not built (no C compiler at install?) or HETSOCK_NATIVE=0"
    if os.environ.get("HETSOCK_REQUIRE_NATIVE") == "1":
        pytest.fail(why + "; HETSOCK_REQUIRE_NATIVE=1 requires it")
    pytest.skip(why)


def reply(**changes: Any) -> Reply:
    fields: dict[str, Any] = {
        "kind": ReplyKind.ELIGIBILITY,
        "payload": b"ISA...",
        "submitter_id": "DEMO0001",
        "npi": "1234567893",
        "interchange_control": "000000041",
        "reference": "REF1",
        "traces": ("TRACE 1", "TRACE,2"),
        "service_types": ("30", "A7"),
        "member_id": "1EG4TE5MK73",
    }
    fields.update(changes)
    return Reply(**fields)


def exchange(answer: Reply, **changes: Any) -> Exchange:
    fields: dict[str, Any] = {
        "connection": CONNECTION,
        "reply": answer,
        "received": WHEN,
        "replied": WHEN + dt.timedelta(microseconds=900),
        "latency": 0.0009,
        "delivered": True,
    }
    fields.update(changes)
    return Exchange(**fields)


def _typed(values: Any) -> list[tuple[type, Any]]:
    """Values with their types: 1 and True, or 1.0 and 1, are not the same value to SQLite."""
    return [(type(v), _typed(v) if isinstance(v, tuple) else v) for v in values]


def assert_same(exchanges: list[Exchange], first: int = 1) -> int:
    """C and Python agree on the records and their INSERT values; returns how many items the C
    code handed to the Python reference."""
    handed = 0
    expected = [record_of(e, KEY, origin=ORIGIN, sequence=first + n) for n, e in enumerate(exchanges)]

    def counting_row(record: AuditRecord) -> tuple[object, ...]:
        nonlocal handed
        handed += 1
        return _row(record)

    got = native.records(exchanges, KEY, ORIGIN, first)
    assert [type(r) for r in got] == [AuditRecord] * len(exchanges)
    assert _typed(got) == _typed(expected)
    values = native._native.values(got, counting_row)
    assert _typed(values) == _typed(itertools.chain.from_iterable(map(_row, expected)))
    return handed


def _handed_records(exchanges: list[Exchange]) -> int:
    handed = 0
    inner, outer = key_pads(KEY)

    def fallback(e: Exchange, sequence: int) -> AuditRecord:
        nonlocal handed
        handed += 1
        return record_of(e, KEY, origin=ORIGIN, sequence=sequence)

    native._native.records(exchanges, inner, outer, ORIGIN, 1, AuditRecord, native._KINDS, fallback)
    return handed


# --- HMAC-SHA256 ---------------------------------------------------------------------------


def test_hmac_matches_rfc_4231() -> None:
    cases = [  # RFC 4231 test cases 1, 2 and 6 (6: a key longer than the block, hashed first)
        (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            b"\xaa" * 131,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ]
    for key, message, digest in cases:
        assert native._native.hmac_sha256(*key_pads(key), message).hex() == digest


def test_hmac_matches_hmac_at_every_length_around_the_blocks() -> None:
    rng = random.Random(20261206)
    for length in [*range(140), 200, 255, 256, 257, 1000]:
        key = rng.randbytes(rng.choice((16, 32, 64, 65)))
        message = rng.randbytes(length)
        expected = hmac.new(key, message, hashlib.sha256).digest()
        assert native._native.hmac_sha256(*key_pads(key), message) == expected, length


# --- records and values ----------------------------------------------------------------------


def test_the_usual_replies_are_taken_in_c() -> None:
    exchanges = [
        exchange(reply()),
        exchange(reply(kind=ReplyKind.REJECTION, aaa_codes=("75",), aaa_loop="2100C")),
        exchange(reply(kind=ReplyKind.REJECTION, aaa_codes=("41",), aaa_loop="2100B")),
        exchange(reply(kind=ReplyKind.REJECTION, aaa_codes=("43", "41"), aaa_loop="2100B")),
        exchange(reply(kind=ReplyKind.TA1, ta1_note="024", npi="", member_id="", traces=(), service_types=())),
        exchange(reply(kind=ReplyKind.PROPRIETARY, error_code="SBY00502", member_id="", traces=())),
        exchange(reply(traces=(), service_types=())),
        exchange(reply(), delivered=False, latency=3.25),
    ]
    assert assert_same(exchanges) == 0
    assert _handed_records(exchanges) == 0


@pytest.mark.parametrize(
    "member_id",
    [
        "",
        "   ",
        "1eg4te5mk73",
        " 1EG4TE5MK73\t",
        "\x1c1EG4TE5MK73\x1f\x0b",
        "X" * 300,
        "1ÉG4TE5MK73",
        "1EG4TE5MK73\u2003",
    ],
)
def test_every_member_id_hashes_alike(member_id: str) -> None:
    assert_same([exchange(reply(member_id=member_id))])


@pytest.mark.parametrize(
    "changes",
    [
        {"submitter_id": "DEMO\x000001"},
        {"npi": "\x00"},
        {"reference": "REF\x00"},
        {"interchange_control": "00000\x004"},
        {"traces": ("TRACE\x001",)},
        {"service_types": ("30", "\x00")},
        {"kind": ReplyKind.ACK_999, "payload": A_999, "npi": "", "member_id": ""},
        {"member_id": "1ÉG4TE5MK73"},
    ],
)
def test_what_c_does_not_take_python_answers(changes: dict[str, Any]) -> None:
    exchanges = [exchange(reply(**changes))]
    assert_same(exchanges)
    assert _handed_records(exchanges) == 1


@pytest.mark.parametrize(
    "traces",
    [('say "hi"',), ("back\\slash",), ("tab\there",), ("é", "ü"), ("\u2028",), ("\x7f",), ("a", "", "b")],
)
def test_traces_are_written_as_orjson_writes_them(traces: tuple[str, ...]) -> None:
    assert_same([exchange(reply(traces=traces))])


def test_times_and_days_alike() -> None:
    zones = [None, dt.UTC, dt.timezone(dt.timedelta(hours=-5))]
    moments = [dt.datetime(2, 1, 1, 12), dt.datetime(999, 12, 31, 23, 59), dt.datetime(2026, 2, 28, 23, 59, 59, 999999)]
    moments.append(dt.datetime(9999, 12, 30))
    exchanges = [
        exchange(reply(), received=m.replace(tzinfo=zone), replied=m.replace(tzinfo=zone))
        for m in moments
        for zone in zones
    ]
    assert assert_same(exchanges) == 0


def test_a_value_no_storage_can_take_fails_alike() -> None:
    odd = exchange(reply(traces=("\ud800",)))  # a lone surrogate: orjson refuses it
    record = native.records([odd], KEY, ORIGIN, 1)[0]
    with pytest.raises(TypeError):
        _row(record)
    with pytest.raises(TypeError):
        native.sqlite_values([record], _row)


def test_records_without_an_identity_and_odd_types_go_to_python() -> None:
    plain = record_of(exchange(reply()), KEY)  # origin '', sequence 0: stored without identity
    odd = plain._replace(npi_ok=1, delivered=0)  # type: ignore[arg-type]  # not bools: _row's int() decides
    for records in ([plain], [odd], [plain, odd, plain]):
        values = native.sqlite_values(records, _row)
        assert _typed(values) == _typed(itertools.chain.from_iterable(map(_row, records)))


texts = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    submitter=texts,
    npi=texts,
    reference=texts,
    control=texts,
    member_id=texts,
    traces=st.lists(texts, max_size=4).map(tuple),
    service_types=st.lists(texts, max_size=4).map(tuple),
    kind=st.sampled_from(list(ReplyKind)),
    aaa_codes=st.lists(st.sampled_from(["41", "43", "72", "75", "42", ""]), max_size=3).map(tuple),
    ta1_note=st.sampled_from(["", "024", "001"]),
    error_code=st.sampled_from(["", "SBY00502", "SBY00508"]),
    delivered=st.booleans(),
)
def test_hypothesis_replies_alike(
    submitter: str,
    npi: str,
    reference: str,
    control: str,
    member_id: str,
    traces: tuple[str, ...],
    service_types: tuple[str, ...],
    kind: ReplyKind,
    aaa_codes: tuple[str, ...],
    ta1_note: str,
    error_code: str,
    delivered: bool,
) -> None:
    made = reply(
        kind=kind,
        payload=A_999 if kind is ReplyKind.ACK_999 else b"",
        submitter_id=submitter,
        npi=npi,
        reference=reference,
        interchange_control=control,
        member_id=member_id,
        traces=traces,
        service_types=service_types,
        aaa_codes=aaa_codes,
        ta1_note=ta1_note,
        error_code=error_code,
    )
    exchanges = [exchange(made, delivered=delivered)]
    try:
        expected_values = list(
            itertools.chain.from_iterable(
                _row(record_of(e, KEY, origin=ORIGIN, sequence=1 + n)) for n, e in enumerate(exchanges)
            )
        )
    except TypeError:  # a lone surrogate in the traces: neither stores it
        with pytest.raises(TypeError):
            native.sqlite_values(native.records(exchanges, KEY, ORIGIN, 1), _row)
        return
    assert_same(exchanges)
    assert _typed(native.sqlite_values(native.records(exchanges, KEY, ORIGIN, 1), _row)) == _typed(expected_values)
