"""Enforcement: the valid-linked-NPI threshold and the repeat limit suspend; suspensions are laid
over the registry, survive a reload, and ``hetsock submitters`` reinstates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import trio
from audits import T0, AuditBackend, record
from ops import Client, ops_config, running_worker
from serving import ROOT, error_code, inquiry, make_store, reply_kind

from hetsock.audit.database import AuditDatabase, Reason, Suspension, Usage
from hetsock.audit.enforcement import apply_suspensions, check, under_threshold
from hetsock.cli import main
from hetsock.config import EnforcementConfig
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Services
from hetsock.registry import Registry

POLICY = EnforcementConfig(enabled=True, min_transactions=10, npi_threshold=0.9, repeat_limit=3)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


@pytest.fixture
def database(audit_backend: AuditBackend) -> Iterator[AuditDatabase]:
    opened = audit_backend.open()
    try:
        yield opened
    finally:
        opened.close()


def test_the_threshold_and_its_minimum_volume() -> None:
    policy = EnforcementConfig()  # 99.5 % from 200 transactions
    assert not under_threshold(Usage(200, 199), policy)  # exactly 99.5 %
    assert under_threshold(Usage(200, 198), policy)
    assert not under_threshold(Usage(199, 0), policy)  # too few to judge
    assert under_threshold(Usage(1000, 994), policy)


def test_suspensions_laid_over_the_registry() -> None:
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    assert apply_suspensions(registry, []) is registry
    whole = Suspension(fx.SUBMITTER, "", Reason.MANUAL, "", T0, None)
    link = Suspension(fx.SUBMITTER, fx.LINKED_NPI, Reason.REPEATS, "", T0, None)
    stranger = Suspension("NOBODY01", "", Reason.MANUAL, "", T0, None)
    suspended = apply_suspensions(registry, [whole, stranger])
    assert suspended.submitters[fx.SUBMITTER].status == "suspended"
    assert "NOBODY01" not in suspended.submitters
    unlinked = apply_suspensions(registry, [link])
    assert unlinked.submitters[fx.SUBMITTER].status == "active"
    assert fx.LINKED_NPI not in unlinked.submitters[fx.SUBMITTER].npis
    assert registry.submitters[fx.SUBMITTER].npis == {fx.LINKED_NPI}  # the original is untouched


def test_under_the_npi_threshold_suspends_the_submitter(database: AuditDatabase) -> None:
    good = [record(received=T0 + i, mbi_hash=f"{i:032x}") for i in range(8)]
    bad = [record(received=T0 + 10 + i, npi_ok=False, kind="271-AAA", codes=("AAA41",), mbi_hash="") for i in range(2)]
    database.write(good)
    assert check(database, good, now=T0 + 10, policy=POLICY) == []  # 8 transactions: too few to judge
    database.write(bad)
    [made] = check(database, bad, now=T0 + 20, policy=POLICY)  # 8 of 10 = 80 % < 90 %
    assert (made.target, made.reason, made.until) == ((fx.SUBMITTER, ""), Reason.NPI_THRESHOLD, T0 + 20 + 86_400)
    assert "8 of 10" in made.detail
    assert check(database, bad, now=T0 + 21, policy=POLICY) == []  # already suspended: not again
    assert len(database.suspensions()) == 1
    # Reinstated: only traffic from then on counts, so the old failures do not suspend again.
    database.reinstate((fx.SUBMITTER, ""), now=T0 + 120)
    later = [record(received=T0 + 180 + i, mbi_hash=f"{i:032x}") for i in range(10)]
    database.write(later)
    assert check(database, later, now=T0 + 200, policy=POLICY) == []


def test_the_window_forgets_old_traffic(database: AuditDatabase) -> None:
    bad = [record(received=T0 + i, npi_ok=False, mbi_hash="") for i in range(10)]
    database.write(bad)
    policy = attrs.evolve(POLICY, npi_window=3600.0)
    fresh = [record(received=T0 + 7200 + i, mbi_hash=f"{i:032x}") for i in range(10)]
    database.write(fresh)
    assert check(database, fresh, now=T0 + 7300, policy=policy) == []


def test_over_the_repeat_limit_suspends_the_link(database: AuditDatabase) -> None:
    asks = [record(received=T0 + i) for i in range(3)]
    database.write(asks)
    assert check(database, asks, now=T0 + 3, policy=POLICY) == []  # 3 is the limit, not over it
    fourth = [record(received=T0 + 4)]
    database.write(fourth)
    [made] = check(database, fourth, now=T0 + 5, policy=POLICY)
    assert (made.target, made.reason) == ((fx.SUBMITTER, fx.LINKED_NPI), Reason.REPEATS)
    assert "4 inquiries for one beneficiary on 2026-11-17" in made.detail
    # Another beneficiary, or another day, is another count.
    other = [record(received=T0 + 6 + i, mbi_hash="b" * 32, npi="1987654328") for i in range(3)]
    other.append(record(received=T0 + 86_400, day="2026-11-18", npi="1987654328"))
    database.write(other)
    assert check(database, other, now=T0 + 86_401, policy=POLICY) == []


async def test_enforcement_in_a_running_worker_and_reinstatement(
    store: SqliteStore, tmp_path: Path, audit_backend: AuditBackend
) -> None:
    config = ops_config(
        tmp_path, audit=audit_backend.settings(), enforcement={**attrs.asdict(POLICY), "poll_interval": 0.1}
    )
    argv = ["--config", str(tmp_path / "missing.toml")]  # not read: --db names the database
    async with running_worker(config, Services(Registry.from_toml(config.eligibility.registry), store)) as worker:
        client = await Client.connect(worker.server.port)
        # Repeats: the fourth inquiry for DOE JANE through this NPI today is one too many.
        for n in range(4):
            assert reply_kind(await client.ask(inquiry(trace_number=f"R{n}"))) == "271"
        await wait_until_applied(worker, 1)
        reply = await client.ask(inquiry(trace_number="R4"))
        assert b"AAA*N**41*C~" in reply  # the link is suspended
        db = ["--db", audit_backend.target]
        assert main(["submitters", "reinstate", fx.SUBMITTER, "--npi", fx.LINKED_NPI, *db]) == 0
        await wait_until_applied(worker, 0)
        assert b"AAA*" not in await client.ask(inquiry(trace_number="R5"))  # counted afresh from reinstatement
        # The NPI threshold: 10 transactions, 2 with an unlinked NPI (80 % < 90 %).
        for n in range(2):
            await client.ask(inquiry(npi=fx.UNLINKED_NPI, trace_number=f"U{n}", mbi=fx.POE_MARY.mbi))
        for _ in range(3):
            await client.ask(inquiry(mbi=fx.MOE_ROBERT.mbi, last_name="MOE", first_name="ROBERT", birth_date=None))
        await wait_until_applied(worker, 1)
        assert error_code(await client.ask(inquiry())) == "SBY00502"
        # It survives a reload of the registry file (SIGHUP).
        assert worker.server.reload()
        assert error_code(await client.ask(inquiry())) == "SBY00502"
        assert main(["submitters", "reinstate", fx.SUBMITTER, "--all", *db, *argv[:0]]) == 0
        await wait_until_applied(worker, 0)
        assert reply_kind(await client.ask(inquiry(trace_number="BACK"))) == "271"
        assert error_code(await client.ask(inquiry())) != "SBY00502"
        await client.close()
    database = audit_backend.open()
    try:
        history = database.suspensions()
    finally:
        database.close()
    assert [(s.target, s.reason, s.lifted is not None) for s in reversed(history)] == [
        ((fx.SUBMITTER, fx.LINKED_NPI), Reason.REPEATS, True),
        ((fx.SUBMITTER, ""), Reason.NPI_THRESHOLD, True),
    ]


async def wait_until_applied(worker: object, count: int) -> None:
    watcher = worker.operations.watcher  # type: ignore[attr-defined]
    with trio.fail_after(5):
        while len(watcher.active) != count:  # noqa: ASYNC110 (the watcher reads the database in a thread)
            await trio.sleep(0.02)


async def test_manual_suspension_is_picked_up_and_enforcement_off_suspends_nothing(
    store: SqliteStore, tmp_path: Path, audit_backend: AuditBackend
) -> None:
    config = ops_config(
        tmp_path,
        audit=audit_backend.settings(),
        enforcement={"enabled": False, "repeat_limit": 1, "poll_interval": 0.1},
    )
    db = ["--db", audit_backend.target]
    async with running_worker(config, Services(Registry.from_toml(config.eligibility.registry), store)) as worker:
        client = await Client.connect(worker.server.port)
        for _ in range(3):  # over the repeat limit, but enforcement is off
            assert b"AAA*" not in await client.ask(inquiry())
        await trio.sleep(0.3)
        assert worker.operations.watcher is not None
        assert worker.operations.watcher.active == ()
        assert main(["submitters", "suspend", fx.SUBMITTER, "--hours", "1", "--reason", "test", *db]) == 0
        assert main(["submitters", "suspend", fx.SUBMITTER, *db]) == 1  # already suspended
        await wait_until_applied(worker, 1)
        assert error_code(await client.ask(inquiry())) == "SBY00502"
        assert main(["submitters", "reinstate", fx.SUBMITTER, *db]) == 0
        assert main(["submitters", "reinstate", fx.SUBMITTER, *db]) == 1  # nothing left to lift
        worker.server.reload()  # SIGHUP: reread at once, without waiting for the poll
        await wait_until_applied(worker, 0)
        assert b"AAA*" not in await client.ask(inquiry())
        await client.close()


def test_submitters_command_faults(audit_backend: AuditBackend, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", audit_backend.target]
    assert main(["submitters", "suspend", "NOBODY01", *db]) == 2
    assert "not in the registry" in capsys.readouterr().err
    assert main(["submitters", "suspend", fx.SUBMITTER, "--npi", fx.UNLINKED_NPI, *db]) == 2
    assert "not an NPI linked" in capsys.readouterr().err
    assert main(["submitters", "suspend", fx.SUBMITTER, "--hours", "0", *db]) == 2
    assert main(["submitters", "suspend", fx.SUBMITTER, "--npi", fx.LINKED_NPI, "--indefinitely", *db]) == 0
    assert "until reinstated" in capsys.readouterr().out
    assert main(["submitters", "list", *db]) == 0
    listing = capsys.readouterr().out
    assert (
        f"{fx.SUBMITTER}        active     active     Demo Clearinghouse; NPIs: {fx.LINKED_NPI} (suspended)" in listing
    )
    assert "DEMO0009        suspended  suspended" in listing
    assert main(["submitters", "list", "--json", "--history", *db]) == 0
    out = capsys.readouterr().out
    assert '"suspended_npis": [\n        "1234567893"' in out
    assert '"until": null' in out
    now = dt.datetime.now().timestamp()
    database = audit_backend.open()
    try:
        [active] = database.suspensions(now=now)
    finally:
        database.close()
    assert (active.target, active.reason, active.until) == ((fx.SUBMITTER, fx.LINKED_NPI), Reason.MANUAL, None)
