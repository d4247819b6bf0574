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
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from cachewright._metrics import Attributes, Metrics
from cachewright.cache import Entry
from cachewright.events import EventKind
from cachewright.patterns._notes import add_note
from cachewright.patterns.aside._adaptive import Loaded, NotModified, NotModifiedType
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader
from cachewright.patterns.aside._refresh import LoadTimer
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["Landed", "Loads", "RefreshLoader", "load_note", "reload"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Told whether a load's fill of a cache key was written (``TimedLoads.landed``).
Landed = Callable[[str, bool], None]

# Called instead of the loader to refresh a cached entry; may answer NotModified.
RefreshLoader = Callable[[K, Entry[V]], Awaitable[Loaded[V] | NotModifiedType]]


class Loads(Generic[K, V]):
    """The loader call of a CacheAside (see the module docstring)."""

    __slots__ = (
        "_attributes",
        "_counters",
        "_filler",
        "_key_of",
        "_loader",
        "_metrics",
        "_refresh_loader",
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
        refresh_loader: RefreshLoader[K, V] | None = None,
    ) -> None:
        self._loader = loader
        self._filler = filler
        self._counters = counters
        self._timer = timer
        self._metrics = metrics
        self._attributes = attributes
        self._key_of = key_of
        self._refresh_loader = refresh_loader

    async def one(
        self, key: K, *, release: str | None = None, stale: Entry[Any] | None = None
    ) -> Loaded[V] | NotModifiedType:
        """Call the loader (``refresh_loader`` with the ``stale`` entry, when both are
        given); on failure free the lease at ``release`` and re-raise the loader's
        exception as it was, with a note naming the key."""
        self._counters.loads += 1
        started = time.perf_counter()
        try:
            value: Loaded[V] | NotModifiedType
            if stale is not None and self._refresh_loader is not None:
                value = await self._refresh_loader(key, stale)
            else:
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


async def reload(
    loads: Loads[K, V],
    filler: Filler[V],
    signals: Signals,
    counters: AsideCounters,
    key: K,
    cache_key: str,
    entry: Entry[Any],
    landed: Landed | None = None,
) -> Entry[V | None]:
    """Refresh a cached entry: through ``refresh_loader`` when given (which may answer
    ``NotModified``), filled against the entry's version (G10). A module function, so
    that a background refresh holds these parts and not the CacheAside. ``landed``
    hears whether the fill (or the extension) was written."""
    try:
        result = await loads.one(key, stale=entry)
    except Exception as exc:
        if entry.stale:
            counters.fail_safe += 1
            signals.emit(EventKind.FAIL_SAFE, cache_key, repr(exc))
        raise
    if result is NotModified:
        signals.emit(EventKind.NOT_MODIFIED, cache_key)
        extended, stored = await filler.extend(cache_key, entry)
    else:
        stored = await filler.fill(cache_key, result, entry.version)
        extended = filler.loaded(result)
    if landed is not None:
        landed(cache_key, stored)
    return extended
