"""The load test's report: one dictionary (written as JSON), its text form, and a plot.

:func:`build_report` gathers what a run saw (``hetsock.loadgen.LoadResult``) and what the replies
were (kinds, AAA codes, mismatches against the mix's expectations) into plain data;
:func:`report_lines` renders it for a terminal and :func:`plot` draws latency over time and the
latency distribution with matplotlib (an optional extra, imported only here, only when asked).
Nothing here holds patient data: kinds, codes, counts, trace numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hetsock.loadgen import LoadResult

#: The percentiles the report names.
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))
#: Above this share of one CPU the client itself is the bottleneck.
BUSY_CLIENT = 0.8


class PlotUnavailableError(Exception):
    """matplotlib is not installed."""


def _distribution(result: LoadResult) -> list[list[float]]:
    """(percentile, milliseconds) pairs from 0 to 100, dense towards the tail."""
    histogram = result.histogram
    if not histogram.get_total_count():
        return []
    points: list[list[float]] = []
    for step in range(61):  # 1 - 10^(-step/10): 0, 20.6, 36.9, ... 99.9999
        percentile = 100 * (1 - 10 ** (-step / 10))
        points.append([round(percentile, 5), histogram.get_value_at_percentile(percentile) / 1000])
    points.append([100.0, histogram.get_max_value() / 1000])
    return points


def build_report(
    run: Mapping[str, Any],
    result: LoadResult,
    *,
    kinds: Mapping[str, int],
    aaa_codes: Mapping[str, int],
    mismatch_samples: Sequence[str] = (),
) -> dict[str, Any]:
    """The report as plain data. ``run`` describes the run (target, mode, rate, mix ...)."""
    histogram = result.histogram
    count = histogram.get_total_count()
    latency = {name: (histogram.get_value_at_percentile(p) / 1000 if count else 0.0) for name, p in PERCENTILES}
    latency["max"] = histogram.get_max_value() / 1000 if count else 0.0
    latency["mean"] = round(histogram.get_mean_value() / 1000, 3) if count else 0.0
    connection_errors = {k: v for k, v in result.errors.items() if k.startswith(("connect-", "socket-", "send-"))}
    other_errors = {k: v for k, v in result.errors.items() if k not in connection_errors}
    reconnects = sum(result.connections[k] for k in ("idle-closed", "dropped", "idle-replaced"))
    return {
        **run,
        "seconds": round(result.seconds, 3),
        "requests": {
            "sent": result.sent,
            "answered": result.replies,
            "without_reply": result.errors["no-reply"] + result.errors["gave-up"],
            "not_sent": result.not_sent,
        },
        "throughput_per_second": round(result.rate, 1),
        "latency_ms": latency,
        "latency_distribution_ms": _distribution(result),
        "replies_by_kind": dict(sorted(kinds.items())),
        "aaa_codes": dict(sorted(aaa_codes.items())),
        "connections": {
            "opened": result.connections["opened"],
            "reconnects": reconnects,
            "idle_closed": result.connections["idle-closed"],
            "idle_replaced": result.connections["idle-replaced"],
            "dropped": result.connections["dropped"],
            "requests_resent": result.connections["resent"],
        },
        "connection_errors": dict(sorted(connection_errors.items())),
        "other_errors": dict(sorted(other_errors.items())),
        "mismatches": {
            "total": sum(result.mismatches.values()),
            "by_kind": dict(result.mismatches.most_common()),
            "samples": list(mismatch_samples),
        },
        "client_cpu": {
            "seconds": round(result.client_cpu_seconds, 2),
            "share_of_one_core": round(result.client_cpu_seconds / result.seconds, 3) if result.seconds else 0.0,
        },
        "timeline": [
            {"t": round(i.at, 3), "replies": i.replies, "p50_ms": i.p50_ms, "p99_ms": i.p99_ms, "max_ms": i.max_ms}
            for i in result.timeline
        ],
    }


def _counts(counts: Mapping[str, int]) -> str:
    return " | ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def _not_sent(requests: Mapping[str, Any]) -> str:
    count = requests.get("not_sent", 0)
    return f", {count:,} not sent (still queued when the run ended)" if count else ""


def report_lines(report: Mapping[str, Any]) -> list[str]:
    """The report for a terminal."""
    r = report
    latency = r["latency_ms"]
    requests = r["requests"]
    connections = r["connections"]
    mismatches = r["mismatches"]
    lines = [
        f"hetsock load test: {r['description']}",
        f"mix: {r['mix']} over {r['population']['beneficiaries']:,} beneficiaries (seed {r['population']['seed']}), "
        f"{r['distinct_requests']:,} distinct requests",
        f"requests: {requests['sent']:,} sent, {requests['answered']:,} answered, {requests['without_reply']:,} "
        f"without a reply{_not_sent(requests)}; throughput {r['throughput_per_second']:,.1f} replies/s over "
        f"{r['seconds']:.1f} s",
        f"latency ({r['latency_from']}, HDR histogram, ms): "
        + "  ".join(f"{name} {latency[name]:.2f}" for name in ("p50", "p90", "p99", "p99.9", "max", "mean")),
        f"replies: {_counts(r['replies_by_kind'])}",
        f"AAA codes: {_counts(r['aaa_codes'])}",
        f"connections: {connections['opened']:,} opened; reconnects {connections['reconnects']:,} (replaced "
        f"when idle {connections['idle_replaced']:,}, closed by the server while idle {connections['idle_closed']:,}, "
        f"dropped with a request due {connections['dropped']:,}); requests resent {connections['requests_resent']:,}",
        f"connection errors: {_counts(r['connection_errors'])}",
    ]
    if r["other_errors"]:
        lines.append(f"other errors: {_counts(r['other_errors'])}")
    lines.append(f"mismatches: {mismatches['total']:,}")
    lines.extend(f"  {count:,} x {what}" for what, count in mismatches["by_kind"].items())
    lines.extend(f"  e.g. {sample}" for sample in mismatches["samples"][:10])
    cpu = r["client_cpu"]
    lines.append(f"client: {cpu['seconds']:.1f} CPU s, {cpu['share_of_one_core']:.0%} of one core")
    if cpu["share_of_one_core"] >= BUSY_CLIENT:
        lines.append(
            "  note: the client was busy most of the run: a Python client on this machine is itself a "
            "bottleneck, so these latencies include its own queuing"
        )
    return lines


def plot_available() -> bool:
    """Whether :func:`plot` can draw (matplotlib is installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(report: Mapping[str, Any], path: Path) -> None:
    """Draw latency over time (p50, p99, max per interval, and replies/s) and the latency
    distribution to ``path`` (PNG). Raises :class:`PlotUnavailableError` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailableError(
            "--plot needs matplotlib, an optional extra: pip install 'hetsock[plot]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    timeline = report["timeline"]
    figure, (over_time, distribution) = plt.subplots(2, 1, figsize=(10, 9))
    t = [point["t"] for point in timeline]
    for key, label in (("max_ms", "max"), ("p99_ms", "p99"), ("p50_ms", "p50")):
        over_time.plot(t, [max(point[key], 0.001) for point in timeline], label=label)
    over_time.set_yscale("log")
    over_time.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    over_time.set_xlabel("seconds since the start")
    over_time.set_ylabel("latency per interval (ms)")
    over_time.set_title(f"hetsock load test: {report['description']}", fontsize=9)
    over_time.grid(True, which="both", alpha=0.3)
    rate = over_time.twinx()
    rate.plot(t, [point["replies"] for point in timeline], color="grey", alpha=0.4, linestyle=":", label="replies")
    rate.set_ylabel("replies per interval")
    rate.set_ylim(0, 1.2 * max([point["replies"] for point in timeline], default=0) or 1)
    handles, labels = over_time.get_legend_handles_labels()
    more_handles, more_labels = rate.get_legend_handles_labels()
    over_time.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=8)

    points = [p for p in report["latency_distribution_ms"] if p[0] < 100]
    distribution.plot([1 / (1 - p[0] / 100) for p in points], [p[1] for p in points], marker=".")
    distribution.set_xscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000, 100000, 1000000]
    distribution.set_xticks(ticks)
    distribution.set_xticklabels(["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"])
    distribution.set_xlim(1, min(1_000_000, max(10, 10 * report["requests"]["answered"])))
    distribution.set_xlabel("percentile")
    distribution.set_ylabel("latency (ms)")
    distribution.set_title(
        f"latency distribution ({report['latency_from']}): max {report['latency_ms']['max']:.2f} ms", fontsize=9
    )
    distribution.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
