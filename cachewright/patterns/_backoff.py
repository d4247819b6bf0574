"""Backoff schedules for polling loops, as tenacity wait strategies (like flush retries).

Usage::

    pauses = Pauses(wait_scaled(wait_exponential(multiplier=0.5, max=30), 0.5, 1.0))
    await asyncio.sleep(pauses.next())      # 0.25..0.5 s, then 0.5..1 s, ... up to 30 s
    pauses.reset()                          # after a success: start from the first again

A lock wait and a worker's outage loop are not retries of one call, so they do not
run under ``AsyncRetrying``; they ask a tenacity wait strategy for the delay of
attempt 1, 2, 3, ... instead, so every backoff in the patterns is written one way.
"""

from __future__ import annotations

import random

from tenacity import RetryCallState, Retrying
from tenacity.wait import WaitBaseT, wait_base

__all__ = ["Pauses", "wait_scaled"]


class wait_scaled(wait_base):
    """``wait``'s delay times a random factor in ``[low, high]`` (proportional jitter)."""

    def __init__(self, wait: WaitBaseT, low: float, high: float) -> None:
        self.wait = wait
        self.low = low
        self.high = high

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.wait(retry_state) * random.uniform(self.low, self.high)


class Pauses:
    """The successive delays of a tenacity wait strategy (attempt 1, 2, 3, ...)."""

    __slots__ = ("_state", "_wait")

    def __init__(self, wait: WaitBaseT) -> None:
        self._wait = wait
        # A call state is what tenacity's strategies read (the attempt number).
        self._state = RetryCallState(Retrying(), None, (), {})

    def next(self) -> float:
        delay = self._wait(self._state)
        self._state.attempt_number += 1
        return delay

    def reset(self) -> None:
        self._state.attempt_number = 1
