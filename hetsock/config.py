"""Configuration from TOML (``config/hetsock.toml``): read once at start, never per request."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs

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
class Config:
    """The whole configuration."""

    x12: X12Config = X12Config()

    @classmethod
    def from_toml(cls, path: Path) -> Config:
        """Read ``path``; raises :class:`ConfigError` with a message naming the fault."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from error
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
        return cls(X12Config(receiver_id=receiver_id, profile=profile))

    @classmethod
    def load(cls, path: Path | None) -> Config:
        """``path`` if given; else ``config/hetsock.toml`` if it exists; else the defaults."""
        if path is not None:
            return cls.from_toml(path)
        if DEFAULT_CONFIG_PATH.exists():
            return cls.from_toml(DEFAULT_CONFIG_PATH)
        return cls()
