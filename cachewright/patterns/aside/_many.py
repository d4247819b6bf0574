"""Reads of many keys: ``get_many`` and ``warmup`` over one cache read and a BatchLoader.

Usage (what ``CacheAside.get_many`` and ``warmup`` do)::

    many = ManyReads(cache, loader, batches, key_of, User, refreshes, max_concurrency=32)
    found = await many.get([1, 2, 3])                 # {1: u1, 3: u3}: hits only
    report = await many.warmup(keys, concurrency=None, batch_size=500,
                               skip_cached=True, progress=None)

A failing batch raises its first failure unchanged, with notes naming its key and
the other keys that failed; the keys that loaded are cached.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from cachewright.cache import Cache
from cachewright.errors import ConfigurationError
from cachewright.patterns._notes import add_note
from cachewright.patterns.aside._batch import BatchLoader
from cachewright.patterns.aside._loader import Loader
from cachewright.patterns.aside._loads import load_note
from cachewright.patterns.aside._revalidate import Revalidation
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
    )

    def __init__(
        self,
        cache: Cache,
        loader: Loader[K, V],
        batches: BatchLoader[K, V],
        key: Callable[[K], str],
        read_type: Any,
        refreshes: Revalidation[K, V],
        *,
        max_concurrency: int,
    ) -> None:
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
        for key in wanted:
            entry = entries.get(cache_keys[key])
            if entry is None:
                missing.append(key)
                continue
            await self._refreshes.on_hit(key, cache_keys[key], entry)
            if entry.value is not None:
                found[key] = entry.value
        if missing:
            loaded, failed = await self._batches.load(
                missing, cache_keys, {}, load_limit=self._max_concurrency
            )
            for key, value in loaded.items():
                if value is not None:
                    found[key] = value
            if failed:
                raise first_failure(failed, cache_keys, len(missing))
        return found

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
