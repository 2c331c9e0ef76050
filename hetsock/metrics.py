"""Prometheus metrics for one worker process (``[metrics]``; README, "Metrics and health").

Nothing here runs on the request path but :meth:`RequestMetrics.request_answered`, which adds to
plain counters and a bucket list (no locks, no label lookups); :class:`WorkerCollector` turns
those, the server's :class:`~hetsock.server.observer.Stats`, the audit trail's counters and the
worker's state into metric families when Prometheus scrapes. Every sample carries a ``worker``
label: with ``--workers N`` each worker serves its own endpoint (``port + worker``), and the
label keeps the series apart once Prometheus has scraped them all.
"""

from __future__ import annotations

import bisect
import collections
import os
from collections.abc import Callable, Iterator

import attrs
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from hetsock.pipeline import ReplyKind
from hetsock.server.observer import CloseReason, Exchange, Observer, Stats, reply_codes

#: Latency histogram bucket bounds, seconds (HETS: 99.9 % within 3 seconds).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0, 10.0)


@attrs.define
class RequestMetrics(Observer):
    """Requests by reply kind and code, undelivered replies, and the latency histogram."""

    requests: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    #: Each error code the 999s carried (``IK3-8``), counted once per 999 that carried it.
    codes_999: collections.Counter[str] = attrs.field(factory=collections.Counter)
    undelivered: int = 0
    buckets: list[int] = attrs.field(factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def request_answered(self, exchange: Exchange) -> None:
        reply = exchange.reply
        kind = reply.kind
        # One series per kind and single code: a 999's codes are counted apart, one by one, so
        # no client can mint new series by combining faults (the label values stay a short list).
        # ``_value_``: the value itself (``.value`` is a Python-level property).
        if kind is ReplyKind.ACK_999:
            self.requests[(kind._value_, "")] += 1
            self.codes_999.update(reply_codes(reply))
        elif reply.aaa_codes or reply.ta1_note or reply.error_code:
            self.requests[(kind._value_, reply_codes(reply)[0])] += 1
        else:  # the usual reply: a 271 without AAA
            self.requests[(kind._value_, "")] += 1
        if not exchange.delivered:
            self.undelivered += 1
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, exchange.latency)] += 1
        self.latency_sum += exchange.latency


@attrs.frozen
class AuditFigures:
    """The audit trail's counters, as the collector reads them."""

    backlog: int = 0
    written: int = 0
    failures: int = 0
    dropped: int = 0
    lost: int = 0


@attrs.define(eq=False)
class WorkerCollector(Collector):
    """A scrape of one worker: every family labelled with ``worker``."""

    worker: int
    stats: Stats
    requests: RequestMetrics
    #: Requests being answered right now, and whether a maintenance window is on.
    in_flight: Callable[[], int] = lambda: 0
    maintenance: Callable[[], bool] = lambda: False
    audit: Callable[[], AuditFigures | None] = lambda: None
    #: Active suspensions: (whole submitters, submitter/NPI links).
    suspensions: Callable[[], tuple[int, int] | None] = lambda: None

    def collect(self) -> Iterator[Metric]:
        w = str(self.worker)
        stats = self.stats

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=["worker"])
            family.add_metric([w], value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=["worker"])
            family.add_metric([w], value)
            return family

        info = GaugeMetricFamily("hetsock_worker", "This worker process (always 1).", labels=["worker", "pid"])
        info.add_metric([w, str(os.getpid())], 1)
        yield info
        yield gauge("hetsock_open_connections", "Connections open now.", stats.open_connections)
        yield counter("hetsock_connections_accepted", "Connections accepted and served.", stats.accepted)
        refused = CounterMetricFamily(
            "hetsock_connections_refused", "Connections refused at accept, by reason.", labels=["worker", "reason"]
        )
        for reason in (CloseReason.LIMIT, CloseReason.MAINTENANCE):
            refused.add_metric([w, reason.value], stats.refused[reason.value])
        yield refused
        closed = CounterMetricFamily(
            "hetsock_connections_closed", "Served connections closed, by reason.", labels=["worker", "reason"]
        )
        for reason in CloseReason:
            if reason is not CloseReason.MAINTENANCE:
                closed.add_metric([w, reason.value], stats.closed[reason.value])
        yield closed
        yield counter("hetsock_idle_closes", "Connections closed by the idle rule.", stats.closed[CloseReason.IDLE])
        yield counter(
            "hetsock_deadline_closes", "Connections closed by the message deadline.", stats.closed[CloseReason.DEADLINE]
        )
        yield counter(
            "hetsock_framing_errors",
            "Connections closed after a framing error (SBY00505) or an oversized message (SBY00504).",
            stats.closed[CloseReason.FRAMING] + stats.closed[CloseReason.TOO_LARGE],
        )
        requests = CounterMetricFamily(
            "hetsock_requests",
            "Requests answered, by reply kind and code (AAA reason, TA1 note, proprietary error; "
            "'' for a 271 and a 999).",
            labels=["worker", "kind", "code"],
        )
        for (kind, code), count in sorted(self.requests.requests.items()):
            requests.add_metric([w, kind, code], count)
        yield requests
        codes_999 = CounterMetricFamily(
            "hetsock_999_codes",
            "Error codes the 999s carried (IK3-8, IK4-7, IK5-5, AK9-1 ...).",
            labels=["worker", "code"],
        )
        for code, count in sorted(self.requests.codes_999.items()):
            codes_999.add_metric([w, code], count)
        yield codes_999
        yield counter(
            "hetsock_replies_undelivered",
            "Replies that could not be written (peer gone, write timeout).",
            self.requests.undelivered,
        )
        histogram = HistogramMetricFamily(
            "hetsock_request_latency_seconds",
            "Seconds from a request's last byte read to its reply's last byte written.",
            labels=["worker"],
        )
        cumulative = 0
        bounds: list[tuple[str, float]] = []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.requests.buckets, strict=True):
            cumulative += count
            bounds.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        histogram.add_metric([w], bounds, self.requests.latency_sum)
        yield histogram
        yield gauge("hetsock_requests_in_flight", "Requests being answered now.", self.in_flight())
        yield gauge("hetsock_maintenance", "1 during a maintenance window.", int(self.maintenance()))
        audit = self.audit()
        if audit is not None:
            yield gauge("hetsock_audit_backlog", "Audit records answered but not yet written.", audit.backlog)
            yield counter("hetsock_audit_written", "Audit records written.", audit.written)
            yield counter("hetsock_audit_write_failures", "Failed audit batch writes (retried).", audit.failures)
            yield counter("hetsock_audit_dropped", "Audit records dropped: backlog over max_backlog.", audit.dropped)
            yield counter("hetsock_audit_lost", "Audit records not written at shutdown.", audit.lost)
        suspensions = self.suspensions()
        if suspensions is not None:
            family = GaugeMetricFamily(
                "hetsock_suspensions_active", "Suspensions in force, by target.", labels=["worker", "target"]
            )
            family.add_metric([w, "submitter"], suspensions[0])
            family.add_metric([w, "link"], suspensions[1])
            yield family


def worker_registry(collector: WorkerCollector) -> CollectorRegistry:
    """A registry with ``collector`` and the process's own figures (memory, CPU, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest(registry)
