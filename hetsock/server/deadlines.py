"""One timer for all of a worker's connections: it cancels each one whose deadline has passed.

Why not a trio deadline on each connection's cancel scope: a connection's deadline changes twice
per request (the reply timeout while answering, the idle or message deadline while reading), and
each change of a trio deadline is a removal from and an insertion into trio's deadline heap in
Python, about 250 interpreter instructions a request, about 5 % of a request's whole cost on the
worker. Here a connection only writes its deadline into an attribute (:attr:`Watched.deadline`);
one task, started on first use, sleeps until the earliest entry of its own heap and looks then.

Exact, not a polling sweep: every watched object has, at all times, an entry in the heap at or
before its true deadline (:attr:`Watched.entry`, the earliest it has). The task wakes at the
earliest entry; for each entry due, it cancels the object whose deadline has passed, and files
the others again under their current deadline. A deadline that moves later (every request: the
last activity moves on) costs nothing until the entry comes due, once per idle timeout at most;
one that moves earlier than the object's entry (rare: a reply written after a long answer) adds
an entry and, when it is the new earliest, moves the task's one trio deadline. So expiry happens
at the same trio time a deadline on the cancel scope would have given, virtual time included.

Entries of objects no longer watched are dropped when they come due, or sooner: once they are
most of the heap, it is rebuilt without them, so a storm of short connections leaves no closed
connection held for long (each entry holds its object).
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Protocol

import trio

#: Unwatched objects below which the heap is never rebuilt (a rebuild costs a pass over it).
_REBUILD_FROM = 64


class Watched(Protocol):
    """What the timer watches (a connection)."""

    #: The trio time at which :meth:`expire` is due; ``math.inf`` for none.
    deadline: float
    #: The earliest entry the timer holds for this object (set by :class:`DeadlineTimer`).
    entry: float
    #: Whether it is still watched (false: its entries are dropped when they come due).
    watched: bool

    def expire(self) -> None:
        """The deadline has passed: cancel what waits for it."""


class DeadlineTimer:
    """Cancels watched objects at their deadlines (see the module header). Its task is a trio
    system task, started by the first :meth:`watch` of each trio run."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watched]] = []
        self._order = itertools.count()  # ties: first filed, first looked at (never compares objects)
        self._token: trio.lowlevel.TrioToken | None = None
        self._sleep: trio.CancelScope | None = None
        self._wake_at = math.inf
        self._unwatched = 0  # objects unwatched since the heap was last rebuilt

    def watch(self, watched: Watched) -> None:
        """Start watching ``watched`` (its ``deadline`` set already)."""
        watched.watched = True
        watched.entry = math.inf
        token = trio.lowlevel.current_trio_token()
        if self._token is not token:  # the first of this run (a state outlives a test's trio run)
            self._token = token
            self._heap.clear()
            self._wake_at = math.inf
            self._sleep = None
            trio.lowlevel.spawn_system_task(self._run, name="hetsock-deadline-timer")
        self.moved_earlier(watched)

    def moved_earlier(self, watched: Watched) -> None:
        """``watched.deadline`` is now before ``watched.entry``: file it (the caller checks, so
        the usual case, a deadline moving later, costs one comparison)."""
        deadline = watched.deadline
        watched.entry = deadline
        heapq.heappush(self._heap, (deadline, next(self._order), watched))
        if deadline < self._wake_at:
            self._wake_at = deadline
            if self._sleep is not None:
                self._sleep.deadline = deadline

    def unwatch(self, watched: Watched) -> None:
        """Stop watching ``watched``; its entries go when due, or when the heap is rebuilt."""
        watched.watched = False
        self._unwatched += 1
        if self._unwatched > _REBUILD_FROM and 2 * self._unwatched > len(self._heap):
            self._heap[:] = [entry for entry in self._heap if entry[2].watched]
            heapq.heapify(self._heap)
            self._unwatched = 0

    @property
    def entries(self) -> int:
        """Entries held (for tests: it must not grow with the requests answered)."""
        return len(self._heap)

    async def _run(self) -> None:
        heap = self._heap
        clock = trio.lowlevel.current_clock()
        while True:
            now = clock.current_time()
            while heap and heap[0][0] <= now:
                _, _, watched = heapq.heappop(heap)
                if not watched.watched:
                    continue
                deadline = watched.deadline
                if deadline <= now:
                    watched.entry = math.inf
                    watched.expire()
                elif deadline < math.inf:
                    watched.entry = deadline
                    heapq.heappush(heap, (deadline, next(self._order), watched))
                else:
                    watched.entry = math.inf
            self._wake_at = heap[0][0] if heap else math.inf
            with trio.CancelScope(deadline=self._wake_at) as self._sleep:
                await trio.sleep_forever()
            self._sleep = None
