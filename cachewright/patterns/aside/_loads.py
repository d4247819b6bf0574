"""One load of one key, counted, timed and mapped to ``LoaderError``.

Usage::

    loads = Loads(loader, filler, counters, timer, cache.metrics, attributes)
    value = await loads.one(42)                      # LoaderError if the loader failed
    value = await loads.one(42, release="user:42")   # on failure, free the lease first

Kept apart from ``CacheAside`` so that a background refresh holds only what it needs:
a CacheAside dropped without ``close()`` can then be collected mid-refresh, and its
finalizer cancels the refresh instead of leaving it to the loop's shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from cachewright._metrics import Attributes, Metrics
from cachewright.errors import LoaderError
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader
from cachewright.patterns.aside._refresh import LoadTimer
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["Loads"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loads(Generic[K, V]):
    """The loader call of a CacheAside (see the module docstring)."""

    __slots__ = ("_attributes", "_counters", "_filler", "_loader", "_metrics", "_timer")

    def __init__(
        self,
        loader: Loader[K, V],
        filler: Filler[V],
        counters: AsideCounters,
        timer: LoadTimer,
        metrics: Metrics,
        attributes: Attributes,
    ) -> None:
        self._loader = loader
        self._filler = filler
        self._counters = counters
        self._timer = timer
        self._metrics = metrics
        self._attributes = attributes

    async def one(self, key: K, *, release: str | None = None) -> V | None:
        """Call the loader; on failure free the lease at ``release`` and raise LoaderError."""
        self._counters.loads += 1
        started = time.perf_counter()
        try:
            value = await self._loader.one(key)
        except BaseException as exc:
            if release is not None:
                # Waiters elsewhere retry at once instead of waiting out lock_ttl.
                await self._filler.discard(release)
            if not isinstance(exc, Exception):
                raise
            self._counters.load_errors += 1
            raise LoaderError(f"the loader failed for {key!r} ({type(exc).__name__})") from exc
        self._timer.observe(time.perf_counter() - started)
        self._metrics.loader(started, self._attributes)
        return value
