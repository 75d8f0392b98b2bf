"""Wall-clock timing of a callable."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TimingStats", "time_call"]


@dataclass(frozen=True)
class TimingStats:
    """Statistics over the timed repeats, in milliseconds."""

    median_ms: float
    mean_ms: float
    min_ms: float


def time_call(fn: Callable[..., Any], *args: Any, repeats: int = 5, warmup: int = 1, **kwargs: Any) -> TimingStats:
    """Time ``fn(*args, **kwargs)`` with ``time.perf_counter`` after ``warmup`` untimed calls."""
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn(*args, **kwargs)
    times = np.empty(repeats)
    for k in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times[k] = (time.perf_counter() - start) * 1e3
    return TimingStats(median_ms=float(np.median(times)), mean_ms=float(times.mean()), min_ms=float(times.min()))
