"""The audit record built from an exchange: every reply kind, the MBI only as a keyed hash; the key file."""

from __future__ import annotations

import datetime as dt
import hmac
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops import traffic
from serving import NOW, REGISTRY, make_store

from hetsock.audit.record import AuditKeyError, load_or_create_key, mbi_hash, record_of
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, Services, respond
from hetsock.server.observer import ConnectionInfo, Exchange, codes_of_999
from hetsock.x12.writer import ControlNumbers

KEY = b"k" * 32


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


def exchange(store: SqliteStore, payload: bytes, *, delivered: bool = True) -> Exchange:
    reply = respond(payload, Context(Services(REGISTRY, store), NOW, ControlNumbers(7), "127.0.0.1"))
    info = ConnectionInfo(100000003, "127.0.0.1", 40001, 1, NOW)
    return Exchange(info, reply, NOW, NOW + dt.timedelta(milliseconds=2), 0.002, delivered)


@pytest.mark.parametrize("name", list(traffic()))
def test_every_reply_kind_makes_a_record(store: SqliteStore, name: str) -> None:
    payload, kind, codes = traffic()[name]
    record = record_of(exchange(store, payload), KEY)
    assert (record.kind, record.codes) == (kind, codes)
    assert (record.worker, record.connection, record.peer_host, record.peer_port) == (1, 100000003, "127.0.0.1", 40001)
    assert record.received == NOW.timestamp()
    assert record.replied == pytest.approx(NOW.timestamp() + 0.002)
    assert (record.day, record.latency, record.delivered) == ("2026-11-22", 0.002, True)
    if kind in ("271", "271-AAA"):
        assert record.submitter == fx.SUBMITTER
        assert record.mbi_hash == mbi_hash(KEY, fx.DOE_JANE.mbi)
        assert len(record.mbi_hash) == 32
        assert record.reference
        assert record.traces
        assert record.service_types
        assert record.npi_ok is (name not in ("aaa41", "aaa43"))  # AAA 73: the NPI was fine
        assert record.aaa_loop == {"aaa41": "2100B", "aaa43": "2100B", "aaa73": "2100C"}.get(name, "")
    else:
        assert (record.mbi_hash, record.npi_ok, record.npi) == ("", None, "")
    if name == "a7":
        assert record.service_types == ("30", "A7")
    if kind != "proprietary" or name == "suspended":
        assert record.interchange_control  # ISA13 whenever it could be read


def test_a_reply_that_was_not_delivered_says_so(store: SqliteStore) -> None:
    assert record_of(exchange(store, traffic()["271"][0], delivered=False), KEY).delivered is False


def test_the_record_holds_no_patient_data(store: SqliteStore) -> None:
    record = record_of(exchange(store, traffic()["271"][0]), KEY)
    text = repr(record) + " " + " ".join(repr(value) for value in tuple(record))
    for secret in (fx.DOE_JANE.mbi, "DOE", "JANE", "19400401", "SPRINGFIELD"):
        assert secret not in text


def test_the_mbi_hash_is_keyed_and_normalized() -> None:
    one = mbi_hash(KEY, "1EG4TE5MK73")
    assert one == mbi_hash(KEY, " 1eg4te5mk73 ")
    assert one != mbi_hash(b"another key, 32 bytes long......", "1EG4TE5MK73")
    assert one != mbi_hash(KEY, "2EG4TE5MK74")
    assert mbi_hash(KEY, "") == ""
    assert "1EG4TE5MK73" not in one


@pytest.mark.parametrize("key", [KEY, b"k" * 16, b"a passphrase typed by hand", bytes(range(64)), bytes(200)])
def test_the_mbi_hash_is_hmac_sha256(key: bytes) -> None:
    # The hash keeps SHA-256's states for the key (hetsock.audit.record._hmac_states): the same
    # value as the standard library's HMAC, for keys shorter, as long as and longer than a block.
    for mbi in ("1EG4TE5MK73", "9EG4TE5MK71", "X" * 40):
        expected = hmac.new(key, mbi.encode(), "sha256").digest()[:16].hex()
        assert mbi_hash(key, mbi) == expected


def test_the_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file is gone


def test_a_hand_written_key_and_a_too_short_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_text("a long passphrase, typed by hand\n")
    assert load_or_create_key(path) == b"a long passphrase, typed by hand"
    path.write_text("short\n")
    with pytest.raises(AuditKeyError, match="at least 16 bytes") as caught:
        load_or_create_key(path)
    assert "short" not in str(caught.value)  # the message names the file, never the key
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(AuditKeyError, match="cannot create"):
        load_or_create_key(blocker / "audit.key")
    assert len(load_or_create_key(tmp_path / "missing-directory" / "audit.key")) == 32  # made on the way


def test_a_999s_codes_are_its_error_codes_only() -> None:
    ack = (
        "ISA*00*          *00*          *ZZ*CMS            *ZZ*DEMO0001       *261122*0900*^*00501*000000001*0*P*|~"
        "GS*FA*CMS*DEMO0001*20261122*090000*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HS*5014*005010X279A1~"
        "AK2*270*0001*005010X279A1~IK3*NM1*8*2100C*8~CTX*TRN02|T1~IK4*3||1*1035*6*D0E~IK3*EQ*11*2110C*8~"
        "IK4*1||1*1365*7*ZZ~IK5*R*5~AK9*R*1*1*0~SE*9*0001~GE*1*1~IEA*1*000000001~"
    )
    assert codes_of_999(ack.encode()) == ("IK3-8", "IK4-6", "IK4-7", "IK5-5")  # not the bad value D0E
    group = ack.replace("AK9*R*1*1*0~", "AK9*R*1*1*0*1*2~")
    assert codes_of_999(group.encode())[-2:] == ("AK9-1", "AK9-2")
    assert codes_of_999(b"HETS not an interchange") == ()
