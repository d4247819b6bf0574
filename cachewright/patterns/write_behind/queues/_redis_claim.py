"""Claiming from the Redis write queue: sharing a batch over partitions, taking over
silent flushers' entries, and waiting for work without polling.

Usage (what ``RedisWriteQueue.claim`` does)::

    claimer = Claimer(link, consumer, claim_idle=30.0, leases=leases, closing=event)
    batch = await claimer.batch(500, wait=5.0)   # rounds, blocking between them:
    ops, marks = await claimer.round(500)        # up to 500 ops, now
    if not ops:
        await claimer.wait(marks, deadline)      # XREAD BLOCK until an entry arrives

Each partition answers with one Lua call (see ``CLAIM`` in :mod:`._redis_lua_flight`):
ops handed back by ``release`` first (they keep their place), then entries idle past
``claim_idle`` (``XAUTOCLAIM``), then new ones (``XREADGROUP``). With nothing to claim,
``batch`` blocks on ``XREAD`` until an entry arrives or ``wait`` runs out. The
``XAUTOCLAIM`` cursor is followed from call to call until it comes back to
``0-0``; a full pass then rests ``claim_idle / 2`` seconds, and consumers that crashed
and hold nothing any more are forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from cachewright.errors import AccessDenied, WriteBehindError
from cachewright.patterns.write_behind.queues._leases import Leases
from cachewright.patterns.write_behind.queues._partitions import GROUP, Partition, unpack
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues.base import Batch, QueuedOp

__all__ = ["RELEASED", "Claimer"]

log = logging.getLogger("cachewright.write_behind")

#: the pseudo-consumer that keeps released entries (unacknowledged, in place)
RELEASED = "~released"


class Claimer:
    """The claiming side of one queue object (its consumer name, its reclaim scans)."""

    __slots__ = (
        "_claim_idle",
        "_claims",
        "_closing",
        "_consumer",
        "_cursors",
        "_leases",
        "_link",
        "_next_scan",
        "_rotation",
        "reclaimed",
    )

    def __init__(
        self,
        link: Link,
        consumer: str,
        *,
        claim_idle: float,
        leases: Leases,
        closing: asyncio.Event,
    ) -> None:
        count = len(link.layout.partitions)
        self._link = link
        self._consumer = consumer
        self._claim_idle = claim_idle
        self._leases = leases
        self._closing = closing
        self._cursors: list[str | None] = [None] * count  # an XAUTOCLAIM pass in progress
        self._next_scan = [0.0] * count  # when the next pass may start (monotonic)
        self._rotation = 0
        self._claims = 0
        #: ops taken over from silent flushers
        self.reclaimed = 0

    async def batch(self, max_items: int, wait: float) -> Batch:
        """Rounds until some ops come, the queue closes or ``wait`` runs out, blocking
        between them; the ops oldest first within a partition."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            ops, marks = await self.round(max_items)
            if ops or self._closing.is_set() or loop.time() >= deadline:
                break
            await self.wait(marks, deadline)
        ops.sort(key=_age_order)
        self._claims += 1
        return Batch(f"{self._consumer}#{self._claims}", tuple(ops))

    async def round(self, max_items: int) -> tuple[list[QueuedOp], dict[int, bytes]]:
        """Ask the partitions (a rotating first one, for fairness) for up to
        ``max_items`` ops, shared out; partitions that gave their full share are asked
        again for what is left. Returns the ops and, for partitions that had none,
        their last entry id (to block on)."""
        parts = self._link.layout.partitions
        start = self._rotation
        self._rotation = (start + 1) % len(parts)
        to_ask = deque(parts[(start + i) % len(parts)] for i in range(len(parts)))
        ops: list[QueuedOp] = []
        taken: set[str] = set()
        asked_again: set[int] = set()
        marks: dict[int, bytes] = {}
        failure: BaseException | None = None
        while to_ask and len(ops) < max_items:
            remaining = max_items - len(ops)
            asked = [to_ask.popleft() for _ in range(min(len(to_ask), remaining))]
            share, extra = divmod(remaining, len(asked))
            counts = [share + (1 if i < extra else 0) for i in range(len(asked))]
            results = await asyncio.gather(
                *(self._claim_from(part, count) for part, count in zip(asked, counts, strict=True)),
                return_exceptions=True,
            )
            for part, count, result in zip(asked, counts, results, strict=True):
                if isinstance(result, BaseException):
                    # Other partitions' ops are claimed already: hand them out, and raise
                    # only if nothing came (this partition is tried again next round).
                    failure = result
                    continue
                got, mark = result
                # A partition asked again reclaims (XAUTOCLAIM) this round's own entries
                # if claim_idle passed since it gave them (a starved process, a call
                # retried through a failover): the same op must not come twice.
                # Only a partition asked again needs the check (the usual claim asks
                # each once), so only the ops of those are remembered.
                fresh = got
                if part.index in asked_again:
                    fresh = [op for op in got if op.receipt not in taken]
                ops.extend(fresh)
                if mark:
                    marks[part.index] = mark
                if len(fresh) == count:
                    to_ask.append(part)  # it may hold more
                    asked_again.add(part.index)
                    taken.update(op.receipt for op in fresh)
        if failure is not None and not ops:
            raise failure
        return ops, marks

    async def _claim_from(self, part: Partition, count: int) -> tuple[list[QueuedOp], bytes]:
        cursor = self._reclaim_cursor(part.index)
        with self._link.calls():
            result: list[Any] = await self._link.run(
                self._link.scripts.claim,
                [part.ops, part.flight, part.stream],
                [GROUP, self._consumer, count, RELEASED, int(self._claim_idle * 1000), cursor],
            )
        next_cursor, reclaimed, last, flat = result
        self.reclaimed += int(reclaimed)
        index, receipts = part.index, self._link.receipts
        entries = [entry.decode() for entry in flat[0::3]]
        ops: list[QueuedOp] = []
        for entry, key, packed in zip(entries, flat[1::3], flat[2::3], strict=True):
            receipt = f"{index}/{entry}"
            receipts[receipt] = (index, entry)
            ops.append(unpack(key.decode("utf-8", "surrogatepass"), packed, receipt))
        if entries:
            self._leases.hold(index, entries)  # first: they are ours from now on
        if cursor and self._scan_step(part.index, next_cursor.decode()):
            await self._reap(part)
        return ops, last

    def _reclaim_cursor(self, index: int) -> str:
        """The XAUTOCLAIM cursor to go on from; ``"0-0"`` starts a pass; ``""`` skips
        reclaiming this time (resting between passes)."""
        cursor = self._cursors[index]
        if cursor is not None:
            return cursor
        return "0-0" if time.monotonic() >= self._next_scan[index] else ""

    def _scan_step(self, index: int, next_cursor: str) -> bool:
        """Follow the cursor; True when a full pass just ended. ``""``: XAUTOCLAIM did
        not run (released ops filled the claim), so the pass stays where it was."""
        if not next_cursor:
            return False
        if next_cursor != "0-0":
            self._cursors[index] = next_cursor
            return False
        self._cursors[index] = None
        self._next_scan[index] = time.monotonic() + self._claim_idle / 2
        return True

    async def _reap(self, part: Partition) -> None:
        """Forget crashed consumers that hold nothing any more (best effort)."""
        idle_ms = int(max(self._claim_idle * 10, 60.0) * 1000)
        try:
            with self._link.calls():
                await self._link.scripts.reap(keys=[part.stream], args=[GROUP, idle_ms, ""])
        except WriteBehindError as exc:
            log.debug("could not forget idle consumers: %s", exc)

    async def leave(self) -> None:
        """Leave the group if this consumer holds nothing (best effort, on close)."""
        never = str(2**62)
        scripts = self._link.scripts
        try:
            with self._link.calls():
                await asyncio.gather(
                    *(
                        scripts.reap(keys=[p.stream], args=[GROUP, never, self._consumer])
                        for p in self._link.layout.partitions
                    )
                )
        except (WriteBehindError, AccessDenied) as exc:  # a harmless name is left behind
            log.debug("could not leave the consumer group: %s", exc)

    async def wait(self, marks: Mapping[int, bytes], deadline: float) -> None:
        """Block until an entry is added after ``marks`` (per partition), ``deadline``
        passes or the queue closes: ``XREAD BLOCK``, which consumes nothing."""
        link = self._link
        loop = asyncio.get_running_loop()
        seconds = min(deadline - loop.time(), link.block_seconds)
        if seconds < 0.001 or not marks:
            return
        block_ms = max(1, int(seconds * 1000))
        streams = {link.layout.partitions[i].stream: mark for i, mark in marks.items()}
        # Cluster: one slot per command, so one blocking read per partition.
        reads = [{s: mark} for s, mark in streams.items()] if link.cluster else [streams]
        waiting = [
            asyncio.ensure_future(link.client.xread(read, count=1, block=block_ms))  # type: ignore[arg-type]
            for read in reads
        ]
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait([*waiting, closing], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*waiting, closing):
                task.cancel()
            await asyncio.gather(*waiting, closing, return_exceptions=True)
        with link.calls():
            for task in done:
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    raise error


def _age_order(op: QueuedOp) -> tuple[int, int]:
    _, _, entry = op.receipt.partition("/")
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq)
