"""The audit writer's own low-priority thread (hetsock/audit/background.py)."""

from __future__ import annotations

import functools
import os
import sys
import threading
import time

import pytest
import trio

from hetsock.audit.background import NICE, BackgroundThread


async def test_jobs_run_on_one_thread_of_low_priority() -> None:
    thread = BackgroundThread("test-writer")
    seen: list[tuple[int, int]] = []

    def job(n: int) -> int:
        native = threading.get_native_id()
        priority = os.getpriority(os.PRIO_PROCESS, native) if sys.platform.startswith("linux") else NICE
        seen.append((native, priority))
        return n * 2

    try:
        assert [await thread.run(functools.partial(job, n)) for n in range(5)] == [0, 2, 4, 6, 8]
    finally:
        thread.stop()
    natives = {native for native, _ in seen}
    assert len(natives) == 1
    assert threading.get_native_id() not in natives
    caller = os.getpriority(os.PRIO_PROCESS, 0) if sys.platform.startswith("linux") else 0
    assert {priority for _, priority in seen} == {max(NICE, caller)}
    if sys.platform.startswith("linux"):  # the caller's thread keeps its own priority
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller


async def test_a_job_that_raises_raises_in_the_caller_and_the_thread_goes_on() -> None:
    thread = BackgroundThread("test-writer")

    def fails() -> None:
        raise ValueError("no")

    try:
        with pytest.raises(ValueError, match="no"):
            await thread.run(fails)
        assert await thread.run(lambda: "still here") == "still here"
    finally:
        thread.stop()


async def test_a_cancelled_caller_still_waits_for_its_job() -> None:
    thread = BackgroundThread("test-writer")
    finished: list[float] = []

    def slow() -> None:
        time.sleep(0.2)
        finished.append(time.monotonic())

    try:
        with trio.move_on_after(0.01) as scope:
            await thread.run(slow)
        assert finished, "the job was abandoned"
        assert scope.cancel_called
    finally:
        thread.stop()


async def test_a_stopped_thread_starts_anew_for_the_next_job() -> None:
    thread = BackgroundThread("test-writer")
    first = await thread.run(threading.current_thread)
    thread.stop()
    first.join(timeout=5)
    assert not first.is_alive()
    second = await thread.run(threading.current_thread)
    thread.stop()
    assert second is not first
