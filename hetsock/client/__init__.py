"""The vendor-side client: persistent connections to a HETS-style server, replies read into types.

``reply`` and ``benefits`` read replies (sans-IO), ``explain`` puts them in plain words,
``connection`` is the trio client, ``sync`` its blocking wrapper for scripts.
"""

from hetsock.client.connection import (
    Client,
    ClientError,
    ClientSettings,
    ClientStats,
    ConnectError,
    ConnectionLostError,
    ProtocolError,
    ReplyTimeoutError,
)
from hetsock.client.reply import (
    Ack999,
    Eligibility,
    ProprietaryError,
    Rejection,
    Reply,
    ReplyKind,
    Ta1,
    Unrecognized,
    read_reply_untrusted,
)
from hetsock.client.sync import SyncClient

__all__ = [
    "Ack999",
    "Client",
    "ClientError",
    "ClientSettings",
    "ClientStats",
    "ConnectError",
    "ConnectionLostError",
    "Eligibility",
    "ProprietaryError",
    "ProtocolError",
    "Rejection",
    "Reply",
    "ReplyKind",
    "ReplyTimeoutError",
    "SyncClient",
    "Ta1",
    "Unrecognized",
    "read_reply_untrusted",
]
