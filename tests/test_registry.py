"""The submitter registry: reading, validation, address and NPI rules, reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetsock.registry import Registry, RegistryError, RegistrySource

ROOT = Path(__file__).resolve().parent.parent


def test_demo_registry() -> None:
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    demo = registry.get("DEMO0001")
    assert demo is not None
    assert demo.active
    assert demo.usage == {"P", "T"}
    assert demo.is_linked("1234567893")
    assert not demo.is_linked("1987654328")
    assert demo.allows_address("127.0.0.1")
    assert demo.allows_address("::1")
    assert not demo.allows_address("10.0.0.1")
    assert not demo.allows_address("not an address")
    suspended = registry.get("DEMO0009")
    assert suspended is not None
    assert not suspended.active
    assert registry.get("NOBODY") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('id = "X"', "id must be"),
        ('id = "A1"\nstatus = "paused"', "status must be"),
        ('id = "A1"\nusage = ["Q"]', "usage must be"),
        ('id = "A1"\nusage = [["P"]]', "usage must be"),
        ('id = "A1"\naddresses = ["999.1.1.1/8"]', "addresses must be CIDRs"),
        ('id = "A1"\nnpis = ["1234567890"]', "npis must be valid"),
        ('id = "A1"\nconnection_limit = 0', "connection_limit"),
    ],
)
def test_invalid_entries_are_refused(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"[[submitter]]\n{entry}\n")
    with pytest.raises(RegistryError, match=message):
        Registry.from_toml(path)


def test_reload_swaps_in_whole_and_keeps_the_old_on_error(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[submitter]]\nid = "A1"\nnpis = ["1234567893"]\n')
    source = RegistrySource.load(path)
    assert source.current.get("A1") is not None
    path.write_text('[[submitter]]\nid = "B2"\nstatus = "suspended"\n')
    source.reload()
    assert source.current.get("A1") is None
    b2 = source.current.get("B2")
    assert b2 is not None
    assert not b2.active
    path.write_text("[[submitter]\nbroken")
    with pytest.raises(RegistryError, match="not valid TOML"):
        source.reload()
    assert source.current.get("B2") is not None  # the registry in force is untouched
