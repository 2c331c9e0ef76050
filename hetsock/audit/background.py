"""A thread of lower scheduling priority for the audit writer's work (records, inserts, prunes).

Why not ``trio.to_thread``: the writer's flush is a burst of CPU work (about 25 us a record) on
the worker's own core, and a thread at normal priority takes half of that core while it runs,
so every request answered meanwhile waits about twice as long: with the trail on, the 99th
percentile latency at 16 connections was twice what it was with it off. At a lower priority
(nice :data:`NICE` on Linux, this thread only) the scheduler runs it mostly when the event loop
waits, and otherwise in short slices, so the flush fills the loop's idle time instead of
stretching its requests. The GIL could let the
low-priority thread hold up the loop while it is not running; it does not, because the loop,
once it waits for the GIL, is not runnable, so the writer runs and hands it over (the worker
also shortens the GIL's switch interval, see ``cli_serve``). A dedicated thread, rather than a
cached one, so the lowered priority never reaches other work (a PostgreSQL store's lookups run
in trio's threads).

Like ``trio.to_thread.run_sync`` without ``abandon_on_cancel``, :meth:`BackgroundThread.run`
waits for the job even when cancelled: a database write is never left half-known.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

import outcome
import trio

T = TypeVar("T")

#: The nice value the audit writer's thread runs at (Linux: per thread; elsewhere the thread
#: keeps its priority): the lowest. On a saturated worker (the event loop never waits) the
#: scheduler gives it little (weights 15 : 1024), and it falls behind: the trail then hands its
#: work to a thread of normal priority until it has caught up (``trail.CATCH_UP_AFTER``).
#: Measured against nice 7 and 10 (``python scripts/bench_server.py``, and 20 s of saturation):
#: the most replies a second, the lowest 99th percentile, and the backlog stays bounded.
NICE = 19

_Job = tuple[Callable[[], object], trio.lowlevel.TrioToken, Callable[[outcome.Outcome[object]], None]]


def lower_priority(nice: int = NICE) -> bool:
    """Lower the calling thread's scheduling priority to ``nice`` (Linux only: elsewhere
    ``setpriority`` would renice the whole process). Whether it was lowered."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        return False
    return True


class BackgroundThread:
    """Runs jobs one at a time, in order, on its own thread (at ``nice``, or the process's own
    priority with ``None``), started by the first job; :meth:`stop` ends it (a later job starts
    a new one)."""

    def __init__(self, name: str, nice: int | None = NICE) -> None:
        self._name = name
        self._nice = nice
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Let the thread end once the jobs queued before have run (does not wait)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread = None

    async def run(self, job: Callable[[], T]) -> T:
        """``job()`` on the thread: its result, or what it raised."""
        self.start()
        done = trio.Event()
        result: list[outcome.Outcome[object]] = []

        def deliver(value: outcome.Outcome[object]) -> None:
            result.append(value)
            done.set()

        self._jobs.put((job, trio.lowlevel.current_trio_token(), deliver))
        with trio.CancelScope(shield=True):
            await done.wait()
        value: T = result[0].unwrap()  # type: ignore[assignment]
        return value

    def _main(self) -> None:
        if self._nice is not None:
            lower_priority(self._nice)
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, token, deliver = item
            value = outcome.capture(job)
            with contextlib.suppress(trio.RunFinishedError):  # the event loop is gone: nobody waits
                token.run_sync_soon(deliver, value)
