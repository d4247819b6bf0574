"""Read-through filling shared by the write patterns: lease, fill, cache-first split.

Usage (inside a pattern)::

    reads = ReadThrough(cache, type=Order, ttl=600, tags=("orders",))
    hits, misses = await reads.split(keys, keymapper)      # one cache round trip
    lease = await reads.lease(cache_key)                    # before reading the store
    await reads.fill(cache_key, value, lease)               # only if nobody wrote since

A fill goes through a lease (G10): a write, delete or tag invalidation that lands
after the lease makes the fill a no-op, so a read never puts back an older value.
A cache that is down never fails a read: no lease, no fill.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

from cachewright.cache import Cache
from cachewright.errors import CacheError
from cachewright.patterns._keys import KeyMapper

__all__ = ["ReadThrough"]

log = logging.getLogger("cachewright.patterns")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_LEASE_TTL = 10.0


class ReadThrough(Generic[K, V]):
    __slots__ = ("_cache", "_tags", "_ttl", "_type")

    def __init__(
        self, cache: Cache, *, type: Any, ttl: float | None, tags: tuple[str, ...]
    ) -> None:
        self._cache = cache
        self._type = type
        self._ttl = ttl
        self._tags = tags or None

    async def lease(self, cache_key: str) -> bytes | None:
        """A lease on a missing key, or None (held elsewhere, or the cache is down)."""
        try:
            lease = await self._cache.try_lease(cache_key, _LEASE_TTL, tags=self._tags)
        except CacheError:
            return None  # cache down: serve from the store without filling
        return None if lease is None else lease.version

    async def fill(self, cache_key: str, value: V, lease: bytes) -> bool:
        """Cache ``value`` only if the lease still holds; True if it was stored."""
        try:
            return await self._cache.set_if_version(
                cache_key, value, lease, self._ttl, tags=self._tags, type=self._type
            )
        except CacheError as exc:
            log.debug("read-through fill skipped: %s", exc)
            return False

    async def split(
        self, keys: Sequence[K], mapper: KeyMapper[K]
    ) -> tuple[dict[K, V], list[K], dict[K, str]]:
        """Fresh cache hits, the keys that missed (in order), and every key's cache key."""
        unique = list(dict.fromkeys(keys))
        cache_keys = {k: mapper.cache_key(k) for k in unique}
        entries = await self._cache.get_many_entries(list(cache_keys.values()), self._type)
        hits: dict[K, V] = {}
        misses: list[K] = []
        for k in unique:
            entry = entries.get(cache_keys[k])
            if entry is not None and not entry.stale:
                hits[k] = entry.value
            else:
                misses.append(k)
        return hits, misses, cache_keys
