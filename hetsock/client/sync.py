"""A blocking wrapper of :class:`~hetsock.client.connection.Client`, for scripts.

The trio client runs in a thread of its own (``trio.run``); each call is handed to it with
``trio.from_thread.run`` and its result (or exception) comes back. Same reuse, reconnection,
retries and timeouts as the async client, because it *is* the async client.

    with SyncClient("127.0.0.1", 7270) as client:
        reply = client.send(Path("inquiry.270").read_bytes())
        print(reply.kind)
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

import trio

from hetsock.client.connection import DEFAULT_PORT, Client, ClientError, ClientSettings, ClientStats
from hetsock.client.reply import Reply
from hetsock.wire.framing import Mode


class SyncClient:
    """Blocking calls to a :class:`Client` running in a background thread. Close it (or use ``with``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        mode: Mode = Mode.WRAPPED,
        settings: ClientSettings | None = None,
    ) -> None:
        self._client = Client(host, port, mode=mode, settings=settings)
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hetsock-client", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise ClientError("the client thread did not start") from self._failure

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as error:  # reported to the constructor's caller
            self._failure = error
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._client.aclose()

    @property
    def stats(self) -> ClientStats:
        return self._client.stats

    def send(self, payload: bytes) -> Reply:
        """Send one interchange and return its typed reply (blocks). Raises a :class:`ClientError`."""
        return trio.from_thread.run(self._client.send, payload, trio_token=self._live_token())

    def send_raw(self, payload: bytes) -> bytes:
        """Send one interchange and return its reply payload (blocks)."""
        return trio.from_thread.run(self._client.send_raw, payload, trio_token=self._live_token())

    def connect(self) -> None:
        """Open the connection now (blocks). Raises :class:`~hetsock.client.connection.ConnectError`."""
        trio.from_thread.run(self._client.connect, trio_token=self._live_token())

    def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._thread.is_alive() and self._stop is not None and self._token is not None:
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join()

    def _live_token(self) -> trio.lowlevel.TrioToken:
        if self._token is None or not self._thread.is_alive():
            raise ClientError("the client is closed")
        return self._token

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
