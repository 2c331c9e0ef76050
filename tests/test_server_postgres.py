"""The server on the PostgreSQL store: answers over TCP (lookups in worker threads), and a database
outage is answered with AAA 42 within a bounded time, then recovers by itself.

Skips where no PostgreSQL is reachable, fails instead under ``HETSOCK_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator

import pg
import pytest
import trio
from serving import NOW, REGISTRY, ROOT, SPECIMEN, ReplyReader, inquiry, make_store, reply_kind

from hetsock.config import Config, EligibilityConfig
from hetsock.eligibility import fixtures as fx
from hetsock.eligibility.store import postgres_store
from hetsock.eligibility.store.base import BeneficiaryStore
from hetsock.pipeline import Services
from hetsock.server.listener import Server, serve

CONFIG = Config(eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"))


@pytest.fixture
def seeded(pg_schema: pg.PgSchema) -> pg.PgSchema:
    with postgres_store().open(pg_schema.dsn, schema=pg_schema.name, create=True) as store:
        store.write(fx.BENEFICIARIES)
    return pg_schema


async def start(nursery: trio.Nursery, store: BeneficiaryStore) -> Server:
    server: Server = await nursery.start(
        functools.partial(serve, CONFIG, Services(REGISTRY, store), port=0, wall_clock=lambda: NOW)
    )
    return server


def masked(payload: bytes) -> bytes:
    """A reply with its control numbers blanked (they differ from run to run)."""
    payload = re.sub(rb"\*\d{9}\*0\*P\*", b"*#*0*P*", payload)  # ISA13
    payload = re.sub(rb"(~GS(?:\*[^*~]*){5}\*)\d+\*", rb"\1#*", payload)  # GS06
    return re.sub(rb"(?<=~)(GE\*1|IEA\*1)\*\d+(?=~)", rb"\1*#", payload)  # GE02, IEA02


async def test_answers_from_postgres_like_sqlite(seeded: pg.PgSchema, tmp_path_factory: pytest.TempPathFactory) -> None:
    sqlite = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    with postgres_store().open(seeded.dsn, schema=seeded.name, max_size=4) as store:
        assert store.blocking  # the listener runs these lookups in worker threads
        replies: dict[str, list[bytes]] = {}
        for name, backend in (("postgres", store), ("sqlite", sqlite)):
            async with trio.open_nursery() as nursery:
                server = await start(nursery, backend)
                got: list[bytes] = []

                async def client(n: int, server: Server = server, got: list[bytes] = got) -> None:
                    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
                    reader = ReplyReader(stream)
                    for m in range(5):
                        await reader.send(inquiry(trace_number=f"T{n}{m}", control=10 * n + m + 1))
                        got.append(await reader.reply())
                    await stream.aclose()

                async with trio.open_nursery() as clients:  # eight connections at once
                    for n in range(8):
                        clients.start_soon(client, n)
                server.shutdown()
            assert [reply_kind(p) for p in got] == ["271"] * 40
            replies[name] = sorted(masked(p) for p in got)
    sqlite.close()
    assert replies["postgres"] == replies["sqlite"]


@pytest.fixture
def proxy(seeded: pg.PgSchema) -> Iterator[pg.TcpProxy]:
    forwarder = pg.TcpProxy(seeded.database.host, seeded.database.port)
    yield forwarder
    forwarder.close()


async def test_database_outage_is_aaa_42_within_bounds_then_recovers(
    seeded: pg.PgSchema, proxy: pg.TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hetsock")
    dsn = seeded.database.url(port=proxy.port)
    with postgres_store().open(dsn, schema=seeded.name, max_size=2, pool_timeout=0.5, reconnect_timeout=1.0) as store:
        async with trio.open_nursery() as nursery:
            server = await start(nursery, store)
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            reader = ReplyReader(stream)
            await reader.send(SPECIMEN)
            assert reply_kind(await reader.reply()) == "271"
            proxy.cut()  # the database goes away
            for _ in range(3):
                start_time = trio.current_time()
                await reader.send(SPECIMEN)
                payload = await reader.reply()
                assert trio.current_time() - start_time < 3.0  # within HETS's 3 seconds, never a hang
                assert b"~AAA*N**42*R~" in payload  # unable to respond now, in 2100A
                assert payload.index(b"AAA*N**42") < payload.index(b"HL*2*")
            proxy.restore()
            deadline = trio.current_time() + 15
            while True:  # recovers by itself: same server, same socket
                await reader.send(SPECIMEN)
                payload = await reader.reply()
                if b"AAA*N**42" not in payload:
                    break
                assert trio.current_time() < deadline, "the store did not recover"
                await trio.sleep(0.2)
            assert reply_kind(payload) == "271"
            assert b"EB*1**30^" in payload
            await stream.aclose()
            server.shutdown()
    outage = [r.getMessage() for r in caplog.records if r.getMessage().startswith("store-")]
    assert outage == ["store-unavailable", "store-recovered"]
