"""The cache patterns: cache-aside, write-through and write-behind, over a Cache and a store."""

from cachewright.patterns._retry import RetryPolicy
from cachewright.patterns._write_behind_types import (
    CloseReport,
    FailedWrite,
    FlushReport,
    WriteBehindStats,
)
from cachewright.patterns.cache_aside import CacheAside, CacheAsideStats
from cachewright.patterns.cached import CachedFunction, cached
from cachewright.patterns.queues import (
    Batch,
    DeadLetter,
    MemoryWriteQueue,
    QueuedOp,
    QueueStats,
    RedisWriteQueue,
    ReplayResult,
    WriteQueue,
)
from cachewright.patterns.warmup import Warmup, WarmupReport
from cachewright.patterns.worker import FlushWorker, WorkerStats, run_worker
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_through import WriteThrough, WriteThroughStats

__all__ = [
    "Batch",
    "CacheAside",
    "CacheAsideStats",
    "CachedFunction",
    "CloseReport",
    "DeadLetter",
    "FailedWrite",
    "FlushReport",
    "FlushWorker",
    "MemoryWriteQueue",
    "QueueStats",
    "QueuedOp",
    "RedisWriteQueue",
    "ReplayResult",
    "RetryPolicy",
    "Warmup",
    "WarmupReport",
    "WorkerStats",
    "WriteBehind",
    "WriteBehindStats",
    "WriteQueue",
    "WriteThrough",
    "WriteThroughStats",
    "cached",
    "run_worker",
]
