"""Reads of many keys: ``get_many`` and ``warmup`` over one cache read and a BatchLoader.

Usage (what ``CacheAside.get_many`` and ``warmup`` do)::

    many = ManyReads(cache, loader, batches, key_of, User, refreshes, signals, timed,
                     max_concurrency=32)
    found = await many.get([1, 2, 3])                 # {1: u1, 3: u3}: hits only
    report = await many.warmup(keys, concurrency=None, batch_size=500,
                               skip_cached=True, progress=None)

A failing batch raises its first failure unchanged, with notes naming its key and
the other keys that failed; the keys that loaded are cached.

Batch reads (``get_many``, ``warmup``) cost one cache read for all keys and one
batched load for the misses. With ``batch_fill="safe"`` (the default) each missing
key is leased before the load and filled by compare-and-set, so G10 holds; that is
two commands per missing key, sent concurrently (at most ``max_concurrency`` at a
time). ``batch_fill="fast"`` writes the batch in one ``set_many`` round trip instead,
and gives up G10 for batch reads: a write or invalidation landing while the batch
loads can be overwritten by the older value until ``ttl`` ends. Batch reads do not
wait on other processes' locks: a key another process is filling is loaded with the
batch but not written.

Events and timeouts, as ``get`` for each key: ``hit`` (then ``stale``) for an entry
found, ``miss`` for a key loaded. With ``soft_timeout``, the stale entries found wait
up to ``soft_timeout`` for their refreshes, all at once (so the call waits
``soft_timeout`` at most, not once per key), then are served stale. With
``hard_timeout``, the batch load of the misses is waited for up to ``hard_timeout``,
then ``LoaderTimeout`` is raised (``loader_timeout`` for each missing key); the batch
goes on in the background and fills its keys (``background_fill`` for each written).
Warm-up applies neither timeout: it returns no value and serves nothing stale, its
whole job is to wait for the loads; bound it with ``asyncio.timeout`` (which cancels
the loads in flight) if it must end sooner.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from cachewright.cache import Cache, Entry
from cachewright.errors import ConfigurationError
from cachewright.events import EventKind
from cachewright.patterns._notes import add_note
from cachewright.patterns.aside._batch import BatchLoader
from cachewright.patterns.aside._loader import Loader
from cachewright.patterns.aside._loads import load_note
from cachewright.patterns.aside._revalidate import Revalidation
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._timeouts import TimedLoads
from cachewright.patterns.aside._warming import ChunkResult, Progress, WarmupReport, run_warmup

__all__ = ["ManyReads", "first_failure"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ManyReads(Generic[K, V]):
    """Batch reads and warm-ups of a CacheAside (see the module docstring)."""

    __slots__ = (
        "_batches",
        "_cache",
        "_key",
        "_loader",
        "_max_concurrency",
        "_read_type",
        "_refreshes",
        "_signals",
        "_timed",
    )

    def __init__(
        self,
        cache: Cache,
        loader: Loader[K, V],
        batches: BatchLoader[K, V],
        key: Callable[[K], str],
        read_type: Any,
        refreshes: Revalidation[K, V],
        signals: Signals,
        timed: TimedLoads[Entry[V | None]],
        *,
        max_concurrency: int,
    ) -> None:
        self._signals = signals
        self._timed = timed
        self._cache = cache
        self._loader = loader
        self._batches = batches
        self._key = key
        self._read_type = read_type
        self._refreshes = refreshes
        self._max_concurrency = max_concurrency

    async def get(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of ``keys`` the cache or the loader has (misses are absent)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        cache_keys = {key: self._key(key) for key in wanted}
        entries = await self._cache.get_many_entries(cache_keys.values(), self._read_type)
        found: dict[K, V] = {}
        missing: list[K] = []
        waits: dict[K, Entry[Any]] = {}
        timed = self._timed
        for key in wanted:
            entry = entries.get(cache_keys[key])
            if entry is None:
                self._signals.emit(EventKind.MISS, cache_keys[key])
                missing.append(key)
                continue
            self._signals.emit(EventKind.HIT, cache_keys[key])
            if entry.stale and timed.soft is not None and not timed.closed:
                waits[key] = entry  # waited for below, all at once
                continue
            await self._refreshes.on_hit(key, cache_keys[key], entry)
            if entry.value is not None:
                found[key] = entry.value
        if waits:
            served = await asyncio.gather(
                *(self._soft(key, cache_keys[key], entry) for key, entry in waits.items())
            )
            for key, entry in zip(waits, served, strict=True):
                if entry.value is not None:
                    found[key] = entry.value
        if missing:
            loaded, failed = await self._load(missing, cache_keys)
            for key, value in loaded.items():
                if value is not None:
                    found[key] = value
            if failed:
                raise first_failure(failed, cache_keys, len(missing))
        return found

    async def _soft(self, key: K, cache_key: str, entry: Entry[Any]) -> Entry[Any]:
        landed = self._timed.landed
        reload = functools.partial(self._refreshes.reload, key, cache_key, entry, landed)
        return await self._timed.stale(cache_key, entry, reload)

    async def _load(
        self, missing: list[K], cache_keys: Mapping[K, str]
    ) -> tuple[dict[K, V | None], dict[K, Exception]]:
        async def load() -> tuple[dict[K, V | None], dict[K, Exception]]:
            return await self._batches.load(
                missing, cache_keys, {}, load_limit=self._max_concurrency
            )

        timed = self._timed
        if timed.hard is None or timed.closed:
            return await load()
        keys = [cache_keys[key] for key in missing]
        shown = ", ".join(repr(key) for key in keys[:5]) + (" ..." if len(keys) > 5 else "")
        return await timed.bounded_batch(
            keys, timed.spawn(load), f"the batch load of {len(keys)} keys ({shown})"
        )

    async def warmup(
        self,
        keys: Iterable[K],
        *,
        concurrency: int | None,
        batch_size: int,
        skip_cached: bool,
        progress: Progress | None,
    ) -> WarmupReport:
        """Load ``keys`` into the cache in chunks; a failing key is reported."""
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, not {batch_size}")
        limit = self._max_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ConfigurationError(f"concurrency must be at least 1, not {limit}")
        unique = list(dict.fromkeys(keys))
        # A data store loads a whole chunk per call: run ``limit`` chunks at once. A
        # function loads one key per call: one chunk at a time, ``limit`` calls in it.
        workers = limit if self._loader.batched else 1
        load_limit = 1 if self._loader.batched else limit

        async def warm_chunk(chunk: list[K]) -> ChunkResult:
            return await self._batches.warm_chunk(
                chunk,
                skip_cached=skip_cached,
                load_limit=load_limit,
                cache_limit=max(1, self._max_concurrency // workers),
            )

        return await run_warmup(
            unique, warm_chunk, batch_size=batch_size, workers=workers, progress=progress
        )


def first_failure(
    failed: Mapping[Any, Exception], cache_keys: Mapping[Any, str], wanted: int
) -> Exception:
    """The first failure of a batch load, noted with its key and the other failures."""
    (first_key, first), *others = failed.items()
    add_note(first, load_note(first_key, cache_keys[first_key]))
    if others:
        shown = ", ".join(repr(key) for key, _ in others[:10])
        more = f" and {len(others) - 10} more" if len(others) > 10 else ""
        add_note(
            first,
            f"cachewright: {len(failed)} of {wanted} keys failed to load (also "
            f"{shown}{more}); the keys that loaded were cached",
        )
    return first
