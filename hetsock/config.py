"""Configuration from TOML (``config/hetsock.toml``): read once at start, never per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from hetsock.eligibility.store import is_postgres_dsn
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


@attrs.frozen
class Config:
    """The whole configuration."""

    x12: X12Config = X12Config()
    store: StoreConfig = StoreConfig()
    eligibility: EligibilityConfig = EligibilityConfig()

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
        if not isinstance(receiver_id, str) or not 2 <= len(receiver_id) <= 15 or not receiver_id.isalnum():
            raise ConfigError(f"{source}: x12.receiver_id must be 2 to 15 letters or digits")
        if profile not in ("hets", "x12"):
            raise ConfigError(f'{source}: x12.profile must be "hets" or "x12"')
        store = _section(raw, "store", source)
        eligibility = _section(raw, "eligibility", source)
        return cls(
            X12Config(receiver_id=receiver_id, profile=profile),
            StoreConfig(
                path=Path(_typed(store, "path", str, "data/hetsock.sqlite3", source)),
                demo_beneficiaries=_positive(store, "demo_beneficiaries", 100_000, source),
                dsn=_typed(store, "dsn", str, "", source).strip(),
            ),
            EligibilityConfig(
                months_back=_positive(eligibility, "months_back", 12, source),
                months_forward=_positive(eligibility, "months_forward", 4, source),
                registry=Path(_typed(eligibility, "registry", str, "config/submitters.toml", source)),
            ),
        )

    @classmethod
    def load(cls, path: Path | None) -> Config:
        """``path`` if given; else ``config/hetsock.toml`` if it exists; else the defaults."""
        if path is not None:
            return cls.from_toml(path)
        if DEFAULT_CONFIG_PATH.exists():
            return cls.from_toml(DEFAULT_CONFIG_PATH)
        return cls()


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


def _positive(section: dict[str, Any], key: str, default: int, source: str) -> int:
    value = _typed(section, key, int, default, source)
    if value < 1:
        raise ConfigError(f"{source}: {key} must be a positive integer")
    return int(value)
