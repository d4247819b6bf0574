"""``cachewright.patterns.queues``, as documented before it moved to ``write_behind/queues/``."""

from cachewright.patterns.write_behind.queues import (
    DELETE,
    SET,
    Batch,
    DeadLetter,
    MemoryWriteQueue,
    OpKind,
    QueuedOp,
    QueueStats,
    RedisWriteQueue,
    ReplayResult,
    WriteQueue,
    queue_name_for,
)

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
