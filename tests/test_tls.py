"""Optional TLS: server certificates, mutual TLS, submitters pinned to client certificates.

Certificates come from a throwaway CA (trustme); the listener is the real one on loopback.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trustme
from serving import REGISTRY, ROOT, SPECIMEN, ReplyReader, error_code, reply_kind

from hetsock.config import Config, ConfigError, EligibilityConfig, ServerConfig, TlsConfig
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Services
from hetsock.registry import Registry, RegistryError
from hetsock.server.listener import Server, serve
from hetsock.server.tls import TlsSetupError, certificate_fingerprint, server_context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pki(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Server certificate and key files, the client CA file, two client certificates."""
    directory = tmp_path_factory.mktemp("pki")
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    server.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    clients = {name: ca.issue_cert(f"{name}.clearinghouse.example") for name in ("alpha", "beta")}
    return {"dir": directory, "clients": clients}


def fingerprint(leaf: trustme.LeafCert) -> str:
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    result = certificate_fingerprint(der)
    assert result is not None
    return result


def registry_pinned_to(*pins: str) -> Registry:
    entry: dict[str, Any] = {"id": "DEMO0001", "npis": ["1234567893"], "addresses": ["127.0.0.0/8"]}
    if pins:
        entry["certificates"] = list(pins)
    return Registry.from_dict({"submitter": [entry]})


def tls_config(pki: dict[str, Any], *, mutual: bool) -> Config:
    directory = pki["dir"]
    return Config(
        eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"),
        server=ServerConfig(),
        tls=TlsConfig(
            certificate=directory / "server.pem",
            key=directory / "server.key",
            client_ca=directory / "ca.pem" if mutual else None,
            handshake_timeout=2.0,
        ),
    )


async def start(nursery: trio.Nursery, config: Config, services: Services) -> Server:
    server: Server = await nursery.start(functools.partial(serve, config, services, port=0))
    return server


async def tls_client(server: Server, ca: trustme.CA, leaf: trustme.LeafCert | None) -> ReplyReader:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if leaf is not None:
        leaf.configure_cert(context)
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    stream = trio.SSLStream(tcp, context, server_hostname="127.0.0.1")
    await stream.do_handshake()
    return ReplyReader(stream)


async def test_mutual_tls_with_a_pinned_submitter(store: SqliteStore, ca: trustme.CA, pki: dict[str, Any]) -> None:
    alpha, beta = pki["clients"]["alpha"], pki["clients"]["beta"]
    services = Services(registry_pinned_to(fingerprint(alpha)), store)
    async with trio.open_nursery() as nursery:
        server = await start(nursery, tls_config(pki, mutual=True), services)
        pinned = await tls_client(server, ca, alpha)
        await pinned.send(SPECIMEN)
        assert reply_kind(await pinned.reply()) == "271"
        await pinned.stream.aclose()
        other = await tls_client(server, ca, beta)  # signed by the CA, but not the pinned one
        await other.send(SPECIMEN)
        assert error_code(await other.reply()) == "SBY00502"
        await other.send(SPECIMEN)  # the connection stays open
        assert error_code(await other.reply()) == "SBY00502"
        await other.stream.aclose()

        async def anonymous_exchange() -> None:
            anonymous = await tls_client(server, ca, None)
            try:
                await anonymous.send(SPECIMEN)
                await anonymous.reply()
            finally:
                await anonymous.stream.aclose()

        with pytest.raises(trio.BrokenResourceError):  # mutual TLS: no client certificate, no session
            await anonymous_exchange()
        server.shutdown()


async def test_server_tls_without_client_certificates(store: SqliteStore, ca: trustme.CA, pki: dict[str, Any]) -> None:
    async with trio.open_nursery() as nursery:
        server = await start(nursery, tls_config(pki, mutual=False), Services(registry_pinned_to(), store))
        client = await tls_client(server, ca, None)
        await client.send(SPECIMEN)
        assert reply_kind(await client.reply()) == "271"
        await client.stream.aclose()
        # A plain-TCP client gets no session and no reply.
        plain = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        await plain.send(SPECIMEN)
        await plain.closed()
        server.shutdown()
    # A submitter pinned to certificates is refused on a connection without one.
    async with trio.open_nursery() as nursery:
        pinned = Services(registry_pinned_to(fingerprint(pki["clients"]["alpha"])), store)
        server = await start(nursery, tls_config(pki, mutual=False), pinned)
        client = await tls_client(server, ca, None)
        await client.send(SPECIMEN)
        assert error_code(await client.reply()) == "SBY00502"
        await client.stream.aclose()
        server.shutdown()


async def test_pinned_submitter_on_plain_tcp_is_refused(store: SqliteStore, pki: dict[str, Any]) -> None:
    config = Config(eligibility=EligibilityConfig(registry=ROOT / "config" / "submitters.toml"))
    services = Services(registry_pinned_to(fingerprint(pki["clients"]["alpha"])), store)
    async with trio.open_nursery() as nursery:
        server = await start(nursery, config, services)
        client = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        await client.send(SPECIMEN)
        assert error_code(await client.reply()) == "SBY00502"
        await client.stream.aclose()
        server.shutdown()


def test_configuration_and_registry_faults(pki: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both certificate and key"):
        Config.from_dict({"tls": {"certificate": "x.pem"}})
    with pytest.raises(ConfigError, match="client_ca needs"):
        Config.from_dict({"tls": {"client_ca": "ca.pem"}})
    missing = TlsConfig(certificate=tmp_path / "none.pem", key=tmp_path / "none.key")
    with pytest.raises(TlsSetupError, match=r"\[tls\] certificate: .*none.pem: no such file"):
        server_context(missing)
    directory = pki["dir"]
    wrong_ca = TlsConfig(
        certificate=directory / "server.pem", key=directory / "server.key", client_ca=directory / "server.key"
    )
    with pytest.raises(TlsSetupError, match=r"\[tls\] client_ca: .*server.key: cannot load"):
        server_context(wrong_ca)
    swapped = TlsConfig(certificate=directory / "server.key", key=directory / "server.pem")
    with pytest.raises(TlsSetupError, match=r"\[tls\] certificate, key: .*cannot load"):
        server_context(swapped)
    assert server_context(TlsConfig()) is None
    with pytest.raises(RegistryError, match="SHA-256"):
        Registry.from_dict({"submitter": [{"id": "DEMO0001", "certificates": ["abc"]}]})
    colons = ":".join(["AB"] * 32)
    assert Registry.from_dict({"submitter": [{"id": "DEMO0001", "certificates": [colons]}]}).get(
        "DEMO0001"
    ).certificates == frozenset({"ab" * 32})  # type: ignore[union-attr]


async def test_tls_behind_a_balancer_sending_proxy_headers(
    store: SqliteStore, ca: trustme.CA, pki: dict[str, Any]
) -> None:
    config = tls_config(pki, mutual=True)
    config = Config(eligibility=config.eligibility, server=ServerConfig(proxy_protocol=True), tls=config.tls)
    alpha = pki["clients"]["alpha"]
    async with trio.open_nursery() as nursery:
        server = await start(nursery, config, Services(registry_pinned_to(fingerprint(alpha)), store))
        tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
        await tcp.send_all(b"PROXY TCP4 127.0.0.7 127.0.0.1 5555 7270\r\n")  # then TLS on the same socket
        context = ssl.create_default_context()
        ca.configure_trust(context)
        alpha.configure_cert(context)
        stream = trio.SSLStream(tcp, context, server_hostname="127.0.0.1")
        client = ReplyReader(stream)
        await client.send(SPECIMEN)
        assert reply_kind(await client.reply()) == "271"
        await stream.aclose()
        server.shutdown()


async def test_sockets_in_the_handshake_are_bounded_per_address(pki: dict[str, Any], store: SqliteStore) -> None:
    # Without a balancer the TCP peer is the client: one address may hold at most
    # max_connections_per_address sockets in the handshake; more are closed at once.
    config = attrs.evolve(tls_config(pki, mutual=False), server=ServerConfig(max_connections_per_address=1))
    async with trio.open_nursery() as nursery:
        server = await start(nursery, config, Services(REGISTRY, store))
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)
        with trio.fail_after(5):
            while server.state.setting_up < 1:  # noqa: ASYNC110 (a counter: no event to wait on)
                await trio.sleep(0.01)
        extra = ReplyReader(await trio.open_tcp_stream("127.0.0.1", server.port))
        with trio.fail_after(1):  # well before the 2 s handshake timeout
            await extra.closed()
        assert server.state.setting_up == 1
        await silent.aclose()
        server.shutdown()


def test_an_encrypted_key_is_refused_without_a_prompt(pki: dict[str, Any], tmp_path: Path) -> None:
    # OpenSSL would ask for a passphrase on the terminal: a service must fail instead.
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((pki["dir"] / "server.key").read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(TlsSetupError, match="the key is encrypted"):
        server_context(TlsConfig(certificate=pki["dir"] / "server.pem", key=encrypted))
