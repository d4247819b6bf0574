"""Background refreshes (one per key at a time) and the XFetch early-refresh test.

Usage::

    refresher = Refresher(limit=32)
    refresher.schedule("user:1", lambda: reload_user(1))  # False if one is running
    await refresher.close()                               # cancels what is left

    if refresh_early(expiry_at, delta=0.05, beta=1.0):    # XFetch
        refresher.schedule(...)

Refreshes are tasks owned by the refresher (so by its CacheAside): nothing starts at
construction, so a CacheAside built outside an event loop is fine, and nothing is
left pending once they end. A failing refresh is logged and leaves the entry as it
was: the stale value keeps being served until its grace ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

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
    """At most one background refresh per key and ``limit`` in all, as plain tasks.

    Not an ``aiojobs.Scheduler``: its helper task stays pending from the first job
    until ``close()``, so a loop closed without ``asyncio.run`` reports it destroyed;
    and jobs over its limit wait in a queue that starts them when running ones end,
    which at ``asyncio.run``'s exit (everything being cancelled) starts tasks nobody
    cancels. Here nothing is pending while idle, a refresh over the limit is skipped
    (the stale value keeps being served and the next read asks again), and
    :meth:`abandon` is the synchronous cleanup for an owner that was never closed.
    """

    __slots__ = ("_closed", "_limit", "_tasks")

    def __init__(self, *, limit: int) -> None:
        self._limit = limit
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def running(self) -> frozenset[str]:
        """Keys being refreshed now."""
        return frozenset(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    def schedule(self, key: str, job: Callable[[], Awaitable[Any]]) -> bool:
        """Start ``job()`` in the background; False if ``key`` is being refreshed
        already, ``limit`` refreshes are running, or the refresher is closed."""
        if self._closed or key in self._tasks or len(self._tasks) >= self._limit:
            return False
        task = asyncio.get_running_loop().create_task(
            self._run(key, job), name=f"cachewright refresh {key}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return True

    async def _run(self, key: str, job: Callable[[], Awaitable[Any]]) -> None:
        try:
            await job()
        except Exception as exc:
            throttled.warning("background refresh of %r failed: %r", key, exc)

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def close(self, timeout: float = 1.0) -> None:  # noqa: ASYNC109
        """Cancel the refreshes still running, wait for them (up to ``timeout``
        seconds: a loader may ignore its cancellation), and stop accepting new ones.
        Idempotent."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=timeout)
            if stuck:
                log.warning("%d background refreshes ignored their cancellation", len(stuck))

    def abandon(self) -> int:
        """Cancel what is running without waiting (the owner is gone unclosed);
        returns how many were cancelled. Safe once the loop is closed."""
        self._closed = True
        cancelled = 0
        for task in list(self._tasks.values()):
            # RuntimeError: its loop is closed, so nothing can run it any more.
            with contextlib.suppress(RuntimeError):
                cancelled += task.cancel()
        return cancelled
