"""A reply in plain words, for the person who sent the inquiry (sans-IO).

For a 271, a table of coverage: Part A and Part B (active since, or ended), the deductibles and
what is left of them, hospital and skilled nursing days, Medicare Advantage and Part D plans,
other insurers that pay first, hospice and home health, the next eligible date of each preventive
service, a date of death, changed identifying data (MBI or name). For a 271 with AAA, a 999, a
TA1 or a proprietary error, what is wrong and what to fix.

The 271 table shows what the 271 holds, patient data included: it is for the terminal of the
person who asked (``hetsock send --explain``, ``hetsock inquire``), never for a log.
"""

from __future__ import annotations

import datetime as dt
import decimal

from hetsock.client.benefits import Coverage
from hetsock.client.reply import (
    Ack999,
    Eligibility,
    ProprietaryError,
    Rejection,
    Reply,
    Ta1,
    Unrecognized,
)
from hetsock.x12.explain import TA1_TEXT, explain_reply

#: AAA03 reject reasons: (what is wrong, what to do). HETS-NOTES section 5.
AAA_TEXT: dict[str, tuple[str, str]] = {
    "41": (
        "the provider's NPI is not linked to your submitter ID (the Submitter/NPI relationship)",
        "send an NPI linked to your submitter ID, or have this NPI linked with CMS, then resubmit",
    ),
    "42": ("the eligibility system cannot answer at the moment", "resubmit the same inquiry later"),
    "43": (
        "the provider ID in 2100B is not a valid NPI (NM108 must be XX, and the NPI must pass its check digit)",
        "send the provider's 10-digit NPI and resubmit",
    ),
    "51": ("the provider is not on file", "check the provider's NPI"),
    "56": ("a date is not appropriate", "check the dates sent"),
    "57": ("the date of service is invalid or missing", "send a real date (or range) of service"),
    "58": ("the birth date is invalid or missing", "send the birth date as CCYYMMDD"),
    "60": (
        "the birth date (as sent, or as on file) is after the date of service",
        "check the birth date (DMG02) and the date of service (DTP*291)",
    ),
    "61": ("the date of death is before the date of service", "ask about a date of service before the death"),
    "62": (
        "the date of service is too far in the past: before the allowed inquiry window",
        "ask about a date of service inside the window",
    ),
    "63": (
        "the date of service is too far in the future: after the allowed inquiry window",
        "ask about a date of service inside the window",
    ),
    "71": (
        "the birth date sent does not match the beneficiary's",
        "check the birth date against the Medicare card or the patient, or leave it out and send the first name",
    ),
    "72": (
        "the member ID is not a valid MBI (NM108 must be MI and NM109 an 11-character MBI)",
        "send the MBI from the patient's Medicare card",
    ),
    "73": (
        "the name does not match the beneficiary's (or neither a first name nor a birth date was sent)",
        "send the last and first name exactly as on the Medicare card, or the last name with the birth date",
    ),
    "75": ("no beneficiary has this MBI", "check the MBI against the patient's Medicare card"),
}

FOLLOW_UP_TEXT = {
    "C": "correct the inquiry and resubmit",
    "N": "do not resubmit",
    "R": "resubmission allowed",
    "Y": "do not resubmit; the answer will follow",
}

LOOP_TEXT = {"2100A": "the source (CMS)", "2100B": "the provider", "2100C": "the subscriber"}

#: Proprietary error codes: what to do about each (the meaning is the server's description).
PROPRIETARY_ADVICE: dict[str, str] = {
    "SBY00502": "check the submitter ID in ISA06/GS02, that it is active and allowed this usage (ISA15), "
    "and that you connect from an address registered for it",
    "SBY00503": "send an X12 270 interchange (starting ISA) as the payload",
    "SBY00504": "send one inquiry per interchange; the message is over the size limit",
    "SBY00505": "frame every message the same way: SOH, ten-digit length, STX, payload, ETX (or bare X12 "
    "starting ISA); open a new connection",
    "SBY00506": "the system is in a maintenance window: try again after it",
    "SBY00507": "the system is busy: resubmit shortly",
    "SBY00508": "resubmit; if it persists, report it with the trace ID",
    "SBY00509": "use fewer connections at once, then reconnect",
    "SBY00510": "resubmit later",
}

#: EB04 insurance types that make Medicare secondary.
SECONDARY_TEXT = {
    "12": "working aged, employer group health plan",
    "13": "end stage renal disease, employer group health plan",
    "14": "no-fault insurance",
    "15": "workers' compensation",
    "16": "public health service or other federal agency",
    "41": "black lung",
    "42": "Veterans Affairs",
    "43": "disabled, large group health plan",
    "47": "other liability insurance",
    "WC": "workers' compensation",
}

PREVENTIVE_TEXT = {
    "G0438": "annual wellness visit, first",
    "G0439": "annual wellness visit",
    "80061": "lipid panel",
    "G0117": "glaucoma screening",
    "77067": "screening mammography",
    "G0121": "screening colonoscopy",
    "82270": "fecal occult blood test",
}


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "?"


def _dollars(value: decimal.Decimal | None) -> str:
    return "?" if value is None else f"${value:,.2f}"


def _period(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return ""
    if end is None:
        return f"since {_day(start)}"
    return f"{_day(start)} to {_day(end)}"


def _phone(value: str) -> str:
    return f"{value[:3]}-{value[3:6]}-{value[6:]}" if len(value) == 10 and value.isdigit() else value


def coverage_rows(coverage: Coverage) -> list[tuple[str, str, str]]:
    """(what, status, dates) rows describing ``coverage``."""
    rows: list[tuple[str, str, str]] = []
    for part, label in (("A", "Part A (hospital)"), ("B", "Part B (medical)")):
        periods = [e for e in coverage.entitlements if e.part == part]
        if not periods:
            continue
        for e in periods:
            status = "active" if e.active else ("ended" if e.end else "not active")
            rows.append((label, status, _period(e.start, e.end)))
    if coverage.esrd:
        rows.append(("Entitlement reason", "end stage renal disease", ""))
    for d in coverage.deductibles:
        label = f"Part {d.part} deductible"
        per = "a benefit period" if d.part == "A" else "a year"
        rows.append((label, f"{_dollars(d.remaining)} remaining of {_dollars(d.base)} {per}", _period(d.start, d.end)))
    for days in coverage.benefit_days:
        status = f"{days.remaining if days.remaining is not None else '?'} days left"
        if days.coinsurance_per_day is not None:
            status += f", coinsurance {_dollars(days.coinsurance_per_day)} a day"
        rows.append((f"{days.kind.capitalize()} days", status, _period(days.start, days.end)))
    for plan in coverage.advantage_plans:
        status = f"{plan.contract} {plan.pbp} {plan.name}".strip()
        if plan.phone:
            status += f", phone {_phone(plan.phone)}"
        rows.append(("Medicare Advantage plan", status, _period(plan.start, plan.end)))
    for plan in coverage.drug_plans:
        status = f"{plan.contract} {plan.pbp} {plan.name}".strip()
        rows.append(("Part D (drugs)", status, _period(plan.start, plan.end)))
    for payer in coverage.secondary_payers:
        why = SECONDARY_TEXT.get(payer.insurance_type, f"insurance type {payer.insurance_type}")
        status = f"{payer.insurer or '?'} pays first ({why})"
        rows.append(("Medicare pays second", status, _period(payer.start, payer.end)))
    for episode in coverage.hospice:
        rows.append(("Hospice", f"election, hospice NPI {episode.npi or '?'}", _period(episode.start, episode.end)))
    for episode in coverage.home_health:
        rows.append(("Home health", f"episode, agency NPI {episode.npi or '?'}", _period(episode.start, episode.end)))
    for service in coverage.preventive:
        name = PREVENTIVE_TEXT.get(service.hcpcs, "procedure")
        if service.next_eligible:
            status = f"{service.hcpcs} {name}: next eligible {service.next_eligible.isoformat()}"
        else:
            status = f"{service.hcpcs} {name}: no next eligible date on file"
        rows.append(("Preventive service", status, ""))
    if coverage.death_date is not None:
        rows.append(("Date of death", coverage.death_date.isoformat(), ""))
    if coverage.identity_changed:
        rows.append(
            (
                "Identifying data changed",
                "the MBI or name sent differs from the record: use the MBI and name above from now on",
                "",
            )
        )
    return rows


def _table(rows: list[tuple[str, str, str]]) -> list[str]:
    header = ("coverage", "status", "dates")
    width0 = max(len(r[0]) for r in [header, *rows])
    width1 = max(len(r[1]) for r in [header, *rows])
    return [f"  {a:<{width0}}  {b:<{width1}}  {c}".rstrip() for a, b, c in [header, *rows]]


def _window_text(window: tuple[str, str] | None) -> str:
    if window is None:
        return ""

    def show(value: str) -> str:
        return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 else value

    return f"allowed dates of service: {show(window[0])} to {show(window[1])}"


def explain(reply: Reply) -> list[str]:
    """Lines describing ``reply`` for a person."""
    if isinstance(reply, Eligibility):
        s = reply.subscriber
        lines = [
            f"271: eligibility for {s.display_name} (MBI {s.member_id}"
            + (f", born {s.birth_date[:4]}-{s.birth_date[4:6]}-{s.birth_date[6:]}" if len(s.birth_date) == 8 else "")
            + f"), trace {reply.correlation or '?'}"
        ]
        rows = coverage_rows(reply.coverage)
        lines.extend(_table(rows) if rows else ["  the 271 holds no benefit the client recognizes"])
        return lines
    if isinstance(reply, Rejection):
        lines = [f"271 with AAA: the inquiry was rejected (trace {reply.correlation or '?'})"]
        for aaa in reply.aaa:
            wrong, fix = AAA_TEXT.get(aaa.reason, (f"reject reason {aaa.reason}", "see the AAA code"))
            where = LOOP_TEXT.get(aaa.loop, aaa.loop or "?")
            lines.append(f"  AAA {aaa.reason} in {aaa.loop} ({where}): {wrong}.")
            lines.append(f"  What to do: {fix} ({FOLLOW_UP_TEXT.get(aaa.follow_up, 'AAA04 ' + aaa.follow_up)}).")
        if reply.window and any(a.reason in ("62", "63", "60") for a in reply.aaa):
            lines.append(f"  {_window_text(reply.window)}")
        return lines
    if isinstance(reply, Ta1):
        lines = [f"TA1: interchange {reply.control_number} was rejected: its envelope is wrong (note {reply.note})."]
        lines.append("  " + TA1_TEXT.get(reply.note, "Unknown note code."))
        lines.append("  What to do: fix the envelope as above and resubmit; `hetsock check FILE` shows the same.")
        return lines
    if isinstance(reply, Ack999):
        text = reply.payload.decode("latin-1")
        lines = explain_reply(text) or [f"999 for functional group {reply.group_control}"]
        verdict = "accepted" if reply.accepted else "rejected"
        lines[0] = f"{lines[0]} [{verdict}]"
        if not reply.accepted:
            lines.append(
                "  What to do: correct the segments and elements listed and resubmit; "
                "`hetsock check FILE` shows the same findings."
            )
        return lines
    if isinstance(reply, ProprietaryError):
        trace = f" for trace {reply.trace_id}" if reply.trace_id else ""
        refused = {"I": "refused", "U": "could not be served"}.get(reply.response_code, "failed")
        advice = PROPRIETARY_ADVICE.get(reply.code, "see the server's documentation of this code")
        return [
            f"proprietary error {reply.code}: the request{trace} was {refused}: {reply.description}.",
            f"  What to do: {advice}.",
        ]
    assert isinstance(reply, Unrecognized)
    return [f"unrecognized reply ({len(reply.payload)} bytes): {reply.detail}."]


def segment_lines(payload: bytes) -> list[str]:
    """A reply one segment per line (an interchange), or as it is (the proprietary error text)."""
    text = payload.decode("latin-1").strip("\r\n")
    if not text.startswith("ISA") or len(text) < 106:
        return [text]
    terminator = text[105]
    return [piece.strip("\r\n") + terminator for piece in text.split(terminator) if piece.strip("\r\n")]
