"""The Medicare beneficiary record: everything a 271 reports, as typed, immutable values.

Dates are X12 ``CCYYMMDD`` strings (``"20050401"``): they order like dates, compare with a
270's dates without conversion, and go into a 271 as they are. An open-ended period has
``end == ""``. Amounts are whole cents (``int``), rendered as X12 R values by the 271 writer.

Every field that identifies a person (MBI, names, birth and death dates, gender, address,
policy number) is ``repr=False`` on an attrs class: no repr, traceback or log line built from a
:class:`Beneficiary` shows them. The benefit records that identify nobody (periods,
entitlements, deductibles, plans, provider episodes) are ``NamedTuple``s: immutable, typed, and
cheap, because a lookup builds a dozen of them per inquiry on the hot path (``from_document``
builds them with ``tuple.__new__``, in C, rather than through NamedTuple's Python ``__new__``).

``Beneficiary.to_document()`` / ``from_document()`` turn a record into plain JSON-ready data and
back; the stores keep that document, one row per beneficiary, keyed by MBI.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

OPEN = ""  #: the ``end`` of a period that has not ended


class Period(NamedTuple):
    """A span of days, ``start`` to ``end`` inclusive (``end == ""``: still open)."""

    start: str
    end: str = OPEN

    def covers(self, day: str) -> bool:
        return self.start <= day and (self.end == OPEN or day <= self.end)

    def overlaps(self, first: str, last: str) -> bool:
        return self.start <= last and (self.end == OPEN or first <= self.end)


@attrs.frozen
class Address:
    line1: str = attrs.field(repr=False)
    line2: str = attrs.field(repr=False, default="")
    city: str = attrs.field(repr=False, default="")
    state: str = attrs.field(repr=False, default="")
    postal_code: str = attrs.field(repr=False, default="")


class Entitlement(NamedTuple):
    """Part A or Part B entitlement over a period (ended and future periods included)."""

    part: str  #: "A" or "B"
    period: Period


class Deductible(NamedTuple):
    """A Part A (benefit period) or Part B (calendar year) deductible: base and remaining, in cents."""

    part: str
    period: Period
    base_cents: int
    remaining_cents: int


class BenefitDays(NamedTuple):
    """Inpatient hospital, skilled nursing, or lifetime reserve days in a benefit period."""

    kind: str  #: "hospital", "snf" or "lifetime_reserve"
    period: Period
    used: int
    remaining: int
    #: Daily coinsurance in cents once the full-coverage days are used (0: none).
    coinsurance_cents: int = 0


class PlanEnrollment(NamedTuple):
    """A Medicare Advantage enrollment (the 2120C plan loop)."""

    contract: str  #: e.g. H1234
    pbp: str  #: plan benefit package, e.g. 001
    plan_name: str
    period: Period
    address: Address = Address("")
    phone: str = ""


class DrugPlanEnrollment(NamedTuple):
    """A Part D enrollment."""

    contract: str
    pbp: str
    plan_name: str
    period: Period


@attrs.frozen
class SecondaryPayer:
    """A Medicare Secondary Payer period: EB04 insurance type code and the primary insurer."""

    insurance_type: str  #: 12, 13, 14, 15, 16, 41, 42, 43, 47 or WC
    insurer: str
    period: Period
    policy_number: str = attrs.field(repr=False, default="")


class HospiceElection(NamedTuple):
    provider_npi: str
    period: Period


class HomeHealthEpisode(NamedTuple):
    agency_npi: str
    period: Period


class PreventiveService(NamedTuple):
    """A preventive service (HCPCS) and the next day it can be paid for."""

    hcpcs: str
    service_type: str  #: the EB03 service type it is reported under, e.g. "BT" or "30"
    next_eligible: str


@attrs.frozen
class Beneficiary:
    """One Medicare beneficiary as the eligibility database holds them."""

    mbi: str = attrs.field(repr=False)
    last_name: str = attrs.field(repr=False)
    first_name: str = attrs.field(repr=False)
    birth_date: str = attrs.field(repr=False)
    gender: str = attrs.field(repr=False)  #: "F", "M" or "U"
    middle_name: str = attrs.field(repr=False, default="")
    suffix: str = attrs.field(repr=False, default="")
    address: Address = attrs.field(repr=False, default=Address(""))
    death_date: str = attrs.field(repr=False, default="")
    #: Earlier MBIs that now map to this one.
    previous_mbis: tuple[str, ...] = attrs.field(repr=False, default=())
    esrd: bool = False
    entitlements: tuple[Entitlement, ...] = ()
    deductibles: tuple[Deductible, ...] = ()
    benefit_days: tuple[BenefitDays, ...] = ()
    advantage_plans: tuple[PlanEnrollment, ...] = ()
    drug_plans: tuple[DrugPlanEnrollment, ...] = ()
    secondary_payers: tuple[SecondaryPayer, ...] = ()
    hospice: tuple[HospiceElection, ...] = ()
    home_health: tuple[HomeHealthEpisode, ...] = ()
    preventive: tuple[PreventiveService, ...] = ()

    def to_document(self) -> dict[str, Any]:
        """Plain data for a store (JSON-ready); :meth:`from_document` is its inverse."""
        a = self.address
        doc: dict[str, Any] = {
            "v": 1,
            "mbi": self.mbi,
            "name": [self.last_name, self.first_name, self.middle_name, self.suffix],
            "dob": self.birth_date,
            "sex": self.gender,
            "addr": [a.line1, a.line2, a.city, a.state, a.postal_code],
        }
        if self.death_date:
            doc["dod"] = self.death_date
        if self.previous_mbis:
            doc["prev"] = list(self.previous_mbis)
        if self.esrd:
            doc["esrd"] = True
        if self.entitlements:
            doc["ent"] = [[e.part, e.period.start, e.period.end] for e in self.entitlements]
        if self.deductibles:
            doc["ded"] = [
                [d.part, d.period.start, d.period.end, d.base_cents, d.remaining_cents] for d in self.deductibles
            ]
        if self.benefit_days:
            doc["days"] = [
                [b.kind, b.period.start, b.period.end, b.used, b.remaining, b.coinsurance_cents]
                for b in self.benefit_days
            ]
        if self.advantage_plans:
            doc["ma"] = [
                [
                    p.contract,
                    p.pbp,
                    p.plan_name,
                    p.period.start,
                    p.period.end,
                    [p.address.line1, p.address.line2, p.address.city, p.address.state, p.address.postal_code],
                    p.phone,
                ]
                for p in self.advantage_plans
            ]
        if self.drug_plans:
            doc["pdp"] = [[p.contract, p.pbp, p.plan_name, p.period.start, p.period.end] for p in self.drug_plans]
        if self.secondary_payers:
            doc["msp"] = [
                [m.insurance_type, m.insurer, m.period.start, m.period.end, m.policy_number]
                for m in self.secondary_payers
            ]
        if self.hospice:
            doc["hospice"] = [[h.provider_npi, h.period.start, h.period.end] for h in self.hospice]
        if self.home_health:
            doc["hh"] = [[h.agency_npi, h.period.start, h.period.end] for h in self.home_health]
        if self.preventive:
            doc["prev_svc"] = [[p.hcpcs, p.service_type, p.next_eligible] for p in self.preventive]
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Beneficiary:
        """The record a store's document holds (trusted: the store wrote it).

        On the hot path (one per inquiry): absent sections cost a dict lookup, nothing more.
        Rows are unpacked, so a row of the wrong length raises ``ValueError`` (the store then
        reports a document that does not decode).
        """
        last, first, middle, suffix = doc["name"]
        get = doc.get
        ent = get("ent")
        ded = get("ded")
        days = get("days")
        ma = get("ma")
        pdp = get("pdp")
        msp = get("msp")
        hospice = get("hospice")
        hh = get("hh")
        preventive = get("prev_svc")
        new = _new
        return cls(
            doc["mbi"],
            last,
            first,
            doc["dob"],
            doc["sex"],
            middle,
            suffix,
            Address(*doc["addr"]),
            get("dod", ""),
            tuple(get("prev", ())),
            get("esrd", False),
            tuple([new(Entitlement, (p, new(Period, (s, e)))) for p, s, e in ent]) if ent else (),
            tuple([new(Deductible, (p, new(Period, (s, e)), b, r)) for p, s, e, b, r in ded]) if ded else (),
            tuple([new(BenefitDays, (k, new(Period, (s, e)), u, r, c)) for k, s, e, u, r, c in days]) if days else (),
            tuple([PlanEnrollment(c, p, n, Period(s, e), Address(*a), t) for c, p, n, s, e, a, t in ma]) if ma else (),
            tuple([new(DrugPlanEnrollment, (c, p, n, new(Period, (s, e)))) for c, p, n, s, e in pdp]) if pdp else (),
            tuple([SecondaryPayer(t, i, Period(s, e), n) for t, i, s, e, n in msp]) if msp else (),
            tuple([new(HospiceElection, (n, new(Period, (s, e)))) for n, s, e in hospice]) if hospice else (),
            tuple([new(HomeHealthEpisode, (n, new(Period, (s, e)))) for n, s, e in hh]) if hh else (),
            tuple([new(PreventiveService, (h, t, d)) for h, t, d in preventive]) if preventive else (),
        )


#: Builds a NamedTuple row from all its values, in C: ``Period(s, e)`` runs the Python-level
#: ``__new__`` that NamedTuple generates (for its defaults), about twice the cost, and a record
#: holds a dozen such rows. Only for rows that give every field.
_new = tuple.__new__
