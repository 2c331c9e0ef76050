"""The Medicare 271 (005010X279A1): eligibility, or the rejection with its AAA.

Envelope: the 270's ends swapped (ISA and GS), ``GS*HB``, the request's usage indicator and,
where safe, its delimiters (a request whose delimiters include ``-`` or ``.``, which our dates
and amounts use, is answered in ``* ^ | ~``; values echoed from the request then have any of
those four characters written ``?``, see :func:`_escaped`). ``BHT*0022*11`` echoes BHT03.

Body, in the guide's loop order:

* 2000A/2100A: ``HL*1**20*1``, ``NM1*PR*2*CMS*****PI*CMS``, ``PER*IC**UR*WWW.CMS.GOV``; a store
  outage puts ``AAA*N**42*R`` here.
* 2000B/2100B: the provider as sent (``NM1*1P...*XX*<NPI>``, a person's first and middle name
  and suffix included); AAA 41/43 go here.
* 2000C/2100C: each 270 TRN echoed as ``TRN*2``; the subscriber (from the record when found,
  as sent when rejected), N3/N4, AAA (rejections, with ``DTP*307*RD8`` giving the allowed
  inquiry window), ``DMG*D8``, ``INS*Y*18*001*25`` when the identifying data sent changed: an
  earlier MBI was used (NM109 then carries the current MBI), or the name returned is not the
  name sent once normalized as the matcher does (``decide.name_corrected``: a suffix added or
  dropped; not case, hyphens or spaces); ``DTP*442`` date of death. N4 and DMG end at their
  last value (no trailing empty elements for a blank ZIP code or gender).
* 2110C EB loops (HETS-NOTES section 6): Part A and Part B entitlement (``EB*1``, or ``EB*6``
  when the period does not cover the date of service) with ``DTP*291``; deductibles (base
  ``EB*C...*26``/``*23`` with the period, remaining ``*29``); hospital, skilled nursing and
  lifetime reserve days (below); Medicare Advantage (``EB*R**30*HN``, ``REF*18``, ``DTP*290``, the
  2120C plan loop); Part D (``EB*R**88``); Medicare Secondary Payer (``EB*R**30*<type>``);
  hospice (``EB*X**45*MA**26``); home health (``EB*X**42*MA**26``); preventive services
  (``EB*D**<stc>*MB*********HC|<HCPCS>`` with ``DTP*348`` the next eligible date).

Benefit days, against HETS-NOTES section 6 (EB06: 7 day, 29 remaining, 32 lifetime, 33
lifetime remaining):

* hospital: ``EB*B**30*MA**7*<daily coinsurance>`` as the notes give it, then the days left as
  ``EB*F**48*MA**29***DY*<days>`` with ``DTP*291`` the benefit period (the notes give no
  days-left shape for the hospital; 48 is the hospital inpatient service type, and it mirrors
  the skilled nursing ``EB*F``). No ``HSD``: the notes name ``HSD*DY`` day ranges without a
  complete shape, and the ``EB*F`` quantity already says how many days are left.
* skilled nursing: ``EB*B**AG*MA**29*<daily coinsurance>**DY*<days>`` and
  ``EB*F**AG*MA**29***DY*<days left>``, both as in the notes; the ``EB*B`` days are those left
  at the coinsurance rate (days 21-100: at most 80, ``SNF_COINSURANCE_DAYS``).
* lifetime reserve: ``EB*K**30*MA**33***DY*<days left>``. The notes show ``EB*K**30*MA**32*...``
  with the rest elided; we report the days left, and for a count of what is left the legend's
  33 (lifetime remaining) is the fitting period, where 32 (lifetime) would describe the 60-day
  allowance itself. Its daily coinsurance is not reported: the notes give no shape for it.

Which EB loops: entitlement, Medicare Advantage and MSP always (they say who pays); with
``30`` asked (or nothing but procedures), every section; otherwise the sections the asked
service types name (42 home health, 45 hospice, 47/48 hospital, AG skilled nursing, 88 Part D,
and preventive services reported under an asked type), plus one ``EB*D`` per EQ02 procedure
(with ``MSG`` when the record has no date for it).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import attrs

from hetsock.eligibility.beneficiary import Period
from hetsock.eligibility.decide import Eligible, Rejection
from hetsock.eligibility.inquiry import Inquiry
from hetsock.x12.dates import ccyymmdd, hhmmss
from hetsock.x12.rules import X12_ID_QUALIFIERS
from hetsock.x12.segments import DEFAULT_DELIMITERS, Delimiters
from hetsock.x12.writer import ControlNumbers, render_one_set

VERSION = "005010X279A1"

PART_A_SERVICE_TYPES = ("30", "42", "45", "48", "49", "69", "76", "83", "A5", "A7", "AG", "BT", "BU", "BV")
PART_B_SERVICE_TYPES = (
    "30", "2", "3", "23", "24", "25", "26", "27", "28", "33", "36", "37", "38", "39", "40", "42", "50",
    "51", "52", "53", "67", "69", "73", "76", "83", "86", "98", "A4", "A6", "A8", "AI", "AJ", "AK", "AL",
    "BT", "BU", "BV", "DM", "UC",
)  # fmt: skip

#: Skilled nursing days 21-100 of a benefit period carry the daily coinsurance: at most 80 left.
SNF_COINSURANCE_DAYS = 80

_UNSAFE_DELIMITERS = frozenset("-. ")

#: A segment's elements, ID first. The constant ones are tuples, shared by every reply.
Segment = Sequence[str]


def reply_delimiters(inquiry: Inquiry) -> Delimiters:
    d = inquiry.delimiters
    if _UNSAFE_DELIMITERS.isdisjoint((d.element, d.repetition, d.component, d.segment)):
        return d
    return DEFAULT_DELIMITERS


def money(cents: int) -> str:
    """An X12 R amount: ``992``, ``1632.5`` is written ``1632.50``."""
    dollars, rest = divmod(cents, 100)
    # Several per 271: % formatting is the faster one here, as in x12.dates.ccyymmdd.
    return "%d.%02d" % (dollars, rest) if rest else str(dollars)  # noqa: UP031


def _dtp(qualifier: str, period: Period) -> Segment:
    start, end = period
    if end and end != start:
        return ("DTP", qualifier, "RD8", f"{start}-{end}")
    return ("DTP", qualifier, "D8", start)


def _nm1(*elements: str) -> Segment:
    if elements[-1]:  # NM109 present (every 271 has such NM1s): nothing to trim
        return ("NM1", *elements)
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return ["NM1", *values]


def _n4(city: str, state: str, postal_code: str) -> Segment:
    """N4 without trailing empty elements (a record may lack the ZIP code, or the state)."""
    if postal_code:
        return ("N4", city, state, postal_code)
    return ("N4", city, state) if state else ("N4", city)


_SOURCE: tuple[Segment, ...] = (
    ("HL", "1", "", "20", "1"),
    ("NM1", "PR", "2", "CMS", "", "", "", "", "PI", "CMS"),
    ("PER", "IC", "", "UR", "WWW.CMS.GOV"),
)


def _source(rejection: Rejection | None) -> Sequence[Segment]:
    if rejection is not None and rejection.loop == "2100A":
        return [*_SOURCE, ("AAA", "N", "", rejection.reason, rejection.follow_up)]
    return _SOURCE


def _receiver(inquiry: Inquiry, rejection: Rejection | None) -> list[Segment]:
    p = inquiry.receiver
    body = [
        ("HL", "2", "1", "21", "1"),
        _nm1(p.entity_code, p.entity_type, p.name, p.first_name, p.middle_name, "", p.suffix, p.id_qualifier, p.id),
    ]
    if rejection is not None and rejection.loop == "2100B":
        body.append(("AAA", "N", "", rejection.reason, rejection.follow_up))
    return body


def _traces(inquiry: Inquiry) -> list[Segment]:
    return [
        ("TRN", "2", t.number, t.originator, t.additional) if t.additional else ("TRN", "2", t.number, t.originator)
        for t in inquiry.traces[:3]
    ]


def _subscriber_as_sent(inquiry: Inquiry, rejection: Rejection, window: tuple[str, str]) -> list[Segment]:
    s = inquiry.subscriber
    body = [_nm1("IL", "1", s.last_name, s.first_name, s.middle_name, "", s.suffix, s.id_qualifier, s.member_id)]
    if rejection.loop == "2100C":
        body.append(("AAA", "N", "", rejection.reason, rejection.follow_up))
    if s.birth_date is not None:
        birth = ccyymmdd(s.birth_date)
        body.append(("DMG", "D8", birth, s.gender) if s.gender else ("DMG", "D8", birth))
    if rejection.loop == "2100C":
        body.append(("DTP", "307", "RD8", f"{window[0]}-{window[1]}"))
    return body


def _subscriber_found(found: Eligible) -> list[Segment]:
    b = found.beneficiary
    body = [_nm1("IL", "1", b.last_name, b.first_name, b.middle_name, "", b.suffix, "MI", b.mbi)]
    a = b.address
    if a.line1:
        body.append(("N3", a.line1, a.line2) if a.line2 else ("N3", a.line1))
        body.append(_n4(a.city, a.state, a.postal_code))
    body.append(("DMG", "D8", b.birth_date, b.gender) if b.gender else ("DMG", "D8", b.birth_date))
    if found.via_previous_mbi or found.name_corrected:
        body.append(("INS", "Y", "18", "001", "25"))
    if b.death_date:
        body.append(("DTP", "442", "D8", b.death_date))
    return body


#: Every section: what ``30`` (or nothing but procedures) asks for.
_ALL_SECTIONS = frozenset(
    {"deductibles", "hospital", "snf", "advantage", "drug", "msp", "hospice", "home_health", "preventive"}
)


def _sections(asked: set[str]) -> frozenset[str] | set[str]:
    """The sections the asked service types name."""
    if "30" in asked or not asked:
        return _ALL_SECTIONS
    wanted = {"advantage", "msp"}
    if "42" in asked:
        wanted.add("home_health")
    if "45" in asked:
        wanted.add("hospice")
    if asked & {"47", "48"}:
        wanted |= {"hospital", "deductibles"}
    if "AG" in asked:
        wanted.add("snf")
    if "88" in asked:
        wanted.add("drug")
    return wanted


def _benefits(inquiry: Inquiry, found: Eligible, d: Delimiters) -> list[Segment]:
    """The 2110C EB loops. Segments are written out in full where they are made (no helper per
    EB: this runs for every 271); every EB here ends in a value, so none has trailing empty
    elements to trim."""
    b = found.beneficiary
    day = found.service_start
    asked = set(inquiry.service_types)
    sections = _sections(asked)
    procedure_codes = _procedure_codes(inquiry)
    out: list[Segment] = []
    part_a_types, part_b_types = service_type_lists(d.repetition)
    for part, insurance, types in (("A", "MA", part_a_types), ("B", "MB", part_b_types)):
        periods = [period for entitled, period in b.entitlements if entitled == part]
        if not periods:
            out.append(("EB", "6", "", "30", insurance))
            continue
        for period in periods:
            active = period.covers(day)
            out.append(("EB", "1" if active else "6", "", types if active else "30", insurance))
            out.append(_dtp("291", period))
            if b.esrd and part == "A" and active:
                out.append(("MSG", "ENTITLED BASED ON END STAGE RENAL DISEASE"))
    if "deductibles" in sections:
        for deductible in b.deductibles:
            insurance, base_period = ("MA", "26") if deductible.part == "A" else ("MB", "23")
            dates = _dtp("291", deductible.period)
            out.append(("EB", "C", "", "30", insurance, "", base_period, money(deductible.base_cents)))
            out.append(dates)
            out.append(("EB", "C", "", "30", insurance, "", "29", money(deductible.remaining_cents)))
            out.append(dates)
    for days in b.benefit_days:
        kind = days.kind
        if kind == "hospital" and "hospital" in sections:
            if days.coinsurance_cents:
                out.append(("EB", "B", "", "30", "MA", "", "7", money(days.coinsurance_cents)))
            out.append(("EB", "F", "", "48", "MA", "", "29", "", "", "DY", str(days.remaining)))
            out.append(_dtp("291", days.period))
        elif kind == "snf" and "snf" in sections:
            if days.coinsurance_cents:
                at_rate = str(min(days.remaining, SNF_COINSURANCE_DAYS))
                out.append(("EB", "B", "", "AG", "MA", "", "29", money(days.coinsurance_cents), "", "DY", at_rate))
            out.append(("EB", "F", "", "AG", "MA", "", "29", "", "", "DY", str(days.remaining)))
            out.append(_dtp("291", days.period))
        elif kind == "lifetime_reserve" and "hospital" in sections:
            out.append(("EB", "K", "", "30", "MA", "", "33", "", "", "DY", str(days.remaining)))
    for plan in b.advantage_plans:
        if "advantage" not in sections or not plan.period.overlaps(found.service_start, found.service_end):
            continue
        out.append(("EB", "R", "", "30", "HN"))
        out.append(("REF", "18", f"{plan.contract} {plan.pbp}"))
        out.append(_dtp("290", plan.period))
        out.append(_LS_2120)
        out.append(("NM1", "PRP", "2", plan.plan_name))
        if plan.address.line1:
            out.append(("N3", plan.address.line1))
            out.append(_n4(plan.address.city, plan.address.state, plan.address.postal_code))
        if plan.phone:
            out.append(("PER", "IC", "", "TE", plan.phone))
        out.append(_LE_2120)
    for drug in b.drug_plans:
        if "drug" not in sections or not drug.period.overlaps(found.service_start, found.service_end):
            continue
        out.extend(
            [
                ("EB", "R", "", "88"),
                ("REF", "18", f"{drug.contract} {drug.pbp}"),
                _dtp("292", drug.period),
                _LS_2120,
                ("NM1", "PR", "2", drug.plan_name),
                _LE_2120,
            ]
        )
    for payer in b.secondary_payers:
        if "msp" not in sections or not payer.period.overlaps(found.service_start, found.service_end):
            continue
        out.extend(
            [
                ("EB", "R", "", "30", payer.insurance_type),
                _dtp("290", payer.period),
                _LS_2120,
                ("NM1", "PRP", "2", payer.insurer),
                _LE_2120,
            ]
        )
    for election in b.hospice:
        if "hospice" in sections:
            out.extend(_provider_episode("45", "292", election.period, election.provider_npi))
    for episode in b.home_health:
        if "home_health" in sections:
            out.extend(_provider_episode("42", "472", episode.period, episode.agency_npi))
    answered: set[str] = set()
    procedure = "HC" + d.component
    for service in b.preventive:
        hcpcs = service.hcpcs
        if "preventive" in sections or service.service_type in asked or hcpcs in procedure_codes:
            out.append(("EB", "D", "", service.service_type, "MB", "", "", "", "", "", "", "", "", procedure + hcpcs))
            out.append(("DTP", "348", "D8", service.next_eligible))
            answered.add(hcpcs)
    for code in procedure_codes:
        if code not in answered:
            out.append(("EB", "D", "", "30", "MB", "", "", "", "", "", "", "", "", procedure + code))
            out.append(("MSG", "NO NEXT ELIGIBLE DATE ON FILE FOR THIS PROCEDURE"))
            answered.add(code)
    return out


_LS_2120: Segment = ("LS", "2120")
_LE_2120: Segment = ("LE", "2120")


@functools.lru_cache(maxsize=64)
def service_type_lists(repetition: str) -> tuple[str, str]:
    """EB03 of an active Part A and Part B entitlement, joined by ``repetition``. Keyed by the one
    character: a key holding the 39 codes would be hashed afresh on every call."""
    return repetition.join(PART_A_SERVICE_TYPES), repetition.join(PART_B_SERVICE_TYPES)


def _procedure_codes(inquiry: Inquiry) -> list[str]:
    return [p.code for p in inquiry.procedures if p.qualifier == "HC" and p.code]


def _provider_episode(service_type: str, qualifier: str, period: Period, npi: str) -> list[Segment]:
    return [
        ("EB", "X", "", service_type, "MA", "", "26"),
        _dtp(qualifier, period),
        _LS_2120,
        ("NM1", "1P", "2", "", "", "", "", "", "XX", npi),
        _LE_2120,
    ]


def render_271(
    inquiry: Inquiry,
    outcome: Eligible | Rejection,
    *,
    now: dt.datetime,
    control: ControlNumbers,
    window: tuple[str, str],
) -> str:
    """The 271 answering ``inquiry`` with ``outcome``; ``window`` is the allowed inquiry window
    (CCYYMMDD first and last day) that a 2100C rejection reports in ``DTP*307``."""
    d = reply_delimiters(inquiry)
    if d is not inquiry.delimiters:  # rare: values the request sent may hold our delimiters
        inquiry = _escaped(inquiry, d)
    rejection = outcome if isinstance(outcome, Rejection) else None
    stamp = date, time = ccyymmdd(now), hhmmss(now)  # BHT04/05, and the ISA's and GS's
    body: list[Segment] = [("BHT", "0022", "11", inquiry.reference, date, time)]
    body.extend(_source(rejection))
    body.extend(_receiver(inquiry, rejection))
    body.append(("HL", "3", "2", "22", "0"))
    body.extend(_traces(inquiry))
    if isinstance(outcome, Eligible):
        body.extend(_subscriber_found(outcome))
        body.extend(_benefits(inquiry, outcome, d))
    else:
        body.extend(_subscriber_as_sent(inquiry, outcome, window))
    return render_one_set(
        sender=(_qualifier(inquiry.receiver_qualifier), inquiry.receiver_id),
        receiver=(_qualifier(inquiry.sender_qualifier), inquiry.submitter_id),
        usage=inquiry.usage,
        stamp=stamp,
        control=control,
        delimiters=d,
        group=("HB", inquiry.group_receiver, inquiry.group_sender, VERSION),
        set_id="271",
        body=body,
    )


@functools.lru_cache(maxsize=8)
def _escape_table(d: Delimiters) -> dict[int, str]:
    return {ord(c): "?" for c in (d.element, d.repetition, d.component, d.segment)}


def _escaped(inquiry: Inquiry, d: Delimiters) -> Inquiry:
    """``inquiry`` with every value the 271 echoes (ISA06/08, GS02/03, BHT03, 2100B, TRNs, the
    2100C as sent, EQ02 codes) made safe in ``d``: a delimiter character becomes ``?``. Needed
    only when the reply's delimiters are not the request's, in which the values were legal. Same
    lengths, so an element's size limits still hold."""
    table = _escape_table(d)

    def clean(value: str) -> str:
        return value.translate(table)

    p, s = inquiry.receiver, inquiry.subscriber
    return attrs.evolve(
        inquiry,
        submitter_id=clean(inquiry.submitter_id),
        receiver_id=clean(inquiry.receiver_id),
        group_sender=clean(inquiry.group_sender),
        group_receiver=clean(inquiry.group_receiver),
        reference=clean(inquiry.reference),
        receiver=attrs.evolve(
            p,
            entity_code=clean(p.entity_code),
            name=clean(p.name),
            first_name=clean(p.first_name),
            middle_name=clean(p.middle_name),
            suffix=clean(p.suffix),
            id_qualifier=clean(p.id_qualifier),
            id=clean(p.id),
        ),
        subscriber=attrs.evolve(
            s,
            last_name=clean(s.last_name),
            first_name=clean(s.first_name),
            middle_name=clean(s.middle_name),
            suffix=clean(s.suffix),
            id_qualifier=clean(s.id_qualifier),
            member_id=clean(s.member_id),
            gender=clean(s.gender),
        ),
        traces=tuple(
            attrs.evolve(t, number=clean(t.number), originator=clean(t.originator), additional=clean(t.additional))
            for t in inquiry.traces
        ),
        procedures=tuple(attrs.evolve(q, code=clean(q.code)) for q in inquiry.procedures),
    )


def _qualifier(value: str) -> str:
    return value if value in X12_ID_QUALIFIERS else "ZZ"
