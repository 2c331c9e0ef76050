"""``hetsock send`` and ``hetsock inquire``: the vendor's side of the socket, from the command line.

``send FILE...`` splits each file into interchanges (HETS-wrapped or bare X12, several in a file,
``-`` for standard input) with the server's own framing, sends them over one connection in the
chosen framing and prints each reply one segment per line (``--explain``: and in plain words).
``inquire`` builds the 270 from arguments (``hetsock.x12.build270``), checks it with the engine
before sending, sends it and explains the reply; ``--print`` only prints the 270.

Exit status: 0 every reply a 271 with eligibility; 1 some rejection (271 with AAA, 999, TA1);
2 some proprietary error or unrecognized reply, an unreadable file or bad arguments; 3 the server
could not be reached or broke the exchange (the message says which). Error messages never hold
patient data; the replies printed to standard output do, as a 271 does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from hetsock import cliargs
from hetsock.client.connection import DEFAULT_PORT, Client, ClientError, ClientSettings
from hetsock.client.explain import explain, segment_lines
from hetsock.client.reply import Reply, ReplyKind
from hetsock.eligibility.identifiers import is_valid_mbi, is_valid_npi
from hetsock.wire.framing import END_OF_STREAM, FrameReceiver, FramingError, Message, Mode
from hetsock.x12.build270 import InquiryRequest, build_270
from hetsock.x12.check import Accepted, check_270
from hetsock.x12.explain import explain_reply
from hetsock.x12.grammar270 import SERVICE_TYPES
from hetsock.x12.rules import Rules
from hetsock.x12.segments import DEFAULT_DELIMITERS, X12_CHARACTERS
from hetsock.x12.writer import ControlNumbers

EXIT_ELIGIBLE, EXIT_REJECTED, EXIT_ERROR, EXIT_CONNECTION = 0, 1, 2, 3

_STATUS = {
    ReplyKind.ELIGIBILITY: EXIT_ELIGIBLE,
    ReplyKind.REJECTION: EXIT_REJECTED,
    ReplyKind.ACK_999: EXIT_REJECTED,
    ReplyKind.TA1: EXIT_REJECTED,
    ReplyKind.PROPRIETARY: EXIT_ERROR,
    ReplyKind.UNRECOGNIZED: EXIT_ERROR,
}

_SAFE_CHARACTERS = X12_CHARACTERS - DEFAULT_DELIMITERS.as_set()


class UsageError(Exception):
    """An argument that cannot go into a 270 (the message names the option, never its value)."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--host", default="127.0.0.1", help="the server (default 127.0.0.1)")
    group.add_argument(
        "--port", type=cliargs.port, default=DEFAULT_PORT, help=f"its port, 1 to 65535 (default {DEFAULT_PORT})"
    )
    group.add_argument("--bare", action="store_true", help="send bare X12 (default: the HETS transmission wrapper)")
    group.add_argument(
        "--timeout", type=cliargs.positive_number, default=30.0, help="seconds to wait for each reply (default 30)"
    )


def add_client_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = subparsers.add_parser(
        "send",
        help="send 270 interchanges to a server and print the replies",
        description="Send every interchange in the files over one connection and print each reply one "
        "segment per line. Exit status: 0 all 271s, 1 some rejection (AAA, 999, TA1), 2 some proprietary "
        "error or unreadable file, 3 the server could not be reached.",
    )
    send.add_argument("files", nargs="+", metavar="FILE", help="interchanges, HETS-wrapped or bare X12; - for stdin")
    send.add_argument("--explain", action="store_true", help="also explain each reply in plain words")
    _connection_options(send)
    send.set_defaults(handler=_cmd_send)

    inquire = subparsers.add_parser(
        "inquire",
        help="build a 270 from arguments, send it and explain the reply",
        description="Build a valid 270 (005010X279A1, HETS profile) from arguments, send it and show the "
        "reply, explained. Exit status as for `hetsock send`.",
    )
    who = inquire.add_argument_group("the inquiry")
    who.add_argument("--mbi", required=True, help="the beneficiary's MBI")
    who.add_argument("--last", required=True, help="last name")
    who.add_argument("--first", default="", help="first name (this or --dob is required)")
    who.add_argument("--dob", default=None, help="birth date, YYYY-MM-DD (or CCYYMMDD)")
    who.add_argument("--npi", required=True, help="the provider's NPI")
    who.add_argument("--provider-name", default="PROVIDER", help="the provider's name (2100B NM103)")
    who.add_argument("--submitter", default="DEMO0001", help="your submitter ID, ISA06/GS02 (default DEMO0001)")
    who.add_argument("--receiver", default="CMS", help="the receiver ID, ISA08/GS03 (default CMS)")
    who.add_argument("--service-types", default="30", help="EQ01 service type codes, comma-separated (default 30)")
    who.add_argument("--procedures", default="", help="HCPCS codes, comma-separated (one EQ each)")
    who.add_argument(
        "--date-of-service",
        default=None,
        help="a date (YYYY-MM-DD) or a range FROM..TO (default: none, which means today)",
    )
    who.add_argument("--usage", choices=("P", "T"), default="P", help="ISA15: P production (default) or T test")
    who.add_argument("--trace", default=None, help="TRN02 trace number (default: a random one)")
    inquire.add_argument(
        "--explain", action=argparse.BooleanOptionalAction, default=True, help="explain the reply (default: yes)"
    )
    inquire.add_argument("--print", action="store_true", help="only print the 270, one segment per line")
    _connection_options(inquire)
    inquire.set_defaults(handler=_cmd_inquire)


# --- send ----------------------------------------------------------------------------------------


def split_interchanges(data: bytes) -> list[bytes] | str:
    """The interchanges in ``data`` (HETS-wrapped or bare, any number), or why they cannot be split."""
    receiver = FrameReceiver(max_message_size=max(len(data) + 1, 106))
    receiver.receive_data(data)
    receiver.receive_data(b"")
    messages: list[bytes] = []
    while True:
        event = receiver.next_event()
        if isinstance(event, Message):
            messages.append(event.payload)
        elif isinstance(event, FramingError):
            return event.detail
        elif event is END_OF_STREAM:
            return messages if messages else "no interchange in it"


def _read(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _settings(args: argparse.Namespace) -> ClientSettings:
    return ClientSettings(reply_timeout=args.timeout)


def _print_reply(reply: Reply, *, explained: bool, header: str | None) -> None:
    if header:
        print(header)
    print("\n".join(segment_lines(reply.payload)))
    if explained:
        print()
        print("\n".join(explain(reply)))


def _cmd_send(args: argparse.Namespace) -> int:
    batches: list[tuple[str, list[bytes]]] = []
    status = EXIT_ELIGIBLE
    for path in args.files:
        try:
            data = _read(path)
        except OSError as error:
            print(f"hetsock: {path}: unreadable: {error.strerror or error}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        found = split_interchanges(data)
        if isinstance(found, str):
            print(f"hetsock: {path}: cannot be read as interchanges: {found}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        batches.append((path, found))
    total = sum(len(messages) for _, messages in batches)
    if not total:
        return status
    mode = Mode.BARE if args.bare else Mode.WRAPPED

    async def run() -> int:
        worst = status
        count = 0
        async with Client(args.host, args.port, mode=mode, settings=_settings(args)) as client:
            for path, messages in batches:
                for message in messages:
                    count += 1
                    reply = await client.send(message)
                    header = f"# reply {count} of {total} ({path}): {reply.kind.value}" if total > 1 else None
                    _print_reply(reply, explained=args.explain, header=header)
                    if count < total:
                        print()
                    worst = max(worst, _STATUS[reply.kind])
        return worst

    return _run_client(run)


def _run_client(run: Callable[[], Awaitable[int]]) -> int:
    try:
        result = trio.run(run)
    except ClientError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_CONNECTION
    return result


# --- inquire -------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def parse_date(value: str, option: str) -> dt.date:
    """``YYYY-MM-DD`` or ``CCYYMMDD``; raises :class:`UsageError` naming ``option``."""
    match = _ISO_DATE.match(value.strip())
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise UsageError(f"{option}: not a date (YYYY-MM-DD)")


def parse_service_dates(value: str) -> tuple[dt.date, dt.date]:
    """A date, or a range ``FROM..TO`` (also ``CCYYMMDD-CCYYMMDD``), first day first."""
    value = value.strip()
    if ".." in value:
        first, _, last = value.partition("..")
    elif re.fullmatch(r"\d{8}-\d{8}", value):
        first, _, last = value.partition("-")
    else:
        first = last = value
    start, end = parse_date(first, "--date-of-service"), parse_date(last, "--date-of-service")
    if end < start:
        raise UsageError("--date-of-service: the range ends before it starts")
    return start, end


#: The most characters each option's element holds (005010X279A1; ISA06/ISA08 are 15 wide).
_MAXIMUM = {
    "--mbi": 80,
    "--last": 60,
    "--first": 35,
    "--npi": 80,
    "--provider-name": 60,
    "--submitter": 15,
    "--receiver": 15,
    "--trace": 50,
}
_CHARACTERS_ALLOWED = "X12 characters other than the delimiters * ^ | ~"


def _text(value: str, option: str, *, required: bool = False) -> str:
    cleaned = " ".join(value.upper().split())
    if required and not cleaned:
        raise UsageError(f"{option}: required")
    if any(c not in _SAFE_CHARACTERS for c in cleaned):
        raise UsageError(f"{option}: holds a character a 270 cannot carry ({_CHARACTERS_ALLOWED} allowed)")
    if len(cleaned) > _MAXIMUM[option]:
        raise UsageError(f"{option}: at most {_MAXIMUM[option]} characters")
    return cleaned


def _codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


def inquiry_from_args(args: argparse.Namespace) -> InquiryRequest:
    """The :class:`InquiryRequest` the arguments describe; raises :class:`UsageError`."""
    first = _text(args.first, "--first")
    birth = parse_date(args.dob, "--dob") if args.dob else None
    if not first and birth is None:
        raise UsageError("give --first or --dob (HETS needs one of them with the last name)")
    service_types = _codes(args.service_types)
    unknown = [code for code in service_types if code not in SERVICE_TYPES]
    if unknown:
        raise UsageError(f"--service-types: not a service type code: {', '.join(unknown)[:40]}")
    if len(service_types) > 99:
        raise UsageError("--service-types: at most 99")
    procedures = _codes(args.procedures)
    if any(not code.isalnum() or len(code) > 48 for code in procedures):
        raise UsageError("--procedures: HCPCS codes are letters and digits")
    if not service_types and not procedures:
        raise UsageError("give --service-types or --procedures")
    trace = (args.trace if args.trace is not None else f"{random.randrange(10**9, 10**10)}").upper()
    if not trace or len(trace) > _MAXIMUM["--trace"] or any(c not in _SAFE_CHARACTERS for c in trace):
        raise UsageError(f"--trace: 1 to {_MAXIMUM['--trace']} characters, {_CHARACTERS_ALLOWED}")
    return InquiryRequest(
        mbi=_text(args.mbi, "--mbi", required=True).replace(" ", ""),
        last_name=_text(args.last, "--last", required=True),
        first_name=first,
        birth_date=birth,
        npi=_text(args.npi, "--npi", required=True).replace(" ", ""),
        provider_name=_text(args.provider_name, "--provider-name", required=True),
        submitter_id=_text(args.submitter, "--submitter", required=True),
        receiver_id=_text(args.receiver, "--receiver", required=True),
        service_types=service_types,
        procedures=procedures,
        service_dates=parse_service_dates(args.date_of_service) if args.date_of_service else None,
        usage=args.usage,
        trace_number=trace,
    )


def build_inquiry(request: InquiryRequest, now: dt.datetime, control: int) -> bytes:
    """The 270 for ``request``, checked by the engine; raises :class:`UsageError` with the
    engine's explanation when it would be rejected (an element too long, say)."""
    try:
        text = build_270(request, now=now, control=ControlNumbers(control, control % 10**9 or 1))
    except ValueError as error:
        raise UsageError(f"cannot build the 270: {error}") from None
    decision = check_270(
        text, rules=Rules.hets(request.receiver_id), now=now, control=ControlNumbers(1), receiver_id=request.receiver_id
    )
    if not isinstance(decision, Accepted):
        reasons = explain_reply(getattr(decision, "reply", "")) or [getattr(decision, "detail", "not accepted")]
        raise UsageError("the arguments make a 270 the server would reject:\n  " + "\n  ".join(reasons))
    return text.encode("latin-1")


def _cmd_inquire(args: argparse.Namespace) -> int:
    try:
        request = inquiry_from_args(args)
        payload = build_inquiry(request, dt.datetime.now(), random.randrange(1, 10**9))
    except UsageError as error:
        print(f"hetsock inquire: {error}", file=sys.stderr)
        return EXIT_ERROR
    if not is_valid_mbi(request.mbi):
        print("hetsock inquire: note: --mbi is not in the MBI format; expect AAA 72", file=sys.stderr)
    if not is_valid_npi(request.npi):
        print("hetsock inquire: note: --npi fails the NPI check digit; expect AAA 43", file=sys.stderr)
    if args.print:
        print("\n".join(segment_lines(payload)))
        return EXIT_ELIGIBLE
    mode = Mode.BARE if args.bare else Mode.WRAPPED

    async def run() -> int:
        async with Client(args.host, args.port, mode=mode, settings=_settings(args)) as client:
            reply = await client.send(payload)
        _print_reply(reply, explained=args.explain, header=None)
        return _STATUS[reply.kind]

    return _run_client(run)
