"""The cache patterns: cache-aside, write-through and write-behind, over a Cache and a store."""

from cachewright.patterns._retry import RetryPolicy
from cachewright.patterns._write_behind_types import (
    CloseReport,
    FailedWrite,
    FlushReport,
    WriteBehindStats,
)
from cachewright.patterns.queues import (
    Batch,
    DeadLetter,
    MemoryWriteQueue,
    QueuedOp,
    QueueStats,
    ReplayResult,
    WriteQueue,
)
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_through import WriteThrough, WriteThroughStats

__all__ = [
    "Batch",
    "CloseReport",
    "DeadLetter",
    "FailedWrite",
    "FlushReport",
    "MemoryWriteQueue",
    "QueueStats",
    "QueuedOp",
    "ReplayResult",
    "RetryPolicy",
    "WriteBehind",
    "WriteBehindStats",
    "WriteQueue",
    "WriteThrough",
    "WriteThroughStats",
]
