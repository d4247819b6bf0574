"""A flush worker process: what ``cachewright worker`` and ``run_worker`` run.

Usage::

    await run_worker("redis://10.0.0.5:6379/0", "app.stores:profiles",
                     type="app.models:Profile", key_type=int, namespace="shop",
                     name="profiles")    # SIGTERM / SIGINT stop it gracefully

Process plumbing on top of :class:`~cachewright.patterns.FlushWorker`: the durable
queue from a URL and the settings, the store from ``"module:factory"`` (resolved by
:mod:`cachewright._cli.loading`, the CLI's one resolver), signal handlers, and closing
the queue and the store at the end.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Callable
from typing import Any

from cachewright._cli.loading import import_object
from cachewright.errors import ConfigurationError
from cachewright.patterns import (
    FlushWorker,
    RedisWriteQueue,
    RetryPolicy,
    WorkerStats,
    classify_failure,
)
from cachewright.patterns.write_behind import Classify
from cachewright.settings import Settings
from cachewright.stores import DataStore

__all__ = ["run_worker"]


def _resolve(spec: str, what: str) -> Any:
    """``"package.module:attr"`` -> the attribute, through the CLI's one resolver."""
    try:
        return import_object(spec, what)
    except ConfigurationError as exc:
        raise ConfigurationError(f"cannot load {what} {spec!r}: {exc}") from exc


async def _make_store(factory: str | Callable[[], Any]) -> DataStore[Any, Any]:
    make = _resolve(factory, "store factory") if isinstance(factory, str) else factory
    if not callable(make):
        raise ConfigurationError(f"store factory {factory!r} is not callable")
    store = make()
    if inspect.isawaitable(store):
        store = await store
    if not isinstance(store, DataStore):
        raise ConfigurationError(f"store factory {factory!r} did not return a DataStore")
    return store


async def _close(resource: object) -> None:
    close = getattr(resource, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result


async def run_worker(
    url: str,
    store_factory: str | Callable[[], Any],
    *,
    type: Any,
    key_type: Any = None,
    namespace: str | None = None,
    name: str = "default",
    partitions: int = 8,
    batch_size: int = 500,
    wait: float = 1.0,
    claim_idle: float = 30.0,
    retry: RetryPolicy | None = None,
    classify: Classify | str = classify_failure,
    settings: Settings | None = None,
    handle_signals: bool = True,
) -> WorkerStats:
    """Run one flush worker until SIGTERM or SIGINT (graceful: the batch in hand
    finishes), then close the queue and the store and return the counters.

    ``store_factory`` is ``"package.module:factory"`` (or the callable): called with
    no argument, it returns a ``DataStore`` (or an awaitable of one). ``type`` and
    ``key_type`` may be given the same way, as ``"package.module:Name"``, and
    ``classify`` (what a failed store write means) as ``"package.module:function"``.
    """
    classifier: Classify = (
        _resolve(classify, "failure classifier") if isinstance(classify, str) else classify
    )
    if isinstance(type, str):
        type = _resolve(type, "value type")
    if isinstance(key_type, str):
        key_type = _resolve(key_type, "key type")
    settings = settings or Settings()  # read here, at the top, and passed down
    queue = RedisWriteQueue.from_url(
        url,
        settings=settings,
        namespace=namespace,
        name=name,
        partitions=partitions,
        claim_idle=claim_idle,
    )
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        store = await _make_store(store_factory)
        try:
            worker: FlushWorker[Any, Any] = FlushWorker(
                queue,
                store,
                type=type,
                key_type=key_type,
                batch_size=batch_size,
                wait=wait,
                retry=retry,
                classify=classifier,
            )
            if handle_signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, worker.request_stop)
                    installed.append(signum)
            return await worker.run()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await _close(store)
    finally:
        await queue.close()
