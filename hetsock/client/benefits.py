"""The benefits of a Medicare 271, decoded: entitlement, deductibles, days, plans, episodes (sans-IO).

Theory of operation
-------------------
A 271's 2110C loops each start with an EB segment and run to the next EB (or the SE); the REF,
DTP, MSG and HSD segments in a loop qualify its EB, and an ``LS*2120`` ... ``LE*2120`` pair
holds the 2120C related entity (a plan, an insurer, a hospice or home health agency: NM1, N3,
N4, PER). :func:`decode_coverage_untrusted` reads every loop into a generic :class:`Benefit`,
then recognizes the Medicare patterns (HETS-NOTES section 6) among them into typed records:

========================================  ===========================================
EB pattern                                record
========================================  ===========================================
``EB*1`` / ``EB*6`` ``**30...*MA|MB``      :class:`PartEntitlement` (active or not, DTP*291)
``EB*C**30*MA|MB**26|23|29*<amount>``      :class:`DeductibleStatus` (base and remaining)
``EB*B|F**30|48|AG*MA``                   :class:`BenefitDays` (hospital: B 30 or 48, F 48; SNF: AG)
``EB*K**30*MA**33``                       :class:`BenefitDays` (lifetime reserve)
``EB*R**30*HN`` + REF*18, DTP*290          :class:`PlanEnrollment` Medicare Advantage
``EB*R**88`` + REF*18, DTP*292             :class:`PlanEnrollment` Part D
``EB*R**30*<12,13,14,...>`` + DTP*290      :class:`SecondaryPayer` (Medicare is secondary)
``EB*X**45*MA**26`` + DTP*292              :class:`ProviderEpisode` hospice
``EB*X**42*MA**26`` + DTP*472              :class:`ProviderEpisode` home health
``EB*D**<stc>*MB...HC:<HCPCS>`` + DTP*348  :class:`PreventiveService` next eligible date
========================================  ===========================================

and from 2100C: ``DTP*442`` (date of death) and ``INS*Y*18*001*25`` (identifying data changed:
the MBI sent was an earlier one, or the name sent was corrected; NM1 holds the record's). Loops
that match no pattern stay in :attr:`Coverage.benefits` only. Peer bytes: nothing here raises; a
value that does not parse (a date, an amount) reads as ``None``.
"""

from __future__ import annotations

import datetime as dt
import decimal

import attrs

from hetsock.x12.segments import Delimiters, Segment, split_element


def parse_date(value: str) -> dt.date | None:
    """A CCYYMMDD date, or ``None`` when ``value`` is not one."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_amount(value: str) -> decimal.Decimal | None:
    """An X12 R value (``992``, ``1632.50``) as a Decimal, or ``None``."""
    if not value or len(value) > 18:
        return None
    try:
        amount = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _quantity(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 9 else None


@attrs.frozen
class Dates:
    """A DTP segment: qualifier and period (D8 gives ``start`` only; RD8 both ends)."""

    qualifier: str
    start: dt.date | None
    end: dt.date | None = None


@attrs.frozen
class RelatedEntity:
    """A 2120C loop: who the benefit relates to (a plan, an insurer, a provider)."""

    entity_code: str  #: NM101: PRP primary payer, PR payer, 1P provider
    name: str
    id_qualifier: str = ""
    id: str = ""
    phone: str = ""
    address: tuple[str, ...] = ()


@attrs.frozen
class Benefit:
    """One 2110C loop as sent: the EB elements and what qualifies them."""

    info: str  #: EB01: 1 active, 6 inactive, C deductible, B co-payment, F limitations, R other payer ...
    service_types: tuple[str, ...]  #: EB03 repetitions
    insurance_type: str  #: EB04: MA Part A, MB Part B, HN HMO, 12-16/41-47 Medicare secondary ...
    period_qualifier: str = ""  #: EB06: 7 day, 23 calendar year, 26 episode, 29 remaining, 33 lifetime remaining
    amount: decimal.Decimal | None = None  #: EB07
    quantity_qualifier: str = ""  #: EB09
    quantity: int | None = None  #: EB10
    procedure: str = ""  #: EB13-2, e.g. a HCPCS code
    coverage_level: str = ""  #: EB02
    dates: tuple[Dates, ...] = ()
    references: tuple[tuple[str, str], ...] = ()  #: REF01, REF02
    messages: tuple[str, ...] = ()
    entity: RelatedEntity | None = None

    def date(self, qualifier: str) -> Dates | None:
        """The first DTP with ``qualifier``."""
        return next((d for d in self.dates if d.qualifier == qualifier), None)

    def reference(self, qualifier: str) -> str:
        return next((value for q, value in self.references if q == qualifier), "")


@attrs.frozen
class PartEntitlement:
    """Part A or Part B: active (EB*1) or not (EB*6) over a period."""

    part: str  #: "A" or "B"
    active: bool
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class DeductibleStatus:
    """A Part A (per benefit period) or Part B (per calendar year) deductible."""

    part: str
    base: decimal.Decimal | None
    remaining: decimal.Decimal | None
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class BenefitDays:
    """Hospital, skilled nursing or lifetime reserve days."""

    kind: str  #: "hospital", "skilled nursing" or "lifetime reserve"
    remaining: int | None
    coinsurance_per_day: decimal.Decimal | None
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class PlanEnrollment:
    """A Medicare Advantage or Part D plan."""

    contract: str  #: e.g. H1234 (REF*18's first word)
    pbp: str  #: the plan benefit package, e.g. 001
    name: str
    start: dt.date | None
    end: dt.date | None
    phone: str = ""


@attrs.frozen
class SecondaryPayer:
    """Medicare Secondary Payer: another insurer pays first."""

    insurance_type: str  #: EB04: 12 working aged, 13 ESRD, 14 no-fault, 15 workers' comp ...
    insurer: str
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class ProviderEpisode:
    """A hospice election or a home health episode, with the provider's NPI."""

    npi: str
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class PreventiveService:
    """A preventive service and the next day Medicare pays for it (``None``: no date on file)."""

    hcpcs: str
    service_type: str
    next_eligible: dt.date | None


@attrs.frozen
class Coverage:
    """What a 271 says about a beneficiary's Medicare coverage."""

    benefits: tuple[Benefit, ...] = ()
    entitlements: tuple[PartEntitlement, ...] = ()
    deductibles: tuple[DeductibleStatus, ...] = ()
    benefit_days: tuple[BenefitDays, ...] = ()
    advantage_plans: tuple[PlanEnrollment, ...] = ()
    drug_plans: tuple[PlanEnrollment, ...] = ()
    secondary_payers: tuple[SecondaryPayer, ...] = ()
    hospice: tuple[ProviderEpisode, ...] = ()
    home_health: tuple[ProviderEpisode, ...] = ()
    preventive: tuple[PreventiveService, ...] = ()
    #: DTP*442 in 2100C (patient data: no repr).
    death_date: dt.date | None = attrs.field(default=None, repr=False)
    #: INS*Y*18*001*25: the MBI or name sent changed (an earlier MBI, a corrected name); the
    #: 2100C NM1 holds the record's. Which one changed: compare NM1 with what was sent.
    identity_changed: bool = False
    #: A MSG in the Part A loop says the entitlement is based on end stage renal disease.
    esrd: bool = False

    def entitlement(self, part: str) -> PartEntitlement | None:
        """The Part ``part`` entitlement: the active one if any, else the latest."""
        periods = [e for e in self.entitlements if e.part == part]
        active = [e for e in periods if e.active]
        chosen = active or periods
        return chosen[0] if chosen else None


_MEDICARE_SECONDARY_TYPES = frozenset({"12", "13", "14", "15", "16", "41", "42", "43", "47", "WC"})


def decode_coverage_untrusted(segments: list[Segment], d: Delimiters) -> Coverage:
    """The coverage a 271's segments state (all of one interchange; the first 2000C is read).
    Never raises; linear in the number of segments."""
    in_subscriber = False
    death: dt.date | None = None
    changed = False
    loops: list[list[Segment]] = []
    for s in segments:
        sid = s.id
        if sid == "HL":
            if in_subscriber:
                break  # a second subscriber: HETS sends one
            in_subscriber = s.get(3) == "22"
        elif not in_subscriber:
            continue
        elif sid in ("SE", "GE", "IEA"):
            break
        elif sid == "EB":
            loops.append([s])
        elif loops:
            loops[-1].append(s)
        elif sid == "DTP" and s.get(1) == "442":
            death = _dates(s).start
        elif sid == "INS" and s.get(1) == "Y" and s.get(4) == "25":
            changed = True
    benefits = tuple(_benefit(loop, d) for loop in loops)
    return _classify(benefits, death, changed)


def _dates(s: Segment) -> Dates:
    value = s.get(3)
    if s.get(2) == "RD8":
        start, _, end = value.partition("-")
        return Dates(s.get(1), parse_date(start), parse_date(end))
    return Dates(s.get(1), parse_date(value))


def _benefit(loop: list[Segment], d: Delimiters) -> Benefit:
    eb = loop[0]
    dates: list[Dates] = []
    references: list[tuple[str, str]] = []
    messages: list[str] = []
    entity: RelatedEntity | None = None
    in_entity = False
    for s in loop[1:]:
        sid = s.id
        if sid == "LS":
            in_entity = True
        elif sid == "LE":
            in_entity = False
        elif in_entity:
            if sid == "NM1":
                entity = RelatedEntity(s.get(1), " ".join(v for v in (s.get(3), s.get(4)) if v), s.get(8), s.get(9))
            elif entity is not None and sid == "PER":
                phone = next((s.get(i + 1) for i in (3, 5, 7) if s.get(i) == "TE"), "")
                entity = attrs.evolve(entity, phone=entity.phone or phone)
            elif entity is not None and sid in ("N3", "N4"):
                entity = attrs.evolve(entity, address=entity.address + tuple(v for v in s.elements[1:] if v))
        elif sid == "DTP":
            dates.append(_dates(s))
        elif sid == "REF":
            references.append((s.get(1), s.get(2)))
        elif sid == "MSG":
            messages.append(s.get(1))
    procedure = split_element(eb.get(13), d)[0] if eb.get(13) else ()
    return Benefit(
        info=eb.get(1),
        coverage_level=eb.get(2),
        service_types=tuple(rep[0] for rep in split_element(eb.get(3), d) if rep[0]) if eb.get(3) else (),
        insurance_type=eb.get(4),
        period_qualifier=eb.get(6),
        amount=parse_amount(eb.get(7)),
        quantity_qualifier=eb.get(9),
        quantity=_quantity(eb.get(10)),
        procedure=procedure[1] if len(procedure) > 1 else "",
        dates=tuple(dates),
        references=tuple(references),
        messages=tuple(messages),
        entity=entity,
    )


def _period(benefit: Benefit, qualifier: str) -> tuple[dt.date | None, dt.date | None]:
    found = benefit.date(qualifier)
    return (found.start, found.end) if found else (None, None)


def _plan(benefit: Benefit, qualifier: str) -> PlanEnrollment:
    contract, _, pbp = benefit.reference("18").partition(" ")
    start, end = _period(benefit, qualifier)
    entity = benefit.entity
    return PlanEnrollment(contract, pbp, entity.name if entity else "", start, end, entity.phone if entity else "")


def _classify(benefits: tuple[Benefit, ...], death: dt.date | None, changed: bool) -> Coverage:
    entitlements: list[PartEntitlement] = []
    deductibles: dict[tuple[str, dt.date | None, dt.date | None], list[decimal.Decimal | None]] = {}
    last_deductible: dict[str, tuple[str, dt.date | None, dt.date | None]] = {}  # by part
    days: list[BenefitDays] = []
    coinsurance: dict[str, decimal.Decimal | None] = {}
    advantage: list[PlanEnrollment] = []
    drugs: list[PlanEnrollment] = []
    secondary: list[SecondaryPayer] = []
    hospice: list[ProviderEpisode] = []
    home_health: list[ProviderEpisode] = []
    preventive: list[PreventiveService] = []
    esrd = False
    for b in benefits:
        types = b.service_types
        first_type = types[0] if types else ""
        part = {"MA": "A", "MB": "B"}.get(b.insurance_type, "")
        if b.info in ("1", "6") and part and not b.period_qualifier:
            start, end = _period(b, "291")
            entitlements.append(PartEntitlement(part, b.info == "1", start, end))
            esrd = esrd or any("RENAL" in m for m in b.messages)
        elif b.info == "C" and part and b.period_qualifier in ("26", "23", "29"):
            start, end = _period(b, "291")
            key = (part, start, end)
            if b.period_qualifier == "29" and not b.date("291") and part in last_deductible:
                key = last_deductible[part]  # CMS's shape: the remaining amount without a DTP of its own
            last_deductible[part] = key
            pair = deductibles.setdefault(key, [None, None])
            pair[1 if b.period_qualifier == "29" else 0] = b.amount
        elif b.info == "B" and b.insurance_type == "MA" and first_type in ("30", "48", "AG"):
            coinsurance["AG" if first_type == "AG" else "48"] = b.amount  # hospital: 30 (CMS's shape) or 48
        elif b.info == "F" and b.insurance_type == "MA" and first_type in ("48", "AG"):
            start, end = _period(b, "291")
            kind = "hospital" if first_type == "48" else "skilled nursing"
            days.append(BenefitDays(kind, b.quantity, coinsurance.pop(first_type, None), start, end))
        elif b.info == "K" and b.insurance_type == "MA":
            start, end = _period(b, "291")
            days.append(BenefitDays("lifetime reserve", b.quantity, None, start, end))
        elif b.info == "R" and first_type == "30" and b.insurance_type == "HN":
            advantage.append(_plan(b, "290"))
        elif b.info == "R" and first_type == "88":
            drugs.append(_plan(b, "292"))
        elif b.info == "R" and b.insurance_type in _MEDICARE_SECONDARY_TYPES:
            start, end = _period(b, "290")
            secondary.append(SecondaryPayer(b.insurance_type, b.entity.name if b.entity else "", start, end))
        elif b.info == "X" and first_type in ("45", "42"):
            npi = b.entity.id if b.entity else ""
            if first_type == "45":
                hospice.append(ProviderEpisode(npi, *_period(b, "292")))
            else:
                home_health.append(ProviderEpisode(npi, *_period(b, "472")))
        elif b.info == "D" and b.procedure:
            found = b.date("348")
            preventive.append(PreventiveService(b.procedure, first_type, found.start if found else None))
    for service_type, amount in coinsurance.items():  # a coinsurance without an EB*F of days left (CMS's shape)
        days.append(BenefitDays("hospital" if service_type == "48" else "skilled nursing", None, amount, None, None))
    return Coverage(
        benefits=benefits,
        entitlements=tuple(entitlements),
        deductibles=tuple(
            DeductibleStatus(part, base, remaining, start, end)
            for (part, start, end), (base, remaining) in deductibles.items()
        ),
        benefit_days=tuple(days),
        advantage_plans=tuple(advantage),
        drug_plans=tuple(drugs),
        secondary_payers=tuple(secondary),
        hospice=tuple(hospice),
        home_health=tuple(home_health),
        preventive=tuple(preventive),
        death_date=death,
        identity_changed=changed,
        esrd=esrd,
    )
