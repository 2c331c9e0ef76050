"""``hetsock loadtest`` (also ``scripts/loadtest.py``): load a server with a realistic mix and report.

N persistent connections in a closed loop (``--connections`` only), or an open loop at a fixed
arrival rate (``--rate``) with latency from each request's intended send time; for a duration or
a request count. The mix (``hetsock.loadtest.mix``) is drawn from the same population the
server's store was seeded with (``--beneficiaries``/``--seed``, by default the configuration's
``[store] demo_beneficiaries`` and seed 2026), and every reply is checked against what its
request should get: kind, AAA code, and the trace number or control number that ties it to the
request. A live progress line goes to standard error; the report to standard output,
``--json FILE`` as JSON, ``--plot FILE.png`` as a picture (matplotlib, an optional extra).

Exit status: 0 every request answered as expected; 1 some mismatch or request left without a
reply; 2 bad arguments, or no connection to the server at the start.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import shlex
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from hetsock import cliargs, loadgen
from hetsock.cli_seed import DEFAULT_SEED
from hetsock.client.reply import summarize_untrusted
from hetsock.config import MAX_DEMO_BENEFICIARIES, Config, ConfigError
from hetsock.eligibility import fixtures
from hetsock.loadtest.mix import (
    DEFAULT_WEIGHTS,
    build_mix,
    describe_weights,
    parse_weights,
    payloads,
    sample_population,
    verify,
)
from hetsock.loadtest.report import PlotUnavailableError, build_report, plot, plot_available, report_lines
from hetsock.wire.framing import Mode

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
#: Mismatch examples kept for the report.
SAMPLES = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_argument_group("target")
    target.add_argument("--config", type=Path, default=None, help="the server's configuration (for host, port, store)")
    target.add_argument("--host", default=None, help="server address (default: the config's, 127.0.0.1)")
    target.add_argument("--port", type=cliargs.port, default=None, help="server port (default: the config's, 7270)")
    target.add_argument("--bare", action="store_true", help="bare X12 instead of the HETS wrapper")
    load = parser.add_argument_group("load")
    positive = cliargs.positive_number
    load.add_argument(
        "--connections", type=cliargs.positive_integer, default=16, help="persistent connections (default 16)"
    )
    load.add_argument(
        "--rate", type=positive, default=None, help="open loop: requests per second (default: closed loop, no rate)"
    )
    load.add_argument("--duration", type=positive, default=None, help="seconds to run (default 10 unless --count)")
    load.add_argument(
        "--count", type=cliargs.positive_integer, default=None, help="requests to send (ends the run if reached first)"
    )
    load.add_argument(
        "--warmup",
        type=cliargs.non_negative_number,
        default=0.0,
        help="seconds not counted at the start (closed loop; less than --duration)",
    )
    load.add_argument(
        "--idle-timeout",
        type=cliargs.non_negative_number,
        default=None,
        help="replace a connection unused this long before using it (default: 90%% of the config's idle_timeout, "
        "4.5 s; 0: never)",
    )
    mix = parser.add_argument_group("mix")
    mix.add_argument(
        "--mix", default=describe_weights(DEFAULT_WEIGHTS), help="CATEGORY=WEIGHT,... (default: %(default)s)"
    )
    mix.add_argument(
        "--beneficiaries",
        type=cliargs.positive_integer,
        default=None,
        help="the store's population (default: the config's)",
    )
    mix.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"the store's seed (default {DEFAULT_SEED})")
    mix.add_argument(
        "--pool", type=cliargs.positive_integer, default=2000, help="distinct requests, sent in turn (default 2000)"
    )
    mix.add_argument("--mix-seed", type=int, default=1, help="seed of the draw (default 1)")
    mix.add_argument("--submitter", default=fixtures.SUBMITTER, help="ISA06/GS02 (default DEMO0001)")
    mix.add_argument("--npi", default=fixtures.LINKED_NPI, help="an NPI linked to the submitter")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, default=None, help="write the report as JSON")
    out.add_argument("--plot", type=Path, default=None, help="draw latency over time and its distribution (PNG)")
    out.add_argument("--quiet", action="store_true", help="no progress line")
    out.add_argument("--progress-interval", type=positive, default=1.0, help=argparse.SUPPRESS)


def add_loadtest_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        help="load a server with a realistic request mix and report throughput, latency and mismatches",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(handler=_cmd_loadtest)


def _progress_printer(stream: Any) -> Callable[[loadgen.Progress], None]:
    tty = stream.isatty()

    def show(p: loadgen.Progress) -> None:
        line = (
            f"[{p.elapsed:6.1f} s] sent {p.sent:,}  answered {p.replies:,}  {p.rate:,.0f}/s  errors {p.errors:,}  "
            f"mismatches {p.mismatches:,}  p50 {p.p50_ms:.2f} ms  p99 {p.p99_ms:.2f} ms  max {p.max_ms:.2f} ms  "
            f"open {p.open_connections:,}  queued {p.queued:,}  reconnects {p.reconnects:,}"
        )
        stream.write(("\r\x1b[K" + line) if tty else line + "\n")
        stream.flush()

    return show


def _load_problem(args: argparse.Namespace, duration: float | None, beneficiaries: int) -> str | None:
    """What makes the run's extent or population impossible (argparse has checked each value's range)."""
    if duration is not None and args.warmup >= duration:
        return "--warmup must be shorter than --duration (the run would count nothing)"
    if beneficiaries > MAX_DEMO_BENEFICIARIES:
        return f"--beneficiaries must be 1 to {MAX_DEMO_BENEFICIARIES:,}"
    return None


def _output_problem(args: argparse.Namespace) -> str | None:
    """Checked before the run, so that a run's report is never lost at its end."""
    if args.plot is not None and not plot_available():
        return "--plot needs matplotlib, an optional extra: pip install 'hetsock[plot]' (or pip install matplotlib)"
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        if path is not None and (reason := _unwritable(path)):
            return f"{option}: cannot write {path}: {reason}"
    return None


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None (a file created to find out is removed again)."""
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as error:
        return error.strerror or str(error)
    if not existed:
        path.unlink()
    return None


def _cmd_loadtest(args: argparse.Namespace) -> int:
    try:
        config = Config.load(args.config)
        weights = parse_weights(args.mix)
    except (ConfigError, ValueError) as error:
        print(f"hetsock loadtest: {error}", file=sys.stderr)
        return EXIT_USAGE
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    beneficiaries = args.beneficiaries or config.store.demo_beneficiaries
    duration = args.duration if args.duration is not None or args.count is not None else 10.0
    problem = _output_problem(args) or _load_problem(args, duration, beneficiaries)
    if problem:
        print(f"hetsock loadtest: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as error:
        print(f"hetsock loadtest: cannot connect to {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    mode = Mode.BARE if args.bare else Mode.WRAPPED
    if not args.quiet:
        print(f"sampling the population of {beneficiaries:,} (seed {args.seed}) ...", file=sys.stderr)
    population = sample_population(beneficiaries, args.seed)
    mix = build_mix(
        population,
        weights,
        size=args.pool,
        seed=args.mix_seed,
        submitter_id=args.submitter,
        npi=args.npi,
        include_not_x12=mode is Mode.WRAPPED,
    )
    kinds: collections.Counter[str] = collections.Counter()
    aaa: collections.Counter[str] = collections.Counter()
    samples: list[str] = []

    def observe(index: int, reply: bytes) -> str | None:
        summary = summarize_untrusted(reply)
        kinds[summary.kind.value] += 1
        aaa.update(summary.aaa_codes)
        expect = mix[index].expect
        problem = verify(expect, summary)
        if problem and len(samples) < SAMPLES:
            samples.append(f"{expect.correlation or 'no trace'}: {problem}")
        return problem

    try:
        result = loadgen.run(
            port,
            payloads(mix),
            connections=args.connections,
            rate=args.rate,
            seconds=duration,
            count=args.count,
            warmup=args.warmup,
            host=host,
            mode=mode,
            observe=observe,
            progress=None if args.quiet else _progress_printer(sys.stderr),
            progress_interval=args.progress_interval,
            idle_timeout=config.server.idle_timeout * 0.9 if args.idle_timeout is None else args.idle_timeout,
        )
    except loadgen.SetupError as error:
        print(f"hetsock loadtest: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\n")
    loop = f"open loop at {args.rate:g} requests/s" if args.rate else "closed loop"
    extent = f"{duration:g} s" if duration is not None else ""
    if args.count is not None:
        extent = f"{args.count:,} requests" + (f" or {extent}" if extent else "")
    framing = "bare X12" if mode is Mode.BARE else "HETS wrapper"
    run = {
        "description": f"{loop}, {args.connections:,} connections, {extent}, {framing}, {host}:{port}",
        "command": " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]]),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "target": f"{host}:{port}",
        "framing": mode.value,
        "loop": "open" if args.rate else "closed",
        "rate": args.rate,
        "connection_count": args.connections,
        "mix": describe_weights(weights),
        "population": {"beneficiaries": beneficiaries, "seed": args.seed},
        "distinct_requests": len(mix),
        "latency_from": "intended send time" if args.rate else "send time",
    }
    report = build_report(run, result, kinds=kinds, aaa_codes=aaa, mismatch_samples=samples)
    print("\n".join(report_lines(report)))
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    if args.plot is not None:
        try:
            plot(report, args.plot)
        except PlotUnavailableError as error:
            print(f"hetsock loadtest: {error}", file=sys.stderr)
            return EXIT_USAGE
    failed = report["mismatches"]["total"] or report["requests"]["without_reply"]
    return EXIT_MISMATCH if failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/loadtest.py``: the same as ``hetsock loadtest``."""
    parser = argparse.ArgumentParser(
        prog="loadtest", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return _cmd_loadtest(args)
