"""Batch loads of a CacheAside: lease the misses, load them in one go, fill them.

Usage (what ``CacheAside.get_many`` and ``warmup`` do)::

    batches = BatchLoader(cache, loader, filler, to_key, counters, timer, signals,
                          landed, max_concurrency=16, batch_fill="safe")
    loaded, failed = await batches.load(keys, cache_keys, {}, load_limit=16)
    result = await batches.warm_chunk(chunk, skip_cached=True, load_limit=1, cache_limit=16)

``batch_fill="safe"`` leases every miss before loading, so a write that lands during
the load wins (G10); ``"fast"`` writes the batch with one ``set_many``. Each written
fill is reported to ``landed`` (``TimedLoads.landed``: a batch whose caller stopped
waiting fills in the background). A warm-up chunk emits ``hit`` for a fresh entry
(skipped, or reloaded with ``skip_cached=False``), ``miss`` for a key it loads because
it is absent or stale (it reloads a stale entry rather than serving it), and
``fail_safe`` for a stale entry whose reload failed (the entry stays in service); a
chunk that reads nothing (``skip_cached=False`` with ``batch_fill="fast"``) emits
neither ``hit`` nor ``miss``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, Literal, TypeVar

from cachewright.cache import Cache, Entry, Lease
from cachewright.events import EventKind
from cachewright.patterns.aside._adaptive import Loaded, unwrap
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader, bounded_each
from cachewright.patterns.aside._loads import Landed
from cachewright.patterns.aside._refresh import LoadTimer
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters
from cachewright.patterns.aside._warming import ChunkResult

__all__ = ["BatchLoader"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    __slots__ = (
        "_batch_fill",
        "_cache",
        "_counters",
        "_filler",
        "_key",
        "_landed",
        "_loader",
        "_max_concurrency",
        "_signals",
        "_timer",
    )

    def __init__(
        self,
        cache: Cache,
        loader: Loader[K, V],
        filler: Filler[V],
        key: Callable[[K], str],
        counters: AsideCounters,
        timer: LoadTimer,
        signals: Signals,
        landed: Landed,
        *,
        max_concurrency: int,
        batch_fill: Literal["safe", "fast"],
    ) -> None:
        self._signals = signals
        self._landed = landed
        self._cache = cache
        self._loader = loader
        self._filler = filler
        self._key = key
        self._counters = counters
        self._timer = timer
        self._max_concurrency = max_concurrency
        self._batch_fill = batch_fill

    async def load(
        self,
        keys: Sequence[K],
        cache_keys: Mapping[K, str],
        versions: Mapping[str, bytes],
        *,
        load_limit: int,
        cache_limit: int | None = None,
    ) -> tuple[dict[K, V | None], dict[K, Exception]]:
        """Load ``keys`` in one batch and fill them; ({key: value}, {key: error})."""
        if not keys:
            return {}, {}
        limit = cache_limit or self._max_concurrency
        claims: dict[str, bytes] = dict(versions)
        leased: set[str] = set()
        if self._batch_fill == "safe":
            # Lease before loading: a write landing during the load must win (G10).
            to_lease = [cache_keys[key] for key in keys if cache_keys[key] not in claims]
            leases = await bounded_each(self._filler.lease, to_lease, limit)
            for cache_key, lease in zip(to_lease, leases, strict=True):
                # None: another filler holds the key; an error: the cache is down.
                # Either way the value is loaded with the batch and not written.
                if isinstance(lease, Lease):
                    claims[cache_key] = lease.version
                    leased.add(cache_key)
        started = time.perf_counter()
        loaded, failed = await self._loader.many(keys, limit=load_limit)
        self._timer.observe(time.perf_counter() - started)
        self._counters.loads += len(keys)
        self._counters.load_errors += len(failed)
        if self._batch_fill == "fast":
            results = {cache_keys[key]: value for key, value in loaded.items()}
            for cache_key in await self._filler.fill_fast(results):
                self._landed(cache_key, True)
            return _values(loaded), failed
        fills = [
            (cache_keys[key], value, claims[cache_keys[key]])
            for key, value in loaded.items()
            if cache_keys[key] in claims
        ]

        async def fill(item: tuple[str, Loaded[V], bytes]) -> bool:
            return await self._filler.fill(*item)

        outcomes = await bounded_each(fill, fills, limit)
        for (cache_key, _, _), outcome in zip(fills, outcomes, strict=True):
            self._landed(cache_key, outcome is True)
        released = [cache_keys[key] for key in failed if cache_keys[key] in leased]
        if released:
            await self._filler.discard_many(released)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # a value the codec refuses: the caller's bug, not a miss
        return _values(loaded), failed

    async def warm_chunk(
        self, chunk: list[K], *, skip_cached: bool, load_limit: int, cache_limit: int
    ) -> ChunkResult:
        result = ChunkResult()
        cache_keys: dict[K, str] = {}
        for key in chunk:
            try:
                cache_keys[key] = self._key(key)
            except Exception as exc:
                result.failed[key] = exc
        todo = list(cache_keys)
        versions: dict[str, bytes] = {}
        stale: set[K] = set()
        if skip_cached or self._batch_fill == "safe":
            # Untyped: only freshness and versions matter here, and no entry of an
            # older shape can fail the whole chunk.
            entries = await self._cache.get_many_entries(cache_keys.values())
            todo = []
            for key, cache_key in cache_keys.items():
                entry = entries.get(cache_key)
                self._signal(cache_key, entry)
                if entry is not None and skip_cached and not entry.stale:
                    result.skipped += 1
                    continue
                if entry is not None:
                    versions[cache_key] = entry.version
                    if entry.stale:
                        stale.add(key)
                todo.append(key)
        loaded, failed = await self.load(
            todo, cache_keys, versions, load_limit=load_limit, cache_limit=cache_limit
        )
        for value in loaded.values():
            if value is None:
                result.missing += 1
            else:
                result.loaded += 1
        result.failed.update(failed)
        for key in stale.intersection(failed):
            # The stale entry was not released: it stays in service (fail-safe).
            self._counters.fail_safe += 1
            self._signals.emit(EventKind.FAIL_SAFE, cache_keys[key], repr(failed[key]))
        return result

    def _signal(self, cache_key: str, entry: Entry[object] | None) -> None:
        if entry is None or entry.stale:
            self._signals.emit(EventKind.MISS, cache_key)
        else:
            self._signals.emit(EventKind.HIT, cache_key)


def _values(loaded: Mapping[K, Loaded[V]]) -> dict[K, V | None]:
    """The values inside the loader's results (``Cached`` wrappers removed)."""
    return {key: unwrap(result) for key, result in loaded.items()}
