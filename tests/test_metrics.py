"""Metrics and health: figures after a scripted exchange, per-worker labels, the health states,
and the small HTTP endpoint itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import trio
from ops import Client, ops_config, running_worker, traffic
from prometheus_client.parser import text_string_to_metric_families
from serving import NOW, REGISTRY, error_code, make_store, reply_kind

from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.maintenance import MaintenanceSchedule, OneOffWindow
from hetsock.metrics import RequestMetrics
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.server.http import MAX_PER_ADDRESS, Request, Response, parse_request_untrusted, render_response
from hetsock.server.observer import ConnectionInfo, Exchange, reply_codes
from hetsock.x12.writer import ControlNumbers


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


async def http(address: tuple[str, int], path: str, method: str = "GET", raw: bytes | None = None) -> tuple[int, bytes]:
    stream = await trio.open_tcp_stream(*address)
    try:
        await stream.send_all(raw or f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    finally:
        await stream.aclose()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) -> value."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted({"worker": "0", **labels}.items())))]


async def test_metrics_after_a_scripted_exchange(store: SqliteStore, tmp_path: Path) -> None:
    config = ops_config(tmp_path, metrics=True, idle_timeout=0.5, message_deadline=1.0)
    mix = traffic()
    async with running_worker(config, Services(REGISTRY, store)) as worker:
        assert worker.metrics_address is not None
        port = worker.server.port
        client = await Client.connect(port)
        for name in ("271", "aaa41", "ta1", "not-x12"):
            await client.ask(mix[name][0])
        open_now = samples((await http(worker.metrics_address, "/metrics"))[1].decode())
        assert value(open_now, "hetsock_open_connections") == 1
        await client.close()
        framing = await Client.connect(port)
        await framing.reader.send(b"\x01NOT A LENGTH", framed=True)
        assert error_code(await framing.reader.reply()) == "SBY00505"
        await framing.close()
        idle = await Client.connect(port)  # says nothing: closed by the idle rule
        await idle.reader.closed()
        slow = await Client.connect(port)  # a byte every 0.05 s keeps it from idling, never finishes a message
        with trio.move_on_after(3):
            try:
                for byte in b"\x010000000300\x02ISA" * 10:
                    await slow.reader.send(bytes([byte]), framed=True)
                    await trio.sleep(0.05)
            except trio.BrokenResourceError:  # closed by the server at the deadline
                pass
        await slow.close()
        await trio.sleep(0.1)
        await trio.sleep(0.2)  # a flush of the audit trail
        status, body = await http(worker.metrics_address, "/metrics")
    assert status == 200
    text = body.decode()
    found = samples(text)
    assert value(found, "hetsock_connections_accepted_total") == 4
    assert value(found, "hetsock_open_connections") == 0
    assert value(found, "hetsock_requests_total", kind="271", code="") == 1
    assert value(found, "hetsock_requests_total", kind="271-AAA", code="AAA41") == 1
    assert value(found, "hetsock_requests_total", kind="TA1", code="TA1-001") == 1
    assert value(found, "hetsock_requests_total", kind="proprietary", code="SBY00503") == 1
    assert value(found, "hetsock_requests_total", kind="proprietary", code="SBY00505") == 1
    assert value(found, "hetsock_request_latency_seconds_count") == 5
    assert value(found, "hetsock_request_latency_seconds_bucket", le="+Inf") == 5
    assert 0 < value(found, "hetsock_request_latency_seconds_sum") < 5
    assert value(found, "hetsock_idle_closes_total") == 1
    assert value(found, "hetsock_deadline_closes_total") == 1
    assert value(found, "hetsock_framing_errors_total") == 1
    assert value(found, "hetsock_connections_closed_total", reason="peer-closed") == 1
    assert value(found, "hetsock_connections_closed_total", reason="idle") == 1
    assert value(found, "hetsock_replies_undelivered_total") == 0
    assert value(found, "hetsock_audit_backlog") == 0
    assert value(found, "hetsock_audit_written_total") == 5
    assert value(found, "hetsock_audit_dropped_total") == 0
    assert value(found, "hetsock_suspensions_active", target="submitter") == 0
    assert value(found, "hetsock_maintenance") == 0
    assert ("process_resident_memory_bytes", ()) in found
    # Every hetsock sample says which worker it comes from.
    assert all(dict(labels).get("worker") == "0" for name, labels in found if name.startswith("hetsock_"))


async def test_health_and_the_routes(store: SqliteStore, tmp_path: Path) -> None:
    config = ops_config(tmp_path, metrics=True)
    async with running_worker(config, Services(REGISTRY, store)) as worker:
        address = worker.metrics_address
        assert address is not None
        assert await http(address, "/health") == (200, b"ok\n")
        assert (await http(address, "/health", "HEAD"))[0] == 200
        assert (await http(address, "/health?verbose=1"))[0] == 200
        assert (await http(address, "/nothing"))[0] == 404
        assert (await http(address, "/health", "POST"))[0] == 405
        assert (await http(address, "", raw=b"NONSENSE\r\n\r\n"))[0] == 400
        assert await http(address, "", raw=b"GET /health HTTP/1.0\n\n") == (200, b"ok\n")  # bare LFs
        too_large = b"GET /health HTTP/1.1\r\nX-Padding: " + b"x" * 9000 + b"\r\n\r\n"
        assert (await http(address, "", raw=too_large))[0] == 431


async def test_one_address_cannot_hold_every_slot_of_the_health_port(store: SqliteStore, tmp_path: Path) -> None:
    # Eight silent connections from one address are its share: a ninth from it is closed at once,
    # and a health probe from elsewhere is still answered.
    config = ops_config(tmp_path, metrics=True)
    async with running_worker(config, Services(REGISTRY, store)) as worker:
        address = worker.metrics_address
        assert address is not None
        silent = []
        for _ in range(MAX_PER_ADDRESS):
            sock = trio.socket.socket()
            await sock.bind(("127.0.0.3", 0))
            await sock.connect(address)
            silent.append(trio.SocketStream(sock))
        await trio.sleep(0.2)  # accepted and waiting for their request lines
        ninth = trio.socket.socket()
        await ninth.bind(("127.0.0.3", 0))
        await ninth.connect(address)
        extra = trio.SocketStream(ninth)
        with trio.fail_after(2):  # well before the 5 s read timeout
            assert await extra.receive_some(100) == b""
        assert await http(address, "/health") == (200, b"ok\n")  # from 127.0.0.1
        for stream in [*silent, extra]:
            await stream.aclose()


async def test_health_fails_during_maintenance(store: SqliteStore, tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    window = OneOffWindow(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
    config = attrs.evolve(ops_config(tmp_path, metrics=True), maintenance=MaintenanceSchedule((window,)))
    async with running_worker(config, Services(REGISTRY, store), wall_clock=lambda: now) as worker:
        assert worker.metrics_address is not None
        assert await http(worker.metrics_address, "/health") == (503, b"maintenance\n")
        found = samples((await http(worker.metrics_address, "/metrics"))[1].decode())
        assert value(found, "hetsock_maintenance") == 1


async def test_health_fails_when_the_store_cannot_be_read(tmp_path: Path) -> None:
    broken = make_store(tmp_path / "broken.sqlite3")
    config = ops_config(tmp_path, metrics=True)
    async with running_worker(config, Services(REGISTRY, broken)) as worker:
        assert worker.metrics_address is not None
        assert await http(worker.metrics_address, "/health") == (200, b"ok\n")
        broken.close()
        assert await http(worker.metrics_address, "/health") == (503, b"store-unavailable\n")


async def test_a_busy_metrics_port_does_not_stop_the_worker(
    store: SqliteStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = ops_config(tmp_path, metrics=True)
    holder = trio.socket.socket()
    await holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    try:
        async with running_worker(config, Services(REGISTRY, store), metrics_port=busy) as worker:
            assert worker.metrics_address is None
            client = await Client.connect(worker.server.port)
            assert reply_kind(await client.ask(traffic()["271"][0])) == "271"
            await client.close()
    finally:
        holder.close()
    assert any(r.getMessage() == "metrics-unavailable" for r in caplog.records)


def test_request_parsing_and_response_rendering() -> None:
    assert parse_request_untrusted(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == Request("GET", "/metrics")
    assert parse_request_untrusted(b"GET /health?x=1 HTTP/1.0\r\n\r\n") == Request("GET", "/health")
    for bad in (
        b"",
        b"GET\r\n\r\n",
        b"GET metrics HTTP/1.1\r\n\r\n",
        b"GET / SPDY/3\r\n\r\n",
        b"G=T / HTTP/1.1\r\n\r\n",
    ):
        assert parse_request_untrusted(bad) is None
    assert parse_request_untrusted(b"GET /\xff HTTP/1.1\r\n\r\n") is None
    rendered = render_response(Response(503, b"maintenance\n"))
    assert rendered.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Content-Length: 12\r\nConnection: close\r\n\r\nmaintenance\n" in rendered
    assert render_response(Response(200, b"ok\n"), head_only=True).endswith(b"\r\n\r\n")


def test_999_codes_are_counted_one_by_one_in_a_bounded_set_of_series(store: SqliteStore) -> None:
    # Every combination of faults is a new 999, but not a new series: the 999 counts under
    # kind="999", code="", and each code it carries once in hetsock_999_codes_total.
    specimen = (Path(__file__).parent / "data" / "hets" / "specimen.270").read_bytes()
    faults = [
        specimen.replace(b"DMG*D8*19400401", b"DMG*D8*19401301"),  # no such date
        specimen.replace(b"EQ*30~", b"EQ*ZZZ~"),  # no such service type
        specimen.replace(b"DMG*D8*19400401", b"DMG*D8*19401301").replace(b"EQ*30~", b"EQ*ZZZ~"),  # both
    ]
    metrics = RequestMetrics()
    info = ConnectionInfo(1, "127.0.0.1", 40000, 0, NOW)
    seen: set[tuple[str, ...]] = set()
    for payload in faults:
        reply = respond(payload, Context(Services(REGISTRY, store), NOW, ControlNumbers(1), "127.0.0.1"))
        assert reply.kind is ReplyKind.ACK_999
        seen.add(reply_codes(reply))
        metrics.request_answered(Exchange(info, reply, NOW, NOW, 0.001, True))
    assert len(seen) == 3  # three different combinations of codes
    assert metrics.requests == {("999", ""): 3}
    assert all(count >= 1 for count in metrics.codes_999.values())
    assert sum(metrics.codes_999.values()) == sum(len(codes) for codes in seen)
    assert set(metrics.codes_999) == {code for codes in seen for code in codes}
