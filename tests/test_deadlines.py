"""The worker's deadline timer (hetsock/server/deadlines.py), in virtual time: each watched object
is expired at exactly its deadline however often the deadline moves, and the timer's heap does
not grow with the moves. The connection rules built on it (idle, message and reply deadlines at
exact times) are tested in test_connection.py."""

from __future__ import annotations

import math

import trio
import trio.testing

from hetsock.server.deadlines import DeadlineTimer


class Item:
    def __init__(self, timer: DeadlineTimer, deadline: float) -> None:
        self.timer = timer
        self.deadline = deadline
        self.entry = math.inf
        self.watched = False
        self.expired_at: list[float] = []

    def expire(self) -> None:
        self.expired_at.append(trio.current_time())

    def move(self, deadline: float) -> None:
        """As a connection moves its deadline."""
        self.deadline = deadline
        if deadline < self.entry:
            self.timer.moved_earlier(self)


async def test_expired_at_exactly_the_deadline(autojump_clock: trio.testing.MockClock) -> None:
    timer = DeadlineTimer()
    items = [Item(timer, trio.current_time() + d) for d in (3.0, 1.0, 2.0, 1.0)]
    for item in items:
        timer.watch(item)
    await trio.sleep(10)
    assert [item.expired_at for item in items] == [[3.0], [1.0], [2.0], [1.0]]


async def test_a_deadline_moved_later_again_and_again_costs_no_entries(autojump_clock: trio.testing.MockClock) -> None:
    timer = DeadlineTimer()
    item = Item(timer, 5.0)
    timer.watch(item)
    for _ in range(1000):  # a request every 10 ms: the idle deadline moves each time
        await trio.sleep(0.01)
        item.move(trio.current_time() + 5.0)
        assert timer.entries <= 2
    assert item.expired_at == []
    last = item.deadline
    await trio.sleep(6)
    assert item.expired_at == [last]


async def test_a_deadline_moved_earlier_is_kept(autojump_clock: trio.testing.MockClock) -> None:
    timer = DeadlineTimer()
    answering = Item(timer, 30.0)  # a reply timeout
    timer.watch(answering)
    await trio.sleep(1)
    answering.move(1.0 + 5.0)  # the reply written: an idle deadline, before the entry at 30
    await trio.sleep(10)
    assert answering.expired_at == [6.0]


async def test_unwatched_and_infinite_are_never_expired(autojump_clock: trio.testing.MockClock) -> None:
    timer = DeadlineTimer()
    gone, never = Item(timer, 1.0), Item(timer, 2.0)
    timer.watch(gone)
    timer.watch(never)
    timer.unwatch(gone)
    never.move(math.inf)
    await trio.sleep(5)
    assert (gone.expired_at, never.expired_at, timer.entries) == ([], [], 0)
    never.move(7.0)  # watched again from a finite deadline
    await trio.sleep(5)
    assert never.expired_at == [7.0]


def test_one_timer_serves_one_trio_run_after_another() -> None:
    timer = DeadlineTimer()
    seen: list[list[float]] = []

    async def once() -> None:
        item = Item(timer, trio.current_time() + 2.0)
        timer.watch(item)
        await trio.sleep(3)
        seen.append([t - (item.deadline - 2.0) for t in item.expired_at])

    for _ in range(2):
        trio.run(once, clock=trio.testing.MockClock(autojump_threshold=0))
    assert seen == [[2.0], [2.0]]


async def test_closed_items_are_not_held_for_their_deadline(autojump_clock: trio.testing.MockClock) -> None:
    timer = DeadlineTimer()
    keep = Item(timer, 100.0)
    timer.watch(keep)
    for _ in range(10_000):  # a storm of short connections, each gone long before its deadline
        item = Item(timer, trio.current_time() + 30.0)
        timer.watch(item)
        timer.unwatch(item)
    assert timer.entries <= 200
    await trio.sleep(101)
    assert keep.expired_at == [100.0]
