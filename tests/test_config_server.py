"""The ``[server]`` section: defaults, overrides and faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hetsock.config import DEFAULT_PORT, Config, ConfigError, ServerConfig

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_documentation() -> None:
    server = Config().server
    assert server == ServerConfig()
    assert (server.host, server.port, server.idle_timeout, server.message_deadline) == ("127.0.0.1", 7270, 5.0, 30.0)
    assert server.max_message_size == 64 * 1024
    assert DEFAULT_PORT == 7270


def test_the_shipped_config_file_states_the_defaults() -> None:
    assert Config.from_toml(ROOT / "config" / "hetsock.toml").server == ServerConfig()


def test_overrides() -> None:
    server = Config.from_dict(
        {"server": {"host": "0.0.0.0", "port": 0, "idle_timeout": 2, "workers": 4, "max_connections": 10}}
    ).server
    assert (server.host, server.port, server.idle_timeout, server.workers, server.max_connections) == (
        "0.0.0.0",
        0,
        2.0,
        4,
        10,
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"port": 70000}, "port"),
        ({"port": "7270"}, "port must be a int"),
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"message_deadline": True}, "message_deadline"),
        ({"workers": 0}, "workers"),
        ({"workers": 11}, "workers must be 1 to 10"),
        ({"max_message_size": 100}, "at least 106"),
        ({"max_in_flight": -1}, "max_in_flight"),
        ({"port": True}, "port must be 0 to 65535"),
        ({"idle_timeout": float("nan")}, "idle_timeout must be a positive"),
        ({"idle_timeout": float("inf")}, "idle_timeout must be a positive"),
        ({"grace_period": float("nan")}, "grace_period"),
        ({"message_deadline": float("-inf")}, "message_deadline"),
        ({"trusted_proxies": [2130706433]}, "trusted_proxies must be a list of CIDRs"),
    ],
)
def test_faults_are_named(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_dict({"server": section})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"eligibility": {"months_back": 100000}}, "months_back must be 1 to 120"),
        ({"eligibility": {"months_forward": 121}}, "months_forward must be 1 to 120"),
        ({"store": {"demo_beneficiaries": 99999999999999}}, "demo_beneficiaries must be 1 to 3,240,000,000,000"),
        ({"x12": {"receiver_id": "\u00c7MS"}}, "receiver_id must be 2 to 15 ASCII letters or digits"),
    ],
)
def test_out_of_range_settings_are_refused_at_load(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(raw)


def test_the_largest_bounds_are_accepted() -> None:
    config = Config.from_dict(
        {"eligibility": {"months_back": 120, "months_forward": 120}, "store": {"demo_beneficiaries": 3_240_000_000_000}}
    )
    assert (config.eligibility.months_back, config.store.demo_beneficiaries) == (120, 3_240_000_000_000)


def test_instances_and_workers_number_replies_in_their_own_blocks() -> None:
    from hetsock.server.state import CONTROL_BLOCK, ControlNumberSource

    first = ControlNumberSource(worker=3, instance=2)
    assert [first.take().interchange for _ in range(2)] == [230_000_001, 230_000_002]
    wrapping = ControlNumberSource(worker=0, instance=9)
    wrapping._next = CONTROL_BLOCK - 2
    assert [wrapping.take().interchange for _ in range(2)] == [909_999_999, 900_000_001]
    assert Config.from_dict({"server": {"instance": 9}}).server.instance == 9
    with pytest.raises(ConfigError, match="instance must be 0 to 9"):
        Config.from_dict({"server": {"instance": 10}})


def test_at_most_ten_workers_each_with_its_own_reply_numbers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hetsock import cli_serve
    from hetsock.cli import main
    from hetsock.server.state import ControlNumberSource

    assert Config.from_dict({"server": {"workers": 10}}).server.workers == 10
    firsts = {ControlNumberSource(worker=w, instance=9).take().interchange for w in range(10)}
    assert len(firsts) == 10  # ten workers, ten blocks
    monkeypatch.setattr(cli_serve, "configure_logging", lambda **_: None)  # keep the test session's logging
    config = str(ROOT / "config" / "hetsock.toml")
    # An impossible port too, so that a serve that let 11 workers through would still stop at once.
    assert main(["serve", "--config", config, "--workers", "11", "--port", "70000"]) == 2
    assert "--workers must be 1 to 10" in capsys.readouterr().err
