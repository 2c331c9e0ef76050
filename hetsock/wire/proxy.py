"""The PROXY protocol header (HAProxy, versions 1 and 2): the client's real address behind a balancer.

Behind a TCP balancer every connection comes from the balancer's address, yet HETS authorizes
submitters by their originating address (the registry's CIDRs) and limits connections per
address. With ``[server] proxy_protocol = true`` the balancer (HAProxy ``send-proxy`` or
``send-proxy-v2``) writes one header before the client's bytes, and the server reads the client's
address from it. Sans-IO: :func:`read_proxy_header_untrusted` takes the bytes received so far and
returns :class:`ProxyHeader` (with how many bytes it took), :data:`NEED_MORE`, or a
:class:`ProxyHeaderError`; it never raises.

Version 1 is one text line, at most 107 bytes: ``PROXY TCP4 <src> <dst> <sport> <dport>\\r\\n``
(``TCP6`` likewise; ``PROXY UNKNOWN ...\\r\\n`` means "use the connection's own address").
Version 2 is binary: the 12-byte signature, a version/command byte (``0x21`` PROXY, ``0x20``
LOCAL: a health check from the balancer itself, use the connection's own address), a family
byte (``0x11`` TCP over IPv4, ``0x21`` TCP over IPv6; anything else: the connection's own
address), a two-byte big-endian length, then the addresses and ports and any TLVs (skipped).
"""

from __future__ import annotations

import ipaddress

import attrs

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_V1_PREFIX = b"PROXY "
_V1_MAX = 107
_V2_HEADER = 16
#: Version 2 headers longer than this are refused (addresses plus a generous allowance of TLVs).
_V2_MAX_BODY = 2048


@attrs.frozen
class ProxyHeader:
    """The client's address as the balancer saw it (``None``: use the connection's own) and the
    number of header bytes to drop from the stream."""

    source: tuple[str, int] | None
    length: int


@attrs.frozen
class NeedMore:
    """Not enough bytes yet."""


@attrs.frozen
class ProxyHeaderError:
    """The bytes are not a PROXY header (the connection did not come through the balancer)."""

    detail: str


NEED_MORE = NeedMore()


def read_proxy_header_untrusted(data: bytes) -> ProxyHeader | NeedMore | ProxyHeaderError:
    """Read a version 1 or 2 PROXY header at the start of ``data``."""
    if data[: len(V2_SIGNATURE)] == V2_SIGNATURE[: len(data)]:
        return _v2(data) if len(data) >= len(V2_SIGNATURE) else NEED_MORE
    if data[: len(_V1_PREFIX)] == _V1_PREFIX[: len(data)]:
        return _v1(data) if len(data) >= len(_V1_PREFIX) else NEED_MORE
    return ProxyHeaderError("the connection does not start with a PROXY protocol header")


def _v1(data: bytes) -> ProxyHeader | NeedMore | ProxyHeaderError:
    end = data.find(b"\r\n", 0, _V1_MAX + 1)
    if end < 0:
        return NEED_MORE if len(data) < _V1_MAX else ProxyHeaderError("PROXY v1 line longer than 107 bytes")
    fields = data[:end].decode("ascii", "replace").split(" ")
    if len(fields) >= 2 and fields[1] == "UNKNOWN":
        return ProxyHeader(None, end + 2)
    if len(fields) != 6 or fields[1] not in ("TCP4", "TCP6"):
        return ProxyHeaderError("PROXY v1 line is not 'PROXY TCP4|TCP6 src dst sport dport'")
    # The specification's grammar, strictly: plain addresses of the family named (no IPv6 scope
    # ID, which would make one client several for the per-address limit), ports of 1 to 5 digits.
    try:
        source = ipaddress.ip_address(fields[2])
        destination = ipaddress.ip_address(fields[3])
    except ValueError:
        return ProxyHeaderError("PROXY v1 line holds an invalid address")
    version = 4 if fields[1] == "TCP4" else 6
    if source.version != version or destination.version != version or "%" in fields[2] + fields[3]:
        return ProxyHeaderError("PROXY v1 addresses not of the family named")
    ports = fields[4:6]
    if not all(1 <= len(p) <= 5 and p.isascii() and p.isdigit() and int(p) <= 65535 for p in ports):
        return ProxyHeaderError("PROXY v1 line holds an invalid port")
    return ProxyHeader((str(source), int(ports[0])), end + 2)


def _v2(data: bytes) -> ProxyHeader | NeedMore | ProxyHeaderError:
    if len(data) < _V2_HEADER:
        return NEED_MORE
    version_command, family = data[12], data[13]
    length = int.from_bytes(data[14:16], "big")
    if version_command >> 4 != 2 or version_command & 0x0F not in (0, 1):
        return ProxyHeaderError("PROXY v2 header with an unknown version or command")
    if length > _V2_MAX_BODY:
        return ProxyHeaderError("PROXY v2 header too long")
    total = _V2_HEADER + length
    if len(data) < total:
        return NEED_MORE
    body = data[_V2_HEADER:total]
    if version_command & 0x0F == 0:  # LOCAL: the balancer's own connection (a health check)
        return ProxyHeader(None, total)
    if family == 0x11 and length >= 12:
        return ProxyHeader((str(ipaddress.IPv4Address(body[0:4])), int.from_bytes(body[8:10], "big")), total)
    if family == 0x21 and length >= 36:
        return ProxyHeader((str(ipaddress.IPv6Address(body[0:16])), int.from_bytes(body[32:34], "big")), total)
    if family in (0x11, 0x21):
        return ProxyHeaderError("PROXY v2 address block too short")
    return ProxyHeader(None, total)  # UNSPEC, UDP or UNIX: keep the connection's own address
