"""``hetsock audit report``: exact figures for constructed records, and for a scripted mix of
traffic through a running worker, as a table and as JSON."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from audits import T0, AuditBackend, record
from ops import Client, ops_config, running_worker, traffic
from serving import REGISTRY, inquiry, make_store

from hetsock.audit.report import build_report, percentile, render_table
from hetsock.audit.sqlite import SqliteAuditDatabase
from hetsock.cli import main
from hetsock.cli_audit import parse_when
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Services


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


def test_figures_for_constructed_records() -> None:
    records = [record(latency=(n + 1) / 1000, mbi_hash=f"{n % 3:032x}") for n in range(100)]  # 100 fine 271s
    records += [record(kind="271-AAA", codes=("AAA41",), npi_ok=False, npi="1987654328", mbi_hash="") for _ in range(2)]
    records += [record(kind="271-AAA", codes=("AAA73",), mbi_hash="") for _ in range(3)]
    records += [record(kind="999", codes=(), npi_ok=None, npi="", mbi_hash="", service_types=(), delivered=False)]
    records += [record(submitter="OTHER01", service_types=("A7",), mbi_hash="") for _ in range(4)]
    report = build_report(records, npi_threshold=0.995, repeat_limit=10)
    demo, other = report.submitters
    f = demo.figures
    assert (f.requests, f.transactions, f.valid_npi, f.undelivered) == (106, 105, 103, 1)
    assert f.npi_share() == pytest.approx(103 / 105)
    assert f.meets(0.995) is False
    assert f.aaa == {"41": 2, "73": 3}
    assert f.kinds == {"271": 100, "271-AAA": 5, "999": 1}
    assert f.a7 == 105  # record() asks 30 and A7 by default
    # 100 inquiries over 3 beneficiaries on one day: 34, 33, 33, all over the limit of 10.
    assert [(r.beneficiary, r.inquiries) for r in f.repeats] == [("0" * 12, 34), ("0" * 12, 33), ("0" * 12, 33)]
    assert f.repeated_inquiries == 100
    assert set(demo.npis) == {"1234567893", "1987654328"}
    assert demo.npis["1987654328"].valid_npi == 0
    assert demo.npis["1987654328"].transactions == 2
    assert other.figures.meets(0.995) is True
    assert other.figures.a7 == 4
    assert report.total.requests == 110
    assert percentile([], 0.5) == 0.0
    latencies = report.submitters[0].npis["1234567893"].latency_ms
    assert latencies["max"] == 100.0  # nearest rank over 1..100 ms plus three AAA 73s at 1 ms
    document = report.to_json()
    first = document["submitters"][0]
    assert first["aaa"]["41"] == {"count": 2, "rate": 2 / 105}
    assert first["repeated"]["beyond_limit"] == 100 - 3 * 10
    assert first["meets_npi_threshold"] is False


def test_percentiles_are_nearest_rank() -> None:
    ordered = [float(n) for n in range(1, 101)]
    assert (percentile(ordered, 0.5), percentile(ordered, 0.95), percentile(ordered, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0


def test_parse_when() -> None:
    now = dt.datetime(2026, 11, 22, 12, 0)
    assert parse_when("24h", now=now) == now.timestamp() - 86_400
    assert parse_when("7d", now=now) == now.timestamp() - 7 * 86_400
    assert parse_when("2026-11-22", now=now) == dt.datetime(2026, 11, 22).timestamp()
    assert parse_when("2026-11-22T09:30", now=now) == dt.datetime(2026, 11, 22, 9, 30).timestamp()
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_when("yesterday", now=now)


async def test_the_report_on_a_scripted_mix_of_traffic(
    store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], audit_backend: AuditBackend
) -> None:
    """200 requests from DEMO0001: 190 fine 271s (45 for DOE JANE, 29 for each of five others,
    10 of those asking A7), 4 with an unlinked NPI (AAA 41), 1 with an invalid NPI (AAA 43), 3
    with a wrong name (AAA 73; still an inquiry about DOE JANE), a TA1 and a 999; then 3 from the
    suspended DEMO0009 (SBY00502) and one that is not X12 at all. Repeat limit 40."""
    config = ops_config(tmp_path, audit=audit_backend.settings(), enforcement={"repeat_limit": 40})
    mix = traffic()
    people = [fx.POE_MARY, fx.MOE_ROBERT, fx.VOE_LINDA, fx.GOE_SUSAN, fx.NOE_KEVIN]
    async with running_worker(config, Services(REGISTRY, store)) as worker:
        client = await Client.connect(worker.server.port)
        for n in range(45):
            await client.ask(inquiry(trace_number=f"J{n}"))  # DOE JANE, 45 times today
        for n in range(145):
            person = people[n % len(people)]
            types = ("30", "A7") if n < 10 else ("30",)
            await client.ask(
                inquiry(
                    mbi=person.mbi,
                    last_name=person.last_name,
                    first_name=person.first_name,
                    birth_date=None,
                    service_types=types,
                    trace_number=f"P{n}",
                )
            )
        for n in range(4):
            await client.ask(inquiry(npi=fx.UNLINKED_NPI, trace_number=f"U{n}"))
        await client.ask(mix["aaa43"][0])
        for _ in range(3):
            await client.ask(mix["aaa73"][0])
        await client.ask(mix["ta1"][0])
        await client.ask(mix["999"][0])
        for _ in range(3):
            await client.ask(mix["suspended"][0])
        await client.ask(mix["not-x12"][0])
        await client.close()

    config_file = tmp_path / "hetsock.toml"  # what the command reads: the audit database and the repeat limit
    where = f'dsn = "{audit_backend.target}"' if audit_backend.name == "postgres" else f'path = "{config.audit_path}"'
    config_file.write_text(f"[audit]\n{where}\n\n[enforcement]\nrepeat_limit = 40\n")
    db = ["--config", str(config_file)]
    assert main(["audit", "report", "--json", *db]) == 0
    document = json.loads(capsys.readouterr().out)
    by_id = {s["submitter"]: s for s in document["submitters"]}
    assert set(by_id) == {"", fx.SUBMITTER, fx.SUSPENDED_SUBMITTER}
    demo = by_id[fx.SUBMITTER]
    assert demo["requests"] == 200
    assert demo["kinds"] == {"271": 190, "271-AAA": 8, "TA1": 1, "999": 1}
    assert (demo["transactions"], demo["valid_linked_npi"]) == (198, 193)
    assert demo["valid_linked_npi_share"] == pytest.approx(193 / 198)
    assert demo["meets_npi_threshold"] is False
    assert {code: a["count"] for code, a in demo["aaa"].items()} == {"41": 4, "43": 1, "73": 3}
    assert demo["aaa"]["41"]["rate"] == pytest.approx(4 / 198)
    assert demo["a7"] == {"count": 10, "share": pytest.approx(10 / 198)}
    [repeat] = demo["repeated"]["list"]  # the others: 29 each, under the limit
    assert (repeat["npi"], repeat["inquiries"]) == (fx.LINKED_NPI, 45 + 3)  # the AAA 73s asked about her too
    assert (demo["repeated"]["groups"], demo["repeated"]["beyond_limit"]) == (1, 8)
    assert set(demo["npis"]) == {fx.LINKED_NPI, fx.UNLINKED_NPI, fx.INVALID_NPI}
    assert demo["npis"][fx.UNLINKED_NPI]["valid_linked_npi_share"] == 0.0
    assert demo["npis"][fx.LINKED_NPI]["meets_npi_threshold"] is True
    latency = demo["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert by_id[fx.SUSPENDED_SUBMITTER]["kinds"] == {"proprietary": 3}
    assert by_id[fx.SUSPENDED_SUBMITTER]["transactions"] == 0
    assert by_id[fx.SUSPENDED_SUBMITTER]["meets_npi_threshold"] is None
    assert by_id[""]["kinds"] == {"proprietary": 1}
    assert document["total"]["requests"] == 204

    # One submitter, a time span, the table.
    assert main(["audit", "report", "--submitter", fx.SUSPENDED_SUBMITTER, "--json", *db]) == 0
    assert [s["submitter"] for s in json.loads(capsys.readouterr().out)["submitters"]] == [fx.SUSPENDED_SUBMITTER]
    assert main(["audit", "report", "--until", "2000-01-01", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["requests"] == 0
    assert main(["audit", "report", "--since", "1h", *db]) == 0
    table = capsys.readouterr().out
    assert "204 requests, 198 271 transactions" in table
    assert f"{fx.SUBMITTER:<15} (all)           200     198       193   97.47 % BELOW" in table
    assert f"{'':<15} {fx.UNLINKED_NPI:<10}        4       4         0    0.00 % BELOW" in table
    assert "AAA: 41 4 (2.02 %), 43 1 (0.51 %), 73 3 (1.52 %); A7: 10 (5.05 %)" in table
    assert f"{fx.SUBMITTER} NPI {fx.LINKED_NPI}, beneficiary #" in table
    assert ": 48 inquiries" in table
    assert fx.DOE_JANE.mbi not in table
    assert "DOE" not in table


def test_report_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "report", "--db", str(tmp_path / "none.sqlite3")]) == 2
    assert "no audit database yet" in capsys.readouterr().err
    unreachable = "postgresql://hetsock:s3cret@127.0.0.1:1/audit?connect_timeout=2"
    assert main(["audit", "report", "--db", unreachable]) == 2
    err = capsys.readouterr().err
    assert "postgresql://127.0.0.1:1/audit" in err
    assert "s3cret" not in err
    assert main(["audit", "report", "--db", str(tmp_path / "none.sqlite3"), "--since", "soon"]) == 2
    assert "--since/--until" in capsys.readouterr().err


def test_the_table_for_an_empty_trail() -> None:
    text = render_table(build_report([], npi_threshold=0.995, repeat_limit=10, since=T0))
    assert "(no records)" in text
    assert "Repeated inquiries: none" in text


def test_the_report_without_until_counts_records_stamped_ahead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another instance's clock may run ahead of this machine's: no --until means no upper bound.
    path = tmp_path / "audit.sqlite3"
    database = SqliteAuditDatabase.open(path)
    now = time.time()
    database.write([record(received=now - 10), record(received=now + 120)])
    database.close()
    assert main(["audit", "report", "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["requests"] == 2
