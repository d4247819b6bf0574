"""Ending claimed ops of the Redis write queue: ``complete`` after the store write,
``release`` to hand them back unwritten.

Usage (what ``RedisWriteQueue.complete`` and ``release`` do)::

    ender = Ender(link, claim_idle=30.0, leases=leases, closing=event)
    await ender.complete(ops)   # written: gone, unless a newer op of the key came
    await ender.release(ops)    # not written: claimable again, in their place

Each partition is one Lua call (``COMPLETE`` and ``RELEASE`` in
:mod:`._redis_lua_flight`), its ops packed into a few arguments (``frame_keys``,
``frame``). ``complete`` removes each op only if its version is unchanged, else gives
the key a fresh entry, then acknowledges (``XACK``) the entries and only then trims
the stream below its oldest entry still unacknowledged or undelivered (``XTRIM
MINID``): nothing unacknowledged is ever trimmed. ``release``
leaves the entry unacknowledged under the pseudo-consumer ``RELEASED``, so the next
claim takes it first; a newer op of the key keeps the age of the unwritten one.

While a batch is held, its entries' idle time is reset every ``claim_idle / 3``
seconds (:mod:`._redis_holds`), so only a flusher that stopped loses them;
``claim_idle`` must exceed the longest pause a live flusher can take. A flusher paused
longer (a frozen VM, a process starved of CPU) loses its batch to another one, and
both may write it: when the paused one completes after its write, a newer pending op
of the key is queued again so that it is written after the paused one's older value;
only if the other flusher completed first can the older value stay in the store
until the key's next write (fencing that needs the store's help).

Both calls are idempotent, so a partition whose call fails on an unreachable server
is tried again until Redis answers (:mod:`._redis_answered`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from cachewright.patterns.write_behind.queues._leases import Leases
from cachewright.patterns.write_behind.queues._partitions import (
    GROUP,
    frame,
    frame_keys,
)
from cachewright.patterns.write_behind.queues._redis_answered import until_answered
from cachewright.patterns.write_behind.queues._redis_claim import RELEASED
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues.base import QueuedOp

__all__ = ["Ender"]


class Ender:
    """The ending side of one queue object: its held entries stop being renewed."""

    __slots__ = ("_claim_idle", "_closing", "_leases", "_link")

    def __init__(
        self, link: Link, *, claim_idle: float, leases: Leases, closing: asyncio.Event
    ) -> None:
        self._link = link
        self._claim_idle = claim_idle
        self._leases = leases
        self._closing = closing

    async def complete(self, ops: Iterable[QueuedOp]) -> None:
        # Per partition: keys, versions, entries (three lists, sent as four arguments).
        by_partition: dict[int, tuple[list[str], list[str], list[str]]] = {}
        for op in ops:
            receipt = self._link.ended(op.receipt)
            if receipt is None:
                continue  # not claimed from this queue: nothing to end
            index, entry = receipt
            lists = by_partition.get(index)
            if lists is None:
                lists = by_partition[index] = ([], [], [])
            lists[0].append(op.key)
            lists[1].append(str(op.version))
            lists[2].append(entry)
        for index, (_, _, entries) in by_partition.items():
            # Unheld even if the call fails: then the entries age and are taken over.
            self._leases.drop(index, entries)

        def args(keys: list[str], versions: list[str], entries: list[str]) -> list[Any]:
            sizes, text = frame_keys(keys)
            return [GROUP, sizes, text, ",".join(versions), ",".join(entries)]

        script = self._link.scripts.complete
        await self._each(script, {index: args(*lists) for index, lists in by_partition.items()})

    async def release(self, ops: Iterable[QueuedOp]) -> None:
        by_partition: dict[int, list[Any]] = defaultdict(list)
        for op in ops:
            receipt = self._link.ended(op.receipt)
            if receipt is None:
                continue  # not claimed from this queue: nothing to end
            index, entry = receipt
            # Unheld even if the call fails: then the entry ages and is taken over.
            self._leases.drop(index, (entry,))
            by_partition[index].extend((op.key, op.version, entry, round(op.since * 1000)))
        script = self._link.scripts.release
        await self._each(
            script,
            {index: [GROUP, RELEASED, frame(items)] for index, items in by_partition.items()},
        )

    async def _each(self, script: Any, calls: dict[int, list[Any]]) -> None:
        """One script call per partition, each made again until Redis answers."""
        parts = self._link.layout.partitions

        async def end(index: int, args: list[Any]) -> None:
            part = parts[index]
            keys = [part.ops, part.flight, part.stream, part.meta]  # release ignores meta

            async def once() -> None:
                with self._link.calls():
                    await self._link.run(script, keys, args)

            # Idempotent: made again once Redis answers (a failover), within claim_idle.
            await until_answered(once, within=self._claim_idle, closing=self._closing)

        await asyncio.gather(*(end(index, args) for index, args in calls.items()))
