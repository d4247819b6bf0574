"""Dead letters of the Redis write queue: a stream per partition.

Usage (what ``RedisWriteQueue`` does)::

    dead = DeadLetters(link)
    dead_id = await dead.record(op, entry, error)  # "3/1700000000000-0"; ends the flight
    await dead.read(100)                           # oldest first, across partitions
    await dead.replay(ids); await dead.drop(ids)

A dead letter lives in its key's partition, so recording it and ending the op's
flight are one atomic Lua call. Ids are ``"<partition>/<stream entry id>"``. Each
entry keeps the key, op, value, version, error and time; per key, the partition
remembers the latest version accepted while it has dead letters, so ``replay`` can
tell a dead letter that a newer write superseded.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping
from typing import cast

from cachewright._redact import redact
from cachewright.patterns.write_behind.queues._partitions import (
    GROUP,
    Partition,
    op_code,
    parse_receipt,
)
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues.base import (
    DELETE,
    SET,
    DeadLetter,
    OpKind,
    QueuedOp,
    ReplayResult,
)

__all__ = ["DeadLetters"]

_MAX_ERROR = 2000  # characters of an error message kept

Entries = list[tuple[bytes, dict[bytes, bytes]]]


class DeadLetters:
    """The dead letters of one queue (all partitions)."""

    __slots__ = ("_link",)

    def __init__(self, link: Link) -> None:
        self._link = link

    async def record(self, op: QueuedOp, entry: str, error: BaseException) -> str:
        """Keep ``op`` with ``error``; end its flight if ``entry`` still holds it."""
        part = self._link.layout.partition_of(op.key)
        message = redact(f"{type(error).__name__}: {error}")[:_MAX_ERROR]
        with self._link.calls():
            dead_id: bytes = await self._link.scripts.dead_letter(
                keys=[
                    part.ops,
                    part.flight,
                    part.stream,
                    part.dead,
                    part.dead_latest,
                    part.dead_count,
                ],
                args=[
                    GROUP,
                    op.key,
                    op.version,
                    entry,
                    op_code(op.op),
                    op.value or b"",
                    message,
                    int(time.time() * 1000),
                ],
            )
        return f"{part.index}/{dead_id.decode()}"

    async def read(self, limit: int) -> list[DeadLetter]:
        if limit < 1:
            return []
        parts = self._link.layout.partitions
        client = self._link.client

        async def entries_of(part: Partition) -> Entries:
            return await cast(Awaitable[Entries], client.xrange(part.dead, count=limit))

        with self._link.calls():
            found = await asyncio.gather(*(entries_of(part) for part in parts))
        letters = [
            _decode(part.index, entry.decode(), fields)
            for part, entries in zip(parts, found, strict=True)
            for entry, fields in entries
        ]
        letters.sort(key=lambda dead: (dead.failed_at, dead.id))
        return letters[:limit]

    async def replay(self, ids: Iterable[str]) -> ReplayResult:
        ids = list(dict.fromkeys(ids))
        by_partition = self._by_partition(ids)
        parts = self._link.layout.partitions
        now_ms = int(time.time() * 1000)

        async def replay_in(index: int, entries: list[str]) -> list[bytes]:
            p = parts[index]
            codes: list[bytes] = await self._link.scripts.replay(
                keys=[p.ops, p.flight, p.stream, p.meta, p.dead, p.dead_latest, p.dead_count],
                args=[GROUP, now_ms, *entries],
            )
            return codes

        with self._link.calls():
            codes = await asyncio.gather(*(replay_in(i, e) for i, e in by_partition.items()))
        outcome = {
            f"{index}/{entry}": code
            for (index, entries), results in zip(by_partition.items(), codes, strict=True)
            for entry, code in zip(entries, results, strict=True)
        }
        return ReplayResult(
            requeued=tuple(i for i in ids if outcome.get(i) == b"r"),
            superseded=tuple(i for i in ids if outcome.get(i) == b"s"),
            missing=tuple(i for i in ids if outcome.get(i, b"m") == b"m"),
        )

    async def drop(self, ids: Iterable[str]) -> int:
        by_partition = self._by_partition(dict.fromkeys(ids))
        parts = self._link.layout.partitions

        async def drop_in(index: int, entries: list[str]) -> int:
            p = parts[index]
            dropped = await self._link.scripts.drop(
                keys=[p.dead, p.dead_latest, p.dead_count], args=entries
            )
            return int(dropped)

        with self._link.calls():
            counts = await asyncio.gather(*(drop_in(i, e) for i, e in by_partition.items()))
        return sum(counts)

    def _by_partition(self, ids: Iterable[str]) -> dict[int, list[str]]:
        """Stream entry ids per partition; ids that are not ours are left out (missing)."""
        by_partition: dict[int, list[str]] = defaultdict(list)
        for dead_id in ids:
            parsed = parse_receipt(dead_id)
            if parsed is not None and parsed[0] < len(self._link.layout.partitions):
                by_partition[parsed[0]].append(parsed[1])
        return by_partition


def _decode(index: int, entry: str, fields: Mapping[bytes, bytes]) -> DeadLetter:
    op: OpKind = SET if fields[b"o"] == b"s" else DELETE
    return DeadLetter(
        id=f"{index}/{entry}",
        key=fields[b"k"].decode("utf-8", "surrogatepass"),
        op=op,
        value=fields[b"v"] if op == SET else None,
        version=int(fields[b"n"]),
        error=fields[b"e"].decode("utf-8", "replace"),
        failed_at=int(fields[b"t"]) / 1000,
    )
