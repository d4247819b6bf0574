"""The in-memory write queue: the embedded default of write-behind.

Usage::

    queue = MemoryWriteQueue(max_pending=100_000)
    version = await queue.put('"user-1"', SET, b'{"name":"Ada"}', timeout=5.0)
    batch = await queue.claim(500, wait=1.0)
    await queue.complete(batch, batch.ops)

What it holds is lost if the process dies (a crash, SIGKILL): use the Redis queue
when writes must survive one (G12). A clean shutdown flushes it (``WriteBehind.close``).

All state changes happen without an ``await`` in between, so on one event loop every
method is atomic; only writers waiting for room and claimers waiting for work suspend.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence

from cachewright.errors import QueueClosed, QueueFull
from cachewright.patterns.write_behind.queues.base import (
    DELETE,
    SET,
    Batch,
    DeadLetter,
    OpKind,
    QueuedOp,
    QueueStats,
    ReplayResult,
)

__all__ = ["MemoryWriteQueue"]


class MemoryWriteQueue:
    """A coalescing FIFO of the latest op per key, bounded to ``max_pending`` keys.

    See :class:`~cachewright.patterns.write_behind.queues.base.WriteQueue` for the contract.
    """

    __slots__ = (
        "_claims",
        "_closed",
        "_coalesced",
        "_dead",
        "_dead_ids",
        "_dead_latest",
        "_in_flight",
        "_max_pending",
        "_pending",
        "_ready",
        "_ready_event",
        "_room_waiters",
        "_versions",
    )

    def __init__(self, max_pending: int = 100_000) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._max_pending = max_pending
        self._pending: dict[str, QueuedOp] = {}  # latest op per key, queued or in flight
        self._ready: OrderedDict[str, None] = OrderedDict()  # claimable keys, oldest first
        self._in_flight: dict[str, int] = {}  # key -> version claimed
        self._ready_event = asyncio.Event()
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        self._versions = itertools.count(1)
        self._claims = itertools.count(1)
        self._dead: dict[str, DeadLetter] = {}
        self._dead_ids = itertools.count(1)
        # For keys with dead letters: the latest version accepted, so replay can tell
        # a dead letter that newer data superseded (bounded by the dead letters).
        self._dead_latest: dict[str, int] = {}
        self._coalesced = 0
        self._closed = False

    @property
    def max_pending(self) -> int:
        return self._max_pending

    def __len__(self) -> int:
        """Keys pending (queued or in flight)."""
        return len(self._pending)

    def __repr__(self) -> str:
        return (
            f"MemoryWriteQueue(pending={len(self._pending)}, in_flight={len(self._in_flight)},"
            f" max_pending={self._max_pending})"
        )

    # -- writers -------------------------------------------------------------------

    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109 - ends in QueueFull (the protocol)
    ) -> int:
        if self._closed:
            raise QueueClosed("the write queue is closed")
        _check_op(op, value)
        if key not in self._pending and (
            len(self._pending) >= self._max_pending or self._room_waiters
        ):
            await self._wait_for_room(key, timeout)
        return self._accept(key, op, value)

    def _accept(self, key: str, op: OpKind, value: bytes | None) -> int:
        version = next(self._versions)
        now = time.time()
        current = self._pending.get(key)
        if current is None:
            since = now
            self._ready[key] = None
            self._ready_event.set()
        else:
            self._coalesced += 1
            claimed = self._in_flight.get(key)
            # An op put while the key is in flight is a new unflushed write: its age
            # starts now, unless an earlier one already waits behind the flight.
            since = now if claimed == current.version else current.since
        self._pending[key] = QueuedOp(key, op, value, version, since)
        if key in self._dead_latest:
            self._dead_latest[key] = version
        return version

    async def _wait_for_room(self, key: str, timeout: float | None) -> None:  # noqa: ASYNC109
        # A FIFO of waiters (like asyncio.Queue): a burst of new keys cannot starve a
        # writer that has waited longer, so a newcomer queues behind existing waiters.
        loop = asyncio.get_running_loop()
        queued_behind = bool(self._room_waiters)
        first_wait = True
        try:
            async with asyncio.timeout(timeout):
                while key not in self._pending and (
                    queued_behind or len(self._pending) >= self._max_pending
                ):
                    queued_behind = False
                    waiter: asyncio.Future[None] = loop.create_future()
                    if first_wait:
                        self._room_waiters.append(waiter)
                    else:
                        self._room_waiters.appendleft(waiter)  # woken but beaten: keep our turn
                    first_wait = False
                    try:
                        await waiter
                    finally:
                        if waiter in self._room_waiters:
                            self._room_waiters.remove(waiter)
                    if self._closed:
                        raise QueueClosed("the write queue closed while waiting for room")
        except TimeoutError:
            self._wake_room()  # pass our turn on, in case room came as we timed out
            raise QueueFull(
                f"write queue full ({self._max_pending} keys pending) for {timeout}s"
            ) from None
        except BaseException:
            self._wake_room()  # cancelled, perhaps just after being woken: pass it on
            raise
        if len(self._pending) + 1 < self._max_pending:
            self._wake_room()  # room for more than us: let the next waiter in too

    def _wake_room(self) -> None:
        while self._room_waiters:
            waiter = self._room_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- readers -------------------------------------------------------------------

    async def peek(self, key: str) -> QueuedOp | None:
        return self._pending.get(key)

    async def peek_many(self, keys: Sequence[str]) -> Mapping[str, QueuedOp]:
        pending = self._pending
        return {key: pending[key] for key in keys if key in pending}

    # -- flushers ------------------------------------------------------------------

    async def claim(self, max_items: int, wait: float) -> Batch:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        if not self._ready and wait > 0 and not self._closed:
            await self._wait_for_work(wait)
        ops: list[QueuedOp] = []
        while self._ready and len(ops) < max_items:
            key, _ = self._ready.popitem(last=False)
            op = self._pending[key]
            self._in_flight[key] = op.version
            ops.append(op)
        if not self._ready:
            self._ready_event.clear()
        return Batch(f"memory-{next(self._claims)}", tuple(ops))

    async def _wait_for_work(self, wait: float) -> None:
        # Loop: another claimer woken by the same put may have taken the work first.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not self._ready and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._ready_event.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._ready_event.wait()
            except TimeoutError:
                return

    async def confirm(self, batch: Batch, ops: Sequence[QueuedOp]) -> list[QueuedOp]:
        # One process, nothing reclaimed: an op is held until it is ended.
        return [op for op in ops if self._in_flight.get(op.key) == op.version]

    async def complete(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        freed = 0
        for op in ops:
            if self._in_flight.get(op.key) != op.version:
                continue  # not in flight as this op: already ended
            del self._in_flight[op.key]
            current = self._pending[op.key]
            if current.version == op.version:
                del self._pending[op.key]
                freed += 1
            else:
                self._requeue(op.key, front=False)
        for _ in range(freed):
            self._wake_room()

    async def release(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        # Reversed, each moved to the front: the batch keeps its order at the head.
        for op in reversed(list(ops)):
            if self._in_flight.get(op.key) != op.version:
                continue
            del self._in_flight[op.key]
            current = self._pending[op.key]
            if current.since > op.since:  # a newer op keeps the age of the unwritten one
                self._pending[op.key] = _with_since(current, op.since)
            self._requeue(op.key, front=True)

    def _requeue(self, key: str, *, front: bool) -> None:
        self._ready[key] = None
        if front:
            self._ready.move_to_end(key, last=False)
        self._ready_event.set()

    async def dead_letter(self, batch: Batch, op: QueuedOp, error: BaseException) -> str:
        dead_id = str(next(self._dead_ids))
        message = f"{type(error).__name__}: {error}"
        self._dead[dead_id] = DeadLetter(
            dead_id, op.key, op.op, op.value, op.version, message, time.time()
        )
        current = self._pending.get(op.key)
        latest = op.version if current is None else max(current.version, op.version)
        self._dead_latest[op.key] = max(self._dead_latest.get(op.key, 0), latest)
        await self.complete(batch, (op,))
        return dead_id

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return list(itertools.islice(self._dead.values(), limit))

    async def replay(self, ids: Iterable[str]) -> ReplayResult:
        requeued: list[str] = []
        superseded: list[str] = []
        missing: list[str] = []
        for dead_id in ids:
            dead = self._dead.pop(dead_id, None)
            if dead is None:
                missing.append(dead_id)
                continue
            latest = self._dead_latest.get(dead.key, dead.version)
            if latest > dead.version or dead.key in self._pending:
                superseded.append(dead_id)
            else:
                # Room is not awaited: the write was accepted once already.
                self._accept(dead.key, dead.op, dead.value)
                requeued.append(dead_id)
            self._forget_dead_key(dead.key)
        return ReplayResult(tuple(requeued), tuple(superseded), tuple(missing))

    async def drop(self, ids: Iterable[str]) -> int:
        dropped = 0
        for dead_id in ids:
            dead = self._dead.pop(dead_id, None)
            if dead is not None:
                dropped += 1
                self._forget_dead_key(dead.key)
        return dropped

    def _forget_dead_key(self, key: str) -> None:
        if all(dead.key != key for dead in self._dead.values()):
            self._dead_latest.pop(key, None)

    async def stats(self) -> QueueStats:
        oldest = min((op.since for op in self._pending.values()), default=None)
        return QueueStats(
            pending=len(self._pending),
            in_flight=len(self._in_flight),
            dead_letters=len(self._dead),
            coalesced=self._coalesced,
            oldest_pending_age=0.0 if oldest is None else max(0.0, time.time() - oldest),
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for waiter in self._room_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._ready_event.set()  # claimers waiting for work return now


def _check_op(op: OpKind, value: bytes | None) -> None:
    if op == SET:
        if value is None:
            raise ValueError("a set needs a value (bytes)")
    elif op == DELETE:
        if value is not None:
            raise ValueError("a delete carries no value")
    else:
        raise ValueError(f"unknown op {op!r}")


def _with_since(op: QueuedOp, since: float) -> QueuedOp:
    return QueuedOp(op.key, op.op, op.value, op.version, since, op.receipt)
