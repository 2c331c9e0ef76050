"""``hetsock audit report``: CMS's per-submitter measures over the audit trail (pure).

:func:`build_report` reads records once, oldest first, and works out, per submitter and per NPI
under it (records that name no NPI, such as TA1s, 999s and proprietary errors, count for the
submitter only):

* **volume**: requests answered, by reply kind, and how many replies could not be delivered;
* **valid linked NPI**: of the 271 transactions (with or without AAA; the only replies for which
  an NPI was judged), the share with a valid NPI linked to the submitter (no AAA 43 or 41),
  against ``npi_threshold`` (99.5 %);
* **AAA rates**: each AAA reason's count and share of the 271 transactions;
* **repeated inquiries**: (NPI, beneficiary, day) groups with more than ``repeat_limit``
  inquiries, the inquiries beyond the limit, and the largest group; the beneficiary appears
  only as the first 12 characters of the MBI's keyed hash;
* **service type A7**: transactions asking for it, and their share;
* **latency**: 50th, 95th and 99th percentiles (nearest rank) and the maximum, milliseconds.

:func:`render_table` writes it for a person, :meth:`Report.to_json` for a machine. Nothing here
holds patient data: the records it reads have none.
"""

from __future__ import annotations

import array
import collections
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from hetsock.audit.database import AuditDatabase, RepeatGroup
from hetsock.audit.record import AuditRecord
from hetsock.pipeline import ReplyKind

_TRANSACTIONS = frozenset({ReplyKind.ELIGIBILITY.value, ReplyKind.REJECTION.value})
#: Characters of the MBI hash a report shows.
HASH_SHOWN = 12


@attrs.frozen
class Repeat:
    """One (NPI, beneficiary, day) group over the repeat limit."""

    npi: str
    beneficiary: str  #: the start of the MBI's keyed hash
    day: str
    inquiries: int


@attrs.frozen
class Figures:
    """The measures for one submitter, or one NPI under it."""

    requests: int
    kinds: dict[str, int]
    undelivered: int
    transactions: int
    valid_npi: int
    aaa: dict[str, int]
    repeats: tuple[Repeat, ...]
    a7: int
    latency_ms: dict[str, float]

    def npi_share(self) -> float | None:
        return self.valid_npi / self.transactions if self.transactions else None

    def meets(self, threshold: float) -> bool | None:
        share = self.npi_share()
        return None if share is None else share >= threshold

    @property
    def repeated_inquiries(self) -> int:
        return sum(r.inquiries for r in self.repeats)

    def to_json(self, threshold: float, repeat_limit: int) -> dict[str, Any]:
        per = self.transactions or 1
        return {
            "requests": self.requests,
            "kinds": dict(sorted(self.kinds.items())),
            "undelivered": self.undelivered,
            "transactions": self.transactions,
            "valid_linked_npi": self.valid_npi,
            "valid_linked_npi_share": self.npi_share(),
            "meets_npi_threshold": self.meets(threshold),
            "aaa": {code: {"count": n, "rate": n / per} for code, n in sorted(self.aaa.items())},
            "aaa_rate": sum(self.aaa.values()) / per if self.transactions else None,
            "repeated": {
                "groups": len(self.repeats),
                "inquiries": self.repeated_inquiries,
                "beyond_limit": sum(r.inquiries - repeat_limit for r in self.repeats),
                "largest": max((r.inquiries for r in self.repeats), default=0),
                "list": [attrs.asdict(r) for r in self.repeats],
            },
            "a7": {"count": self.a7, "share": self.a7 / per if self.transactions else None},
            "latency_ms": self.latency_ms,
        }


@attrs.frozen
class SubmitterReport:
    submitter: str  #: '' for requests that named no known submitter
    figures: Figures
    npis: dict[str, Figures]


@attrs.frozen
class Report:
    since: float | None
    until: float | None
    npi_threshold: float
    repeat_limit: int
    submitters: tuple[SubmitterReport, ...]
    total: Figures

    def to_json(self) -> dict[str, Any]:
        def when(moment: float | None) -> str | None:
            return None if moment is None else dt.datetime.fromtimestamp(moment).isoformat(timespec="seconds")

        t, limit = self.npi_threshold, self.repeat_limit
        return {
            "since": when(self.since),
            "until": when(self.until),
            "npi_threshold": t,
            "repeat_limit": limit,
            "total": self.total.to_json(t, limit),
            "submitters": [
                {
                    "submitter": s.submitter,
                    **s.figures.to_json(t, limit),
                    "npis": {npi: f.to_json(t, limit) for npi, f in sorted(s.npis.items())},
                }
                for s in self.submitters
            ],
        }


@attrs.frozen
class RepeatGroups:
    """The repeat groups as the audit database counted them (:meth:`AuditDatabase.repeat_groups`)."""

    groups: Sequence[RepeatGroup]

    @classmethod
    def read(
        cls, database: AuditDatabase, *, since: float | None, until: float | None, submitter: str | None, limit: int
    ) -> RepeatGroups:
        return cls(database.repeat_groups(since=since, until=until, submitter=submitter, limit=limit))


@attrs.define
class _Tally:
    """One row's counters. Memory per record: one latency (8 bytes, in an array), and with
    ``count_pairs`` a key per (NPI, beneficiary, day); without it the repeat groups come from the
    database."""

    count_pairs: bool = True
    requests: int = 0
    kinds: collections.Counter[str] = attrs.field(factory=collections.Counter)
    undelivered: int = 0
    transactions: int = 0
    valid_npi: int = 0
    aaa: collections.Counter[str] = attrs.field(factory=collections.Counter)
    #: (submitter, NPI, beneficiary, day): the total's groups are per submitter too (two
    #: submitters' inquiries do not add up to a repeat neither made).
    pairs: collections.Counter[tuple[str, str, str, str]] = attrs.field(factory=collections.Counter)
    a7: int = 0
    latencies: array.array[float] = attrs.field(factory=lambda: array.array("d"))

    def add(self, record: AuditRecord) -> None:
        self.requests += 1
        self.kinds[record.kind] += 1
        self.undelivered += not record.delivered
        if record.kind in _TRANSACTIONS:
            self.transactions += 1
            self.valid_npi += bool(record.npi_ok)
            for code in record.aaa_codes:
                self.aaa[code] += 1
            self.a7 += "A7" in record.service_types
        if self.count_pairs and record.mbi_hash and record.npi:
            self.pairs[(record.submitter, record.npi, record.mbi_hash, record.day)] += 1
        self.latencies.append(record.latency)

    def figures(self, repeat_limit: int, groups: Iterable[RepeatGroup] | None = None) -> Figures:
        """The figures; the repeats from ``groups`` (the database's) when given, else from the pairs."""
        if groups is not None:
            over = [
                ((g.submitter, g.npi, g.mbi_hash, g.day), g.inquiries) for g in groups if g.inquiries > repeat_limit
            ]
        else:
            over = [(key, n) for key, n in self.pairs.items() if n > repeat_limit]
        repeats = tuple(
            Repeat(npi, hashed[:HASH_SHOWN], day, n)
            for (_, npi, hashed, day), n in sorted(over, key=lambda item: (-item[1], item[0][1:], item[0][0]))
        )
        return Figures(
            self.requests,
            dict(self.kinds),
            self.undelivered,
            self.transactions,
            self.valid_npi,
            dict(self.aaa),
            repeats,
            self.a7,
            latency_summary(self.latencies),
        )


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ascending ``ordered`` (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        name: round(percentile(ordered, fraction) * 1000, 3)
        for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


def build_report(
    records: Iterable[AuditRecord],
    *,
    npi_threshold: float,
    repeat_limit: int,
    since: float | None = None,
    until: float | None = None,
    repeats: RepeatGroups | None = None,
) -> Report:
    """The report over ``records`` (the caller selects them: time span, submitter). ``repeats``:
    the repeat groups of the same records as the database counted them; without it they are
    counted here, which holds a key per (NPI, beneficiary, day) in memory."""
    count_pairs = repeats is None
    total = _Tally(count_pairs)
    submitters: dict[str, _Tally] = {}
    npis: dict[tuple[str, str], _Tally] = {}
    for record in records:
        total.add(record)
        tally = submitters.get(record.submitter)
        if tally is None:
            tally = submitters[record.submitter] = _Tally(count_pairs)
        tally.add(record)
        if record.npi:
            key = (record.submitter, record.npi)
            tally = npis.get(key)
            if tally is None:
                tally = npis[key] = _Tally(count_pairs)
            tally.add(record)

    # The database's groups by row, indexed once (a report has a row per submitter and NPI).
    by_submitter: dict[str, list[RepeatGroup]] = collections.defaultdict(list)
    by_npi: dict[tuple[str, str], list[RepeatGroup]] = collections.defaultdict(list)
    for group in repeats.groups if repeats is not None else ():
        by_submitter[group.submitter].append(group)
        by_npi[(group.submitter, group.npi)].append(group)

    def groups(submitter: str | None = None, npi: str | None = None) -> Sequence[RepeatGroup] | None:
        if repeats is None:
            return None
        if submitter is None:
            return repeats.groups
        return by_submitter.get(submitter, []) if npi is None else by_npi.get((submitter, npi), [])

    reports = tuple(
        SubmitterReport(
            submitter,
            tally.figures(repeat_limit, groups(submitter)),
            {
                npi: t.figures(repeat_limit, groups(submitter, npi))
                for (s, npi), t in sorted(npis.items())
                if s == submitter
            },
        )
        for submitter, tally in sorted(submitters.items())
    )
    return Report(since, until, npi_threshold, repeat_limit, reports, total.figures(repeat_limit, groups()))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "-"


def render_table(report: Report) -> str:
    """The report for a person: one line per submitter and per NPI, then AAA reasons and repeats."""

    def when(moment: float | None, default: str) -> str:
        return default if moment is None else dt.datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M")

    t = report.npi_threshold
    lines = [
        f"Audit report, {when(report.since, 'the first record')} to {when(report.until, 'the last')} (local time): "
        f"{report.total.requests:,} requests, {report.total.transactions:,} 271 transactions",
        f"Rules: a valid linked NPI on at least {t:.2%} of 271 transactions; "
        f"no more than {report.repeat_limit} inquiries for one NPI and beneficiary in a day.",
        "",
    ]
    header = (
        f"{'submitter':<15} {'npi':<10} {'requests':>8} {'271s':>7} {'valid NPI':>9} {'share':>9} {'':<5} "
        f"{'AAA':>7} {'repeats':>7} {'A7':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    lines += [header, "-" * len(header)]

    def row(submitter: str, npi: str, f: Figures) -> str:
        verdict = {None: "", True: "ok", False: "BELOW"}[f.meets(t)]
        share = _percent(f.valid_npi, f.transactions)
        aaa = _percent(sum(f.aaa.values()), f.transactions)
        lat = f.latency_ms
        return (
            f"{submitter:<15} {npi:<10} {f.requests:>8,} {f.transactions:>7,} {f.valid_npi:>9,} {share:>9} "
            f"{verdict:<5} {aaa:>7} {len(f.repeats):>7} {f.a7:>5} {lat['p50']:>8.2f} {lat['p95']:>8.2f} "
            f"{lat['p99']:>8.2f} {lat['max']:>8.2f}"
        )

    for s in report.submitters:
        name = s.submitter or "(unknown)"
        lines.append(row(name, "(all)", s.figures))
        lines.extend(row("", npi, f) for npi, f in sorted(s.npis.items()))
    if not report.submitters:
        lines.append("(no records)")
    lines.append("")
    lines.append("Replies by kind, AAA reasons (share of 271 transactions), undelivered replies:")
    for s in report.submitters:
        f = s.figures
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(f.kinds.items()))
        aaa = ", ".join(f"{code} {n:,} ({_percent(n, f.transactions)})" for code, n in sorted(f.aaa.items()))
        lines.append(
            f"  {s.submitter or '(unknown)'}: {kinds}; AAA: {aaa or 'none'}; A7: {f.a7:,} "
            f"({_percent(f.a7, f.transactions)}); undelivered: {f.undelivered:,}"
        )
    repeats = [(s.submitter, r) for s in report.submitters for r in s.figures.repeats]
    lines.append("")
    if repeats:
        lines.append(f"Repeated inquiries (more than {report.repeat_limit} for one NPI and beneficiary in a day):")
        lines.extend(
            f"  {submitter} NPI {r.npi}, beneficiary #{r.beneficiary}, {r.day}: {r.inquiries} inquiries"
            for submitter, r in repeats
        )
    else:
        lines.append(f"Repeated inquiries: none over {report.repeat_limit} for one NPI and beneficiary in a day.")
    return "\n".join(lines)
