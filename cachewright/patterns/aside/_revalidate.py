"""What a hit on a stale or soon-expiring entry starts: one background refresh.

Usage (what ``CacheAside`` does on a hit that is stale or due early)::

    refreshes = Revalidation(loads, filler, signals, counters, timer, limit=32, early=1.0)
    await refreshes.on_hit(42, "user:42", entry)      # counts, signals, schedules
    entry = await refreshes.reload(42, "user:42", entry)   # a refresh, awaited
    weakref.finalize(aside, abandon, refreshes.refresher, repr(aside))
    await refreshes.close()                           # cancels what is left

It holds the parts a refresh needs, never the CacheAside: a CacheAside dropped
without ``close()`` can then be collected mid-refresh, and ``abandon`` (its
finalizer) cancels the refreshes still running and says so once.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from cachewright.cache import Entry
from cachewright.events import EventKind
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loads import Landed, Loads, reload
from cachewright.patterns.aside._refresh import LoadTimer, Refresher, refresh_early
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["Revalidation", "abandon", "due_early"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def due_early(entry: Entry[Any], timer: LoadTimer, beta: float) -> bool:
    """Whether a fresh entry is due for an early refresh (XFetch with ``beta``)."""
    expiry = entry.fresh_until or entry.expires_at
    return expiry is not None and refresh_early(expiry, delta=timer.mean, beta=beta)


class Revalidation(Generic[K, V]):
    """Background refreshes of a CacheAside's stale and early-due entries."""

    __slots__ = ("_counters", "_early", "_filler", "_loads", "_refresher", "_signals", "_timer")

    def __init__(
        self,
        loads: Loads[K, V],
        filler: Filler[V],
        signals: Signals,
        counters: AsideCounters,
        timer: LoadTimer,
        *,
        limit: int,
        early: float | None,
    ) -> None:
        self._refresher = Refresher(limit=limit)
        self._loads = loads
        self._filler = filler
        self._signals = signals
        self._counters = counters
        self._timer = timer
        self._early = early

    @property
    def refresher(self) -> Refresher:
        """The refreshes' tasks (what a finalizer cancels; it holds no CacheAside)."""
        return self._refresher

    async def close(self) -> None:
        """Cancel the refreshes still running and wait for them (see ``Refresher``)."""
        await self._refresher.close()

    async def on_hit(self, key: K, cache_key: str, entry: Entry[Any]) -> None:
        """Refresh ``entry`` in the background if it is stale or due early."""
        if entry.stale:
            self._counters.stale_served += 1
            self._signals.emit(EventKind.STALE, cache_key)
            await self.later(key, cache_key, entry)
        elif self._early is not None and due_early(entry, self._timer, self._early):
            await self.later(key, cache_key, entry)

    async def reload(
        self, key: K, cache_key: str, entry: Entry[Any], landed: Landed | None = None
    ) -> Entry[V | None]:
        return await reload(
            self._loads, self._filler, self._signals, self._counters, key, cache_key, entry, landed
        )

    async def later(self, key: K, cache_key: str, entry: Entry[Any]) -> None:
        # The job holds the parts it needs, not the CacheAside: one dropped unclosed is
        # collected (and its finalizer cancels the job) even while a refresh runs.
        parts = (self._loads, self._filler, self._signals, self._counters)

        async def job() -> None:
            await reload(*parts, key, cache_key, entry)

        if self._refresher.schedule(cache_key, job):
            self._counters.refreshes += 1


def abandon(refresher: Refresher, name: str) -> None:
    """The finalizer of a CacheAside collected without ``close()``."""
    if refresher.closed:
        return
    cancelled = refresher.abandon()
    if cancelled:
        warnings.warn(
            f"{name} was never closed: {cancelled} background refresh(es) cancelled;"
            " use `async with` or `await aside.close()`",
            ResourceWarning,
            stacklevel=1,
        )
