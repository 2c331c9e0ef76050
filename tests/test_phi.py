"""No patient data in logs: the scanner finds planted leaks, and a server at debug level answering
every demo fixture (right and wrong) writes none, in either log format, nor do the operator commands.

The same scanner runs over every log line of the whole test session when it ends
(``conftest.py``, ``tests/phi.py``): a leak anywhere fails the run."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import phi
import pytest
from ops import traffic
from process import BlockingClient, ServerProcess, write_config
from serving import inquiry

from hetsock.cli import main
from hetsock.eligibility import fixtures as fx
from hetsock.logs import LOGGER_NAME, log_event
from hetsock.wire.framing import Mode


@pytest.mark.parametrize(
    "line",
    [
        "event=request mbi=1EG4TE5MK73",
        'event=x detail="member 1eg4te5mk73 not found"',
        "event=x previous=9EG4TE5MK71",
        "event=x name=DOE",
        '{"event": "x", "first": "JANE"}',
        "event=x last=SMITH-JONES",
        'event=x last="SMITH JONES"',
        "event=x born=19400401",
        "event=x born=1940-04-01",
        "event=x born=04/01/1940",
        'event=x street="123 MAIN STREET"',
    ],
)
def test_the_scanner_finds_a_planted_leak(line: str) -> None:
    assert phi.find_patient_data(["event=fine", line]) == [(phi.find_patient_data([line])[0][0], line)]


@pytest.mark.parametrize(
    "line",
    [
        "ts=2026-11-22T09:00:00.000Z level=debug event=request conn=1 submitter=DEMO0001 isa13=000005014 kind=271",
        'event=suspended detail="12 inquiries for one beneficiary on 2026-11-22" hash=3f1a9c0d4e5b6a7c',
        "event=x note=DOES JANET ROEBUCK 119400401 1EG4TE5MK731",
    ],
)
def test_the_scanner_leaves_operational_lines_alone(line: str) -> None:
    assert phi.find_patient_data([line]) == []


def test_the_session_collects_this_process_logs() -> None:
    before = len(phi.LOG_LINES)
    log_event(logging.getLogger(LOGGER_NAME + ".test"), "probe", level=logging.DEBUG, value=7)
    kv, js = phi.LOG_LINES[before:]
    assert "event=probe value=7" in kv
    assert json.loads(js)["event"] == "probe"


def requests_about_everyone() -> list[bytes]:
    """Every fixture, answered and rejected every way a person's data could be quoted."""
    asks: list[bytes] = []
    for n, person in enumerate(fx.BENEFICIARIES):
        born = dt.date.fromisoformat(f"{person.birth_date[:4]}-{person.birth_date[4:6]}-{person.birth_date[6:]}")
        same = {"mbi": person.mbi, "last_name": person.last_name, "first_name": person.first_name}
        asks.append(inquiry(**same, birth_date=born, trace_number=f"OK{n}"))
        asks.append(inquiry(**same, birth_date=born.replace(year=born.year - 1), trace_number=f"DOB{n}"))  # AAA 71
        asks.append(inquiry(**{**same, "first_name": "SOMEONE"}, birth_date=None, trace_number=f"NM{n}"))  # 73
        asks.append(inquiry(**same, birth_date=born, npi=fx.UNLINKED_NPI, trace_number=f"NPI{n}"))  # AAA 41
        good = inquiry(**same, birth_date=born, trace_number=f"BAD{n}")
        asks.append(good.replace(b"EQ*30~", b"EQ*ZZ~"))  # 999, the subscriber's loop quoted in the request
        asks.append(good.replace(b"IEA*1*", b"IEA*2*"))  # TA1
    for person in fx.BENEFICIARIES:
        for previous in person.previous_mbis:
            asks.append(inquiry(mbi=previous, last_name=person.last_name, first_name=person.first_name))
    asks += [payload for payload, _, _ in traffic().values()]
    return asks


@pytest.mark.parametrize("log_format", ["kv", "json"])
def test_a_server_answering_everyone_logs_no_patient_data(
    tmp_path: Path, log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    server = ServerProcess("--config", str(config), "--port", "0", "--log-level", "debug", "--log-format", log_format)
    asks = requests_about_everyone()
    try:
        listening = r"listening\W.*address\W+127\.0\.0\.1:(\d+)"
        port = int(server.wait_for(listening).group(1))
        with BlockingClient(port) as client:
            for payload in asks:
                client.ask(payload)
        with BlockingClient(port, Mode.BARE) as bare:  # an interchange quoting a person in a broken frame
            bare.sock.sendall(inquiry().replace(b"ISA*00*", b"ISA*00"))
            bare.reply()
        assert server.stop() == 0
    finally:
        server.kill()
    requests = [line for line in server.lines if "request" in line and "isa13" in line]
    assert len(requests) == len(asks) + 1  # debug was on: every request made a line
    assert phi.find_patient_data(server.lines) == []
    # The operator's commands say nothing about anyone either.
    assert main(["audit", "report", "--config", str(config)]) == 0
    assert main(["audit", "report", "--json", "--config", str(config)]) == 0
    assert main(["submitters", "list", "--history", "--config", str(config)]) == 0
    output = capsys.readouterr()
    assert "DEMO0001" in output.out
    assert phi.find_patient_data(output.out.splitlines() + output.err.splitlines()) == []


@pytest.mark.parametrize(("logged", "status"), [("fx.DOE_JANE.mbi", 1), ("'DEMO0001'", 0)])
def test_the_session_scan_fails_a_run_that_logged_patient_data(tmp_path: Path, logged: str, status: int) -> None:
    """A run of one passing test that logs a fixture's MBI fails; the same test logging a
    submitter ID passes."""
    test = tmp_path / "test_leaky.py"
    test.write_text(
        "import logging\n"
        "from hetsock.eligibility import fixtures as fx\n"
        "from hetsock.logs import log_event\n\n"
        "def test_logs_something() -> None:\n"
        f"    log_event(logging.getLogger('hetsock.leaky'), 'lookup', member={logged})\n"
    )
    tests = Path(__file__).parent
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider", str(test)],
        cwd=tests.parent,
        env={**os.environ, "PYTHONPATH": str(tests)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == status, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert ("PATIENT DATA IN LOGS: 2 line(s)" in run.stdout) == bool(status)  # key=value and JSON
