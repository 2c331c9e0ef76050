"""TLS for the listener (optional): the server context, client certificate fingerprints, and a
stream that replays bytes read ahead (the ones after a PROXY header) before the socket's own.

Plain TCP is the default (the CMS Extranet is a private network). With ``[tls]`` certificate and
key the listener speaks TLS (1.2 or later) on every connection; with ``client_ca`` each client must
present a certificate signed by that CA (mutual TLS), and the registry may pin a submitter to the
SHA-256 fingerprints of its certificates (``Submitter.certificates``): its requests are then served
only on a connection whose client certificate is one of them (else ``SBY00502``).
"""

from __future__ import annotations

import hashlib
import ssl

import trio

from hetsock.config import TlsConfig


class TlsSetupError(Exception):
    """The certificate, key or CA cannot be loaded (the message names the file)."""


def server_context(tls: TlsConfig) -> ssl.SSLContext | None:
    """The listener's SSL context, or ``None`` when TLS is off."""
    if not tls.enabled:
        return None
    assert tls.certificate is not None
    assert tls.key is not None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for setting, path in (("certificate", tls.certificate), ("key", tls.key), ("client_ca", tls.client_ca)):
        if path is not None and not path.is_file():
            raise TlsSetupError(f"[tls] {setting}: {path}: no such file")

    def no_passphrase() -> str:
        # Called only for an encrypted key: never prompt (a service has no one to answer).
        raise TlsSetupError(f"[tls] key: {tls.key}: the key is encrypted; give it unencrypted (mode 0600)")

    try:
        context.load_cert_chain(tls.certificate, tls.key, password=no_passphrase)
    except (OSError, ssl.SSLError) as error:
        raise TlsSetupError(
            f"[tls] certificate, key: {tls.certificate}, {tls.key}: cannot load them as a PEM certificate "
            f"chain and its private key ({_reason(error)})"
        ) from None
    if tls.client_ca is not None:
        try:
            context.load_verify_locations(cafile=tls.client_ca)
        except (OSError, ssl.SSLError) as error:
            raise TlsSetupError(
                f"[tls] client_ca: {tls.client_ca}: cannot load it as PEM CA certificates ({_reason(error)})"
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _reason(error: OSError | ssl.SSLError) -> str:
    return str(error.reason) if isinstance(error, ssl.SSLError) and error.reason else (error.strerror or str(error))


def certificate_fingerprint(der: bytes | None) -> str | None:
    """The SHA-256 fingerprint (lower-case hex) of a DER certificate; ``None`` for none."""
    return hashlib.sha256(der).hexdigest() if der else None


class PrefixedStream(trio.abc.Stream):
    """``stream`` with ``prefix`` (bytes already read from it) delivered first."""

    def __init__(self, stream: trio.abc.Stream, prefix: bytes) -> None:
        self.stream = stream
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            size = len(self._prefix) if max_bytes is None else max_bytes
            chunk, self._prefix = self._prefix[:size], self._prefix[size:]
            return chunk
        return await self.stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.stream.aclose()
