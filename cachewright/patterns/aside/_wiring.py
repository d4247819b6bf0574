"""How a CacheAside's parts are built from its options and wired to one another.

Usage (what ``CacheAside.__init__`` does)::

    parts = build(cache, loader=repo.get_user, key="user:{}", type=User, ttl=600, ...)
    entry = await parts.misses.answer(42, "user:42", found)
    found = await parts.many.get([1, 2, 3])

Each collaborator holds the parts it needs and never the CacheAside, so a CacheAside
dropped without ``close()`` can be collected while a background load runs (its
finalizer then cancels it). The options are checked here, once: bad ones raise
:class:`~cachewright.errors.ConfigurationError` at construction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, Optional, TypeVar

from cachewright.cache import Cache, Entry
from cachewright.patterns._fill import ExpiresAt
from cachewright.patterns._keys import KeyMapper
from cachewright.patterns.aside._batch import BatchLoader
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader, LoaderSource
from cachewright.patterns.aside._loads import Loads, RefreshLoader
from cachewright.patterns.aside._many import ManyReads
from cachewright.patterns.aside._miss import MissPath
from cachewright.patterns.aside._options import Seconds, check_options, fill_options
from cachewright.patterns.aside._refresh import LoadTimer
from cachewright.patterns.aside._revalidate import Revalidation
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters
from cachewright.patterns.aside._timeouts import TimedLoads

__all__ = ["AsideParts", "build"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class AsideParts(Generic[K, V]):
    """The collaborators of one CacheAside."""

    loader: Loader[K, V]
    key: Callable[[K], str]
    read_type: Any
    signals: Signals
    counters: AsideCounters
    timed: TimedLoads[Entry[V | None]]
    filler: Filler[V]
    timer: LoadTimer
    refreshes: Revalidation[K, V]
    misses: MissPath[K, V]
    many: ManyReads[K, V]


def build(
    cache: Cache,
    *,
    loader: LoaderSource[K, V],
    key: str | Callable[[K], str],
    type: Any,
    ttl: Seconds | None,
    sliding: Seconds | None,
    expires_at: ExpiresAt | None,
    tags: Iterable[str] | str | None,
    cache_none: bool,
    none_ttl: Seconds | None,
    stale_ttl: Seconds | None,
    lock: bool,
    lock_ttl: Seconds,
    lock_wait: Seconds | None,
    early_refresh: float | None,
    max_concurrency: int,
    batch_fill: Literal["safe", "fast"],
    soft_timeout: Seconds | None,
    hard_timeout: Seconds | None,
    refresh_loader: RefreshLoader[K, V] | None,
) -> AsideParts[K, V]:
    """Check the options and build the parts (see the module docstring)."""
    soft, hard = check_options(
        ttl=ttl,
        stale_ttl=stale_ttl,
        early_refresh=early_refresh,
        max_concurrency=max_concurrency,
        batch_fill=batch_fill,
        soft_timeout=soft_timeout,
        hard_timeout=hard_timeout,
    )
    signals = Signals(cache, source="cache_aside")
    counters = AsideCounters()
    timed: TimedLoads[Entry[V | None]] = TimedLoads(counters, signals, soft=soft, hard=hard)
    source: Loader[K, V] = Loader(loader, max_concurrency=max_concurrency)
    key_of = KeyMapper[K](key).cache_key
    # A cached None (negative caching) must read back even when ``type`` is a model.
    read_type: Any = None if type is None else Optional[type]  # noqa: UP045
    policy, wait = fill_options(
        type=type,
        ttl=ttl,
        sliding=sliding,
        expires_at=expires_at,
        tags=tags,
        cache_none=cache_none,
        none_ttl=none_ttl,
        stale_ttl=stale_ttl,
        lock_ttl=lock_ttl,
        lock_wait=lock_wait,
        lock=lock,
    )
    filler: Filler[V] = Filler(cache, policy, counters)
    timer = LoadTimer()
    attributes = cache.metrics.attributes(namespace=cache.namespace, pattern="cache_aside")
    loads: Loads[K, V] = Loads(
        source, filler, counters, timer, cache.metrics, attributes, key_of, refresh_loader
    )
    refreshes: Revalidation[K, V] = Revalidation(
        loads, filler, signals, counters, timer, limit=max_concurrency, early=early_refresh
    )
    batches: BatchLoader[K, V] = BatchLoader(
        cache,
        source,
        filler,
        key_of,
        counters,
        timer,
        signals,
        timed.landed,
        max_concurrency=max_concurrency,
        batch_fill=batch_fill,
    )
    misses: MissPath[K, V] = MissPath(
        cache,
        read_type,
        filler,
        loads,
        signals,
        counters,
        timed,
        refreshes,
        lock=lock,
        lock_wait=wait,
    )
    many: ManyReads[K, V] = ManyReads(
        cache,
        source,
        batches,
        key_of,
        read_type,
        refreshes,
        signals,
        timed,
        max_concurrency=max_concurrency,
    )
    return AsideParts(
        loader=source,
        key=key_of,
        read_type=read_type,
        signals=signals,
        counters=counters,
        timed=timed,
        filler=filler,
        timer=timer,
        refreshes=refreshes,
        misses=misses,
        many=many,
    )
