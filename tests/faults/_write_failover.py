"""What the write-behind failover tests share: a writer that records what was
acknowledged and what was raised, the comparison with the store, and helpers.

Usage::

    writer = Writer(behind)                   # 16 tasks of WriteBehind.set
    runner = asyncio.create_task(writer.run())
    ...                                       # kill a primary, wait for the promotion
    writer.stop.set(); await runner
    await drained(queue)
    loss = compare(dict(await store.get_many(range(KEYS))), writer)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis

from cachewright import Cache, WriteBehind
from cachewright.errors import CachewrightError, QueueUnavailable
from cachewright.patterns.queues.redis import RedisWriteQueue
from cachewright.patterns.worker import FlushWorker
from cachewright.patterns.write_behind.queues._partitions import GROUP
from cachewright.stores import SQLStore
from tests.patterns._crash_scripts.harness import Setup, progressing

__all__ = [
    "KEYS",
    "NAME",
    "PARTITIONS",
    "TASKS",
    "Loss",
    "RawErrorEscaped",
    "Writer",
    "compare",
    "drained",
    "fill_replication_stream",
    "grown",
    "setup_for",
    "tried",
    "two_workers",
]

KEYS = 320
TASKS = 16
NAME = "fo"
PARTITIONS = 8


class RawErrorEscaped(Exception):
    """A non-cachewright exception reached a ``WriteBehind.set`` caller."""


@dataclass
class Writer:
    """16 tasks of ``WriteBehind.set``; what was acknowledged, and what was raised."""

    behind: WriteBehind[int, int]
    acks: dict[int, int] = field(default_factory=dict)
    failed: dict[int, set[int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)
    total: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        await asyncio.gather(*(self._task(t) for t in range(TASKS)))

    async def _task(self, task: int) -> None:
        # Task t writes the keys k with k % TASKS == t, in order: values of a key grow.
        i = task
        while not self.stop.is_set():
            key = i % KEYS
            try:
                await self.behind.set(key, i)
            except CachewrightError as exc:
                self._count(type(exc).__name__)
                self.failed.setdefault(key, set()).add(i)
                await asyncio.sleep(0.01)
            except Exception as exc:  # must never reach a caller: recorded
                self._count(f"raw:{type(exc).__name__}")
                self.raw.append(f"{type(exc).__name__}: {exc}")
                self.failed.setdefault(key, set()).add(i)
                await asyncio.sleep(0.01)
            else:
                self.acks[key] = i
                self.total += 1
            i += TASKS

    def _count(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1

    def acked(self) -> int:
        return len(self.acks)

    @property
    def attempts(self) -> int:
        """Writes acknowledged or refused so far."""
        return self.total + sum(self.errors.values())


@dataclass
class Loss:
    missing: int
    older: int
    failed_but_stored: int

    @property
    def lost(self) -> int:
        return self.missing + self.older


def compare(rows: dict[int, int], writer: Writer) -> Loss:
    missing = sum(1 for k in writer.acks if k not in rows)
    older = sum(1 for k, v in writer.acks.items() if k in rows and rows[k] < v)
    failed_but_stored = sum(
        1 for k, values in writer.failed.items() if k in rows and rows[k] in values
    )
    return Loss(missing, older, failed_but_stored)


async def drained(queue: RedisWriteQueue, stall: float = 30.0) -> None:
    """Wait until nothing is pending; fail if the pending count stops going down for
    ``stall`` seconds, with the state of every partition in the error (a failure that
    explains itself)."""
    fewest: list[int] = []

    async def empty() -> bool:
        try:
            stats = await queue.stats()
        except QueueUnavailable:
            return False  # a primary being replaced
        if not fewest or stats.pending < fewest[0]:
            fewest[:] = [stats.pending]
        return stats.pending == 0

    async def least_pending() -> int | None:
        return fewest[0] if fewest else None

    try:
        await progressing(empty, least_pending, what=f"draining {queue!r}", stall=stall)
    except TimeoutError as exc:
        exc.add_note(await queue_state(queue))
        raise


async def queue_state(queue: RedisWriteQueue) -> str:
    """Each partition's ops, flight entries and stream group pending entries."""
    try:
        lines = [repr(await queue.stats())]
    except Exception as exc:  # the dump must not hide the timeout
        lines = [f"stats: {type(exc).__name__}: {exc}"]
    client = queue.client
    for part in queue.partitions:
        try:
            ops = await client.hgetall(part.ops)
            flight = await client.hgetall(part.flight)
            length = await client.xlen(part.stream)
            pending = await client.xpending(part.stream, GROUP)
            groups = await client.xinfo_groups(part.stream)
        except Exception as exc:  # the dump must not hide the timeout
            lines.append(f"{part.tag}: {type(exc).__name__}: {exc}")
            continue
        lines.append(
            f"{part.tag}: ops {len(ops)} {dict(list(ops.items())[:3])}"
            f" flight {len(flight)} {dict(list(flight.items())[:3])}"
            f" stream len {length} pending {pending} groups {groups}"
        )
    return "\n".join(lines)


def setup_for(url: str, namespace: str, pg_url: str, table: str) -> Setup:
    return Setup(
        url, namespace, pg_url, table, name=NAME, partitions=PARTITIONS, keys=KEYS, batch=100
    )


FILLER = 16 * 1024 * 1024


async def fill_replication_stream(port: int, tagged: str) -> None:
    """Write 32 MB to the primary at ``port`` (in ``tagged``'s hash slot): more than
    the kernel's socket buffers hold, so what follows in the replication stream cannot
    reach a frozen replica before the primary dies."""
    async with Redis(host="127.0.0.1", port=port) as direct:
        for i in range(2):
            await direct.set(f"{tagged}:filler{i}", b"x" * FILLER)


async def grown(writer: Writer, at_least: int) -> bool:
    """At least ``at_least`` more writes acknowledged (a poll probe)."""
    return writer.total >= at_least


async def tried(writer: Writer, at_least: int) -> bool:
    """At least ``at_least`` writes acknowledged or refused (a poll probe)."""
    return writer.attempts >= at_least


@contextlib.asynccontextmanager
async def two_workers(
    cache: Cache, store: SQLStore[int, int]
) -> AsyncIterator[tuple[FlushWorker[int, int], FlushWorker[int, int]]]:
    """Two flush workers in this process, each on its own queue object (its own
    consumer name) over the cache's client; stopped gracefully on the way out."""
    queues = [
        RedisWriteQueue.for_cache(cache, name=NAME, partitions=PARTITIONS, claim_idle=1.0)
        for _ in range(2)
    ]
    async with (
        FlushWorker(queues[0], store, type=int, key_type=int, batch_size=100) as first,
        FlushWorker(queues[1], store, type=int, key_type=int, batch_size=100) as second,
    ):
        yield first, second
    for queue in queues:
        await queue.close()
