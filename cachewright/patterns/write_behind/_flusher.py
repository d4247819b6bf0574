"""Write-behind flushing: one batch to the store (``BatchWriter``) and the loop (``Flusher``).

Usage (what ``WriteBehind`` does)::

    writer = BatchWriter(queue, store, keys, values, policy, counters, on_dead=invalidate)
    report = await writer.write(await queue.claim(500, wait=0))

    flusher = Flusher(flush=wb.flush, interval=1.0)
    await flusher.start()          # an aiojobs job: every interval, or at once on wake()
    flusher.wake()
    await flusher.stop(grace=5)

A batch goes to the store as one ``set_many`` (sets) and one ``delete_many``
(deletes). A failure is classified (``classify``, see :mod:`._failures`):

- the store is *down* (``Failure.DOWN``): retried under the retry policy, then the
  whole batch is released back to the queue and ``StoreDown`` is raised; the next
  round tries again. Nothing is dead-lettered for an outage.
- the store *rejects* something for good (``Failure.PERMANENT``): no retry; the batch
  is split in halves, each tried once, the failing halves split again, until the
  failing item is alone, and it goes to the dead letters with its error in the same
  round. Good rows are written once; k poison items in n cost O(k log n) store calls.
- anything that may pass (``Failure.TRANSIENT``): retried with backoff first; a batch
  still failing is split the same way, and a single item gets the full policy again
  before it is dead-lettered.

Compared with peers: Hazelcast falls back to one store call per entry when a batch
fails and re-queues failures forever (one poison entry retries without end); Redisson
retries a batch then logs and drops it. Here a poison item is isolated, kept and
replayable, and the rest of its batch is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aiojobs
from tenacity import RetryCallState

from cachewright._logs import Throttle
from cachewright._metrics import NOOP, Attributes, Metrics
from cachewright.errors import AccessDenied, CachewrightError, ConfigurationError, StoreUnavailable
from cachewright.patterns._keys import KeyMapper, ValueCodec
from cachewright.patterns.write_behind._failures import Classify, Failure, classify_failure
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind._types import FlushReport, WriteBehindCounters
from cachewright.patterns.write_behind.queues.base import SET, Batch, QueuedOp, WriteQueue
from cachewright.stores.base import DataStore

__all__ = ["BatchWriter", "Flusher", "StoreDown"]

log = logging.getLogger("cachewright.write_behind")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class StoreDown(StoreUnavailable):
    """The store stayed unreachable past the retry policy; the batch was released."""


@dataclass(frozen=True, slots=True)
class _Item(Generic[K, V]):
    op: QueuedOp
    key: K
    value: V | None


class _Round:
    """The ops of one batch that have not ended yet (complete, release or dead letter)."""

    __slots__ = ("batch", "dead_lettered", "open", "released", "written")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.open: dict[str, QueuedOp] = {op.key: op for op in batch.ops}
        self.written = 0
        self.dead_lettered = 0
        self.released = 0

    def report(self) -> FlushReport:
        return FlushReport(self.written, self.dead_lettered, self.released, 1)


class BatchWriter(Generic[K, V]):
    """Writes claimed batches to the store and ends every op of each batch."""

    __slots__ = (
        "_classify",
        "_counters",
        "_keys",
        "_mattrs",
        "_metrics",
        "_on_dead",
        "_policy",
        "_queue",
        "_store",
        "_values",
    )

    def __init__(
        self,
        queue: WriteQueue,
        store: DataStore[K, V],
        keys: KeyMapper[K],
        values: ValueCodec[V],
        policy: RetryPolicy,
        counters: WriteBehindCounters,
        on_dead: Callable[[QueuedOp], Awaitable[None]],
        metrics: Metrics = NOOP,
        metric_attributes: Attributes | None = None,
        classify: Classify = classify_failure,
    ) -> None:
        self._classify = classify
        self._metrics = metrics
        self._mattrs = metric_attributes or metrics.attributes()
        self._queue = queue
        self._store = store
        self._keys = keys
        self._values = values
        self._policy = policy
        self._counters = counters
        self._on_dead = on_dead

    async def write(self, batch: Batch) -> FlushReport:
        """Write ``batch``; every op ends written, dead-lettered or released.

        Raises ``StoreDown`` (after releasing what was not written) when the store is
        unreachable. If cancelled, unwritten ops are released before re-raising.
        """
        run = _Round(batch)
        self._counters.batches += 1
        # The check right before the write (confirm) travels while the batch decodes.
        confirming = asyncio.ensure_future(self._queue.confirm(batch, list(batch.ops)))
        confirming.add_done_callback(_retrieved)  # an unawaited failure is not logged
        try:
            decoded = await self._decode(run)
            items = await self._still_held(run, decoded, await confirming)
            if items:
                await self._write_group(run, items, retry=True)
        except StoreDown:
            await self._release_open(run)
            raise
        except BaseException:
            # Cancelled (a close timeout) or a bug: hand the ops back, never strand them
            # in flight. A write that did commit is simply written again (idempotent).
            confirming.cancel()
            await self._release_open(run)
            raise
        return run.report()

    async def drain(self, claim: Callable[[], Awaitable[Batch]]) -> FlushReport:
        """``write`` batches from ``claim`` until one comes empty. The next batch is
        claimed while the current one is written (the queue gives a key one flight at
        a time, so the two never share a key); writes stay one after another. If a
        write raises, the batch claimed ahead is released before the error goes on."""
        report = FlushReport()
        batch = await claim()
        while batch:
            ahead = asyncio.ensure_future(claim())
            try:
                report = report + await self.write(batch)
            except BaseException:
                await self._release_ahead(ahead)
                raise
            batch = await ahead
        return report

    async def _release_ahead(self, ahead: asyncio.Future[Batch]) -> None:
        """Hand back the batch claimed ahead (awaited, not cancelled: a claim cut off
        after Redis ran it would strand its ops until ``claim_idle``)."""
        try:
            batch = await asyncio.shield(ahead)
        except Exception:  # the claim failed: nothing was handed out
            return
        if batch:
            await self._release_open(_Round(batch))

    async def _decode(self, run: _Round) -> list[_Item[K, V]]:
        items: list[_Item[K, V]] = []
        for op in run.batch.ops:
            try:
                key = self._keys.domain_key(op.key)
                value = self._values.decode(op.value) if op.value is not None else None
            except CachewrightError as exc:  # bytes no longer fit the type: poison
                await self._dead(run, op, exc)
                continue
            items.append(_Item(op, key, value))
        return items

    async def _still_held(
        self, run: _Round, items: list[_Item[K, V]], confirmed: list[QueuedOp]
    ) -> list[_Item[K, V]]:
        """Drop the ops another flusher took over while this one was paused past the
        claim timeout (not in ``confirmed``): it may have written a newer value already."""
        if not items or len(confirmed) == len(run.batch.ops):
            return items  # confirm returns a subset of the ops asked: here all of them
        held = {op.receipt for op in confirmed}
        lost = [item for item in items if item.op.receipt not in held]
        for item in lost:
            del run.open[item.op.key]  # not ours to end any more
        if lost:
            log.warning(
                "batch %s: %d ops were taken over by another flusher (this one paused"
                " past the claim timeout); left to it",
                run.batch.id,
                len(lost),
            )
        return [item for item in items if item.op.receipt in held]

    async def _write_group(self, run: _Round, items: list[_Item[K, V]], *, retry: bool) -> None:
        try:
            if retry:
                await self._policy.call(
                    lambda: self._store_write(items), self._retryable, self._count_retry
                )
            else:
                await self._store_write(items)
        except Exception as exc:
            kind = self._classify(exc)
            if kind is Failure.DOWN:
                raise StoreDown(f"store unavailable: {type(exc).__name__}: {exc}") from exc
            if len(items) > 1:
                # Permanent, or transient past the policy: split to isolate the item;
                # each half is tried once.
                middle = len(items) // 2
                await self._write_group(run, items[:middle], retry=False)
                await self._write_group(run, items[middle:], retry=False)
            elif kind is Failure.TRANSIENT and not retry:
                # Isolated by splitting after one try: give it the full policy before
                # deciding it is poison, so a passing glitch dead-letters nothing.
                await self._write_group(run, items, retry=True)
            else:
                # Permanent (never retried, so in this round), or transient past the
                # full policy: a dead letter.
                await self._dead(run, items[0].op, exc)
            return
        ops = [item.op for item in items]
        # Counted as written now, before the acknowledgement: if that fails part way
        # (Redis restarting), some partitions' ops are done without a reply, and the
        # others are taken over and written (and counted) again, at least once.
        self._counters.flushed += len(ops)
        self._metrics.flushed(len(ops), self._mattrs)
        await self._queue.complete(run.batch, ops)
        for op in ops:
            del run.open[op.key]
        run.written += len(ops)

    async def _store_write(self, items: list[_Item[K, V]]) -> None:
        sets: dict[K, V] = {}
        deletes: list[K] = []
        for item in items:
            if item.op.op == SET:
                sets[item.key] = cast(V, item.value)  # a set's decoded value (V may admit None)
            else:
                deletes.append(item.key)
        if sets:
            await self._store.set_many(sets)
        if deletes:
            await self._store.delete_many(deletes)

    async def _dead(self, run: _Round, op: QueuedOp, exc: BaseException) -> None:
        dead_id = await self._queue.dead_letter(run.batch, op, exc)
        run.open.pop(op.key, None)
        run.dead_lettered += 1
        self._counters.dead_lettered += 1
        self._metrics.dead_lettered(1, self._mattrs)
        log.warning(
            "write of key %s dead-lettered as %s: %s: %s", op.key, dead_id, type(exc).__name__, exc
        )
        try:
            await self._on_dead(op)
        except CachewrightError as cache_exc:
            self._counters.cache_errors += 1
            log.warning("could not invalidate the cache after a dead letter: %s", cache_exc)

    async def _release_open(self, run: _Round) -> None:
        if not run.open:
            return
        ops = list(run.open.values())
        run.open.clear()
        await self._queue.release(run.batch, ops)
        run.released += len(ops)
        self._counters.released += len(ops)

    def _retryable(self, exc: BaseException) -> bool:
        return self._classify(exc) is not Failure.PERMANENT

    def _count_retry(self, state: RetryCallState) -> None:
        self._counters.retries += 1
        self._metrics.retried(1, self._mattrs)
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        log.debug("store write failed (attempt %d), retrying: %r", state.attempt_number, error)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Flusher:
    """The background loop: ``flush()`` every ``interval`` seconds or at once on ``wake()``.

    Runs as one job on its own aiojobs ``Scheduler``; a failing round is logged (once
    a minute for a failure that repeats) and the loop goes on (the ops are back in the
    queue). A server that cannot run the queue (``ConfigurationError``: too old, a
    command missing) stops the loop with one error line: waiting will not fix it.
    """

    __slots__ = ("_flush", "_interval", "_job", "_log", "_scheduler", "_stopping", "_wake")

    def __init__(self, flush: Callable[[], Awaitable[Any]], interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"flush_interval must be positive, got {interval}")
        self._flush = flush
        self._interval = interval
        self._scheduler: aiojobs.Scheduler | None = None
        self._job: aiojobs.Job[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._log = Throttle(log)

    @property
    def running(self) -> bool:
        return self._job is not None and not self._job.closed

    async def start(self) -> None:
        if self._scheduler is not None:
            return
        self._stopping = False
        self._scheduler = aiojobs.Scheduler(limit=1, close_timeout=1.0)
        self._job = await self._scheduler.spawn(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._flush()
            except StoreDown as exc:
                self._log.warning("write-behind flush postponed, the store is down: %s", exc)
            except AccessDenied as exc:  # an operator can fix it without a restart
                self._log.error("write-behind flush failed; the ops stay queued: %s", exc)
            except ConfigurationError as exc:
                log.error("write-behind flusher stopped; the ops stay queued: %s", exc)
                return
            except Exception:
                self._log.error("write-behind flush failed; the ops stay queued", exc_info=True)

    async def stop(self, grace: float | None) -> None:
        """Let the current round finish (up to ``grace`` seconds), then end the loop."""
        scheduler, job = self._scheduler, self._job
        if scheduler is None or job is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await job.wait(timeout=grace)
        except TimeoutError:
            log.warning("write-behind flusher did not stop within %ss; cancelled", grace)
        finally:
            await scheduler.close()
            self._scheduler = None
            self._job = None
