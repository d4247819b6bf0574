"""Write-behind: ``WriteBehind``, its flush loop, ``FlushWorker`` and the write queues.

Usage::

    from cachewright.patterns.write_behind import WriteBehind

    profiles = WriteBehind(cache, store, key="profile:{}", type=Profile)
    await profiles.set(1, profile)           # the cache now, the store in the next batch
"""

from cachewright.patterns.write_behind._failures import Classify, Failure, classify_failure
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind._types import (
    CloseReport,
    FailedWrite,
    FlushReport,
    WriteBehindStats,
)
from cachewright.patterns.write_behind.pattern import WriteBehind
from cachewright.patterns.write_behind.worker import FlushWorker, WorkerStats

__all__ = [
    "Classify",
    "CloseReport",
    "FailedWrite",
    "Failure",
    "FlushReport",
    "FlushWorker",
    "RetryPolicy",
    "WorkerStats",
    "WriteBehind",
    "WriteBehindStats",
    "classify_failure",
]
