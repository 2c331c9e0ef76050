"""The load test: the mix and its expectations, the generator, and short runs against ``hetsock serve``."""

from __future__ import annotations

import collections
import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from process import ServerProcess, write_config
from serving import SPECIMEN

from hetsock import loadgen
from hetsock.cli import main
from hetsock.client.reply import ReplyKind, Summary, summarize_untrusted
from hetsock.eligibility import synth
from hetsock.loadtest.mix import (
    DEFAULT_WEIGHTS,
    Category,
    Expectation,
    Population,
    build_mix,
    parse_weights,
    sample_population,
    verify,
)
from hetsock.loadtest.report import PlotUnavailableError, build_report, plot, report_lines
from hetsock.wire.framing import Mode, wrap

BENEFICIARIES = 2000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("serve")
    config = write_config(directory, beneficiaries=BENEFICIARIES, extra="[server]\nidle_timeout = 1.0\n")
    process = ServerProcess("--config", str(config), "--port", "0")
    process.port()
    yield process
    process.kill()


Report = dict[str, Any]


def loadtest(capsys: pytest.CaptureFixture[str], tmp_path: Path, port: int, *extra: str) -> tuple[int, Report, str]:
    report = tmp_path / "report.json"
    argv = ["loadtest", "--port", str(port), "--beneficiaries", str(BENEFICIARIES), "--json", str(report), "--quiet"]
    status = main([*argv, *extra])
    out = capsys.readouterr().out
    return status, json.loads(report.read_text()), out


# --- short runs against the real server -------------------------------------------------------


def test_open_loop_run_reports_zero_mismatches(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report, out = loadtest(
        capsys, tmp_path, server.port(), "--connections", "8", "--rate", "200", "--duration", "2"
    )
    assert status == 0, out
    assert report["requests"] == {"sent": 400, "answered": 400, "without_reply": 0, "not_sent": 0}
    assert report["mismatches"]["total"] == 0
    assert set(report["replies_by_kind"]) == {"271", "271-AAA", "999", "TA1", "proprietary"}
    assert set(report["aaa_codes"]) == {"41", "43", "71", "73", "75"}
    assert report["loop"] == "open"
    assert report["latency_from"] == "intended send time"
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p99.9"] <= latency["max"]
    assert len(report["timeline"]) >= 2
    assert report["latency_distribution_ms"][-1] == [100.0, latency["max"]]
    assert "mismatches: 0" in out
    assert re.search(r"throughput (199|200)\.\d replies/s over 2\.0 s", out)


def test_closed_loop_bare_for_a_count(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report, out = loadtest(capsys, tmp_path, server.port(), "--connections", "4", "--count", "300", "--bare")
    assert status == 0, out
    assert report["requests"]["sent"] == report["requests"]["answered"] == 300
    assert report["framing"] == "bare"
    assert "proprietary" not in report["replies_by_kind"]  # no non-X12 payload on a bare connection
    assert report["mismatches"]["total"] == 0


def test_a_wrong_population_is_reported_as_mismatches(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "wrong.json"
    status = main(
        ["loadtest", "--port", str(server.port()), "--beneficiaries", "3000", "--seed", "7", "--count", "200",
         "--mix", "hit=1", "--json", str(report_path), "--quiet"]
    )  # fmt: skip
    out = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert status == 1
    assert report["mismatches"]["total"] > 100  # the people it asks about are not on file
    assert "hit: expected 271, got 271-AAA 75" in report["mismatches"]["by_kind"]
    assert report["mismatches"]["samples"][0].startswith("LT")
    assert "x hit: expected 271, got 271-AAA 75" in out


def test_idle_closes_are_noticed_and_reopened(server: ServerProcess) -> None:
    # Requests at 0 s and 2.5 s over 3 connections; the server (idle rule 1 s here) closes the
    # unused ones at about 1 s and 2 s, half a second from any send, so there is no race.
    result = loadgen.run(server.port(), [SPECIMEN], connections=3, rate=0.4, seconds=3)
    assert result.errors == collections.Counter()
    assert result.replies == result.sent == 2
    assert result.connections["idle-closed"] >= 2
    assert result.connections["opened"] >= 5


def test_idle_connections_are_replaced_before_use(server: ServerProcess) -> None:
    result = loadgen.run(server.port(), [SPECIMEN], connections=2, rate=2, seconds=1.6, idle_timeout=0.3)
    assert result.errors == collections.Counter()
    assert result.replies == result.sent == 4
    assert result.connections["idle-replaced"] >= 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_keeps_running_through_a_server_restart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, beneficiaries=BENEFICIARIES)
    port = _free_port()
    servers = [ServerProcess("--config", str(config), "--port", str(port))]
    try:
        servers[0].port()
        outcome: dict[str, int] = {}
        report_path = tmp_path / "restart.json"

        def run() -> None:
            outcome["status"] = main(
                ["loadtest", "--port", str(port), "--beneficiaries", str(BENEFICIARIES), "--connections", "10",
                 "--rate", "50", "--duration", "6", "--json", str(report_path), "--quiet"]
            )  # fmt: skip

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(1.0)  # then down for 0.3 s and a restart: the 6 s run leaves room for a slow start
        servers[0].kill()
        time.sleep(0.3)
        servers.append(ServerProcess("--config", str(config), "--port", str(port)))
        worker.join(60)
        report = json.loads(report_path.read_text())
        assert outcome["status"] == 0, capsys.readouterr().out
        assert report["requests"]["without_reply"] == 0
        assert report["requests"]["answered"] == report["requests"]["sent"] == 300
        assert report["mismatches"]["total"] == 0
        assert report["connections"]["reconnects"] >= 10  # every connection saw the restart
        assert report["connections"]["opened"] >= 20
        assert sum(report["connection_errors"].values()) >= 1  # refused while the server was down
    finally:
        for process in servers:
            process.kill()


def test_the_load_test_configuration_has_room_for_1000_connections() -> None:
    from process import ROOT

    from hetsock.config import Config
    from hetsock.registry import Registry

    config = Config.load(ROOT / "config" / "loadtest.toml")
    assert config.server.max_connections >= 1000
    assert config.server.max_connections_per_address >= 1000
    submitter = Registry.from_toml(ROOT / config.eligibility.registry).get("DEMO0001")
    assert submitter is not None
    assert submitter.connection_limit >= 1000
    assert config.store.path == Config.load(ROOT / "config" / "hetsock.toml").store.path  # the demo store


def test_no_server_at_the_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["loadtest", "--port", str(_free_port()), "--count", "1", "--quiet"])
    assert status == 2
    assert "cannot connect" in capsys.readouterr().err


# --- the mix ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> Population:
    return sample_population(BENEFICIARIES, 2026, sample=300)


def test_population_sample_is_on_file(population: Population) -> None:
    on_file = {doc["mbi"]: doc for doc in synth.generate_documents(BENEFICIARIES, 2026)}
    assert len(population.people) == 300
    for person in population.people:
        doc = on_file[person.mbi]
        assert (doc["name"][0], doc["name"][1], doc["dob"]) == (
            person.last_name,
            person.first_name,
            person.birth_date.strftime("%Y%m%d"),
        )
    assert len(population.fixtures) == 12  # eleven fixtures and the earlier MBI of one
    assert "DOE" not in repr(population)


def test_mix_is_reproducible_and_keeps_its_proportions(population: Population) -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 22, 9, 0)
    first = build_mix(population, size=1000, seed=5, now=now)
    assert first == build_mix(population, size=1000, seed=5, now=now)
    counts = collections.Counter(r.expect.category.split("-")[0] for r in first)
    assert 740 <= counts["hit"] <= 860
    assert counts["malformed"] > 20
    traces = [r.expect.correlation for r in first if r.expect.kind in (ReplyKind.ELIGIBILITY, ReplyKind.REJECTION)]
    assert len(traces) == len(set(traces))  # one trace number per request
    only = build_mix(population, parse_weights("invalid-npi=1"), size=20, seed=1, now=now)
    assert {(r.expect.aaa, r.expect.loop) for r in only} == {("43", "2100B")}


def test_parse_weights() -> None:
    weights = parse_weights("hit=10, malformed=1")
    assert weights[Category.HIT] == 10
    assert weights[Category.UNKNOWN] == 0
    for bad in ("hits=1", "hit=x", "hit=0", "hit=-1"):
        with pytest.raises(ValueError, match="--mix"):
            parse_weights(bad)
    assert sum(DEFAULT_WEIGHTS.values()) == 100


@pytest.mark.parametrize(
    ("summary", "problem"),
    [
        (Summary(ReplyKind.REJECTION, "LT1", ("75",), ("2100C",)), None),
        (Summary(ReplyKind.ELIGIBILITY, "LT1"), "unknown: expected 271-AAA 75, got 271"),
        (Summary(ReplyKind.REJECTION, "LT1", ("73",), ("2100C",)), "unknown: expected 271-AAA 75, got 271-AAA 73"),
        (Summary(ReplyKind.REJECTION, "LT1", ("75",), ("2100B",)), "unknown: expected the AAA in 2100C, got 2100B"),
        (Summary(ReplyKind.REJECTION, "LT2", ("75",), ("2100C",)), "unknown: a 271-AAA 75 that answers another"),
    ],
)  # fmt: skip
def test_verify(summary: Summary, problem: str | None) -> None:
    expect = Expectation("unknown", ReplyKind.REJECTION, "LT1", "75", "2100C")
    assert verify(expect, summary) == problem


def test_every_category_gets_what_it_expects_from_the_pipeline(population: Population, tmp_path: Path) -> None:
    """The expectations are right: the in-process pipeline over the same population agrees."""
    import datetime as dt

    from serving import REGISTRY

    from hetsock.cli_seed import seed_store
    from hetsock.eligibility.store.sqlite import SqliteStore
    from hetsock.pipeline import Context, Services, respond
    from hetsock.x12.writer import ControlNumbers

    seed_store(tmp_path / "store.sqlite3", BENEFICIARIES)
    store = SqliteStore.open(tmp_path / "store.sqlite3", read_only=True)
    try:
        now = dt.datetime.now()
        context = Context(Services(REGISTRY, store), now, ControlNumbers(1), "127.0.0.1")
        mix = build_mix(population, size=400, seed=3, now=now)
        problems = [verify(r.expect, summarize_untrusted(respond(r.payload, context).payload)) for r in mix]
        assert [p for p in problems if p] == []
        assert {r.expect.category for r in mix} >= {c.value for c in Category} - {"malformed"}
    finally:
        store.close()


# --- the report's plot ----------------------------------------------------------------------------


def _small_report(server_port: int) -> dict[str, Any]:
    from hetsock.loadtest.report import build_report

    result = loadgen.run(server_port, [SPECIMEN], connections=2, rate=50, seconds=1.2, progress_interval=0.25)
    return build_report(
        {"description": "test", "latency_from": "intended send time"}, result, kinds={"271": 1}, aaa_codes={}
    )


def test_plot_needs_matplotlib(server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PlotUnavailableError, match=r"pip install 'hetsock\[plot\]'"):
        plot(_small_report(server.port()), tmp_path / "x.png")


def test_plot_draws_a_png(server: ServerProcess, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "latency.png"
    plot(_small_report(server.port()), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the generator on its own ------------------------------------------------------------------------


def test_closed_loop_counts_checks_as_errors(server: ServerProcess) -> None:
    result = loadgen.closed_loop(
        server.port(), [SPECIMEN], connections=2, seconds=0.5, warmup=0.1, check=lambda _: "always wrong"
    )
    assert result.replies > 0
    assert result.sent - result.replies in (0, 1, 2)  # the warm-up's requests count in neither
    assert result.errors["always wrong"] == result.replies
    assert result.percentile_ms(0.5) <= result.percentile_ms(1.0)


def test_count_ends_the_run(server: ServerProcess) -> None:
    seen: list[int] = []

    def observe(index: int, reply: bytes) -> str | None:
        seen.append(index)
        return None

    result = loadgen.run(server.port(), [SPECIMEN, SPECIMEN], connections=3, count=7, observe=observe, mode=Mode.BARE)
    assert result.sent == result.replies == 7
    assert sorted(seen) == [0, 0, 0, 0, 1, 1, 1]


def test_run_needs_an_end() -> None:
    with pytest.raises(ValueError, match="seconds or count"):
        loadgen.run(1, [SPECIMEN], connections=1)


# --- accounting against scripted servers -------------------------------------------------------------


class Scripted:
    """A TCP server on a free port; each connection runs ``handle(socket, connection_number)`` in a thread."""

    def __init__(self, handle: Any) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handle = handle
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()
            number += 1

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn, contextlib.suppress(OSError):
            self.handle(conn, number)

    def close(self) -> None:
        self.listener.close()


def read_wrapped(conn: socket.socket) -> bool:
    """Read one wrapped request; False at the end of the stream."""
    data = b""
    while len(data) < 12 or len(data) < 13 + int(data[1:11]):
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    return True


REPLY = b"HETS" + b" " * 30 + b"20261126010101000 ISBY00508 - not now"
RUN = {
    "description": "scripted",
    "mix": "-",
    "population": {"beneficiaries": 0, "seed": 0},
    "distinct_requests": 1,
    "latency_from": "intended send time",
}


def test_queued_requests_never_sent_are_not_counted_as_without_a_reply() -> None:
    def silent(conn: socket.socket, _: int) -> None:
        while read_wrapped(conn):
            pass

    server = Scripted(silent)
    try:
        result = loadgen.run(server.port, [SPECIMEN], connections=1, rate=20, seconds=0.5, drain_timeout=0.2)
    finally:
        server.close()
    report = build_report({}, result, kinds={}, aaa_codes={})
    assert report["requests"] == {"sent": 1, "answered": 0, "without_reply": 1, "not_sent": 9}
    assert "1 sent, 0 answered, 1 without a reply, 9 not sent (still queued when the run ended)" in "\n".join(
        report_lines({**report, **RUN})
    )


def test_stray_bytes_on_an_idle_connection_lose_no_request() -> None:
    def stray(conn: socket.socket, number: int) -> None:
        while read_wrapped(conn):
            conn.sendall(wrap(REPLY, Mode.WRAPPED))
            if number == 0:
                time.sleep(0.05)
                conn.sendall(b"\x01garbage")  # unasked, with nothing due

    server = Scripted(stray)
    try:
        result = loadgen.run(server.port, [SPECIMEN], connections=1, rate=4, seconds=1.0, drain_timeout=1)
    finally:
        server.close()
    requests = build_report({}, result, kinds={}, aaa_codes={})["requests"]
    assert requests == {"sent": 4, "answered": 4, "without_reply": 0, "not_sent": 0}
    assert (result.errors["unasked-bytes"], result.errors["bad-framing"], result.connections["opened"]) == (1, 0, 2)


def test_an_unreadable_reply_is_resent_on_a_new_connection() -> None:
    def garbled_first(conn: socket.socket, number: int) -> None:
        while read_wrapped(conn):
            conn.sendall(b"garbage not a reply" if number == 0 else wrap(REPLY, Mode.WRAPPED))

    server = Scripted(garbled_first)
    try:
        result = loadgen.run(server.port, [SPECIMEN], connections=1, count=3, drain_timeout=1)
    finally:
        server.close()
    requests = build_report({}, result, kinds={}, aaa_codes={})["requests"]
    assert requests == {"sent": 3, "answered": 3, "without_reply": 0, "not_sent": 0}
    assert (result.errors["bad-framing"], result.connections["resent"]) == (1, 1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rate", "nan"], "--rate: must be a finite number"),
        (["--rate", "-5"], "--rate: must be a number above 0"),
        (["--duration", "nan"], "--duration: must be a finite number"),
        (["--duration", "0"], "--duration: must be a number above 0"),
        (["--duration", "-1"], "--duration: must be a number above 0"),
        (["--count", "0"], "--count: must be a whole number above 0"),
        (["--count", "-5"], "--count: must be a whole number above 0"),
        (["--beneficiaries", "-5"], "--beneficiaries: must be a whole number above 0"),
        (["--connections", "0"], "--connections: must be a whole number above 0"),
        (["--idle-timeout", "-1"], "--idle-timeout: must be a number, 0 or more"),
        (["--idle-timeout", "inf"], "--idle-timeout: must be a finite number"),
        (["--port", "70000"], "--port: must be a port number, 1 to 65535"),
    ],
)
def test_bad_values_exit_2_before_anything_runs(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["loadtest", "--port", "1", "--quiet", *extra])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mix", "hit=nan"], "--mix: each weight must be a finite number, 0 or more"),
        (["--mix", "hit=inf"], "--mix: each weight must be a finite number, 0 or more"),
        (["--warmup", "5", "--duration", "1"], "--warmup must be shorter than --duration"),
        (["--beneficiaries", "99999999999999"], "--beneficiaries must be 1 to 3,240,000,000,000"),
        (["--json", "/nonexistent/dir/report.json"], "--json: cannot write /nonexistent/dir/report.json"),
    ],
)
def test_impossible_runs_exit_2_before_connecting(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    # (no server on port 1: the arguments are refused before any connection is tried)
    status = main(["loadtest", "--port", "1", "--quiet", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "cannot connect" not in err


def test_a_plot_without_matplotlib_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["loadtest", "--port", "1", "--quiet", "--plot", str(tmp_path / "x.png")]) == 2
    assert "--plot needs matplotlib" in capsys.readouterr().err


def test_too_many_connections_for_the_file_limit_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    real_socket = socket.socket
    made: list[int] = []

    def scarce(*args: Any, **kwargs: Any) -> socket.socket:
        # one socket for the check that the server is up, two connections, then no descriptors left
        made.append(1)
        if len(made) > 3:
            raise OSError(24, "Too many open files")
        return real_socket(*args, **kwargs)

    with listener:
        monkeypatch.setattr(socket, "socket", scarce)
        port = str(listener.getsockname()[1])
        status = main(["loadtest", "--port", port, "--connections", "5", "--count", "1", "--quiet"])
    assert status == 2
    assert "cannot create connection 3 of 5: Too many open files (see ulimit -n)" in capsys.readouterr().err
