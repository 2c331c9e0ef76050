"""``hetsock check``: exit status, plain-language explanations, and no patient data in output."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetsock.cli import main

DATA = Path(__file__).parent / "data"
PATIENT_DATA = ("DOE", "JANE", "1EG4TE5MK73", "19400401")


@pytest.mark.parametrize("name", ["specimen.270", "specimen-lines.270", "specimen-many-eq.270", "specimen.wrapped"])
def test_hets_samples_are_accepted(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DATA / "hets" / name)]) == 0
    out = capsys.readouterr().out
    assert "ACCEPTED" in out
    assert "DEMO0001" in out
    for value in PATIENT_DATA:
        assert value not in out


def test_ta1_rejection_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = (DATA / "hets" / "specimen.270").read_bytes().replace(b"*ZZ*CMS            *", b"*ZZ*XYZ            *")
    path = tmp_path / "bad.270"
    path.write_bytes(bad)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED with a TA1" in out
    assert "TA1*000005014*261122*0734*R*009~" in out
    assert "ISA08 must be this system's receiver ID" in out


def test_999_rejection_names_segment_and_element(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = (DATA / "hets" / "specimen.270").read_bytes().replace(b"EQ*30~", b"EQ*ZZ~")
    path = tmp_path / "bad.270"
    path.write_bytes(bad)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED with a 999" in out
    assert "EQ (segment 11, loop 2110C) has element errors" in out
    assert "EQ01 (repetition 1) is not one of the allowed codes (sent: ZZ)" in out
    assert "IK3*EQ*11*2110C*8~" in out
    for value in PATIENT_DATA:
        assert value not in out


def test_not_x12_and_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"hello, world")
    assert main(["check", str(junk)]) == 2
    assert main(["check", str(tmp_path / "missing.270")]) == 2
    out = capsys.readouterr().out
    assert "not an X12 interchange" in out
    assert "unreadable" in out


def test_data_after_a_wrapped_message_is_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrapped = (DATA / "hets" / "specimen.wrapped").read_bytes()
    for name, tail, status in (("crlf", b"\r\n", 0), ("junk", b"garbage not x12", 2), ("two", wrapped, 2)):
        path = tmp_path / f"{name}.wrapped"
        path.write_bytes(wrapped + tail)
        assert main(["check", str(path)]) == status, name
    assert "data follows the first wrapped message" in capsys.readouterr().out


def test_worst_status_wins(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"nope")
    assert main(["check", str(DATA / "hets" / "specimen.270"), str(junk)]) == 2


def test_x12_profile_accepts_peer_270(capsys: pytest.CaptureFixture[str]) -> None:
    peer = (
        DATA / "peers" / "stupidedi" / "X279A1-HS270_generic-request-by-clinic-for-patient-subscriber-eligibility.edi"
    )
    assert main(["check", str(peer)]) == 1
    assert main(["check", "--x12", str(peer)]) == 0


def test_config_file_sets_receiver(tmp_path: Path) -> None:
    config = tmp_path / "hetsock.toml"
    config.write_text('[x12]\nreceiver_id = "OTHER"\n')
    assert main(["check", "--config", str(config), str(DATA / "hets" / "specimen.270")]) == 1
    config.write_text('[x12]\nprofile = "nonsense"\n')
    assert main(["check", "--config", str(config), str(DATA / "hets" / "specimen.270")]) == 2


def _small_config(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parent.parent
    config = tmp_path / "hetsock.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "store.sqlite3"}"\ndemo_beneficiaries = 200\n'
        f'[eligibility]\nregistry = "{root / "config" / "submitters.toml"}"\n'
    )
    return config


def test_respond_shows_the_271(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _small_config(tmp_path)
    assert main(["check", "--respond", "--config", str(config), str(DATA / "hets" / "specimen.270")]) == 0
    out = capsys.readouterr().out
    assert "the server would answer with a 271" in out
    assert "EB*1**30^42^45^48^49^69^76^83^A5^A7^AG^BT^BU^BV*MA~" in out
    assert (tmp_path / "store.sqlite3").exists()  # created on first use


def test_respond_shows_aaa_and_proprietary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _small_config(tmp_path)
    specimen = (DATA / "hets" / "specimen.270").read_bytes()
    unlinked = tmp_path / "unlinked.270"
    unlinked.write_bytes(specimen.replace(b"XX*1234567893", b"XX*1987654328"))
    assert main(["check", "--respond", "--config", str(config), str(unlinked)]) == 1
    assert "(AAA 41 in 2100B)" in capsys.readouterr().out
    suspended = tmp_path / "suspended.270"
    suspended.write_bytes(
        specimen.replace(b"DEMO0001       ", b"DEMO0009       ").replace(b"*DEMO0001*", b"*DEMO0009*")
    )
    assert main(["check", "--respond", "--config", str(config), str(suspended)]) == 2
    assert "SBY00502 - Authorization for this transaction cannot be validated" in capsys.readouterr().out


def test_respond_with_a_store_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A misspelt --store must not become a new demo store of its own.
    config = _small_config(tmp_path)
    missing = tmp_path / "misspelt.sqlite3"
    specimen = str(DATA / "hets" / "specimen.270")
    assert main(["check", "--respond", "--config", str(config), "--store", str(missing), specimen]) == 2
    assert "no such store" in capsys.readouterr().err
    assert not missing.exists()
