"""``hetsock send`` and ``hetsock inquire`` in process (``main(argv)``) against a real ``hetsock serve``."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from process import ServerProcess, write_config
from serving import NOW, REGISTRY, SPECIMEN_WRAPPED, inquiry

from hetsock.cli import build_parser, main
from hetsock.cli_client import UsageError, build_inquiry, inquiry_from_args, split_interchanges
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.wire.framing import Mode, wrap
from hetsock.x12.check import Accepted, check_270
from hetsock.x12.grammar270 import SERVICE_TYPE_CODES
from hetsock.x12.rules import Rules
from hetsock.x12.writer import ControlNumbers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = write_config(tmp_path_factory.mktemp("serve"), beneficiaries=100)
    process = ServerProcess("--config", str(config), "--port", "0")
    process.port()
    yield process
    process.kill()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def has(text: str, *cells: str) -> bool:
    """Whether one line of ``text`` holds ``cells`` in order, columns apart."""
    pattern = r"\s+".join(re.escape(cell) for cell in cells)
    return re.search(pattern, text) is not None


# --- send --explain for each demo fixture -------------------------------------------------------

#: (fixture, inquiry changes, table cells the explanation must show).
SHAPES: list[tuple[str, dict[str, object], list[tuple[str, ...]]]] = [
    ("DOE JANE", {}, [
        ("Part A (hospital)", "active", "since 2005-04-01"),
        ("Part B (medical)", "active", "since 2005-04-01"),
        ("Part B deductible", "$120.00 remaining of $283.00 a year", "2026-01-01 to 2026-12-31"),
        ("Hospital days", "78 days left, coinsurance $434.00 a day"),
        ("Preventive service", "G0438 annual wellness visit, first: next eligible 2027-01-15"),
    ]),
    ("ROE RICHARD", {"mbi": "2EG4TE5MK74", "last_name": "ROE", "first_name": "RICHARD"}, [
        ("Medicare Advantage plan", "H1234 001 SUNSHINE MEDICARE ADVANTAGE PLAN, phone 800-555-1234", "since 2024"),
        ("Part D (drugs)", "H1234 001 SUNSHINE MEDICARE ADVANTAGE PLAN"),
    ]),
    ("POE MARY", {"mbi": "3EG4TE5MK75", "last_name": "POE", "first_name": "MARY"}, [
        ("Part D (drugs)", "S5678 002 EVERGREEN RX BASIC", "since 2022-01-01"),
    ]),
    ("MOE ROBERT", {"mbi": "4EG4TE5MK76", "last_name": "MOE", "first_name": "ROBERT"}, [
        ("Medicare pays second", "ACME HEALTH INSURANCE pays first (working aged, employer group health plan)"),
    ]),
    ("LOWE ALICE", {"mbi": "5EG4TE5MK77", "last_name": "LOWE", "first_name": "ALICE"}, [
        ("Hospice", "election, hospice NPI 1922334457", "2026-08-15 to 2026-11-12"),
        ("Hospice", "election, hospice NPI 1922334457", "since 2026-11-13"),
    ]),
    ("COE EDWARD", {"mbi": "6EG4TE5MK78", "last_name": "COE", "first_name": "EDWARD"}, [
        ("Part A (hospital)", "ended", "1998-02-01 to 2026-03-01"),
        ("Date of death", "2026-03-01"),
    ]),
    ("VOE LINDA", {"mbi": "7EG4TE5MK79", "last_name": "VOE", "first_name": "LINDA"}, [
        ("Part A (hospital)", "active", "since 2010-11-01"),
        ("Part B (medical)", "ended", "2010-11-01 to 2023-12-31"),
    ]),
    ("HOE GEORGE", {"mbi": "9EG4TE5MK71", "last_name": "HOE", "first_name": "GEORGE"}, [
        ("271: eligibility for HOE, GEORGE (MBI 8EG4TE5MK70",),
        ("Identifying data changed", "the MBI or name sent differs from the record"),
    ]),
    ("GOE SUSAN", {"mbi": "1EG4TE5MK80", "last_name": "GOE", "first_name": "SUSAN"}, [
        ("Home health", "episode, agency NPI 1811223340", "2026-10-20 to 2026-12-18"),
    ]),
    ("NOE KEVIN", {"mbi": "2EG4TE5MK81", "last_name": "NOE", "first_name": "KEVIN"}, [
        ("Entitlement reason", "end stage renal disease"),
    ]),
    ("SMITH-JONES PAT", {"mbi": "3EG4TE5MK82", "last_name": "SMITH-JONES", "first_name": "PAT"}, [
        ("271: eligibility for SMITH JONES, PAT JR",),
        ("Part A (hospital)", "active", "since 2020-05-01"),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changes", "cells"), SHAPES, ids=[s[0] for s in SHAPES])
def test_send_explains_each_demo_shape(
    server: ServerProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    changes: dict[str, object],
    cells: list[tuple[str, ...]],
) -> None:
    path = tmp_path / "one.270"
    path.write_bytes(inquiry(birth_date=None, **changes))
    status, out, err = run(capsys, "send", str(path), "--port", str(server.port()), "--explain")
    assert (status, err) == (0, "")
    assert out.startswith("ISA*00*")
    assert "\nEB*" in out  # the reply, one segment per line
    for row in cells:
        assert has(out, *row), f"{name}: no row {row} in:\n{out}"


def test_send_explains_rejections_over_one_connection(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "several.270"
    path.write_bytes(
        inquiry(mbi="1EG4TE5MK99")
        + b"\r\n"
        + inquiry(npi=fx.UNLINKED_NPI)
        + inquiry().replace(b"EQ*30~", b"EQ*ZZ~")
        + inquiry(control=321).replace(b"*ZZ*CMS            *", b"*ZZ*XMS            *")
        + inquiry(submitter_id="DEMO0009", control=322)
    )
    status, out, err = run(capsys, "send", str(path), "--port", str(server.port()), "--explain")
    assert (status, err) == (2, "")  # the worst: a proprietary error
    for header in ("271-AAA", "271-AAA", "999", "TA1", "proprietary"):
        assert f"): {header}\n" in out
    assert "# reply 5 of 5 " in out
    assert "AAA 75 in 2100C (the subscriber): no beneficiary has this MBI." in out
    assert "AAA 41 in 2100B (the provider): the provider's NPI is not linked to your submitter ID" in out
    assert "EQ01 (repetition 1) is not one of the allowed codes (sent: ZZ)" in out
    assert "TA1: interchange 000000321 was rejected" in out
    assert "ISA08 must be this system's receiver ID" in out
    assert "proprietary error SBY00502: the request for trace 000000322 was refused" in out
    assert out.count("What to do:") == 5


def test_send_reads_stdin_wrapped_files_and_sends_bare(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(SPECIMEN_WRAPPED + wrap(inquiry(), Mode.WRAPPED))))
    status, out, err = run(capsys, "send", "-", "--port", str(server.port()), "--bare")
    assert (status, err) == (0, "")
    assert out.count("ST*271*") == 2
    assert "TRN*2*TRACKNUM0001*" in out
    assert "TRN*2*TRACE0001*" in out
    assert "What to do" not in out  # no --explain


def test_send_exit_statuses(server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rejected = tmp_path / "rejected.270"
    rejected.write_bytes(inquiry(last_name="DOH"))
    assert run(capsys, "send", str(rejected), "--port", str(server.port()))[0] == 1
    garbage = tmp_path / "garbage.270"
    garbage.write_bytes(b"GET / HTTP/1.0\r\n\r\n")
    status, out, err = run(capsys, "send", str(garbage), "--port", str(server.port()))
    assert (status, out) == (2, "")
    assert "cannot be read as interchanges" in err
    status, _, err = run(capsys, "send", str(tmp_path / "missing.270"), "--port", str(server.port()))
    assert status == 2
    assert "unreadable" in err


def test_send_without_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.270"
    path.write_bytes(inquiry())
    status, out, err = run(capsys, "send", str(path), "--port", "1")
    assert (status, out) == (3, "")
    assert err.startswith("hetsock: cannot connect to 127.0.0.1:1: ")


def test_split_interchanges() -> None:
    one = inquiry()
    assert split_interchanges(one + b"\r\n" + one) == [one, one]
    assert split_interchanges(wrap(one, Mode.WRAPPED) * 3) == [one] * 3
    assert split_interchanges(b"  \r\n") == "no interchange in it"
    assert "ended inside a message" in str(split_interchanges(one[:200]))


# --- inquire ---------------------------------------------------------------------------------------


def test_inquire_explains_by_default(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "inquire", "--mbi", "1eg4te5mk73", "--last", "doe", "--first", "jane", "--dob", "1940-04-01",
        "--npi", fx.LINKED_NPI, "--service-types", "30,47", "--trace", "ASKED1", "--port", str(server.port()),
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert "TRN*2*ASKED1*9HETSOCK01~" in out
    assert "271: eligibility for DOE, JANE (MBI 1EG4TE5MK73, born 1940-04-01), trace ASKED1" in out
    assert has(out, "Part A deductible", "$0.00 remaining of $1,736.00 a benefit period")
    status, out, _ = run(
        capsys,
        "inquire", "--mbi", fx.DOE_JANE.mbi, "--last", "DOE", "--dob", "19400402", "--npi", fx.LINKED_NPI,
        "--no-explain", "--port", str(server.port()),
    )  # fmt: skip
    assert status == 1
    assert "AAA*N**71*C~" in out
    assert "What to do" not in out


def test_inquire_print_only(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "inquire", "--mbi", fx.DOE_JANE.mbi, "--last", "DOE", "--first", "JANE", "--npi", fx.LINKED_NPI,
        "--date-of-service", "2026-11-01..2026-11-20", "--procedures", "G0438", "--service-types", "AG",
        "--usage", "T", "--print",
    )  # fmt: skip
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("ISA*00*          *00*          *ZZ*DEMO0001       *ZZ*CMS            *")
    assert "DTP*291*RD8*20261101-20261120~" in lines
    assert "EQ*AG~" in lines
    assert "EQ**HC|G0438~" in lines
    decision = check_270("".join(lines), rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--last", "DO*E", "--first", "JANE"], "--last: holds a character a 270 cannot carry"),
        (["--last", "DOE"], "give --first or --dob"),
        (["--last", "DOE", "--dob", "1940-13-01"], "--dob: not a date"),
        (["--last", "DOE", "--first", "JANE", "--service-types", "30,QQ"], "not a service type code: QQ"),
        (["--last", "DOE", "--first", "JANE", "--date-of-service", "2026-11-20..2026-11-01"], "ends before it starts"),
        (["--last", "DOE", "--first", "J" * 40], "--first: at most 35 characters"),
        (["--last", "DOE", "--first", "JANE", "--submitter", "S" * 16], "--submitter: at most 15 characters"),
        (["--last", "DOE", "--first", "JANE", "--trace", "A*B"], "--trace: 1 to 50 characters, X12 characters other"),
        (["--last", "DOE", "--first", "JANE", "--trace", "\u00df" * 30], "--trace: 1 to 50 characters"),  # SS each
    ],
)
def test_inquire_refuses_what_a_270_cannot_carry(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status, out, err = run(capsys, "inquire", "--mbi", fx.DOE_JANE.mbi, "--npi", fx.LINKED_NPI, "--print", *extra)
    assert (status, out) == (2, "")
    assert message in err
    assert fx.DOE_JANE.mbi not in err


def test_inquire_notes_identifiers_the_server_will_reject(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys,
        "inquire",
        "--mbi",
        "1EG4TE5MK7S",
        "--last",
        "DOE",
        "--first",
        "JANE",
        "--npi",
        fx.INVALID_NPI,
        "--print",
    )
    assert status == 0
    assert "expect AAA 72" in err
    assert "expect AAA 43" in err


# --- hypothesis: whatever the arguments, the 270 is one the engine accepts ------------------------


_NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -'.,", min_size=1, max_size=35).filter(
    lambda name: name.strip() != ""
)
_DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 11, 22))
_SERVICE_DAYS = st.dates(min_value=dt.date(2025, 11, 22), max_value=dt.date(2027, 3, 22))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mbi=st.sampled_from([b.mbi for b in fx.BENEFICIARIES] + ["1EG4TE5MK99", "9EG4TE5MK71"]),
    last=_NAME,
    first=st.one_of(st.just(""), _NAME),
    birth=_DATES,
    send_birth=st.booleans(),
    npi=st.sampled_from([fx.LINKED_NPI, fx.UNLINKED_NPI, fx.INVALID_NPI]),
    service_types=st.lists(st.sampled_from(SERVICE_TYPE_CODES.split()), min_size=1, max_size=5, unique=True),
    service_days=st.one_of(st.none(), st.tuples(_SERVICE_DAYS, _SERVICE_DAYS).map(sorted)),
    iso=st.booleans(),
)
def test_inquire_builds_270s_the_engine_accepts(
    store: SqliteStore,
    mbi: str,
    last: str,
    first: str,
    birth: dt.date,
    send_birth: bool,
    npi: str,
    service_types: list[str],
    service_days: list[dt.date] | None,
    iso: bool,
) -> None:
    def day(value: dt.date) -> str:
        return value.isoformat() if iso else value.strftime("%Y%m%d")

    # (--opt=VALUE: a name may start with "-", which argparse would take for an option)
    argv = ["inquire", "--mbi", mbi, f"--last={last}", "--npi", npi, "--service-types", ",".join(service_types)]
    if first:
        argv += [f"--first={first}"]
    if send_birth or not first.strip():
        argv += ["--dob", day(birth)]
    if service_days is not None:
        argv += ["--date-of-service", f"{day(service_days[0])}..{day(service_days[1])}"]
    request = inquiry_from_args(build_parser().parse_args(argv))
    payload = build_inquiry(request, NOW, 1234)
    decision = check_270(payload, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Accepted)
    assert decision.inquiry.service_types == tuple(service_types)
    reply = respond(payload, Context(Services(REGISTRY, store), NOW, ControlNumbers(5), "127.0.0.1"))
    assert reply.kind in (ReplyKind.ELIGIBILITY, ReplyKind.REJECTION)
    assert reply.traces == (request.trace_number,)


def test_usage_error_messages_name_the_option_not_the_value() -> None:
    args = build_parser().parse_args(["inquire", "--mbi", "X", "--last", "SECRET~NAME", "--npi", "1", "--first", "A"])
    with pytest.raises(UsageError) as caught:
        inquiry_from_args(args)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize("command", ["send", "inquire"])
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--port", "70000", "--port: must be a port number, 1 to 65535"),
        ("--port", "-1", "--port: must be a port number, 1 to 65535"),
        ("--port", "0", "--port: must be a port number, 1 to 65535"),
        ("--timeout", "-1", "--timeout: must be a number above 0"),
        ("--timeout", "0", "--timeout: must be a number above 0"),
        ("--timeout", "nan", "--timeout: must be a finite number"),
        ("--timeout", "inf", "--timeout: must be a finite number"),
    ],
)
def test_connection_options_are_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, option: str, value: str, message: str
) -> None:
    if command == "send":
        (tmp_path / "x.wrapped").write_bytes(SPECIMEN_WRAPPED)
        argv = ["send", str(tmp_path / "x.wrapped")]
    else:
        argv = ["inquire", "--mbi", fx.DOE_JANE.mbi, "--last", "DOE", "--first", "JANE", "--npi", fx.LINKED_NPI]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, f"{option}={value}"])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
