"""Write-behind: the cache now, the store later, in coalesced batches (G11).

Usage::

    profiles = WriteBehind(cache, store, key="profile:{}", type=Profile,
                           flush_interval=1.0, batch_size=500)
    async with profiles:                    # starts the flusher; on exit, flushes
        await profiles.set(1, profile)      # cache now, store within ~flush_interval
        await profiles.delete(2)
        await profiles.get(1)               # sees the pending write, even if evicted
        await profiles.flush()              # FlushReport: written, dead_lettered, ...
        await profiles.stats()              # pending, oldest_pending_age, flushed, ...
        failed = await profiles.dead_letters()
        await profiles.replay_dead_letters()

Each write is accepted by the queue (``WriteQueue``; in memory by default), then
written to the cache. The queue keeps the latest op per key, so a burst on one key
reaches the store as its last value and a set then a delete leaves the row deleted.
The flusher (an aiojobs job) writes batches with ``set_many``/``delete_many``
every ``flush_interval`` seconds, or at once when ``batch_size`` writes are waiting;
a failed store write is classified by ``classify`` (``classify_failure`` by default:
down, transient or permanent). Down and transient ones are retried following
``retry`` (tenacity: attempts and time caps, exponential backoff with jitter); a
permanent one (a constraint, a value the store refuses) is not: the batch is split at
once to isolate the item, the rest is written once, and the item is kept as a dead
letter, readable and replayable, in the same flush round. An outage keeps everything
queued.

Nothing is acknowledged that cannot be kept (G15): a store that declares what it can
keep (``cachewright.stores.CheckedStore``, as ``SQLStore`` does) is asked at ``set``,
``set_many`` and ``delete``, so a key or value it refuses raises its typed error
(``InvalidKey``, ``TypeMismatch``, ...) at the call, and is never queued. Only what
could not be known then (the store down, a constraint) reaches retries and dead letters.

A full queue (``max_pending`` keys) makes writers wait up to ``put_timeout`` seconds,
then raises ``QueueFull``: nothing is ever dropped. ``close()`` (or leaving
``async with``) flushes within ``close_timeout`` and reports what is still pending.

Writers in several processes (``strict``): a per-key lock orders the cache writes
of one process only. Two processes writing one key can both enqueue, then write the
cache in the opposite order, leaving the cache on the older value while the queue
(and, after the flush, the store) holds the newer. So on a queue other processes
share (the durable Redis queue, the default on a Redis cache) writes are *strict* by
default: they drop the cache entry instead of filling it (deletes commute, whatever
the interleaving), and reads are served from the queue's pending op until the flush,
then from the store, and fill the cache back through a lease. The cost: one cache
miss and a queue read after each write. ``strict=False`` is the fast mode (the cache
keeps the written value): safe when one process writes a given key, or when a
briefly older cache entry (until ``ttl``) is acceptable. On the in-process queue
nothing is shared and the fast mode is the default.

Reads: a fresh cache entry wins; on a miss the queue's pending op answers (a pending
delete reads as ``None``); only then the store, filled back through a lease so a fill
never overwrites a newer write (G10). A dead-lettered write is removed from the cache,
so reads fall back to the store's truth instead of a value the store never took.

Expiry: ``ttl``, ``sliding`` and ``expires_at`` (a datetime, or a function returning
one, asked at each write) mean what they mean for ``Cache.set``, for every entry this
pattern writes or fills back; past ``expires_at`` writes drop the entry instead.

On a Redis cache the durable Redis queue is the default (named after the key
format, or ``queue_name=``); on memory the in-process queue is, and it is lost if
the process crashes (G12). Store writes are at least once:
the store must upsert idempotently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from cachewright.cache import Cache
from cachewright.errors import CachewrightError, QueueClosed
from cachewright.patterns._checks import StoreChecks
from cachewright.patterns._fill import ExpiresAt, FillPolicy, ReadThrough, expiry_options
from cachewright.patterns._keys import KeyFormat, KeyMapper, ValueCodec
from cachewright.patterns.write_behind._dead_letters import failed_write, replay
from cachewright.patterns.write_behind._failures import Classify, classify_failure
from cachewright.patterns.write_behind._flusher import BatchWriter, Flusher
from cachewright.patterns.write_behind._gauges import PendingGauges
from cachewright.patterns.write_behind._options import default_queue
from cachewright.patterns.write_behind._reads import PendingReads
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind._types import (
    CloseReport,
    FailedWrite,
    FlushReport,
    WriteBehindCounters,
    WriteBehindStats,
)
from cachewright.patterns.write_behind._writes import QueuedWrites
from cachewright.patterns.write_behind.queues.base import QueuedOp, ReplayResult, WriteQueue
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores.base import DataStore

__all__ = ["WriteBehind"]

log = logging.getLogger("cachewright.write_behind")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WriteBehind(Generic[K, V]):
    """A data store behind a cache, written asynchronously in batches (see module doc)."""

    def __init__(
        self,
        cache: Cache,
        store: DataStore[K, V],
        *,
        key: KeyFormat = "{}",
        type: Any,
        key_type: Any = None,
        ttl: float | None = None,
        sliding: float | timedelta | None = None,
        expires_at: ExpiresAt | None = None,
        tags: Iterable[str] | None = None,
        flush_interval: float = 1.0,
        batch_size: int = 500,
        max_pending: int = 100_000,
        put_timeout: float | None = 5.0,
        close_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        classify: Classify = classify_failure,
        queue: WriteQueue | None = None,
        queue_name: str | None = None,
        flusher: bool = True,
        strict: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._cache = cache
        self._store = store
        self._keys: KeyMapper[K] = KeyMapper(key, key_type)
        self._values: ValueCodec[V] = ValueCodec(type)
        window, until = expiry_options(sliding, expires_at)
        self._policy = FillPolicy(
            type=type, ttl=ttl, tags=tuple(tags or ()), sliding=window, expires_at=until
        )
        self._reads: ReadThrough[K, V] = ReadThrough(cache, self._policy)
        self._mattrs = cache.metrics.attributes(namespace=cache.namespace, pattern="write_behind")
        self._gauges = PendingGauges(cache.metrics, self._mattrs)
        self._batch_size = batch_size
        self._close_timeout = close_timeout
        self._owns_queue = queue is None
        if queue is None:
            queue = default_queue(cache, key, queue_name, max_pending)
        self._queue: WriteQueue = queue
        self._durable = isinstance(queue, RedisWriteQueue)
        # A queue other processes share makes their writes race ours: strict unless
        # the caller chose the fast mode (see the module doc).
        self._strict = self._durable if strict is None else strict
        self._counters = WriteBehindCounters()
        self._writer: BatchWriter[K, V] = BatchWriter(
            self._queue,
            store,
            self._keys,
            self._values,
            retry or RetryPolicy(),
            self._counters,
            on_dead=self._invalidate_dead,
            metrics=cache.metrics,
            metric_attributes=self._mattrs,
            classify=classify,
        )
        self._pending_reads: PendingReads[K, V] = PendingReads(
            cache, store, self._queue, self._keys, self._values, self._reads
        )
        self._flusher = Flusher(self.flush, flush_interval) if flusher else None
        self._writes: QueuedWrites[K, V] = QueuedWrites(
            cache,
            self._queue,
            StoreChecks(store),
            self._keys,
            self._values,
            self._policy,
            self._counters,
            strict=self._strict,
            put_timeout=put_timeout,
            carried=self._owns_queue,  # its own queue: on the cache's lane, if any
            before=self._before_write,
            after=self._written,
        )
        self._flush_lock = asyncio.Lock()
        self._unflushed = 0
        self._closed = False
        self._close_report: CloseReport | None = None
        self._close_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WriteBehind({self._cache!r}, {self._store!r}, queue={self._queue!r})"

    @property
    def queue(self) -> WriteQueue:
        return self._queue

    @property
    def strict(self) -> bool:
        """Whether writes drop the cache entry (True) or fill it (the fast mode)."""
        return self._strict

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Start the background flusher (done by ``async with`` and the first write)."""
        if self._closed:
            raise QueueClosed("this WriteBehind is closed")
        if self._flusher is not None:
            await self._flusher.start()
        self._gauges.watch()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, timeout: float | None = None) -> CloseReport:  # noqa: ASYNC109
        """Stop accepting writes, flush what is pending within ``timeout`` (default
        ``close_timeout``) and report what is left. Idempotent: later calls return the
        first report. What could not be written stays in the queue, not lost: a later
        ``flush()`` may still drain it (the pending count covers every writer of a
        shared queue)."""
        async with self._close_lock:  # concurrent closers wait for the one report
            if self._close_report is None:
                self._close_report = await self._close(timeout)
            return self._close_report

    async def _close(self, timeout: float | None) -> CloseReport:  # noqa: ASYNC109
        self._closed = True
        budget = self._close_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        flushed = FlushReport()
        timed_out = False
        error: str | None = None
        if self._flusher is not None:
            await self._flusher.stop(grace=budget)
        # Enqueue-only on a durable queue: the workers own the flushing, and an app
        # shutting down must not drain a queue it shares with them.
        if self._flusher is not None or not self._durable:
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    flushed = await self.flush()
            except TimeoutError:
                timed_out = True
                error = f"close_timeout of {budget}s reached"
            except CachewrightError as exc:
                error = f"{type(exc).__name__}: {exc}"
        pending: int | None = None
        dead_letters: int | None = None
        try:
            stats = await self._queue.stats()
            pending, dead_letters = stats.pending, stats.dead_letters
        except CachewrightError as exc:
            # The queue's server is unreachable at shutdown: what is queued stays there
            # (durable) for a worker; say so instead of failing the caller's shutdown.
            error = error or f"{type(exc).__name__}: {exc}"
        finally:
            self._gauges.stop()
            if self._owns_queue:
                await self._queue.close()
        report = CloseReport(flushed, pending, dead_letters, timed_out, error)
        if report.pending != 0:
            log.warning(
                "write-behind closed with %s writes still pending (%s); they stay queued",
                "an unknown number of" if pending is None else pending,
                self._why_pending(error, flushed),
            )
        return report

    def _why_pending(self, error: str | None, flushed: FlushReport) -> str:
        """Why ``close()`` left writes in the queue, for its log line."""
        if error is not None:
            return error
        if self._flusher is None and self._durable:
            return "flusher=False: the flush workers write them"
        if flushed.released:
            return f"the store did not take {flushed.released} of them: it was unavailable"
        return "written to the shared queue by other processes after the final flush"

    # -- writes --------------------------------------------------------------------

    async def set(self, key: K, value: V) -> None:
        """Write ``value`` to the cache now and to the store later.

        Raises ``QueueFull`` if the queue stays full for ``put_timeout`` (nothing is
        written then), ``QueueClosed`` after ``close()``, and what the store's
        ``check_item`` raises (``InvalidKey``, ``TypeMismatch``, ...) for a key or value
        it declares it cannot keep: nothing is queued or cached then (G15).
        """
        await self._writes.set(key, value)

    async def delete(self, key: K) -> None:
        """Remove ``key`` from the cache now and from the store later."""
        await self._writes.delete(key)

    async def set_many(self, items: Mapping[K, V]) -> None:
        """``set`` of every item; the cache gets one ``set_many``.

        Not atomic: if the queue fills up midway, the items accepted so far stay
        accepted (and cached) and ``QueueFull`` is raised for the rest.
        """
        await self._writes.set_many(items)

    async def _before_write(self) -> None:
        if self._closed:
            raise QueueClosed("this WriteBehind is closed")
        if self._flusher is not None and not self._flusher.running:
            await self._flusher.start()  # a forgotten `async with` must not strand writes

    def _written(self, count: int) -> None:
        self._unflushed += count
        if self._unflushed >= self._batch_size and self._flusher is not None:
            self._flusher.wake()

    async def _invalidate_dead(self, op: QueuedOp) -> None:
        if await self._queue.peek(op.key) is None:  # no newer write owns the entry
            await self._cache.delete(self._keys.cache_key(self._keys.domain_key(op.key)))

    # -- reads ---------------------------------------------------------------------

    async def get(self, key: K) -> V | None:
        """The latest value: the cache, else the pending write, else the store."""
        return await self._pending_reads.get(key)

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        """Values of the keys that have one (hits only), pending writes included."""
        return await self._pending_reads.get_many(keys)

    # -- flushing ------------------------------------------------------------------

    async def flush(self) -> FlushReport:
        """Write everything pending now; return what was written and dead-lettered.

        Raises ``StoreUnavailable`` when the store stays unreachable past the retry
        policy (the unwritten ops are back in the queue). One flush at a time per
        ``WriteBehind``: a call during a background round waits for it, then drains.
        """
        async with self._flush_lock:
            self._unflushed = 0
            report = await self._writer.drain(lambda: self._queue.claim(self._batch_size, wait=0))
            await self._gauges.observe(self._queue)
            return report

    # -- dead letters and stats ----------------------------------------------------

    async def dead_letters(self, limit: int = 100) -> list[FailedWrite[K, V]]:
        """Up to ``limit`` writes the store kept rejecting, oldest first, decoded."""
        dead = await self._queue.dead_letters(limit)
        return [failed_write(d, self._keys, self._values) for d in dead]

    async def replay_dead_letters(self, ids: Iterable[str] | None = None) -> ReplayResult:
        """Queue dead letters again (all of them by default) and wake the flusher.

        A dead letter whose key was written again since is ``superseded`` (removed, not
        replayed): replaying it would overwrite the newer value.
        """
        result = await replay(self._queue, ids)
        if result.requeued and self._flusher is not None:
            self._flusher.wake()
        return result

    async def drop_dead_letters(self, ids: Iterable[str]) -> int:
        """Delete dead letters for good; the number removed."""
        return await self._queue.drop(ids)

    async def stats(self) -> WriteBehindStats:
        """Queue and flusher counters (see ``WriteBehindStats``)."""
        q = await self._queue.stats()
        self._gauges.show(q)
        c = self._counters
        return WriteBehindStats(
            pending=q.pending,
            in_flight=q.in_flight,
            oldest_pending_age=q.oldest_pending_age,
            coalesced=q.coalesced,
            dead_letters=q.dead_letters,
            flushed=c.flushed,
            batches=c.batches,
            retries=c.retries,
            dead_lettered=c.dead_lettered,
            released=c.released,
            cache_errors=c.cache_errors,
            flusher_running=self._flusher is not None and self._flusher.running,
        )
