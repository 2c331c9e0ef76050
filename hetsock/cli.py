"""The ``hetsock`` command line. ``main(argv)`` returns the exit status (testable in-process)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hetsock.cli_audit import add_audit_commands
from hetsock.cli_client import add_client_commands
from hetsock.cli_loadtest import add_loadtest_command
from hetsock.cli_seed import add_seed_command
from hetsock.cli_serve import add_serve_command
from hetsock.config import Config, ConfigError
from hetsock.eligibility.store import StoreUnavailableError
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import RegistryError
from hetsock.services import open_services
from hetsock.wire.framing import EndOfStream, FrameReceiver, Message
from hetsock.x12.check import Accepted, NotAnInterchange, Rejected, check_270
from hetsock.x12.explain import explain_reply
from hetsock.x12.rules import Rules
from hetsock.x12.writer import ControlNumbers

EXIT_ACCEPTED, EXIT_REJECTED, EXIT_UNREADABLE = 0, 1, 2


def _unwrap(data: bytes) -> bytes | None:
    """The payload of a HETS-wrapped file (read by the server's own framing), else ``data``;
    ``None`` when a wrapped message is followed by anything but line breaks (a second message,
    or junk): one interchange per file, as a bare file's data after the IEA is a TA1 fault."""
    if not data.lstrip(b"\r\n\t ").startswith(b"\x01"):
        return data
    receiver = FrameReceiver(max_message_size=max(len(data), 106))
    receiver.receive_data(data)
    event = receiver.next_event()
    if not isinstance(event, Message):
        return data  # the engine says what is wrong with it
    receiver.receive_data(b"")  # the end of the file
    return event.payload if isinstance(receiver.next_event(), EndOfStream) else None


def _check_file(path: str, rules: Rules, receiver_id: str, out: list[str], services: Services | None) -> int:
    try:
        data = Path(path).read_bytes() if path != "-" else sys.stdin.buffer.read()
    except OSError as error:
        out.append(f"{path}: unreadable: {error.strerror or error}")
        return EXIT_UNREADABLE
    payload = _unwrap(data)
    if payload is None:
        out.append(f"{path}: unreadable: data follows the first wrapped message (one interchange per file)")
        return EXIT_UNREADABLE
    if services is not None:
        return _respond_file(path, payload, services, out)
    now = dt.datetime.now()
    decision = check_270(payload, rules=rules, now=now, control=ControlNumbers(1), receiver_id=receiver_id)
    if isinstance(decision, NotAnInterchange):
        out.append(f"{path}: not an X12 interchange: {decision.reason}")
        return EXIT_UNREADABLE
    if isinstance(decision, Accepted):
        inquiry = decision.inquiry
        out.append(f"{path}: ACCEPTED: a valid 005010X279A1 270")
        out.append(
            f"  submitter {inquiry.submitter_id}, ISA13 {inquiry.interchange_control}, "
            f"usage {inquiry.usage}, BHT03 {inquiry.reference}"
        )
        out.append(
            f"  provider {inquiry.receiver.id_qualifier} {inquiry.receiver.id}; "
            f"service types {','.join(inquiry.service_types) or '-'}; "
            f"procedures {','.join(p.code for p in inquiry.procedures) or '-'}"
        )
        return EXIT_ACCEPTED
    assert isinstance(decision, Rejected)
    out.append(f"{path}: REJECTED with a {decision.kind}: {decision.detail}")
    out.extend("  " + line for line in explain_reply(decision.reply))
    out.append("  reply:")
    out.extend("    " + line for line in _one_segment_per_line(decision.reply))
    return EXIT_REJECTED


def _respond_file(path: str, data: bytes, services: Services, out: list[str]) -> int:
    reply = respond(data, Context(services, dt.datetime.now(), ControlNumbers(1)))
    text = reply.payload.decode("latin-1")
    summary = f"{path}: the server would answer with a {reply.kind.value}"
    if reply.aaa_codes:
        summary += f" (AAA {','.join(reply.aaa_codes)} in {reply.aaa_loop})"
    if reply.error_code:
        summary += f" ({reply.error_code})"
    out.append(summary)
    out.extend("  " + line for line in explain_reply(text))
    out.extend("  " + line for line in (_one_segment_per_line(text) if text.startswith("ISA") else [text]))
    statuses = {ReplyKind.ELIGIBILITY: EXIT_ACCEPTED, ReplyKind.PROPRIETARY: EXIT_UNREADABLE}
    return statuses.get(reply.kind, EXIT_REJECTED)


def _one_segment_per_line(text: str) -> list[str]:
    terminator = text[105] if len(text) > 105 else "~"
    return [piece + terminator for piece in text.split(terminator) if piece]


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        config = Config.load(args.config)
    except ConfigError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    receiver_id = args.receiver_id or config.x12.receiver_id
    if args.x12:
        rules = Rules.x12()
    elif args.receiver_id:
        rules = Rules.hets(args.receiver_id)
    else:
        rules = config.x12.rules()
    services = None
    if args.respond:
        try:
            services = open_services(config, rules=rules, receiver_id=receiver_id, store_target=args.store)
        except (RegistryError, StoreUnavailableError) as error:
            print(f"hetsock: {error}", file=sys.stderr)
            return EXIT_UNREADABLE
    status = EXIT_ACCEPTED
    for path in args.files:
        out: list[str] = []
        result = _check_file(path, rules, receiver_id, out, services)
        print("\n".join(out))
        status = max(status, result)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hetsock", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="check 270 files and explain any TA1/999 they would get",
        description="Run each file through the X12 engine. Exit status: 0 all accepted, "
        "1 some rejected (TA1 or 999), 2 some unreadable or not X12.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="270 file, HETS-wrapped or bare; - for stdin")
    check.add_argument(
        "--config", type=Path, default=None, help="configuration file (default: config/hetsock.toml if present)"
    )
    check.add_argument(
        "--receiver-id", default=None, help="the receiver ID ISA08 must name (default: the config's, CMS)"
    )
    check.add_argument(
        "--x12",
        action="store_true",
        help="relax the HETS-only rules (receiver ID, ZZ qualifiers, no credentials, one inquiry)",
    )
    check.add_argument(
        "--respond",
        action="store_true",
        help="show the reply the server would send (271, 271 with AAA, TA1, 999 or proprietary error); "
        "exit 0 for a 271, 1 for a rejection, 2 for a proprietary error",
    )
    check.add_argument(
        "--store",
        default=None,
        metavar="PATH|URL",
        help="with --respond: a SQLite store file or a postgresql:// URL (default: the config's)",
    )
    check.set_defaults(handler=_cmd_check)
    add_seed_command(commands)
    add_serve_command(commands)
    add_client_commands(commands)
    add_loadtest_command(commands)
    add_audit_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = args.handler
    try:
        result: int = handler(args)
    except BrokenPipeError:  # output piped into something that stopped reading (| head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
