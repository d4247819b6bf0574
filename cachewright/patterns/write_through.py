"""Write-through: the store first, then the cache, in the caller's await (G9).

Usage::

    orders = WriteThrough(cache, store, key="order:{}", type=Order, ttl=600)
    await orders.set(7, order)              # store, then cache; raises StoreError on failure
    await orders.get(7)                     # cache, else store (filled back under a lease)
    await orders.delete(7)
    await orders.set_many({8: a, 9: b}); await orders.get_many([7, 8, 9])
    await orders.stats()                    # cache_errors: cache writes that failed, ...

    shared = WriteThrough(cache, store, key="order:{}", type=Order, strict=True)
    sessions = WriteThrough(cache, store, key="sess:{}", type=Session,
                            ttl=86_400, sliding=timedelta(minutes=20))   # as Cache.set

Expiry: ``ttl``, ``sliding`` and ``expires_at`` (a datetime, or a function returning
one, asked at each write) mean what they mean for ``Cache.set``, for every entry this
pattern writes or fills; past ``expires_at`` writes invalidate instead of caching.

Failure rules:

- A store that declares what it can keep (``cachewright.stores.CheckedStore``, as
  ``SQLStore`` does) is asked first: a key or value it refuses raises its typed error
  (``InvalidKey``, ``TypeMismatch``, ...) before the store or the cache is touched.

- The store fails: the cache is not touched and the store's exception is raised
  unchanged (same object, type and traceback), with a note naming the key.
- The cache fails after the store took the write: the entry is deleted (tried a few
  times) so no reader keeps the old value; the call still succeeds, and the failure
  is counted and logged. If even the delete fails the cache is unreachable, reads
  fail open (miss) to the store, and ``ttl`` bounds what a recovered server holds.

Concurrent writers (G9): the cache must never end on a value older than the store's.

- Default: writers of one key are serialized in this process by a per-key lock held
  across "store, then cache", so cache writes happen in store-commit order. Cheap,
  and the cache stays warm after a write.
- ``strict=True`` (several processes write the same keys): a lock in one process
  cannot order writers in another, so writes *invalidate* the entry instead of
  populating it. Deletes commute: whatever the interleaving, the last action on the
  entry is a delete that follows the last store commit. The next read fills from the
  store. The cost is one miss after each write.

Reads fill the cache only through a lease (``try_lease`` then ``set_if_version``): a
write or invalidation that lands between the store read and the fill replaces the
lease, so the fill fails instead of caching the older value (G10).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from cachewright._logs import Throttle
from cachewright.cache import Cache, Entry
from cachewright.errors import CacheError
from cachewright.patterns._checks import StoreChecks
from cachewright.patterns._fill import ExpiresAt, FillPolicy, ReadThrough, expiry_options
from cachewright.patterns._key_locks import KeyLocks
from cachewright.patterns._keys import KeyFormat, KeyMapper
from cachewright.patterns._notes import add_note
from cachewright.stores.base import DataStore

__all__ = ["WriteThrough", "WriteThroughStats"]

log = logging.getLogger("cachewright.write_through")
# Repeats (an outage fails every call) are logged once a minute, with a count.
throttled = Throttle(log)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

_INVALIDATE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class WriteThroughStats:
    """A snapshot of one ``WriteThrough``'s counters (this process).

    ``cache_errors``: cache writes that failed after the store took the write;
    ``invalidation_failures``: those whose invalidation failed too; ``store_errors``:
    store calls that raised; ``fills``: read-through fills that made it into the cache.
    """

    cache_errors: int
    invalidation_failures: int
    store_errors: int
    fills: int


class _Counters:
    __slots__ = ("cache_errors", "fills", "invalidation_failures", "store_errors")

    def __init__(self) -> None:
        self.cache_errors = 0
        self.invalidation_failures = 0
        self.store_errors = 0
        self.fills = 0


class WriteThrough(Generic[K, V]):
    """A data store with a cache kept in step on every write (see module doc)."""

    __slots__ = (
        "_cache",
        "_checks",
        "_keys",
        "_locks",
        "_policy",
        "_reads",
        "_stats",
        "_store",
        "_strict",
        "_tags",
        "_ttl",
        "_type",
    )

    def __init__(
        self,
        cache: Cache,
        store: DataStore[K, V],
        *,
        key: KeyFormat = "{}",
        type: Any,
        ttl: float | None = None,
        sliding: float | timedelta | None = None,
        expires_at: ExpiresAt | None = None,
        tags: Iterable[str] | None = None,
        strict: bool = False,
    ) -> None:
        self._cache = cache
        self._store = store
        self._checks: StoreChecks[K, V] = StoreChecks(store)
        self._keys: KeyMapper[K] = KeyMapper(key)
        self._type = type
        self._ttl = ttl
        self._tags = tuple(tags or ()) or None
        window, until = expiry_options(sliding, expires_at)
        self._policy = FillPolicy(
            type=type, ttl=ttl, tags=tuple(tags or ()), sliding=window, expires_at=until
        )
        self._reads: ReadThrough[K, V] = ReadThrough(cache, self._policy)
        self._strict = strict
        self._locks = KeyLocks()
        self._stats = _Counters()

    def __repr__(self) -> str:
        return f"WriteThrough({self._cache!r}, {self._store!r}, strict={self._strict})"

    async def stats(self) -> WriteThroughStats:
        """This process's counters (no round trip; awaited like every ``stats()``)."""
        c = self._stats
        return WriteThroughStats(c.cache_errors, c.invalidation_failures, c.store_errors, c.fills)

    # -- writes --------------------------------------------------------------------

    async def set(self, key: K, value: V) -> None:
        """Write ``value`` to the store, then to the cache (or invalidate, if strict)."""
        await self._checks.item(key, value)
        cache_key = self._keys.cache_key(key)
        async with self._locks.hold(cache_key):
            await self._store_call(self._store.set(key, value), "set", key)
            if self._strict:
                await self._invalidate([cache_key])
                return
            deadline = self._policy.deadline()
            if self._policy.passed(deadline):  # past expires_at: cache nothing
                await self._invalidate([cache_key])
                return
            try:
                await self._cache.set(
                    cache_key,
                    value,
                    self._ttl,
                    sliding=self._policy.sliding,
                    expires_at=deadline,
                    tags=self._tags,
                    type=self._type,
                )
            except CacheError as exc:
                await self._cache_failed([cache_key], exc)

    async def set_many(self, items: Mapping[K, V]) -> None:
        """``set`` of every item: one store ``set_many``, then one cache ``set_many``."""
        if not items:
            return
        await self._checks.items(items)
        by_cache_key = {self._keys.cache_key(k): v for k, v in items.items()}
        async with self._locks.hold_many(by_cache_key):
            await self._store_call(self._store.set_many(items), "set_many", list(items))
            if self._strict:
                await self._invalidate(list(by_cache_key))
                return
            deadline = self._policy.deadline()
            if self._policy.passed(deadline):  # past expires_at: cache nothing
                await self._invalidate(list(by_cache_key))
                return
            try:
                await self._cache.set_many(
                    by_cache_key,
                    self._ttl,
                    sliding=self._policy.sliding,
                    expires_at=deadline,
                    tags=self._tags,
                    type=self._type,
                )
            except CacheError as exc:
                await self._cache_failed(list(by_cache_key), exc)

    async def delete(self, key: K) -> None:
        """Delete ``key`` from the store, then from the cache."""
        await self._checks.key(key)
        cache_key = self._keys.cache_key(key)
        async with self._locks.hold(cache_key):
            await self._store_call(self._store.delete(key), "delete", key)
            await self._invalidate([cache_key])

    async def delete_many(self, keys: Sequence[K]) -> None:
        """``delete`` of every key: one store ``delete_many``, one cache ``delete_many``."""
        cache_keys = [self._keys.cache_key(k) for k in keys]
        if not cache_keys:
            return
        await self._checks.keys(keys)
        async with self._locks.hold_many(cache_keys):
            await self._store_call(self._store.delete_many(keys), "delete_many", list(keys))
            await self._invalidate(cache_keys)

    async def _store_call(self, call: Awaitable[object], operation: str, keys: object) -> None:
        try:
            await call
        except Exception as exc:  # the store's own exception, as it was
            self._stats.store_errors += 1
            add_note(exc, f"cachewright: write-through store.{operation} of {keys!r}")
            raise

    async def _cache_failed(self, cache_keys: list[str], exc: CacheError) -> None:
        self._stats.cache_errors += 1
        throttled.warning("cache write failed after the store took it; invalidating: %s", exc)
        await self._invalidate(cache_keys)

    async def _invalidate(self, cache_keys: list[str]) -> None:
        last: CacheError | None = None
        for _ in range(_INVALIDATE_ATTEMPTS):
            try:
                await self._cache.delete_many(cache_keys)
                return
            except CacheError as exc:
                last = exc
        # The store has the write; the caller's call succeeded. Count and log: the
        # entry's ttl bounds how long a recovered cache server may serve the old value.
        self._stats.invalidation_failures += 1
        throttled.error(
            "could not invalidate %d cache entries after a store write: %s", len(cache_keys), last
        )

    # -- reads ---------------------------------------------------------------------

    async def get(self, key: K) -> V | None:
        """The cached value, else the store's (then cached through a lease); None if absent."""
        cache_key = self._keys.cache_key(key)
        found = await self._cache.lookup(cache_key, self._type)
        if isinstance(found, Entry) and not found.stale:
            value: V = found.value
            return value
        lease = await self._reads.lease(cache_key) if found is None else None
        stored = await self._store_read(self._store.get(key), "get", key)
        if lease is not None and stored is not None:
            await self._fill(cache_key, stored, lease)
        return stored

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        """Values of the keys that exist (hits only): cache first, the rest from the store."""
        result, misses, cache_keys = await self._reads.split(keys, self._keys)
        if not misses:
            return result
        leases = await asyncio.gather(*(self._reads.lease(cache_keys[k]) for k in misses))
        stored = await self._store_read(self._store.get_many(misses), "get_many", misses)
        for k, lease in zip(misses, leases, strict=True):
            if k in stored:
                value = stored[k]
                result[k] = value
                if lease is not None and value is not None:
                    await self._fill(cache_keys[k], value, lease)
        return result

    async def exists(self, key: K) -> bool:
        """Whether ``key`` has a value: a cached entry says yes, else the store decides."""
        found = await self._cache.lookup(self._keys.cache_key(key), self._type)
        if isinstance(found, Entry) and not found.stale:
            return True
        return bool(await self._store_read(self._store.exists(key), "exists", key))

    async def _store_read(self, call: Awaitable[T], operation: str, keys: object) -> T:
        try:
            return await call
        except Exception as exc:  # the store's own exception, as it was
            add_note(exc, f"cachewright: write-through store.{operation} of {keys!r}")
            raise

    async def _fill(self, cache_key: str, value: V, version: bytes) -> None:
        if await self._reads.fill(cache_key, value, version):
            self._stats.fills += 1
