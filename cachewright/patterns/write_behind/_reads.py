"""WriteBehind's reads: a fresh cache entry, else the queue's pending op, else the store.

Usage (what ``WriteBehind.get`` does)::

    reads = PendingReads(cache, store, queue, keys, values, read_through)
    value = await reads.get(1)            # sees a pending write even if evicted
    values = await reads.get_many([1, 2, 3])

A pending delete reads as ``None``. A value from the store (or from a pending op whose
entry was evicted) is filled back through a lease, so a fill never overwrites a newer
write (G10).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar, cast

from cachewright.cache import Cache, Entry
from cachewright.patterns._fill import ReadThrough
from cachewright.patterns._keys import KeyMapper, ValueCodec
from cachewright.patterns.write_behind.queues.base import DELETE, SET, QueuedOp, WriteQueue
from cachewright.stores.base import DataStore

__all__ = ["PendingReads"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PendingReads(Generic[K, V]):
    __slots__ = ("_cache", "_keys", "_queue", "_reads", "_store", "_type", "_values")

    def __init__(
        self,
        cache: Cache,
        store: DataStore[K, V],
        queue: WriteQueue,
        keys: KeyMapper[K],
        values: ValueCodec[V],
        reads: ReadThrough[K, V],
    ) -> None:
        self._cache = cache
        self._store = store
        self._queue = queue
        self._keys = keys
        self._values = values
        self._type = values.type
        self._reads = reads

    async def get(self, key: K) -> V | None:
        """The latest value: the cache, else the pending write, else the store."""
        cache_key = self._keys.cache_key(key)
        found = await self._cache.lookup(cache_key, self._type)
        if isinstance(found, Entry) and not found.stale:
            value: V = found.value
            return value
        # Lease before peeking: a write that lands after the lease overwrites it (the
        # fill below then fails), and a write before it is visible to the peek.
        lease = await self._reads.lease(cache_key) if found is None else None
        pending = await self._queue.peek(self._keys.queue_key(key))
        if pending is not None:
            return await self._from_pending(cache_key, pending, lease)
        stored = await self._store.get(key)
        if lease is not None and stored is not None:
            await self._reads.fill(cache_key, stored, lease)
        return stored

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        """Values of the keys that have one (hits only), pending writes included."""
        result, misses, cache_keys = await self._reads.split(keys, self._keys)
        if not misses:
            return result
        leases = dict(
            zip(
                misses,
                await asyncio.gather(*(self._reads.lease(cache_keys[k]) for k in misses)),
                strict=True,
            )
        )
        queue_keys = {k: self._keys.queue_key(k) for k in misses}
        pending = await self._queue.peek_many(list(queue_keys.values()))
        from_store: list[K] = []
        for k in misses:
            op = pending.get(queue_keys[k])
            if op is None:
                from_store.append(k)
            elif op.op == SET:
                result[k] = cast(V, await self._from_pending(cache_keys[k], op, leases[k]))
        if from_store:
            for k, value in (await self._store.get_many(from_store)).items():
                result[k] = value
                lease = leases[k]
                if lease is not None and value is not None:
                    await self._reads.fill(cache_keys[k], value, lease)
        return result

    async def _from_pending(self, cache_key: str, op: QueuedOp, lease: bytes | None) -> V | None:
        if op.op == DELETE or op.value is None:
            return None
        value = self._values.decode(op.value)
        if lease is not None:
            # The entry was evicted before the flush: put the pending value back. Safe:
            # the op is the latest accepted one, and a newer write replaces the lease.
            await self._reads.fill(cache_key, value, lease)
        return value
