"""Which write queue a WriteBehind gets when it is given none.

Usage (what ``WriteBehind(queue=None)`` does)::

    queue = default_queue(cache, key="profile:{}", name=None, max_pending=100_000)

On Redis (a backend that shares its client) the durable Redis queue, named after the
key format unless ``name`` is given; on memory the in-process queue (G12).
"""

from __future__ import annotations

from cachewright.cache import Cache
from cachewright.patterns._keys import KeyFormat
from cachewright.patterns.write_behind.queues.base import WriteQueue
from cachewright.patterns.write_behind.queues.memory import MemoryWriteQueue
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue, queue_name_for

__all__ = ["default_queue"]


def default_queue(cache: Cache, key: KeyFormat, name: str | None, max_pending: int) -> WriteQueue:
    """The durable Redis queue on a Redis cache, else the in-process queue."""
    if cache.shared_client is not None:
        # On Redis the durable queue is the default: pending writes survive a crash of
        # this process and can be flushed by any worker (G12).
        return RedisWriteQueue.for_cache(
            cache, name=name or queue_name_for(key), max_pending=max_pending
        )
    return MemoryWriteQueue(max_pending)
