"""A flush worker process: what ``cachewright worker`` and ``run_worker`` run.

Usage::

    await run_worker("redis://10.0.0.5:6379/0", "app.stores:profiles",
                     type="app.models:Profile", key_type="int", namespace="shop",
                     key="profile:{}")     # SIGTERM / SIGINT stop it gracefully

Process plumbing on top of :class:`~cachewright.patterns.FlushWorker`: the durable
queue from a URL and the settings, the store and the types from their names (resolved
by :mod:`cachewright._cli.loading`, the one resolver the command uses too), signal
handlers, and closing the queue and the store at the end.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from cachewright._cli.loading import import_type, open_store
from cachewright.patterns import FlushWorker, RedisWriteQueue, RetryPolicy, WorkerStats
from cachewright.patterns.write_behind.queues.redis import queue_name_for
from cachewright.settings import Settings
from cachewright.stores import DataStore

__all__ = ["run_worker"]


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
    The queue is ``name`` if given, else the one ``WriteBehind(key=key)`` names
    after its key format (``"profile:{}"`` -> ``"profile"``).
    """
    type = import_type(type, "type")
    key_type = import_type(key_type, "key_type")
    settings = settings or Settings()  # read here, at the top, and passed down
    queue = RedisWriteQueue.from_url(
        url,
        settings=settings,
        namespace=namespace,
        name=queue_name_for(key) if name is None else name,
        partitions=partitions,
        claim_idle=claim_idle,
    )
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        async with open_store(store_factory, "store_factory") as store:
            worker: FlushWorker[Any, Any] = FlushWorker(
                queue,
                store,
                type=type,
                key_type=key_type,
                batch_size=batch_size,
                wait=wait,
                retry=retry,
            )
            if handle_signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, worker.request_stop)
                    installed.append(signum)
            try:
                return await worker.run()
            finally:
                for signum in installed:
                    loop.remove_signal_handler(signum)
    finally:
        await queue.close()
