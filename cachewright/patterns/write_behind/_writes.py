"""WriteBehind's writes: checked, accepted by the queue, then the cache follows.

Usage (what ``WriteBehind.set``, ``set_many`` and ``delete`` do)::

    writes = QueuedWrites(cache, queue, checks, keys, values, policy, counters,
                          strict=False, put_timeout=5.0, carried=True,
                          before=gate, after=count)
    await writes.set(1, profile)          # the store's checks, the queue, then the cache
    await writes.set_many({1: a, 2: b})   # one cache set_many for what the queue took
    await writes.delete(2)

A key or value the store declares it cannot keep raises at the call and is never
queued (G15). Once the queue took a write, the cache entry is filled with the value
(the fast mode) or dropped (``strict``, a delete, or past ``expires_at``); a cache
error then is logged and counted, never reported as a failed write. A write the queue
could not replicate (``NotReplicated``) drops the entry before it raises: it may still
reach the store. ``before`` runs once the checks passed (it refuses writes after
``close()`` and starts the flusher); ``after`` gets the number of writes accepted.
``carried`` (WriteBehind's own queue): a drop rides behind its put in one write on the
cache's lane (``_drop_after``): a strict set or a delete costs one round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

from cachewright._logs import Throttle
from cachewright.cache import Cache
from cachewright.errors import CachewrightError, NotReplicated
from cachewright.patterns._checks import StoreChecks
from cachewright.patterns._fill import FillPolicy
from cachewright.patterns._key_locks import KeyLocks
from cachewright.patterns._keys import KeyMapper, ValueCodec
from cachewright.patterns.write_behind._drop_after import DropAfter
from cachewright.patterns.write_behind._types import WriteBehindCounters
from cachewright.patterns.write_behind.queues.base import DELETE, SET, OpKind, WriteQueue
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

__all__ = ["QueuedWrites"]

log = logging.getLogger("cachewright.write_behind")
# Repeats (an outage fails every call) are logged once a minute, with a count.
throttled = Throttle(log)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class QueuedWrites(Generic[K, V]):
    __slots__ = (
        "_after",
        "_before",
        "_cache",
        "_carried",
        "_checks",
        "_counters",
        "_keys",
        "_locks",
        "_policy",
        "_put_timeout",
        "_queue",
        "_strict",
        "_values",
    )

    def __init__(
        self,
        cache: Cache,
        queue: WriteQueue,
        checks: StoreChecks[K, V],
        keys: KeyMapper[K],
        values: ValueCodec[V],
        policy: FillPolicy,
        counters: WriteBehindCounters,
        *,
        strict: bool,
        put_timeout: float | None,
        carried: bool = False,
        before: Callable[[], Awaitable[None]],
        after: Callable[[int], None],
    ) -> None:
        self._cache = cache
        self._queue = queue
        self._checks = checks
        self._keys = keys
        self._values = values
        self._policy = policy
        self._counters = counters
        self._strict = strict
        self._carried = carried
        self._put_timeout = put_timeout
        self._before = before
        self._after = after
        self._locks = KeyLocks()

    async def set(self, key: K, value: V) -> None:
        """Queue ``value`` for ``key``, then fill (or drop) its cache entry."""
        await self._checks.item(key, value)
        data = self._values.encode(value)
        queue_key = self._keys.queue_key(key)
        cache_key = self._keys.cache_key(key)
        await self._before()
        # The lock makes the cache follow the queue's order for this key in this
        # process: two racing sets cannot leave the cache on the older value. Across
        # processes (a shared Redis queue) only ``strict`` gives that guarantee.
        async with self._locks.hold(queue_key):
            if not await self._put(queue_key, SET, data, cache_key, drop=self._strict):
                await self._update_cache({cache_key: value})
        self._after(1)

    async def delete(self, key: K) -> None:
        """Queue a delete of ``key``, then drop its cache entry."""
        await self._checks.key(key)
        queue_key = self._keys.queue_key(key)
        cache_key = self._keys.cache_key(key)
        await self._before()
        async with self._locks.hold(queue_key):
            if not await self._put(queue_key, DELETE, None, cache_key, drop=True):
                await self._update_cache({cache_key: None})
        self._after(1)

    async def set_many(self, items: Mapping[K, V]) -> None:
        """``set`` of every item, in order; what the queue took stays taken (and cached)."""
        if not items:
            return
        await self._checks.items(items)  # one refused item: nothing is accepted
        encoded = [
            (self._keys.queue_key(k), self._keys.cache_key(k), v, self._values.encode(v))
            for k, v in items.items()
        ]
        await self._before()
        async with self._locks.hold_many(queue_key for queue_key, _, _, _ in encoded):
            accepted: dict[str, V] = {}
            try:
                for queue_key, cache_key, value, data in encoded:
                    await self._put(queue_key, SET, data, cache_key)
                    accepted[cache_key] = value
            finally:
                if accepted:
                    await self._update_cache(accepted)
                    self._after(len(accepted))

    async def _put(
        self, queue_key: str, op: OpKind, data: bytes | None, cache_key: str, *, drop: bool = False
    ) -> bool:
        """Queue the op; True if the cache entry was dropped after the queue took it.

        ``drop`` (the entry is to be dropped, not filled): on WriteBehind's own Redis
        queue (``carried``), whose puts go through the cache's lane, the drop leaves in
        the same write as the put, behind it: a set costs one round trip. Redis runs
        the put first, so no read can miss the entry before the put is pending (such a
        read would fill the cache back with the store's older value). When the put the
        queue accepted was not the one carried (NOSCRIPT, a full queue, the cache
        unavailable), this returns False and the caller drops the entry again, after
        the put, as without a lane.
        """
        try:
            queue = self._queue
            if drop and self._carried and isinstance(queue, RedisWriteQueue):
                carried = DropAfter(self._cache, cache_key)
                await queue.put_carried(queue_key, op, data, self._put_timeout, carried)
                return carried.followed()
            await self._queue.put(queue_key, op, data, self._put_timeout)
        except NotReplicated:
            # Not acknowledged, yet on the primary: it may still reach the store, so
            # the cache must not keep serving the value it replaces.
            await self._cache_failed_quietly([cache_key])
            raise
        return False

    async def _update_cache(self, values: Mapping[str, V | None]) -> None:
        """After the queue accepted the writes: populate the entries, or drop them (a
        ``None`` value stands for a delete; ``strict`` drops every entry)."""
        policy = self._policy
        deadline = policy.deadline()
        fill = not self._strict and not policy.passed(deadline)
        sets = {k: v for k, v in values.items() if v is not None} if fill else {}
        drops = [k for k in values if k not in sets]
        sliding = policy.sliding
        tags = policy.tags or None
        try:
            if len(sets) == 1:
                [(cache_key, value)] = sets.items()
                await self._cache.set(
                    cache_key,
                    value,
                    policy.ttl,
                    sliding=sliding,
                    expires_at=deadline,
                    tags=tags,
                    type=policy.type,
                )
            elif sets:
                await self._cache.set_many(
                    sets,
                    policy.ttl,
                    sliding=sliding,
                    expires_at=deadline,
                    tags=tags,
                    type=policy.type,
                )
            if drops:
                await self._cache.delete_many(drops)
        except CachewrightError as exc:
            # Whatever the cache raised, the write is accepted: never report it failed.
            await self._cache_failed(list(values), exc)

    async def _cache_failed(self, cache_keys: list[str], exc: CachewrightError) -> None:
        # The write is queued (it will reach the store); the cache may still hold the
        # old value. Drop it so reads fall through to the queue; if even that fails
        # (server down) reads fail open to the queue anyway, and the ttl bounds the rest.
        self._counters.cache_errors += 1
        throttled.warning("cache write failed after the write was queued: %s", exc)
        await self._cache_failed_quietly(cache_keys)

    async def _cache_failed_quietly(self, cache_keys: list[str]) -> None:
        """Drop the entries (three tries); a cache that stays down fails reads open."""
        for _ in range(3):
            try:
                await self._cache.delete_many(cache_keys)
                return
            except CachewrightError:
                continue
