"""Background refreshes (one per key at a time) and the XFetch early-refresh test.

Usage::

    refresher = Refresher(limit=32)
    await refresher.schedule("user:1", lambda: reload_user(1))  # False if one is running
    await refresher.close()                                     # cancels what is left

    if refresh_early(expiry_at, delta=0.05, beta=1.0):          # XFetch
        await refresher.schedule(...)

Jobs run on an ``aiojobs.Scheduler`` created on first use, so nothing starts at
construction and a CacheAside built outside an event loop is fine. A failing refresh
is logged and leaves the entry as it was: the stale value keeps being served until
its grace ends.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiojobs

from cachewright._logs import Throttle

__all__ = ["LoadTimer", "Refresher", "refresh_early"]

log = logging.getLogger("cachewright.patterns")
# Repeats (an outage fails every call) are logged once a minute, with a count.
throttled = Throttle(log)


def refresh_early(expiry: datetime, *, delta: float, beta: float, now: float | None = None) -> bool:
    """XFetch (Vattani et al., "Optimal Probabilistic Cache Stampede Prevention").

    True with a probability that rises as ``expiry`` nears: when
    ``now - delta * beta * ln(rand) >= expiry``. ``delta`` is how long a load takes, so
    a slow loader starts earlier; ``beta > 1`` favours earlier refreshes.
    """
    if delta <= 0 or beta <= 0:
        return False
    current = time.time() if now is None else now
    # 1 - random() lies in (0, 1]: log() never sees 0.
    gap = -delta * beta * math.log(1.0 - random.random())
    return current + gap >= expiry.timestamp()


class LoadTimer:
    """An exponentially weighted mean of load durations: XFetch's ``delta``."""

    __slots__ = ("_mean",)

    def __init__(self) -> None:
        self._mean = 0.0

    @property
    def mean(self) -> float:
        return self._mean

    def observe(self, seconds: float) -> None:
        self._mean = seconds if self._mean == 0.0 else 0.8 * self._mean + 0.2 * seconds


class Refresher:
    """At most one background refresh per key, on an aiojobs scheduler."""

    __slots__ = ("_closed", "_limit", "_running", "_scheduler")

    def __init__(self, *, limit: int) -> None:
        self._limit = limit
        self._running: set[str] = set()
        self._scheduler: aiojobs.Scheduler | None = None
        self._closed = False

    @property
    def running(self) -> frozenset[str]:
        """Keys being refreshed now."""
        return frozenset(self._running)

    async def schedule(self, key: str, job: Callable[[], Awaitable[Any]]) -> bool:
        """Start ``job()`` in the background unless ``key`` is being refreshed already."""
        if self._closed or key in self._running:
            return False
        if self._scheduler is None:
            self._scheduler = aiojobs.Scheduler(limit=self._limit, close_timeout=1.0)
        self._running.add(key)
        try:
            await self._scheduler.spawn(self._run(key, job), name=f"cachewright refresh {key}")
        except BaseException:
            self._running.discard(key)
            raise
        return True

    async def _run(self, key: str, job: Callable[[], Awaitable[Any]]) -> None:
        try:
            await job()
        except Exception as exc:
            throttled.warning("background refresh of %r failed: %r", key, exc)
        finally:
            self._running.discard(key)

    async def close(self) -> None:
        """Cancel the refreshes still running and stop accepting new ones. Idempotent."""
        self._closed = True
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            await scheduler.close()
