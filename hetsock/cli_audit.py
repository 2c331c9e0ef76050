"""``hetsock audit report`` and ``hetsock submitters``: the audit trail and enforcement for operators.

Both read the audit database the server writes (``[audit] dsn`` on PostgreSQL, else ``[audit]
path``, default ``audit.sqlite3`` beside the store; ``--db`` takes a file or a ``postgresql://``
URL instead) and may run while the server does, or while many servers do. ``hetsock submitters suspend`` and
``reinstate`` write the suspension table; a running server applies the change within
``[enforcement] poll_interval`` (2 s), or at once on SIGHUP. Exit status: 0 done, 1 nothing
matched (``reinstate`` with no active suspension), 2 the configuration, registry or database
cannot be read, or an argument is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import sys
from pathlib import Path

import attrs
import orjson

from hetsock.audit import open_audit_database
from hetsock.audit.database import AuditDatabase, AuditDatabaseError, Reason, Suspension
from hetsock.audit.enforcement import apply_suspensions, describe_time
from hetsock.audit.report import RepeatGroups, build_report, render_table
from hetsock.config import Config, ConfigError
from hetsock.eligibility.identifiers import is_valid_npi
from hetsock.registry import Registry, RegistryError

EXIT_OK, EXIT_NOTHING, EXIT_FAILED = 0, 1, 2

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": 60, "h": 3600, "d": 86_400}


def parse_when(text: str, *, now: dt.datetime) -> float:
    """A time for ``--since``/``--until``: ``2026-11-22``, ``2026-11-22T09:30[:00]`` (local time),
    or ``24h`` / ``7d`` / ``90m`` before ``now``. Raises ``ValueError``."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return now.timestamp() - int(relative.group(1)) * _UNITS[relative.group(2)]
    return dt.datetime.fromisoformat(text.strip()).timestamp()


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="configuration file (default: config/hetsock.toml)")
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH|URL",
        help="the audit database: a SQLite file or a postgresql:// URL (default: the config's)",
    )


def add_audit_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail: per-submitter report")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    report = commands.add_parser(
        "report",
        help="CMS-style measures per submitter and NPI",
        description="Per submitter and NPI: requests, share of 271 transactions with a valid linked NPI "
        "against the threshold, AAA rates by code, repeated inquiries, service type A7, latency percentiles.",
    )
    _add_common(report)
    report.add_argument("--since", default=None, help="from this time: 2026-11-22, 2026-11-22T09:00, or 24h / 7d ago")
    report.add_argument("--until", default=None, help="up to (not including) this time; same forms")
    report.add_argument("--submitter", default=None, help="one submitter only")
    report.add_argument("--json", action="store_true", help="JSON for machines")
    report.set_defaults(handler=_cmd_report)

    submitters = subparsers.add_parser(
        "submitters",
        help="list, suspend and reinstate submitters and submitter/NPI links",
        description="Suspensions live in the audit database and are laid over the registry file; a running "
        "server applies a change within [enforcement] poll_interval, or at once on SIGHUP.",
    )
    actions = submitters.add_subparsers(dest="submitters_command", required=True)
    listing = actions.add_parser("list", help="submitters, their NPIs and what is suspended")
    _add_common(listing)
    listing.add_argument("--history", action="store_true", help="also every past suspension")
    listing.add_argument("--json", action="store_true", help="JSON for machines")
    listing.set_defaults(handler=_cmd_list)
    suspend = actions.add_parser("suspend", help="suspend a submitter (SBY00502) or one of its NPIs (AAA 41)")
    _add_common(suspend)
    suspend.add_argument("submitter", help="the submitter ID (ISA06)")
    suspend.add_argument("--npi", default=None, help="suspend only this submitter/NPI link")
    length = suspend.add_mutually_exclusive_group()
    length.add_argument("--hours", type=float, default=None, help="for this long (default: the config's, 24)")
    length.add_argument("--indefinitely", action="store_true", help="until reinstated")
    suspend.add_argument("--reason", default="", help="a note for the record (no patient data)")
    suspend.set_defaults(handler=_cmd_suspend)
    reinstate = actions.add_parser("reinstate", help="lift a submitter's (or a link's) active suspension")
    _add_common(reinstate)
    reinstate.add_argument("submitter", help="the submitter ID (ISA06)")
    which = reinstate.add_mutually_exclusive_group()
    which.add_argument("--npi", default=None, help="the submitter/NPI link")
    which.add_argument("--all", action="store_true", help="the submitter and every one of its links")
    reinstate.set_defaults(handler=_cmd_reinstate)


def _load(args: argparse.Namespace) -> Config | None:
    """The configuration, with the audit database moved to ``--db`` if given."""
    try:
        config = Config.load(args.config)
    except ConfigError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return None
    if args.db:
        config = attrs.evolve(config, audit=config.audit.at(args.db))
    return config


def _open(config: Config, *, create: bool) -> AuditDatabase | None:
    if not create and not config.audit.dsn and not config.audit_path.exists():
        print(
            f"hetsock: {config.audit_path}: no audit database yet (the server creates it on its first start)",
            file=sys.stderr,
        )
        return None
    try:
        return open_audit_database(config, create=create)
    except AuditDatabaseError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return None


def _cmd_report(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_FAILED
    now = dt.datetime.now()
    try:
        since = parse_when(args.since, now=now) if args.since else None
        until = parse_when(args.until, now=now) if args.until else None
    except ValueError:
        print("hetsock: --since/--until take 2026-11-22, 2026-11-22T09:00, or 24h / 7d / 90m", file=sys.stderr)
        return EXIT_FAILED
    database = _open(config, create=False)
    if database is None:
        return EXIT_FAILED
    with contextlib.closing(database):
        try:
            limit = config.enforcement.repeat_limit
            # The repeat groups counted by the database first, then the records: a record written
            # between the two reads can count in the tallies and not in a group.
            repeats = RepeatGroups.read(database, since=since, until=until, submitter=args.submitter, limit=limit)
            report = build_report(
                database.records(since=since, until=until, submitter=args.submitter),
                npi_threshold=config.enforcement.npi_threshold,
                repeat_limit=limit,
                since=since,
                until=until,
                repeats=repeats,
            )
        except AuditDatabaseError as error:
            print(f"hetsock: {error}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(render_table(report))
    return EXIT_OK


def _registry(config: Config) -> Registry | None:
    try:
        return Registry.from_toml(config.eligibility.registry)
    except RegistryError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return None


def _suspension_json(s: Suspension) -> dict[str, object]:
    return {
        "submitter": s.submitter,
        "npi": s.npi or None,
        "reason": s.reason,
        "detail": s.detail,
        "since": describe_time(s.since),
        "until": describe_time(s.until) if s.until is not None else None,
        "reinstated": describe_time(s.lifted) if s.lifted is not None else None,
    }


def _cmd_list(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_FAILED
    registry = _registry(config)
    if registry is None:
        return EXIT_FAILED
    database = _open(config, create=True)
    if database is None:
        return EXIT_FAILED
    now = dt.datetime.now().timestamp()
    with contextlib.closing(database):
        try:
            active = database.suspensions(now=now)
            history = database.suspensions() if args.history else []
        except AuditDatabaseError as error:
            print(f"hetsock: {error}", file=sys.stderr)
            return EXIT_FAILED
    effective = apply_suspensions(registry, active)
    if args.json:
        document = {
            "submitters": [
                {
                    "id": s.id,
                    "name": s.name,
                    "registry_status": s.status,
                    "status": effective.submitters[s.id].status,
                    "npis": sorted(s.npis),
                    "suspended_npis": sorted(s.npis - effective.submitters[s.id].npis),
                }
                for s in sorted(registry.submitters.values(), key=lambda s: s.id)
            ],
            "active_suspensions": [_suspension_json(s) for s in active],
            "history": [_suspension_json(s) for s in history],
        }
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    print(f"{'submitter':<15} {'status':<10} {'registry':<10} name / linked NPIs")
    for entry in sorted(registry.submitters.values(), key=lambda entry: entry.id):
        now_status = effective.submitters[entry.id].status
        suspended = entry.npis - effective.submitters[entry.id].npis
        npis = ", ".join(f"{npi} (suspended)" if npi in suspended else npi for npi in sorted(entry.npis)) or "-"
        print(f"{entry.id:<15} {now_status:<10} {entry.status:<10} {entry.name}; NPIs: {npis}")
    print()
    if active:
        print("Active suspensions:")
        for s in active:
            target = f"{s.submitter} NPI {s.npi}" if s.npi else s.submitter
            until = describe_time(s.until) if s.until is not None else "until reinstated"
            print(f"  {target}: {s.reason} since {describe_time(s.since)}, until {until}; {s.detail}")
    else:
        print("No active suspensions.")
    if args.history:
        print("\nAll suspensions, newest first:")
        for s in history:
            target = f"{s.submitter} NPI {s.npi}" if s.npi else s.submitter
            lifted = f", reinstated {describe_time(s.lifted)}" if s.lifted is not None else ""
            print(f"  {target}: {s.reason} {describe_time(s.since)} to {describe_time(s.until)}{lifted}; {s.detail}")
    return EXIT_OK


def _cmd_suspend(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_FAILED
    registry = _registry(config)
    if registry is None:
        return EXIT_FAILED
    submitter = registry.get(args.submitter)
    if submitter is None:
        print(f"hetsock: {args.submitter} is not in the registry ({config.eligibility.registry})", file=sys.stderr)
        return EXIT_FAILED
    npi = args.npi or ""
    if npi and (not is_valid_npi(npi) or npi not in submitter.npis):
        print(f"hetsock: {npi} is not an NPI linked to {submitter.id}", file=sys.stderr)
        return EXIT_FAILED
    if args.hours is not None and args.hours <= 0:
        print("hetsock: --hours must be positive", file=sys.stderr)
        return EXIT_FAILED
    now = dt.datetime.now().timestamp()
    default = config.enforcement.link_suspension if npi else config.enforcement.submitter_suspension
    until = None if args.indefinitely else now + (args.hours * 3600 if args.hours is not None else default)
    suspension = Suspension(submitter.id, npi, Reason.MANUAL, args.reason or "suspended by an operator", now, until)
    database = _open(config, create=True)
    if database is None:
        return EXIT_FAILED
    with contextlib.closing(database):
        try:
            made = database.suspend(suspension, now=now)
        except AuditDatabaseError as error:
            print(f"hetsock: {error}", file=sys.stderr)
            return EXIT_FAILED
    target = f"{submitter.id} NPI {npi}" if npi else submitter.id
    if not made:
        print(f"{target} is already suspended (hetsock submitters list)")
        return EXIT_NOTHING
    what = "AAA 41 for that NPI" if npi else "SBY00502 for every request"
    ending = "until reinstated" if until is None else f"until {describe_time(until)}"
    print(f"suspended {target} {ending}: {what}; a running server applies it within a few seconds (or on SIGHUP)")
    return EXIT_OK


def _cmd_reinstate(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_FAILED
    database = _open(config, create=True)
    if database is None:
        return EXIT_FAILED
    now = dt.datetime.now().timestamp()
    with contextlib.closing(database):
        try:
            if args.all:
                targets = {s.target for s in database.suspensions(now=now, submitter=args.submitter)}
            else:
                targets = {(args.submitter, args.npi or "")}
            lifted = sum(database.reinstate(target, now=now) for target in sorted(targets))
        except AuditDatabaseError as error:
            print(f"hetsock: {error}", file=sys.stderr)
            return EXIT_FAILED
    if not lifted:
        print(f"no active suspension for {args.submitter}{' NPI ' + args.npi if args.npi else ''}")
        return EXIT_NOTHING
    print(f"reinstated {args.submitter}: {lifted} suspension(s) lifted; a running server applies it within seconds")
    return EXIT_OK
