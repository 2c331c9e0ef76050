"""The client's reading of replies: every reply type typed, benefits decoded, any bytes survived.

Replies come from the real pipeline (``respond()`` over a store of the demo fixtures) and from the
golden 271s, so what the client reads is what the server writes.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import NOW, REGISTRY, inquiry

from hetsock.client.explain import explain, segment_lines
from hetsock.client.reply import (
    Ack999,
    Eligibility,
    ProprietaryError,
    Rejection,
    ReplyKind,
    Ta1,
    Unrecognized,
    read_reply_untrusted,
    summarize_untrusted,
)
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, Services, respond
from hetsock.pipeline import ReplyKind as ServerReplyKind
from hetsock.wire.proprietary import ErrorCode, render_error
from hetsock.x12.writer import ControlNumbers

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.271"))


def answer(store: SqliteStore, payload: bytes) -> bytes:
    context = Context(Services(REGISTRY, store), NOW, ControlNumbers(77, 78), "127.0.0.1")
    return respond(payload, context).payload


def test_kinds_name_the_servers_kinds() -> None:
    assert {k.value for k in ServerReplyKind} == {k.value for k in ReplyKind} - {"unrecognized"}


# --- 271 ------------------------------------------------------------------------------------


def test_doe_jane_271_decoded(store: SqliteStore) -> None:
    reply = read_reply_untrusted(answer(store, inquiry()))
    assert isinstance(reply, Eligibility)
    assert reply.kind is ReplyKind.ELIGIBILITY
    assert (reply.traces, reply.correlation, reply.control_number) == (("TRACE0001",), "TRACE0001", "000000077")
    assert (reply.submitter_id, reply.provider_id, reply.reference) == ("DEMO0001", fx.LINKED_NPI, "HETSOCK")
    s = reply.subscriber
    assert (s.last_name, s.first_name, s.member_id, s.birth_date, s.gender) == (
        "DOE",
        "JANE",
        "1EG4TE5MK73",
        "19400401",
        "F",
    )
    assert s.address == ("123 MAIN STREET", "SPRINGFIELD", "IL", "62701")
    c = reply.coverage
    part_a, part_b = c.entitlement("A"), c.entitlement("B")
    assert part_a is not None
    assert part_a.active
    assert part_a.start == dt.date(2005, 4, 1)
    assert part_a.end is None
    assert part_b is not None
    assert part_b.active
    (ded_a, ded_b) = c.deductibles
    assert (ded_a.part, ded_a.base, ded_a.remaining) == ("A", decimal.Decimal(1736), decimal.Decimal(0))
    assert (ded_b.part, ded_b.base, ded_b.remaining) == ("B", decimal.Decimal(283), decimal.Decimal(120))
    assert (ded_b.start, ded_b.end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert [(d.kind, d.remaining, d.coinsurance_per_day) for d in c.benefit_days] == [
        ("hospital", 78, decimal.Decimal(434)),
        ("skilled nursing", 100, decimal.Decimal(217)),
        ("lifetime reserve", 60, None),
    ]
    assert [(p.hcpcs, p.service_type, p.next_eligible) for p in c.preventive] == [
        ("G0438", "BT", dt.date(2027, 1, 15)),
        ("80061", "5", dt.date(2028, 10, 1)),
        ("G0117", "AL", dt.date(2027, 6, 1)),
    ]
    assert "30" in c.benefits[0].service_types
    assert "BV" in c.benefits[0].service_types
    assert not (c.advantage_plans)
    assert not (c.drug_plans)
    assert not (c.secondary_payers)
    assert not (c.hospice)
    assert not (c.home_health)
    assert c.death_date is None
    assert not c.identity_changed
    assert not c.esrd


def _golden(name: str) -> Eligibility:
    reply = read_reply_untrusted((GOLDEN / f"{name}.271").read_bytes())
    assert isinstance(reply, Eligibility), reply
    return reply


def test_every_demo_shape_decoded() -> None:
    roe = _golden("roe_richard").coverage
    (plan,) = roe.advantage_plans
    assert (plan.contract, plan.pbp, plan.name, plan.start, plan.phone) == (
        "H1234",
        "001",
        "SUNSHINE MEDICARE ADVANTAGE PLAN",
        dt.date(2024, 1, 1),
        "8005551234",
    )
    assert [(p.contract, p.pbp) for p in roe.drug_plans] == [("H1234", "001")]
    assert [(p.contract, p.pbp, p.name) for p in _golden("poe_mary").coverage.drug_plans] == [
        ("S5678", "002", "EVERGREEN RX BASIC")
    ]
    (payer,) = _golden("moe_robert").coverage.secondary_payers
    assert (payer.insurance_type, payer.insurer, payer.start) == ("12", "ACME HEALTH INSURANCE", dt.date(2023, 1, 1))
    hospice = _golden("lowe_alice").coverage.hospice
    assert [(h.npi, h.start, h.end) for h in hospice] == [
        (fx.HOSPICE_NPI, dt.date(2026, 8, 15), dt.date(2026, 11, 12)),
        (fx.HOSPICE_NPI, dt.date(2026, 11, 13), None),
    ]
    coe = _golden("coe_edward").coverage
    assert coe.death_date == dt.date(2026, 3, 1)
    assert [(e.part, e.active, e.end) for e in coe.entitlements] == [
        ("A", False, dt.date(2026, 3, 1)),
        ("B", False, dt.date(2026, 3, 1)),
    ]
    voe = _golden("voe_linda").coverage
    assert [(e.part, e.active) for e in voe.entitlements] == [("A", True), ("B", False)]
    assert _golden("hoe_george_previous_mbi").coverage.identity_changed
    assert not _golden("hoe_george").coverage.identity_changed
    assert [(h.npi, h.start) for h in _golden("goe_susan").coverage.home_health] == [
        (fx.HOME_HEALTH_NPI, dt.date(2026, 10, 20))
    ]
    assert _golden("noe_kevin").coverage.esrd
    smith = _golden("smith_jones_pat").subscriber
    assert (smith.last_name, smith.suffix) == ("SMITH JONES", "JR")
    many = _golden("doe_jane_many_types").coverage
    assert [(p.hcpcs, p.next_eligible) for p in many.preventive] == [("80061", dt.date(2028, 10, 1)), ("99999", None)]


def test_other_delimiters_are_read(store: SqliteStore) -> None:
    from hetsock.x12.build270 import InquiryRequest, build_270
    from hetsock.x12.segments import Delimiters

    text = build_270(
        InquiryRequest(fx.DOE_JANE.mbi, "DOE", fx.LINKED_NPI, first_name="JANE", procedures=("G0438",)),
        now=NOW,
        control=ControlNumbers(3),
        delimiters=Delimiters("|", "}", "^", "\n"),
    )
    reply = read_reply_untrusted(answer(store, text.encode()))
    assert isinstance(reply, Eligibility)
    assert ("G0438", dt.date(2027, 1, 15)) in [(p.hcpcs, p.next_eligible) for p in reply.coverage.preventive]
    assert segment_lines(reply.payload)[0].startswith("ISA|00|")


# --- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "loop", "code"),
    [
        ({"npi": fx.UNLINKED_NPI}, "2100B", "41"),
        ({"npi": fx.INVALID_NPI}, "2100B", "43"),
        ({"mbi": "1EG4TE5MK99"}, "2100C", "75"),
        ({"last_name": "DOH"}, "2100C", "73"),
        ({"birth_date": dt.date(1940, 4, 2)}, "2100C", "71"),
        ({"service_dates": (dt.date(2027, 3, 23), dt.date(2027, 3, 23))}, "2100C", "63"),
    ],
)
def test_aaa_rejections(store: SqliteStore, changes: dict[str, object], loop: str, code: str) -> None:
    payload = answer(store, inquiry(**changes))
    reply = read_reply_untrusted(payload)
    assert isinstance(reply, Rejection)
    assert reply.codes == (code,)
    assert (reply.aaa[0].loop, reply.aaa[0].follow_up) == (loop, "C")
    assert reply.correlation == "TRACE0001"
    assert reply.window == (("20251122", "20270322") if loop == "2100C" else None)
    assert summarize_untrusted(payload).aaa_codes == (code,)
    assert summarize_untrusted(payload).aaa_loops == (loop,)
    text = "\n".join(explain(reply))
    assert f"AAA {code} in {loop}" in text
    assert "What to do:" in text
    if code == "63":
        assert "allowed dates of service: 2025-11-22 to 2027-03-22" in text


def test_999(store: SqliteStore) -> None:
    bad = inquiry().replace(b"EQ*30~", b"EQ*ZZ~")
    reply = read_reply_untrusted(answer(store, bad))
    assert isinstance(reply, Ack999)
    assert (reply.group_control, reply.correlation, reply.accepted) == ("1", "1", False)  # the request's GS06
    assert reply.set_errors == ("5",)
    (segment,) = reply.segments
    assert (segment.segment_id, segment.loop, segment.code) == ("EQ", "2110C", "8")
    assert [(e.reference, e.code, e.bad_value) for e in segment.elements] == [("1365", "7", "ZZ")]
    assert reply.traces == ("TRACE0001",)
    text = "\n".join(explain(reply))
    assert "EQ01 (repetition 1) is not one of the allowed codes (sent: ZZ)" in text
    assert "What to do" in text


def test_ta1(store: SqliteStore) -> None:
    bad = inquiry(control=123456).replace(b"*ZZ*CMS            *", b"*ZZ*XMS            *")
    reply = read_reply_untrusted(answer(store, bad))
    assert isinstance(reply, Ta1)
    assert (reply.control_number, reply.acknowledgment, reply.note, reply.correlation) == (
        "000123456",
        "R",
        "009",  # a well-formed receiver ID that is not ours: unknown (008 is a malformed one)
        "000123456",
    )
    assert "ISA08 must be this system's receiver ID" in "\n".join(explain(reply))


@pytest.mark.parametrize("code", list(ErrorCode))
def test_proprietary_errors(code: ErrorCode) -> None:
    payload = render_error(code, trace_id="000000041", now=NOW)
    for sent in (payload, payload + b"\r\n"):
        reply = read_reply_untrusted(sent)
        assert isinstance(reply, ProprietaryError)
        assert (reply.code, reply.response_code, reply.trace_id) == (code.code, code.response_code.strip(), "000000041")
        assert reply.description == code.description
        assert summarize_untrusted(sent).correlation == "000000041"
        text = "\n".join(explain(reply))
        assert code.code in text
        assert "What to do:" in text


def test_unrecognized() -> None:
    for payload in (b"", b"HELLO", b"HETS short", b"ISA*00" + b"x" * 200, b"\x01\x02\x03"):
        reply = read_reply_untrusted(payload)
        assert isinstance(reply, Unrecognized), payload
        assert summarize_untrusted(payload).kind is ReplyKind.UNRECOGNIZED
        assert "unrecognized reply" in explain(reply)[0]
    # an interchange that is not a reply (a 270 sent back)
    reply = read_reply_untrusted(inquiry())
    assert isinstance(reply, Unrecognized)
    assert "ST01 '270'" in reply.detail


def test_reprs_hold_no_patient_data(store: SqliteStore) -> None:
    for payload in (answer(store, inquiry()), answer(store, inquiry(last_name="DOH"))):
        shown = repr(read_reply_untrusted(payload))
        for secret in ("DOE", "JANE", fx.DOE_JANE.mbi, "19400401", "MAIN STREET"):
            assert secret not in shown


# --- peer bytes: any bytes in, a record out ----------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_give_a_reply_record(data: bytes) -> None:
    for payload in (data, b"ISA" + data, b"HETS" + data):
        reply = read_reply_untrusted(payload)
        assert reply.kind is summarize_untrusted(payload).kind
        explain(reply)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(GOLDEN_FILES),
    st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=3)), max_size=4),
    st.integers(0, 2000),
)
def test_damaged_271s_never_raise(path: Path, edits: list[tuple[int, bytes]], cut: int) -> None:
    payload = bytearray(path.read_bytes())
    for offset, replacement in edits:
        payload[offset : offset + len(replacement)] = replacement
    damaged = bytes(payload[: max(cut, 106)])
    reply = read_reply_untrusted(damaged)
    assert reply.kind is summarize_untrusted(damaged).kind
    explain(reply)


def _cms_shape(reply: bytes) -> bytes:
    """The HETS-NOTES section 6 shape of a 271: no DTP after the remaining (EB06 29) deductibles, and
    the hospital coinsurance (EB*B**30*MA**7) without an EB*F**48 of days left."""
    segments = reply.decode("latin-1").split("~")
    kept: list[str] = []
    for segment in segments:
        previous = kept[-1].split("*") if kept else []
        if segment.startswith("DTP*291") and previous[:2] == ["EB", "C"] and previous[6] == "29":
            continue
        if segment.startswith("EB*F**48*MA"):
            continue
        kept.append(segment)
    body = [s for s in kept if s and not s.startswith(("ISA", "GS", "GE", "IEA"))]
    text = "~".join(kept)
    se = next(s for s in kept if s.startswith("SE*"))
    return text.replace(se, f"SE*{len(body)}*{se.split('*')[2]}").encode("latin-1")


def test_cms_shape_deductibles_and_hospital_coinsurance(store: SqliteStore) -> None:
    reply = read_reply_untrusted(_cms_shape(answer(store, inquiry())))
    assert isinstance(reply, Eligibility)
    c = reply.coverage
    assert [(d.part, d.base, d.remaining) for d in c.deductibles] == [
        ("A", decimal.Decimal(1736), decimal.Decimal(0)),
        ("B", decimal.Decimal(283), decimal.Decimal(120)),
    ]
    assert (c.deductibles[1].start, c.deductibles[1].end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert ("hospital", None, decimal.Decimal(434)) in [
        (d.kind, d.remaining, d.coinsurance_per_day) for d in c.benefit_days
    ]
    text = "\n".join(explain(reply))
    assert "? remaining" not in text
    assert "$434.00 a day" in text


def test_an_aaa_among_the_benefits_makes_both_readers_say_rejection(store: SqliteStore) -> None:
    # Another system's 271 may refuse one service type with an AAA inside 2110C, after an EB.
    payload = answer(store, inquiry()).decode("latin-1")
    first_eb = payload.index("~EB*") + 1
    end = payload.index("~", first_eb) + 1
    refused = (payload[:end] + "AAA*N**33*C~" + payload[end:]).encode("latin-1")
    reply = read_reply_untrusted(refused)
    summary = summarize_untrusted(refused)
    assert isinstance(reply, Rejection)
    assert reply.kind is summary.kind is ReplyKind.REJECTION
    assert (reply.aaa[0].loop, reply.codes) == ("2110C", ("33",))
    assert summary.aaa_codes == ("33",)
