"""One load of one key, counted and timed; the loader's exception passes through.

Usage::

    loads = Loads(loader, filler, counters, timer, cache.metrics, attributes, key_of)
    value = await loads.one(42)                      # the loader's own exception, noted
    value = await loads.one(42, release="user:42")   # on failure, free the lease first

Kept apart from ``CacheAside`` so that a background refresh holds only what it needs:
a CacheAside dropped without ``close()`` can then be collected mid-refresh, and its
finalizer cancels the refresh instead of leaving it to the loop's shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachewright._metrics import Attributes, Metrics
from cachewright.patterns._notes import add_note
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader
from cachewright.patterns.aside._refresh import LoadTimer
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["Loads", "load_note"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loads(Generic[K, V]):
    """The loader call of a CacheAside (see the module docstring)."""

    __slots__ = (
        "_attributes",
        "_counters",
        "_filler",
        "_key_of",
        "_loader",
        "_metrics",
        "_timer",
    )

    def __init__(
        self,
        loader: Loader[K, V],
        filler: Filler[V],
        counters: AsideCounters,
        timer: LoadTimer,
        metrics: Metrics,
        attributes: Attributes,
        key_of: Callable[[K], str],
    ) -> None:
        self._loader = loader
        self._filler = filler
        self._counters = counters
        self._timer = timer
        self._metrics = metrics
        self._attributes = attributes
        self._key_of = key_of

    async def one(self, key: K, *, release: str | None = None) -> V | None:
        """Call the loader; on failure free the lease at ``release`` and re-raise the
        loader's exception as it was, with a note naming the key."""
        self._counters.loads += 1
        started = time.perf_counter()
        try:
            value = await self._loader.one(key)
        except BaseException as exc:
            if release is not None:
                # Waiters elsewhere retry at once instead of waiting out lock_ttl.
                await self._filler.discard(release)
            if isinstance(exc, Exception):
                self._counters.load_errors += 1
                add_note(exc, load_note(key, self._key_of(key)))
            raise
        self._timer.observe(time.perf_counter() - started)
        self._metrics.loader(started, self._attributes)
        return value


def load_note(key: object, cache_key: str) -> str:
    return f"cachewright: while loading key {key!r} (cache key {cache_key!r})"
