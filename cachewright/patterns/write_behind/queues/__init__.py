"""Write-behind queues: the ``WriteQueue`` protocol and its in-memory implementation.

Usage::

    from cachewright.patterns.write_behind.queues import MemoryWriteQueue

    queue = MemoryWriteQueue(max_pending=100_000)
    profiles = WriteBehind(cache, store, key="profile:{}", type=Profile, queue=queue)
"""

from cachewright.patterns.write_behind.queues.base import (
    DELETE,
    SET,
    Batch,
    DeadLetter,
    OpKind,
    QueuedOp,
    QueueStats,
    ReplayResult,
    WriteQueue,
)
from cachewright.patterns.write_behind.queues.memory import MemoryWriteQueue
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue, queue_name_for

__all__ = [
    "Batch",
    "DELETE",
    "DeadLetter",
    "MemoryWriteQueue",
    "OpKind",
    "QueueStats",
    "QueuedOp",
    "RedisWriteQueue",
    "ReplayResult",
    "SET",
    "WriteQueue",
    "queue_name_for",
]
