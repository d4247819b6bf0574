"""The cache patterns: cache-aside, write-through and write-behind, over a Cache and a store.

Layout: ``aside/`` (CacheAside, ``@cached``, warm-up), ``write_through.py``,
``write_behind/`` (WriteBehind, flushing, FlushWorker, ``queues/``); ``_keys`` (the one
key mapper) and ``_fill`` (the one lease-then-compare-and-set fill) serve all three.
``cache_aside``, ``cached``, ``warmup``, ``worker`` and ``queues`` keep the import paths
documented before the move. ``run_worker`` (worker process plumbing) is the CLI layer's,
named here through the top package on first use (see :mod:`cachewright.patterns.worker`).
"""

from typing import Any

from cachewright.patterns.aside import (
    CacheAside,
    CacheAsideStats,
    Cached,
    NotModified,
    NotModifiedType,
    Warmup,
    WarmupReport,
)
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
from cachewright.patterns.write_behind import (
    CloseReport,
    FailedWrite,
    Failure,
    FlushReport,
    FlushWorker,
    RetryPolicy,
    WorkerStats,
    WriteBehind,
    WriteBehindStats,
    classify_failure,
)
from cachewright.patterns.write_through import WriteThrough, WriteThroughStats

__all__ = [
    "Batch",
    "CacheAside",
    "CacheAsideStats",
    "Cached",
    "CachedFunction",
    "CloseReport",
    "DeadLetter",
    "FailedWrite",
    "Failure",
    "FlushReport",
    "FlushWorker",
    "MemoryWriteQueue",
    "NotModified",
    "NotModifiedType",
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
    "classify_failure",
    "run_worker",
]


def __getattr__(name: str) -> Any:  # Any: run_worker's type is the CLI layer's
    if name == "run_worker":
        from cachewright.patterns import worker

        return worker.run_worker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
