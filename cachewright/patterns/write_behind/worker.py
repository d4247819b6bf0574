"""Flush workers: drain a shared write-behind queue into the store, in their own processes.

Usage::

    queue = RedisWriteQueue.from_url("redis://10.0.0.5:6379/0", namespace="shop",
                                     name="profiles")
    store = SQLStore(PG_URL, "profiles", type=Profile, key_type=int)
    worker = FlushWorker(queue, store, type=Profile, key_type=int, batch_size=500)
    await worker.run()                   # until worker.stop(); returns the counters

    async with FlushWorker(queue, store, type=Profile) as worker:   # in the background
        ...                              # leaving stops it gracefully

A whole worker process (a queue from a URL, a store from ``module:factory``, signal
handling) is :func:`cachewright.patterns.run_worker`, whose plumbing is the CLI's.

Run as many workers as you like, on any hosts: each claims its own batches (its
consumer name is host-pid-random), a key is never written by two at once, and a
worker that dies (SIGKILL, OOM, a lost host) has its batch taken over by the others
after the queue's ``claim_idle``. The app writes with ``WriteBehind(...,
queue=queue, flusher=False)``; workers need the same namespace, queue name and
partition count, and the same value type.

Each batch goes through the write-behind batch writer: one ``set_many`` and one
``delete_many``; a failure is classified (``classify``): down and transient errors
are retried under the retry policy (tenacity), a permanent one (a constraint, a
refused value) splits the batch at once to isolate the poison item (dead-lettered
with its error), the rest completed.
A store that is down postpones the batch (released, retried after a backoff); a Redis
that is down or restarting makes the worker wait and reconnect; neither stops it.
A server that refuses the credentials or cannot run the queue (a command missing:
``ConfigurationError``) does stop it, with that error: no wait would help.
``stop()`` lets the batch in hand finish (written and acknowledged) before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from tenacity import wait_exponential

from cachewright._logs import Throttle
from cachewright._tasks import cancel_and_wait
from cachewright.cache import Cache
from cachewright.errors import (
    QueueClosed,
    QueueUnavailable,
    WriteBehindError,
)
from cachewright.patterns._backoff import Pauses, wait_scaled
from cachewright.patterns._keys import KeyFormat, KeyMapper, ValueCodec
from cachewright.patterns.write_behind._failures import Classify, classify_failure
from cachewright.patterns.write_behind._flusher import BatchWriter, StoreDown
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind._types import WriteBehindCounters
from cachewright.patterns.write_behind.queues.base import QueuedOp, WriteQueue
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores.base import DataStore

__all__ = ["FlushWorker", "WorkerStats"]

log = logging.getLogger("cachewright.worker")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """What one worker did: ops written to the store, batches, store retries, ops
    dead-lettered, ops handed back while the store was down, ops taken over from
    silent workers, outages waited out (queue or store), and seconds running."""

    flushed: int
    batches: int
    retries: int
    dead_lettered: int
    released: int
    reclaimed: int
    outages: int
    running_for: float


class FlushWorker(Generic[K, V]):
    """Claims batches from ``queue`` and writes them to ``store`` until stopped.

    Usage::

        worker = FlushWorker(queue, store, type=Profile, key_type=int, batch_size=1000)
        stats = await worker.run()        # or: async with worker: ...

    ``type`` (and ``key_type``, for keys that are not plain JSON values) are those of
    the ``WriteBehind`` that wrote the queue. ``cache`` and ``key``, if given, are the
    app's: a dead-lettered write is then removed from the cache, as ``WriteBehind``
    does, so readers fall back to the store's value. ``wait`` is how long one claim
    blocks for work (an idle worker takes up to that long to stop); ``backoff`` the
    first and longest pause after an outage; ``log_every`` the seconds between
    progress lines (INFO on ``cachewright.worker``).
    """

    __slots__ = (
        "_backoff",
        "_batch_size",
        "_cache",
        "_counters",
        "_keys",
        "_last_log",
        "_log",
        "_log_every",
        "_outages",
        "_queue",
        "_running",
        "_started",
        "_stop",
        "_store",
        "_task",
        "_wait",
        "_writer",
    )

    def __init__(
        self,
        queue: WriteQueue,
        store: DataStore[K, V],
        *,
        type: Any,
        key_type: Any = None,
        batch_size: int = 500,
        wait: float = 1.0,
        retry: RetryPolicy | None = None,
        classify: Classify = classify_failure,
        cache: Cache | None = None,
        key: KeyFormat = "{}",
        backoff: tuple[float, float] = (0.05, 2.0),
        log_every: float = 10.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._queue = queue
        self._store = store
        self._batch_size = batch_size
        self._wait = wait
        self._cache = cache
        self._keys: KeyMapper[K] = KeyMapper(key, key_type)
        self._counters = WriteBehindCounters()
        self._writer: BatchWriter[K, V] = BatchWriter(
            queue,
            store,
            self._keys,
            ValueCodec(type),
            retry or RetryPolicy(),
            self._counters,
            on_dead=self._invalidate_dead,
            classify=classify,
        )
        first, longest = backoff
        # Exponential waits with jitter: restarted workers do not stampede.
        self._backoff = Pauses(
            wait_scaled(wait_exponential(multiplier=first, max=longest), 0.5, 1.0)
        )
        self._log_every = log_every
        self._log = Throttle(log)  # an outage costs a line a minute, not one per retry
        self._stop = asyncio.Event()
        self._running = False
        self._task: asyncio.Task[WorkerStats] | None = None
        self._started = 0.0
        self._last_log = 0.0
        self._outages = 0

    def __repr__(self) -> str:
        return f"FlushWorker({self._queue!r}, {self._store!r}, batch_size={self._batch_size})"

    @property
    def running(self) -> bool:
        return self._running

    async def stats(self) -> WorkerStats:
        """This worker's counters (no round trip; awaited like every ``stats()``)."""
        return self._snapshot()

    def _snapshot(self) -> WorkerStats:
        c = self._counters
        reclaimed = self._queue.reclaimed if isinstance(self._queue, RedisWriteQueue) else 0
        return WorkerStats(
            flushed=c.flushed,
            batches=c.batches,
            retries=c.retries,
            dead_lettered=c.dead_lettered,
            released=c.released,
            reclaimed=reclaimed,
            outages=self._outages,
            running_for=time.monotonic() - self._started if self._started else 0.0,
        )

    # -- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start(self) -> None:
        """Run in a background task (what ``async with`` does)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=repr(self))

    def request_stop(self) -> None:
        """Ask the worker to stop after the batch in hand (safe from a signal handler)."""
        self._stop.set()

    async def stop(self, timeout: float | None = 60.0) -> WorkerStats:  # noqa: ASYNC109
        """Stop gracefully: the batch in hand is written and acknowledged first.

        Waits for a background run (``start``/``async with``) up to ``timeout``
        seconds, then cancels it; its unfinished ops go back to the queue.
        """
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                log.warning("flush worker did not stop within %ss; cancelling it", timeout)
                await cancel_and_wait(task)
        return self._snapshot()

    # -- the loop ------------------------------------------------------------------

    async def run(self) -> WorkerStats:
        """Claim and write batches until ``stop()``; returns the counters."""
        if self._running:
            raise RuntimeError("this FlushWorker is already running")
        self._running = True
        self._started = self._last_log = time.monotonic()
        log.info("flush worker started: %r", self)
        try:
            while not self._stop.is_set():
                await self._round()
                self._maybe_log()
        finally:
            self._running = False
            self._stop.clear()
            stats = self._snapshot()
            log.info("flush worker stopped: %s", stats)
        return stats

    async def _round(self) -> None:
        try:
            batch = await self._queue.claim(self._batch_size, self._wait)
        except QueueClosed:
            log.info("flush worker: the queue was closed; stopping")
            self._stop.set()
            return
        except WriteBehindError as exc:
            await self._outage("claiming from the queue", exc)
            return
        if not batch:
            return
        log.debug("batch %s started: %d ops", batch.id, len(batch))
        try:
            report = await self._writer.write(batch)
        except StoreDown as exc:
            # The batch is back in the queue; the store gets a rest before the next try.
            await self._outage("writing to the store", exc)
            return
        except WriteBehindError as exc:
            # Acknowledging failed (Redis down or restarting): the ops stay claimed in
            # Redis and are taken over after claim_idle, then written again.
            await self._outage("acknowledging a batch", exc)
            return
        self._backoff.reset()
        log.debug("batch %s done: %s", batch.id, report)

    async def _outage(self, doing: str, exc: BaseException) -> None:
        self._outages += 1
        pause = self._backoff.next()
        level = logging.WARNING if isinstance(exc, QueueUnavailable | StoreDown) else logging.ERROR
        self._log.log(level, "flush worker: %s failed (%s); retrying in %.2fs", doing, exc, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), pause)

    def _maybe_log(self) -> None:
        now = time.monotonic()
        if now - self._last_log < self._log_every:
            return
        self._last_log = now
        s = self._snapshot()
        rate = s.flushed / s.running_for if s.running_for else 0.0
        log.info(
            "flush worker progress: %d written (%.0f/s) in %d batches, %d dead-lettered,"
            " %d reclaimed, %d outages",
            s.flushed,
            rate,
            s.batches,
            s.dead_lettered,
            s.reclaimed,
            s.outages,
        )

    async def _invalidate_dead(self, op: QueuedOp) -> None:
        if self._cache is None:
            return
        if await self._queue.peek(op.key) is None:  # no newer write owns the entry
            await self._cache.delete(self._keys.cache_key(self._keys.domain_key(op.key)))
