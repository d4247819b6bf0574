"""Holding claimed entries of the Redis write queue: lease renewals and the check a
flusher makes right before it writes.

Usage (what ``RedisWriteQueue`` does)::

    holds = Holds(link, consumer, claim_idle=30.0)
    holds.leases.hold(3, ["1700000000000-0"])        # after a claim: renewed from now on
    kept = await holds.confirm(batch.ops)             # before the store write

A renewal (``TOUCH``) resets the idle time of the entries this consumer still owns
and says which those are. An entry it no longer owns was taken over by another
flusher after this one paused past ``claim_idle``: ``confirm`` leaves it out, so the
paused flusher does not write over what the other one may have written already, and
stops renewing it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from cachewright.patterns.write_behind.queues._leases import Leases
from cachewright.patterns.write_behind.queues._partitions import GROUP
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues.base import QueuedOp

__all__ = ["Holds"]

_CHUNK = 1000  # entries per renewal call
_FRESH = 0.25  # at most: an entry idle less is not renewed (see renew)


class Holds:
    """The entries one queue object holds, renewed every ``claim_idle / 3`` seconds."""

    __slots__ = ("_consumer", "_fresh_ms", "_link", "leases")

    def __init__(self, link: Link, consumer: str, *, claim_idle: float) -> None:
        self._link = link
        self._consumer = consumer
        # Resetting the idle time of an entry idle less than this gains less than it:
        # nothing next to claim_idle. Those are only checked (a batch confirmed right
        # after its claim, the usual case, costs no XCLAIM).
        self._fresh_ms = int(min(_FRESH, claim_idle / 8) * 1000)
        self.leases = Leases(self.renew, interval=claim_idle / 3)

    async def renew(self, index: int, entries: list[str]) -> list[str]:
        """Reset the idle time of ``entries`` of partition ``index`` that this consumer
        still owns (those idle more than a moment); returns those it does not own."""
        part = self._link.layout.partitions[index]
        lost: list[str] = []
        for start in range(0, len(entries), _CHUNK):
            with self._link.calls():
                found: list[bytes] = await self._link.run(
                    self._link.scripts.touch,
                    [part.stream],
                    [
                        GROUP,
                        self._consumer,
                        self._fresh_ms,
                        ",".join(entries[start : start + _CHUNK]),
                    ],
                )
            lost.extend(entry.decode() for entry in found)
        return lost

    async def confirm(self, ops: Sequence[QueuedOp]) -> list[QueuedOp]:
        """Renew ``ops`` and return those still held, in order (see the module doc)."""
        entries: dict[int, list[str]] = defaultdict(list)
        find = self._link.receipt
        receipts = [find(op.receipt) for op in ops]
        for receipt in receipts:
            if receipt is not None:
                entries[receipt[0]].append(receipt[1])
        found = await asyncio.gather(
            *(self.renew(index, names) for index, names in entries.items())
        )
        lost = {
            (index, entry) for index, gone in zip(entries, found, strict=True) for entry in gone
        }
        if not lost and None not in receipts:
            return list(ops)  # the usual case: all still held
        for index, entry in lost:
            self.leases.drop(index, (entry,))
            self._link.receipts.pop(f"{index}/{entry}", None)
        return [
            op
            for op, receipt in zip(ops, receipts, strict=True)
            if receipt is not None and receipt not in lost
        ]
