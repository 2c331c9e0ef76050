"""The audit record: one per request answered, built from the server's :class:`Exchange`.

A record holds who asked (worker, connection, originating address and port, submitter ISA06,
NPI), what (BHT03, ISA13, TRN02s, service types), what they got (reply kind, its codes: AAA
reasons, TA1 note or proprietary error code, the AAA loop), whether the reply reached the socket,
and when (received, replied, latency). It never holds the MBI: ``mbi_hash`` is
HMAC-SHA256(key, MBI) (its first 128 bits, in hex), so the trail can count inquiries per beneficiary (the repeat rule)
and an operator holding the key can find one beneficiary's records, while the trail alone says
nothing about who anyone is. Names and birth dates are not recorded at all.

The key lives in a file (``[audit] secret_file``), created with 32 random bytes on the first
start; all workers and every later run read the same file. Replacing it starts new hashes, so
repeats are counted afresh from then on.

``npi_ok``: for a 271 (with or without AAA), whether the NPI was valid and linked to the
submitter (no AAA 43 or 41); for other replies (TA1, 999, proprietary) ``None``: no NPI was
judged. That is the CMS 99.5 % measure (HETS-NOTES section 4).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from hetsock.pipeline import ReplyKind
from hetsock.server.observer import Exchange, reply_codes

#: The AAA reasons that mean "the NPI is invalid (43) or not linked to the submitter (41)".
NPI_FAULTS = frozenset({"41", "43"})
#: Bytes of random key a new key file gets.
KEY_BYTES = 32
#: Bytes of the HMAC kept in ``mbi_hash`` (128 bits: collisions are out of reach at any volume).
HASH_BYTES = 16
_MIN_KEY_BYTES = 16


class AuditKeyError(Exception):
    """The key file cannot be read or created, or holds too short a key."""


class AuditRecord(NamedTuple):
    """One request answered. Times are seconds since the epoch (UTC); ``day`` is the local date
    the request was received (the repeat rule's day, as the eligibility rules' "day received").
    A named tuple: the writer makes one per reply, in a third of the time a frozen attrs class
    takes (22 fields: 0.5 against 1.7 us)."""

    received: float
    replied: float
    day: str
    worker: int
    connection: int
    peer_host: str
    peer_port: int
    submitter: str
    npi: str
    mbi_hash: str  #: '' when the reply carries no MBI (TA1, 999, proprietary)
    reference: str  #: BHT03
    interchange_control: str  #: ISA13
    traces: tuple[str, ...]  #: TRN02s
    service_types: tuple[str, ...]
    kind: str  #: :class:`~hetsock.pipeline.ReplyKind` value
    codes: tuple[str, ...]  #: ``AAA41``, ``TA1-024``, ``SBY00502`` (see ``reply_codes``)
    aaa_loop: str
    npi_ok: bool | None
    delivered: bool
    latency: float  #: seconds
    #: The record's identity: the audit writer that made it (a random UUID, 32 hex digits, new
    #: at every worker start) and its number in that writer's output. A batch retried after a
    #: commit whose acknowledgement was lost (the database went away at that moment) is then
    #: stored once. ``''`` and 0 for a record made elsewhere: stored every time it is written.
    origin: str = ""
    sequence: int = 0

    @property
    def aaa_codes(self) -> tuple[str, ...]:
        return tuple(code[3:] for code in self.codes if code.startswith("AAA"))


def mbi_hash(key: bytes, mbi: str) -> str:
    """HMAC-SHA256 of the MBI (trimmed, upper case) under ``key``, its first 128 bits in hex
    (32 characters); '' for no MBI."""
    normalized = mbi.strip().upper()
    if not normalized:
        return ""
    inner_start, outer_start = _hmac_states(key)
    inner = inner_start.copy()
    inner.update(normalized.encode("utf-8", "replace"))
    outer = outer_start.copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest[:HASH_BYTES].hex()


@functools.lru_cache(maxsize=4)
def key_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's (RFC 2104) two 64-byte blocks for ``key``: the padded key XOR 0x36, XOR 0x5c."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


@functools.lru_cache(maxsize=4)
def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 under ``key``, its two hashes with the padded key already taken in: each
    record then costs two copies and two short updates. ``hmac.digest`` does the same work from
    the key every time (OpenSSL 3 also looks the algorithm up by name each call), 2.4 times the
    cost; the writer makes one hash per record. tests/test_audit_record.py checks it against
    ``hmac``."""
    inner, outer = key_pads(key)
    return hashlib.sha256(inner), hashlib.sha256(outer)


def _text(value: str) -> str:
    """A value as the client sent it, storable anywhere: PostgreSQL's text cannot hold NUL, which
    a TA1's ISA13 or a 999's control number may carry (the reply echoes it with the X12 rules of
    its own), so it is written ``?``; one such record would otherwise fail its batch for ever."""
    return value.replace("\x00", "?") if "\x00" in value else value


def record_of(exchange: Exchange, key: bytes, *, origin: str = "", sequence: int = 0) -> AuditRecord:
    """The audit record of ``exchange``; the MBI goes in only as its keyed hash. ``origin`` and
    ``sequence``: the record's identity (see :class:`AuditRecord`). The values the client sent
    pass through :func:`_text` when one of them holds a NUL (one test for all of them first)."""
    reply = exchange.reply
    connection = exchange.connection
    received = exchange.received
    kind = reply.kind
    submitter, npi, reference, control = reply.submitter_id, reply.npi, reply.reference, reply.interchange_control
    traces, service_types = reply.traces, reply.service_types
    if "\x00" in "".join((submitter, npi, reference, control, *traces, *service_types)):
        submitter, npi, reference, control = _text(submitter), _text(npi), _text(reference), _text(control)
        traces, service_types = tuple(map(_text, traces)), tuple(map(_text, service_types))
    is_271 = kind is ReplyKind.ELIGIBILITY or kind is ReplyKind.REJECTION
    # Positional, in field order: once per record in the writer thread, where keywords cost a
    # fifth more (the writer shares the worker's core).
    return AuditRecord(
        received.timestamp(),  # received (a naive datetime is local time, as the server's clock is)
        exchange.replied.timestamp(),  # replied
        received.date().isoformat(),  # day
        connection.worker,
        connection.id,  # connection
        connection.peer_host,
        connection.peer_port,
        submitter,
        npi,
        mbi_hash(key, reply.member_id),
        reference,
        control,  # interchange_control
        traces,
        service_types,
        kind._value_,  # kind (the value itself: ``.value`` is a Python-level property)
        reply_codes(reply),  # codes
        reply.aaa_loop,
        (not NPI_FAULTS.intersection(reply.aaa_codes)) if is_271 else None,  # npi_ok
        exchange.delivered,
        exchange.latency,
        origin,
        sequence,
    )


def load_or_create_key(path: Path) -> bytes:
    """The audit key in ``path`` (hex text), creating the file (mode 0600, 32 random bytes) if it
    does not exist. Raises :class:`AuditKeyError` naming the file, never the key."""
    if not path.exists():
        _create_key(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise AuditKeyError(f"{path}: cannot read the audit key: {type(error).__name__}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode("ascii")  # a passphrase written by hand: used as it is
    if len(key) < _MIN_KEY_BYTES:
        raise AuditKeyError(f"{path}: the audit key must be at least {_MIN_KEY_BYTES} bytes")
    return key


def _create_key(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place: two processes racing both end up
    reading the one that won, and nobody reads a half-written key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # data/ does not exist yet with a PostgreSQL store
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as error:
        raise AuditKeyError(f"{path}: cannot create the audit key: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(OSError):  # gone, or never made (its directory could not be)
            temporary.unlink()
