"""The submitter registry: who may send, from where, for which NPIs (``config/submitters.toml``).

Each ``[[submitter]]`` has an ``id`` (ISA06/GS02), a ``name``, a ``status`` (``active`` or
``suspended``), the ``usage`` indicators it may send (ISA15 ``P`` and/or ``T``), the originating
``addresses`` it may connect from (CIDRs; empty means any), its linked ``npis`` (the
Submitter/NPI relationship), a ``connection_limit`` and, optionally, ``certificates``: the
SHA-256 fingerprints of the TLS client certificates it may use (pinned, as CMS requires
digital certificates on its internet paths; several allow a rotation). A submitter with pinned
certificates is served only over mutual TLS with one of them. The registry is read once at start and
again on reload (the server's SIGHUP): :meth:`Registry.from_toml` builds a new immutable
registry, and the caller swaps it in whole, so a request never sees half of a reload.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from hetsock.eligibility.identifiers import is_valid_npi
from hetsock.tomlfile import read_toml

DEFAULT_REGISTRY_PATH = Path("config/submitters.toml")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def _parse_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


#: How many addresses each submitter remembers the answer for (then it starts again).
_REMEMBERED_ADDRESSES = 1024


class RegistryError(Exception):
    """The registry file is unreadable or holds an invalid entry."""


@attrs.frozen
class Submitter:
    """One trading partner."""

    id: str
    name: str
    status: str = "active"
    usage: frozenset[str] = frozenset({"P", "T"})
    addresses: tuple[Network, ...] = ()
    npis: frozenset[str] = frozenset()
    connection_limit: int = 10
    #: SHA-256 fingerprints (lower-case hex) of the client certificates it must present; empty: any.
    certificates: frozenset[str] = frozenset()
    #: :meth:`allows_address`'s answers by address: it is asked on every request, and the CIDR
    #: scan (``ipaddress`` containment is Python code) costs more than the rest of authorizing.
    #: Bounded; a reload builds new submitters, so never stale.
    _address_answers: dict[str, bool] = attrs.field(init=False, factory=dict, eq=False, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def allows_address(self, address: str | None) -> bool:
        """Whether ``address`` (an IP, or None when unknown, e.g. in-process use) may send."""
        if not self.addresses or address is None:
            return True
        answers = self._address_answers
        answer = answers.get(address)
        if answer is None:
            ip = _parse_address(address)
            answer = ip is not None and any(ip in network for network in self.addresses)
            if len(answers) >= _REMEMBERED_ADDRESSES:
                answers.clear()
            answers[address] = answer
        return answer

    def allows_certificate(self, fingerprint: str | None) -> bool:
        """Whether a connection whose client certificate has ``fingerprint`` (``None``: no TLS
        client certificate) may send for this submitter."""
        return not self.certificates or fingerprint in self.certificates

    def is_linked(self, npi: str) -> bool:
        return npi in self.npis


def authorized(submitter: Submitter | None, peer_address: str | None, usage: str | None) -> bool:
    """Whether ``submitter`` (``None``: not in the registry) may send from ``peer_address`` with
    ISA15 ``usage`` (``None``: not read): known, active, from one of its addresses, a usage it
    may send. Anything else is answered SBY00502."""
    if submitter is None or not submitter.active or not submitter.allows_address(peer_address):
        return False
    return usage is None or usage in submitter.usage


@attrs.frozen
class Registry:
    """All submitters by ID."""

    submitters: dict[str, Submitter] = attrs.field(factory=dict)

    def get(self, submitter_id: str) -> Submitter | None:
        return self.submitters.get(submitter_id)

    @functools.cached_property
    def pins_certificates(self) -> bool:
        """Whether any submitter is pinned to TLS client certificates (so each request's
        submitter must be checked against its connection's certificate)."""
        return any(submitter.certificates for submitter in self.submitters.values())

    def with_status(self, submitter_id: str, status: str) -> Registry:
        """A copy with one submitter's status changed (for enforcement and tests)."""
        submitter = self.submitters[submitter_id]
        return Registry({**self.submitters, submitter_id: attrs.evolve(submitter, status=status)})

    @classmethod
    def of(cls, submitters: Iterable[Submitter]) -> Registry:
        return cls({s.id: s for s in submitters})

    @classmethod
    def from_toml(cls, path: Path) -> Registry:
        """Read ``path``; raises :class:`RegistryError` naming the fault."""
        raw = read_toml(path, RegistryError)
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "registry") -> Registry:
        entries = raw.get("submitter", [])
        if not isinstance(entries, list):
            raise RegistryError(f"{source}: [[submitter]] must be an array of tables")
        submitters: dict[str, Submitter] = {}
        for index, entry in enumerate(entries, start=1):
            where = f"{source}: submitter {index}"
            submitter = _submitter(entry, where)
            if submitter.id in submitters:
                raise RegistryError(f"{where}: duplicate id {submitter.id}")
            submitters[submitter.id] = submitter
        return cls(submitters)


def _submitter(entry: Any, where: str) -> Submitter:
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: must be a table")
    submitter_id = entry.get("id")
    if not isinstance(submitter_id, str) or not 2 <= len(submitter_id) <= 15 or not submitter_id.isalnum():
        raise RegistryError(f"{where}: id must be 2 to 15 letters or digits")
    status = entry.get("status", "active")
    if status not in ("active", "suspended"):
        raise RegistryError(f"{where}: status must be active or suspended")
    usage = entry.get("usage", ["P", "T"])
    if not isinstance(usage, list) or not all(isinstance(u, str) and u in ("P", "T") for u in usage):
        raise RegistryError(f"{where}: usage must be a list of P and/or T")
    try:
        addresses = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in entry.get("addresses", []))
    except (TypeError, ValueError) as error:
        raise RegistryError(f"{where}: addresses must be CIDRs: {error}") from error
    npis = entry.get("npis", [])
    if not isinstance(npis, list) or not all(isinstance(n, str) and is_valid_npi(n) for n in npis):
        raise RegistryError(f"{where}: npis must be valid 10-digit NPIs")
    limit = entry.get("connection_limit", 10)
    if not isinstance(limit, int) or limit < 1:
        raise RegistryError(f"{where}: connection_limit must be a positive integer")
    certificates = entry.get("certificates", [])
    if not isinstance(certificates, list) or not all(isinstance(c, str) for c in certificates):
        raise RegistryError(f"{where}: certificates must be a list of SHA-256 fingerprints")
    pins = frozenset(c.replace(":", "").lower() for c in certificates)
    if not all(len(pin) == 64 and all(ch in "0123456789abcdef" for ch in pin) for pin in pins):
        raise RegistryError(f"{where}: certificates must be SHA-256 fingerprints (64 hex digits, colons allowed)")
    name = entry.get("name", submitter_id)
    return Submitter(
        id=submitter_id,
        name=str(name),
        status=status,
        usage=frozenset(usage),
        addresses=addresses,
        npis=frozenset(npis),
        connection_limit=limit,
        certificates=pins,
    )


@attrs.define
class RegistrySource:
    """The registry file and the registry read from it, reloadable without a restart.

    :meth:`reload` reads the file again and swaps the new registry in whole; if the file is
    broken it raises :class:`RegistryError` and the registry in force stays as it was.
    """

    path: Path
    current: Registry

    @classmethod
    def load(cls, path: Path) -> RegistrySource:
        return cls(path, Registry.from_toml(path))

    def reload(self) -> Registry:
        self.current = Registry.from_toml(self.path)
        return self.current
