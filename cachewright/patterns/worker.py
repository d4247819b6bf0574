"""``cachewright.patterns.worker``, as documented before the code moved.

``FlushWorker`` lives in :mod:`cachewright.patterns.write_behind.worker`; ``run_worker``
is process plumbing, which lives with the CLI (:mod:`cachewright._cli.worker_process`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cachewright.patterns.write_behind import FlushWorker, RetryPolicy, WorkerStats
from cachewright.settings import Settings
from cachewright.stores.base import DataStore

__all__ = ["FlushWorker", "WorkerStats", "run_worker"]


async def run_worker(
    url: str,
    store_factory: str | DataStore[Any, Any] | Callable[[], Any],
    *,
    type: Any,
    key_type: Any = None,
    namespace: str | None = None,
    key: str = "{}",
    name: str | None = None,
    partitions: int = 8,
    batch_size: int = 500,
    wait: float = 1.0,
    claim_idle: float = 30.0,
    retry: RetryPolicy | None = None,
    settings: Settings | None = None,
    handle_signals: bool = True,
) -> WorkerStats:
    """Run one flush worker until SIGTERM or SIGINT (graceful: the batch in hand
    finishes), then close the queue and the store and return the counters.

    ``store_factory`` is a ``DataStore``, a factory of one (a class or a function,
    sync or async), or ``"package.module:name"`` naming either; the store is closed at
    the end. ``type`` and ``key_type`` are types or their names, as the command takes
    them: ``"int"``, ``"str"``, ``"json"`` (plain JSON) or ``"package.module:Name"``.
    The queue is ``name`` if given, else the one ``WriteBehind(key=key)`` names after
    its key format (``"profile:{}"`` -> ``"profile"``), so the two always agree.
    """
    # The public entry point of a worker process; its plumbing is the CLI's (imported
    # when called, so importing the patterns never loads the CLI layer).
    from cachewright._cli.worker_process import run_worker as run

    return await run(
        url,
        store_factory,
        type=type,
        key_type=key_type,
        namespace=namespace,
        key=key,
        name=name,
        partitions=partitions,
        batch_size=batch_size,
        wait=wait,
        claim_idle=claim_idle,
        retry=retry,
        settings=settings,
        handle_signals=handle_signals,
    )
