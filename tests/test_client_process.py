"""The client against a real ``hetsock serve`` on loopback: every reply type, reuse, the idle close,
a dropped connection resent, a server restart ridden over, the blocking wrapper."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from process import ServerProcess, write_config
from serving import SPECIMEN, inquiry

from hetsock.client import (
    Ack999,
    Client,
    ClientSettings,
    Eligibility,
    ProprietaryError,
    Rejection,
    SyncClient,
    Ta1,
)
from hetsock.eligibility import fixtures as fx
from hetsock.wire.framing import Mode

#: The server's idle rule, shortened so the idle test takes a second, not five.
IDLE = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("serve")
    config = write_config(directory, beneficiaries=100, extra=f"[server]\nidle_timeout = {IDLE}\n")
    process = ServerProcess("--config", str(config), "--port", "0")
    process.port()
    yield process
    process.kill()


@pytest.mark.parametrize("mode", [Mode.WRAPPED, Mode.BARE])
async def test_every_reply_type_over_one_connection(server: ServerProcess, mode: Mode) -> None:
    async with Client(port=server.port(), mode=mode) as client:
        eligible = await client.send(SPECIMEN)
        assert isinstance(eligible, Eligibility)
        assert eligible.correlation == "TRACKNUM0001"
        assert eligible.coverage.entitlement("A") is not None
        rejected = await client.send(inquiry(mbi="1EG4TE5MK99"))
        assert isinstance(rejected, Rejection)
        assert rejected.codes == ("75",)
        ack = await client.send(inquiry().replace(b"EQ*30~", b"EQ*ZZ~"))
        assert isinstance(ack, Ack999)
        assert not ack.accepted
        ta1 = await client.send(inquiry(control=555).replace(b"*ZZ*CMS            *", b"*ZZ*XMS            *"))
        assert isinstance(ta1, Ta1)
        assert (ta1.note, ta1.correlation) == ("009", "000000555")
        refused = await client.send(inquiry(submitter_id="DEMO0009", control=556))
        assert isinstance(refused, ProprietaryError)
        assert (refused.code, refused.trace_id) == ("SBY00502", "000000556")
        if mode is Mode.WRAPPED:  # bare X12 that is not ISA loses the framing instead
            not_x12 = await client.send(b"HELLO")
            assert isinstance(not_x12, ProprietaryError)
            assert not_x12.code == "SBY00503"
        assert (client.stats.connections, client.stats.reconnects, client.stats.retries) == (1, 0, 0)


async def test_idle_close_noticed_and_reconnected(server: ServerProcess) -> None:
    settings = ClientSettings(idle_timeout=None)  # let the server close it, then notice
    async with Client(port=server.port(), settings=settings) as client:
        assert isinstance(await client.send(SPECIMEN), Eligibility)
        mark = len(server.lines)
        await trio.sleep(IDLE + 0.5)
        server.wait_for(r"event=connection-closed .*reason=idle", after=mark)
        assert isinstance(await client.send(SPECIMEN), Eligibility)
        assert (client.stats.connections, client.stats.reconnects, client.stats.retries) == (2, 1, 0)


async def test_dropped_connection_is_resent(server: ServerProcess) -> None:
    """Through a relay that drops the first connection once the request has reached the server."""
    upstream_port = server.port()
    relayed = 0

    async def relay(downstream: trio.SocketStream) -> None:
        nonlocal relayed
        relayed += 1
        first = relayed == 1
        async with downstream, await trio.open_tcp_stream("127.0.0.1", upstream_port) as upstream:
            request = await downstream.receive_some(65536)
            await upstream.send_all(request)
            reply = await upstream.receive_some(65536)
            if first:
                return  # the reply reached us, never the client: both sides close
            await downstream.send_all(reply)
            while data := await upstream.receive_some(65536):  # the rest of the reply, if it came in pieces
                await downstream.send_all(data)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, relay, 0)
        port = listeners[0].socket.getsockname()[1]
        settings = ClientSettings(reply_timeout=1.0, retry_timeouts=True)
        async with Client(port=port, settings=settings) as client:
            assert isinstance(await client.send(SPECIMEN), Eligibility)
            assert client.stats.drops >= 1
            assert client.stats.connections >= 2
        nursery.cancel_scope.cancel()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_rides_over_a_server_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path, beneficiaries=100)
    port = _free_port()
    first = ServerProcess("--config", str(config), "--port", str(port))
    second: ServerProcess | None = None
    try:
        first.port()
        settings = ClientSettings(attempts=40, backoff_initial=0.05, backoff_max=0.25)
        async with Client(port=port, settings=settings) as client:
            assert isinstance(await client.send(SPECIMEN), Eligibility)
            first.kill()
            async with trio.open_nursery() as nursery:
                replies: list[object] = []

                async def ask() -> None:
                    replies.append(await client.send(SPECIMEN))

                nursery.start_soon(ask)
                await trio.sleep(0.3)
                second = ServerProcess("--config", str(config), "--port", str(port))
            assert isinstance(replies[0], Eligibility)
            assert client.stats.connect_failures + client.stats.drops >= 1
            assert client.stats.connections == 2
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_sync_client(server: ServerProcess) -> None:
    with SyncClient(port=server.port()) as client:
        started = time.monotonic()
        replies = [client.send(inquiry(mbi=b.mbi, last_name=b.last_name, first_name=b.first_name, birth_date=None))
                   for b in fx.BENEFICIARIES]  # fmt: skip
        assert all(isinstance(r, Eligibility) for r in replies)
        assert [r.subscriber.member_id for r in replies if isinstance(r, Eligibility)] == [
            b.mbi for b in fx.BENEFICIARIES
        ]
        assert client.send_raw(b"HELLO").startswith(b"HETS")
        assert client.stats.connections == 1
        assert time.monotonic() - started < IDLE  # (so the reuse above is not luck of timing)
    with pytest.raises(Exception, match="closed"):
        client.send(SPECIMEN)


def test_sync_client_reports_connect_errors() -> None:
    settings = ClientSettings(attempts=2, backoff_initial=0.01)
    with SyncClient(port=_free_port(), settings=settings) as client, pytest.raises(Exception, match="cannot connect"):
        client.connect()
