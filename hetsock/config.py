"""Configuration from TOML (``config/hetsock.toml``): read once at start, never per request."""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any

import attrs

from hetsock.eligibility import synth
from hetsock.eligibility.store import is_postgres_dsn
from hetsock.maintenance import MaintenanceError, MaintenanceSchedule
from hetsock.tomlfile import read_toml
from hetsock.x12.rules import Rules

DEFAULT_CONFIG_PATH = Path("config/hetsock.toml")


class ConfigError(Exception):
    """The configuration file is unreadable or holds an invalid value."""


@attrs.frozen
class X12Config:
    """The ``[x12]`` section."""

    receiver_id: str = "CMS"
    profile: str = "hets"

    def rules(self) -> Rules:
        return Rules.x12() if self.profile == "x12" else Rules.hets(self.receiver_id)


@attrs.frozen
class StoreConfig:
    """The ``[store]`` section: the PostgreSQL store at ``dsn`` if set, else the embedded SQLite
    store at ``path``, created on first use (:func:`hetsock.eligibility.store.open_store`)."""

    path: Path = Path("data/hetsock.sqlite3")
    #: How many synthetic beneficiaries (fixtures included) a new demo store gets.
    demo_beneficiaries: int = 100_000
    #: A PostgreSQL connection string (``postgresql://...`` or ``key=value`` pairs); empty: SQLite.
    dsn: str = attrs.field(default="", repr=False)  # may hold a password

    def at(self, target: str) -> StoreConfig:
        """This section with the store moved to ``target`` (a ``--store`` option): a
        ``postgresql://`` URL, or a SQLite file."""
        if is_postgres_dsn(target):
            return attrs.evolve(self, dsn=target)
        return attrs.evolve(self, dsn="", path=Path(target))


@attrs.frozen
class EligibilityConfig:
    """The ``[eligibility]`` section: the date-of-service window and the registry file."""

    months_back: int = 12
    months_forward: int = 4
    registry: Path = Path("config/submitters.toml")


#: The port ``hetsock serve`` listens on unless told otherwise.
DEFAULT_PORT = 7270
#: Most worker processes per instance: each numbers its replies' ISA13 in its own block, and an
#: instance has ten (see ``hetsock.server.state.CONTROL_BLOCK``).
MAX_WORKERS = 10
#: The date-of-service window's bounds (months either side of the day received): ten years.
MAX_MONTHS = 120
#: The most beneficiaries the demo generator can make (distinct MBIs).
MAX_DEMO_BENEFICIARIES = synth.MBI_SPACE // 4


@attrs.frozen
class ServerConfig:
    """The ``[server]`` section: where to listen, the socket rules and the limits (per worker)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: Worker processes sharing the port, 1 to :data:`MAX_WORKERS`.
    workers: int = 1
    #: This instance's number (0-9) among several behind a balancer: its replies' ISA13 block.
    instance: int = 0
    #: Seconds with no bytes received and no reply pending before the server closes a socket.
    idle_timeout: float = 5.0
    #: Seconds from a message's first byte by which the whole message must have arrived.
    message_deadline: float = 30.0
    #: Seconds answering a request and writing its reply may take (a client that stops reading is closed).
    reply_timeout: float = 30.0
    #: Bytes in one message (the wrapper's payload, or a bare interchange).
    max_message_size: int = 64 * 1024
    #: Open connections per worker, in total and from one originating address.
    max_connections: int = 1000
    max_connections_per_address: int = 250
    #: Requests being answered at once per worker before new ones get "overload" (SBY00507).
    max_in_flight: int = 64
    #: Seconds SIGTERM/SIGINT waits for requests in progress before closing what is left.
    grace_period: float = 10.0
    #: Worker threads for stores whose reads may wait (PostgreSQL); SQLite is read on the event loop.
    store_threads: int = 16
    #: Behind a TCP balancer: every connection starts with a PROXY protocol header (v1 or v2)
    #: giving the client's real address; only peers in ``trusted_proxies`` (CIDRs) may send one.
    proxy_protocol: bool = False
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@attrs.frozen
class TlsConfig:
    """The ``[tls]`` section: off unless ``certificate`` and ``key`` are set (plain TCP is the
    default: the CMS Extranet is a private network). With ``client_ca`` every client must present
    a certificate that CA signed (mutual TLS); the registry may pin submitters to certificates."""

    certificate: Path | None = None
    key: Path | None = None
    client_ca: Path | None = None
    handshake_timeout: float = 5.0

    @property
    def enabled(self) -> bool:
        return self.certificate is not None


@attrs.frozen
class AuditConfig:
    """The ``[audit]`` section: the audit trail, one record per request answered (README, "Audit")."""

    enabled: bool = True
    #: The SQLite audit database; ``None``: ``audit.sqlite3`` beside the store file.
    path: Path | None = None
    #: The file holding the HMAC key for the MBI hash; ``None``: ``audit.key`` beside the store
    #: file. Created (32 random bytes, mode 0600) on the first start if missing.
    secret_file: Path | None = None
    #: Seconds between writes: a crash loses at most this much of the trail.
    flush_interval: float = 1.0
    #: Records per database transaction, at most.
    batch_size: int = 1000
    #: Records a worker holds while the database cannot be written; beyond it they are dropped (counted, logged).
    max_backlog: int = 100_000
    #: Days records are kept (pruned by worker 0's writer); 0 keeps them for ever.
    retention_days: int = 90
    #: A PostgreSQL connection string (``postgresql://...`` or ``key=value`` pairs): the audit
    #: database every instance shares (:mod:`hetsock.audit.postgres`); empty: the SQLite file.
    dsn: str = attrs.field(default="", repr=False)  # may hold a password

    def at(self, target: str) -> AuditConfig:
        """This section with the database moved to ``target`` (a ``--db`` option): a
        ``postgresql://`` URL, or a SQLite file."""
        if is_postgres_dsn(target):
            return attrs.evolve(self, dsn=target)
        return attrs.evolve(self, dsn="", path=Path(target))


@attrs.frozen
class EnforcementConfig:
    """The ``[enforcement]`` section: CMS's per-submitter rules. The report always measures against
    these thresholds; with ``enabled`` the server also suspends (README, "Enforcement")."""

    enabled: bool = False
    #: Share of 271 transactions that must carry a valid NPI linked to the submitter.
    npi_threshold: float = 0.995
    #: Seconds of traffic the share is measured over (rolling).
    npi_window: float = 86_400.0
    #: Transactions in the window before the share is judged at all.
    min_transactions: int = 200
    #: Inquiries for one NPI and one beneficiary in a day; more are "repeated inquiries".
    repeat_limit: int = 10
    #: Seconds a submitter under the NPI threshold is suspended (HETS: 24 hours).
    submitter_suspension: float = 86_400.0
    #: Seconds a submitter/NPI link over the repeat limit is suspended.
    link_suspension: float = 86_400.0
    #: Seconds between the server's reads of the suspension table (``hetsock submitters``).
    poll_interval: float = 2.0


@attrs.frozen
class MetricsConfig:
    """The ``[metrics]`` section: Prometheus ``/metrics`` and ``/health`` over HTTP, one port per
    worker (worker ``w`` listens on ``port + w``; port 0: any free port, logged)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9270


@attrs.frozen
class Config:
    """The whole configuration."""

    x12: X12Config = X12Config()
    store: StoreConfig = StoreConfig()
    eligibility: EligibilityConfig = EligibilityConfig()
    server: ServerConfig = ServerConfig()
    maintenance: MaintenanceSchedule = attrs.field(factory=MaintenanceSchedule)
    tls: TlsConfig = TlsConfig()
    audit: AuditConfig = AuditConfig()
    enforcement: EnforcementConfig = EnforcementConfig()
    metrics: MetricsConfig = MetricsConfig()

    @property
    def audit_path(self) -> Path:
        """The audit database file (``[audit] path``, else beside the store)."""
        return self.audit.path or self.store.path.parent / "audit.sqlite3"

    @property
    def audit_key_path(self) -> Path:
        """The audit key file (``[audit] secret_file``, else beside the store)."""
        return self.audit.secret_file or self.store.path.parent / "audit.key"

    @classmethod
    def from_toml(cls, path: Path) -> Config:
        """Read ``path``; raises :class:`ConfigError` with a message naming the fault."""
        raw = read_toml(path, ConfigError)
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "config") -> Config:
        section = raw.get("x12", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{source}: [x12] must be a table")
        receiver_id = section.get("receiver_id", "CMS")
        profile = section.get("profile", "hets")
        if (
            not isinstance(receiver_id, str)
            or not 2 <= len(receiver_id) <= 15
            or not (receiver_id.isascii() and receiver_id.isalnum())
        ):
            raise ConfigError(f"{source}: x12.receiver_id must be 2 to 15 ASCII letters or digits")
        if profile not in ("hets", "x12"):
            raise ConfigError(f'{source}: x12.profile must be "hets" or "x12"')
        store = _section(raw, "store", source)
        eligibility = _section(raw, "eligibility", source)
        windows = raw.get("maintenance", [])
        if not isinstance(windows, list):
            raise ConfigError(f"{source}: [[maintenance]] must be an array of tables")
        try:
            maintenance = MaintenanceSchedule.from_tables(windows, source=source)
        except MaintenanceError as error:
            raise ConfigError(str(error)) from error
        return cls(
            X12Config(receiver_id=receiver_id, profile=profile),
            StoreConfig(
                path=Path(_typed(store, "path", str, "data/hetsock.sqlite3", source)),
                demo_beneficiaries=_positive(store, "demo_beneficiaries", 100_000, source, most=MAX_DEMO_BENEFICIARIES),
                dsn=_typed(store, "dsn", str, "", source).strip(),
            ),
            EligibilityConfig(
                months_back=_positive(eligibility, "months_back", 12, source, most=MAX_MONTHS),
                months_forward=_positive(eligibility, "months_forward", 4, source, most=MAX_MONTHS),
                registry=Path(_typed(eligibility, "registry", str, "config/submitters.toml", source)),
            ),
            _server(_section(raw, "server", source), source),
            maintenance,
            _tls(_section(raw, "tls", source), source),
            _audit(_section(raw, "audit", source), source),
            _enforcement(_section(raw, "enforcement", source), source),
            _metrics(_section(raw, "metrics", source), source),
        )

    @classmethod
    def load(cls, path: Path | None) -> Config:
        """``path`` if given; else ``config/hetsock.toml`` if it exists; else the defaults."""
        if path is not None:
            return cls.from_toml(path)
        if DEFAULT_CONFIG_PATH.exists():
            return cls.from_toml(DEFAULT_CONFIG_PATH)
        return cls()


def _server(section: dict[str, Any], source: str) -> ServerConfig:
    defaults = ServerConfig()
    host = _typed(section, "host", str, defaults.host, source)
    port = _typed(section, "port", int, defaults.port, source)
    if isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"{source}: port must be 0 to 65535")
    size = _positive(section, "max_message_size", defaults.max_message_size, source)
    if size < 106:
        raise ConfigError(f"{source}: max_message_size must be at least 106 (one ISA segment)")

    def seconds(key: str) -> float:
        return _seconds(section, key, getattr(defaults, key), source)

    def count(key: str) -> int:
        return _positive(section, key, getattr(defaults, key), source)

    proxy_protocol = _typed(section, "proxy_protocol", bool, defaults.proxy_protocol, source)
    trusted = section.get("trusted_proxies", list(defaults.trusted_proxies))
    try:
        if not isinstance(trusted, list):
            raise TypeError("not a list")
        for cidr in trusted:
            if not isinstance(cidr, str):
                raise TypeError("each must be a string")
            ipaddress.ip_network(cidr, strict=False)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: trusted_proxies must be a list of CIDRs ({error})") from error
    workers = count("workers")
    if workers > MAX_WORKERS:
        raise ConfigError(f"{source}: workers must be 1 to {MAX_WORKERS} (replies' ISA13 blocks: ten per instance)")
    instance = _typed(section, "instance", int, defaults.instance, source)
    if isinstance(instance, bool) or not 0 <= instance <= 9:
        raise ConfigError(f"{source}: instance must be 0 to 9")
    return ServerConfig(
        host=host,
        port=port,
        instance=instance,
        workers=workers,
        idle_timeout=seconds("idle_timeout"),
        message_deadline=seconds("message_deadline"),
        reply_timeout=seconds("reply_timeout"),
        max_message_size=size,
        max_connections=count("max_connections"),
        max_connections_per_address=count("max_connections_per_address"),
        max_in_flight=count("max_in_flight"),
        grace_period=seconds("grace_period"),
        store_threads=count("store_threads"),
        proxy_protocol=proxy_protocol,
        trusted_proxies=tuple(trusted),
    )


def _tls(section: dict[str, Any], source: str) -> TlsConfig:
    paths = {key: _typed(section, key, str, "", source) for key in ("certificate", "key", "client_ca")}
    if bool(paths["certificate"]) != bool(paths["key"]):
        raise ConfigError(f"{source}: [tls] needs both certificate and key")
    if paths["client_ca"] and not paths["certificate"]:
        raise ConfigError(f"{source}: [tls] client_ca needs a certificate and key")
    return TlsConfig(
        certificate=Path(paths["certificate"]) if paths["certificate"] else None,
        key=Path(paths["key"]) if paths["key"] else None,
        client_ca=Path(paths["client_ca"]) if paths["client_ca"] else None,
        handshake_timeout=_seconds(section, "handshake_timeout", 5.0, source),
    )


def _audit(section: dict[str, Any], source: str) -> AuditConfig:
    defaults = AuditConfig()
    path = _typed(section, "path", str, "", source)
    secret = _typed(section, "secret_file", str, "", source)
    retention = _typed(section, "retention_days", int, defaults.retention_days, source)
    if isinstance(retention, bool) or retention < 0:
        raise ConfigError(f"{source}: retention_days must be 0 (keep) or a positive number of days")
    return AuditConfig(
        enabled=_typed(section, "enabled", bool, defaults.enabled, source),
        path=Path(path) if path else None,
        secret_file=Path(secret) if secret else None,
        flush_interval=_seconds(section, "flush_interval", defaults.flush_interval, source),
        batch_size=_positive(section, "batch_size", defaults.batch_size, source),
        max_backlog=_positive(section, "max_backlog", defaults.max_backlog, source),
        retention_days=retention,
        dsn=_typed(section, "dsn", str, "", source).strip(),
    )


def _enforcement(section: dict[str, Any], source: str) -> EnforcementConfig:
    defaults = EnforcementConfig()
    threshold = section.get("npi_threshold", defaults.npi_threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ConfigError(f"{source}: npi_threshold must be a share from 0 to 1 (0.995 for 99.5 %)")

    def seconds(key: str) -> float:
        return _seconds(section, key, getattr(defaults, key), source)

    return EnforcementConfig(
        enabled=_typed(section, "enabled", bool, defaults.enabled, source),
        npi_threshold=float(threshold),
        npi_window=seconds("npi_window"),
        min_transactions=_positive(section, "min_transactions", defaults.min_transactions, source),
        repeat_limit=_positive(section, "repeat_limit", defaults.repeat_limit, source),
        submitter_suspension=seconds("submitter_suspension"),
        link_suspension=seconds("link_suspension"),
        poll_interval=seconds("poll_interval"),
    )


def _metrics(section: dict[str, Any], source: str) -> MetricsConfig:
    defaults = MetricsConfig()
    port = _typed(section, "port", int, defaults.port, source)
    if isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"{source}: metrics port must be 0 to 65535")
    return MetricsConfig(
        enabled=_typed(section, "enabled", bool, defaults.enabled, source),
        host=_typed(section, "host", str, defaults.host, source),
        port=port,
    )


def _seconds(section: dict[str, Any], key: str, default: float, source: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{source}: {key} must be a positive (finite) number of seconds")
    return float(value)


def _section(raw: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return section


def _typed(section: dict[str, Any], key: str, kind: type, default: Any, source: str) -> Any:
    value = section.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: {key} must be a {kind.__name__}")
    return value


def _positive(section: dict[str, Any], key: str, default: int, source: str, *, most: int | None = None) -> int:
    value = _typed(section, key, int, default, source)
    if isinstance(value, bool) or value < 1:
        raise ConfigError(f"{source}: {key} must be a positive integer")
    if most is not None and value > most:
        raise ConfigError(f"{source}: {key} must be 1 to {most:,}")
    return int(value)
