"""Monitoring the Redis write queue: whether it exists, and its counts.

Usage (what ``RedisWriteQueue.exists`` and ``stats`` do)::

    await queue_exists(link)    # False for a queue no process has used yet
    await queue_stats(link)     # QueueStats over every partition

``queue_stats`` is one Lua call per partition (``_STATS`` in :mod:`._redis_lua`); the
age of the oldest pending op is read from the first entries of each stream only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cachewright.patterns.write_behind.queues._partitions import Partition
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues.base import QueueStats

__all__ = ["queue_exists", "queue_stats"]

_STATS_SAMPLE = 16  # stream entries looked at for the oldest pending age


async def queue_exists(link: Link) -> bool:
    """Whether a process has used the queue; asking creates nothing."""
    meta = link.layout.partitions[0].meta
    with link.calls():
        return bool(await link.client.hexists(meta, "partitions"))


async def queue_stats(link: Link) -> QueueStats:
    scripts = link.scripts

    async def of(part: Partition) -> list[Any]:
        row: list[Any] = await scripts.stats(
            keys=[part.ops, part.flight, part.stream, part.meta, part.dead],
            args=[_STATS_SAMPLE],
        )
        return row

    with link.calls():
        rows = await asyncio.gather(*(of(part) for part in link.layout.partitions))
    oldest = min((int(row[4]) for row in rows if row[4]), default=None)
    return QueueStats(
        pending=sum(int(row[0]) for row in rows),
        in_flight=sum(int(row[1]) for row in rows),
        dead_letters=sum(int(row[2]) for row in rows),
        coalesced=sum(int(row[3]) for row in rows),
        oldest_pending_age=0.0 if oldest is None else max(0.0, time.time() - oldest / 1000),
    )
