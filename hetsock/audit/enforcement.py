"""Enforcement: CMS's per-submitter rules, judged on the audit trail (HETS-NOTES section 4).

Two rules, thresholds in ``[enforcement]`` (the report measures against the same ones; the
server acts on them only with ``enabled = true``):

* **valid linked NPI**: of a submitter's 271 transactions (with or without AAA) received over the
  last ``npi_window`` (24 hours), at least ``npi_threshold`` (99.5 %) must carry a valid NPI linked
  to the submitter (no AAA 43 or 41). Judged once there are ``min_transactions`` (200) in the
  window, so one early mistake cannot suspend anyone. Under it, the whole submitter is suspended
  for ``submitter_suspension`` (24 hours, as HETS): its requests get ``SBY00502``.
* **repeated inquiries**: more than ``repeat_limit`` inquiries (271s, with or without AAA) from one
  submitter for one NPI and one beneficiary (the MBI's keyed hash) on one day suspend that
  submitter/NPI link for ``link_suspension``: requests naming that NPI get AAA 41 (not linked).
  They still count as transactions without a linked NPI, so a submitter that keeps sending for a
  suspended link goes on to earn the submitter suspension, as at CMS.

:func:`check` runs after every batch the audit writer commits, for the submitters and pairs in
the batch, so a breach is caught within a flush interval; it reads the database, not the batch
alone, so it sees every worker's traffic. A target already suspended is not judged again, and
after a suspension ends (expired or reinstated) only traffic from then on counts: a reinstated
submitter starts afresh. Recording a suspension is idempotent across workers
(:meth:`~hetsock.audit.database.AuditDatabase.suspend` refuses a second active one).

:func:`apply_suspensions` lays the active suspensions over the registry read from its file; the
server answers with the result (see :class:`hetsock.audit.trail.SuspensionWatcher`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import attrs

from hetsock.audit.database import AuditDatabase, Reason, Suspension, Target, Usage
from hetsock.audit.record import AuditRecord
from hetsock.config import EnforcementConfig
from hetsock.registry import Registry


def under_threshold(usage: Usage, policy: EnforcementConfig) -> bool:
    """Whether ``usage`` breaks the valid-linked-NPI rule (judged from ``min_transactions`` on)."""
    return usage.total >= policy.min_transactions and usage.valid < policy.npi_threshold * usage.total


def check(
    database: AuditDatabase, records: Sequence[AuditRecord], *, now: float, policy: EnforcementConfig
) -> list[Suspension]:
    """The suspensions the traffic in ``records`` now earns, recorded in ``database``; returns
    those this call recorded (another worker may have recorded the same one first)."""
    active = {s.target for s in database.suspensions(now=now)}
    submitters = {
        r.submitter for r in records if r.npi_ok is not None and r.submitter and (r.submitter, "") not in active
    }
    pairs = {
        (r.submitter, r.npi, r.mbi_hash, r.day)
        for r in records
        if r.mbi_hash
        and r.npi
        and r.submitter
        and (r.submitter, "") not in active
        and (r.submitter, r.npi) not in active
    }
    targets: set[Target] = {(s, "") for s in submitters} | {(p[0], p[1]) for p in pairs}
    ended = database.last_ended(targets, now=now) if targets else {}
    candidates: list[Suspension] = []
    if submitters:
        since = {s: max(now - policy.npi_window, ended.get((s, ""), -math.inf)) for s in submitters}
        for submitter, usage in sorted(database.npi_usage(sorted(submitters), since).items()):
            if under_threshold(usage, policy):
                share = usage.valid / usage.total
                detail = (
                    f"{usage.valid} of {usage.total} transactions ({share:.2%}) with a valid linked NPI, "
                    f"under {policy.npi_threshold:.1%}"
                )
                until = now + policy.submitter_suspension
                candidates.append(Suspension(submitter, "", Reason.NPI_THRESHOLD, detail, now, until))
    if pairs:
        counts = database.pair_counts(sorted(pairs), {t: e for t, e in ended.items() if t[1]})
        seen: set[Target] = set()
        for (submitter, npi, _, day), count in sorted(counts.items()):
            if count > policy.repeat_limit and (submitter, npi) not in seen:
                seen.add((submitter, npi))
                detail = f"{count} inquiries for one beneficiary on {day}, over the limit of {policy.repeat_limit}"
                until = now + policy.link_suspension
                candidates.append(Suspension(submitter, npi, Reason.REPEATS, detail, now, until))
    return [s for s in candidates if database.suspend(s, now=now)]


def apply_suspensions(registry: Registry, suspensions: Iterable[Suspension]) -> Registry:
    """``registry`` with each suspended submitter's status ``suspended`` and each suspended
    link's NPI taken off its submitter (submitters the registry does not know are ignored)."""
    submitters = dict(registry.submitters)
    changed = False
    for suspension in suspensions:
        submitter = submitters.get(suspension.submitter)
        if submitter is None:
            continue
        if suspension.npi:
            submitters[submitter.id] = attrs.evolve(submitter, npis=submitter.npis - {suspension.npi})
        else:
            submitters[submitter.id] = attrs.evolve(submitter, status="suspended")
        changed = True
    return Registry(submitters) if changed else registry


def describe_time(moment: float | None) -> str:
    """A suspension time for people and log lines: local ISO time to the second, '-' for none."""
    if moment is None:
        return "-"
    return dt.datetime.fromtimestamp(moment).isoformat(timespec="seconds")
