"""Shared timing for the benchmark scripts: median microseconds per call over batches."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def median_us(call: Callable[[], object], rounds: int, batch: int) -> float:
    """The median over ``rounds`` batches of the mean microseconds per call (GC paused)."""
    samples = []
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter_ns()
            for _ in range(batch):
                call()
            samples.append((time.perf_counter_ns() - start) / batch / 1000)
    finally:
        gc.enable()
    return statistics.median(samples)
