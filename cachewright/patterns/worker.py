"""``cachewright.patterns.worker``, as documented before the code moved to ``write_behind/``."""

from cachewright.patterns.write_behind.worker import FlushWorker, WorkerStats, run_worker

__all__ = ["FlushWorker", "WorkerStats", "run_worker"]
