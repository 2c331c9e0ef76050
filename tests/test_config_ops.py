"""The ``[audit]``, ``[enforcement]`` and ``[metrics]`` sections: defaults, the shipped file, faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hetsock.config import AuditConfig, Config, ConfigError, EnforcementConfig, MetricsConfig

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_documentation() -> None:
    config = Config()
    assert config.audit == AuditConfig(enabled=True, flush_interval=1.0, retention_days=90, max_backlog=100_000)
    assert config.enforcement == EnforcementConfig(
        enabled=False, npi_threshold=0.995, repeat_limit=10, submitter_suspension=86_400.0, npi_window=86_400.0
    )
    assert config.metrics == MetricsConfig(enabled=True, host="127.0.0.1", port=9270)
    # The audit database and its key sit beside the store unless told otherwise.
    assert config.audit_path == Path("data/audit.sqlite3")
    assert config.audit_key_path == Path("data/audit.key")
    moved = Config.from_dict({"store": {"path": "/srv/hets/store.sqlite3"}})
    assert (moved.audit_path, moved.audit_key_path) == (Path("/srv/hets/audit.sqlite3"), Path("/srv/hets/audit.key"))


def test_the_shipped_config_file_states_the_defaults() -> None:
    shipped = Config.from_toml(ROOT / "config" / "hetsock.toml")
    assert (shipped.audit, shipped.enforcement, shipped.metrics) == (
        AuditConfig(),
        EnforcementConfig(),
        MetricsConfig(),
    )


def test_overrides() -> None:
    config = Config.from_dict(
        {
            "audit": {
                "path": "/var/audit.db",
                "secret_file": "/etc/hets.key",
                "retention_days": 0,
                "batch_size": 10,
                "dsn": " postgresql://audit@db/hets ",
            },
            "enforcement": {"enabled": True, "npi_threshold": 0.99, "repeat_limit": 5, "poll_interval": 0.5},
            "metrics": {"enabled": False, "port": 0, "host": "0.0.0.0"},
        }
    )
    assert (config.audit_path, config.audit_key_path) == (Path("/var/audit.db"), Path("/etc/hets.key"))
    assert (config.audit.retention_days, config.audit.batch_size) == (0, 10)
    assert config.audit.dsn == "postgresql://audit@db/hets"
    assert (config.enforcement.enabled, config.enforcement.npi_threshold, config.enforcement.repeat_limit) == (
        True,
        0.99,
        5,
    )
    assert config.metrics == MetricsConfig(enabled=False, host="0.0.0.0", port=0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"audit": {"enabled": "yes"}}, "enabled must be a bool"),
        ({"audit": {"flush_interval": 0}}, "flush_interval"),
        ({"audit": {"retention_days": -1}}, "retention_days"),
        ({"audit": {"max_backlog": 0}}, "max_backlog"),
        ({"audit": {"dsn": 5432}}, "dsn must be a str"),
        ({"enforcement": {"npi_threshold": 99.5}}, "npi_threshold must be a share"),
        ({"enforcement": {"repeat_limit": 0}}, "repeat_limit"),
        ({"enforcement": {"link_suspension": -5}}, "link_suspension"),
        ({"metrics": {"port": 70000}}, "metrics port"),
        ({"metrics": []}, r"\[metrics\] must be a table"),
        ({"audit": {"flush_interval": float("nan")}}, "flush_interval"),
        ({"enforcement": {"npi_window": float("nan")}}, "npi_window"),
        ({"enforcement": {"poll_interval": float("inf")}}, "poll_interval"),
        ({"tls": {"handshake_timeout": float("nan")}}, "handshake_timeout"),
    ],
)
def test_faults_are_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(raw)
