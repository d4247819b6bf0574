"""The one lease-then-compare-and-set fill, shared by CacheAside, WriteThrough and WriteBehind.

Usage (inside a pattern)::

    fill = LeaseFill(cache, FillPolicy(type=Order, ttl=600, tags=("orders",)))
    lease = await fill.lease(cache_key)                  # before reading the source
    value = await load(key)
    await fill.fill(cache_key, value, lease.version)     # only if nobody wrote since

    reads = ReadThrough(fill)                            # the write patterns' reads
    hits, misses, cache_keys = await reads.split(keys, keymapper)   # one round trip

A fill goes through a lease (G10): a write, delete or tag invalidation that lands
after the lease makes the fill a no-op, so a read never puts back an older value.
``LeaseFill`` raises what the cache raises; each pattern decides what a failed fill
means to its reader (CacheAside counts it, the write patterns' ``ReadThrough`` serves
from the store without filling, as a cache that is down never fails a read).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cachewright.cache import Cache, Lease
from cachewright.errors import CacheError
from cachewright.patterns._keys import KeyMapper

__all__ = ["FillPolicy", "LeaseFill", "ReadThrough"]

log = logging.getLogger("cachewright.patterns")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class FillPolicy:
    """What every entry a pattern fills is written with (seconds; None: no expiry).

    ``lock_ttl`` is the lease's life: how long a fill may take before another reader
    may lease the key again.
    """

    type: Any
    ttl: float | None
    tags: tuple[str, ...]
    lock_ttl: float = 10.0
    stale_ttl: float | None = None
    cache_none: bool = False
    none_ttl: float | None = None


class LeaseFill(Generic[V]):
    """Lease a missing key, then write a loaded value only if the lease still holds."""

    __slots__ = ("_cache", "policy")

    def __init__(self, cache: Cache, policy: FillPolicy) -> None:
        self._cache = cache
        self.policy = policy

    async def lease(self, cache_key: str) -> Lease | None:
        """A lease on a missing key (tagged, so tag invalidations kill it too), or None."""
        policy = self.policy
        return await self._cache.try_lease(cache_key, policy.lock_ttl, tags=policy.tags)

    async def fill(self, cache_key: str, value: V | None, version: bytes) -> bool:
        """Write ``value`` if the key still holds ``version``; True if it was stored.

        ``None`` is written with ``none_ttl`` (the caller decides whether it caches None).
        """
        policy = self.policy
        if value is None:
            return await self._cache.set_if_version(
                cache_key, None, version, policy.none_ttl, tags=policy.tags
            )
        return await self._cache.set_if_version(
            cache_key,
            value,
            version,
            policy.ttl,
            stale_ttl=policy.stale_ttl,
            tags=policy.tags,
            type=policy.type,
        )


class ReadThrough(Generic[K, V]):
    """The write patterns' reads: a cache-first split, and fills that never fail a read."""

    __slots__ = ("_cache", "_fill", "_type")

    def __init__(self, cache: Cache, policy: FillPolicy) -> None:
        self._cache = cache
        self._type = policy.type
        self._fill: LeaseFill[V] = LeaseFill(cache, policy)

    async def lease(self, cache_key: str) -> bytes | None:
        """A lease on a missing key, or None (held elsewhere, or the cache is down)."""
        try:
            lease = await self._fill.lease(cache_key)
        except CacheError:
            return None  # cache down: serve from the store without filling
        return None if lease is None else lease.version

    async def fill(self, cache_key: str, value: V, lease: bytes) -> bool:
        """Cache ``value`` only if the lease still holds; True if it was stored."""
        try:
            return await self._fill.fill(cache_key, value, lease)
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
