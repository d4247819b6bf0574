"""Puts and peeks of the Redis write queue: one Lua call per put, hash reads per peek.

Usage (what ``RedisWriteQueue.put`` and ``peek`` do)::

    ops = Ops(link, limit=12_500, max_pending=100_000, closing=closing)
    version = await ops.put("42", SET, b"...", timeout=5.0)   # waits while full
    op = await ops.peek("42")                                 # the pending op, or None

A full partition makes ``put`` back off (short, growing waits) until there is room,
the timeout passes (``QueueFull``) or the queue closes (``QueueClosed``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from cachewright.errors import QueueClosed, QueueFull, WriteBehindError
from cachewright.patterns.write_behind.queues._partitions import (
    GROUP,
    Partition,
    op_code,
    unpack,
)
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues._redis_replication import Replication
from cachewright.patterns.write_behind.queues.base import DELETE, SET, OpKind, QueuedOp

if TYPE_CHECKING:
    from redis.typing import EncodableT

__all__ = ["Ops"]

_PUT_BACKOFF = (0.002, 0.25)  # first and longest wait while a partition is full


class Ops:
    __slots__ = ("_closing", "_limit", "_link", "_max_pending", "_replication")

    def __init__(
        self,
        link: Link,
        *,
        limit: int,
        max_pending: int,
        closing: asyncio.Event,
        replication: Replication | None = None,
    ) -> None:
        self._link = link
        self._replication = replication  # None: the fast default, no WAIT
        self._limit = limit
        self._max_pending = max_pending
        self._closing = closing  # set once by the queue's close()

    # ``timeout`` is the WriteQueue protocol's: how long to wait for room, not a deadline.
    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109
    ) -> int:
        if self._closing.is_set():
            raise QueueClosed("the write queue is closed")
        _check_op(op, value)
        with self._link.calls():
            async with asyncio.timeout(self._link.write_timeout):
                await self._link.ready()
        part = self._link.layout.partition_of(key)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        delay = _PUT_BACKOFF[0]
        while True:
            version = await self._put_once(part, key, op, value)
            if version >= 0:
                return version
            # Full: back off (short, growing waits) until room or the timeout.
            left = math.inf if deadline is None else deadline - loop.time()
            if left <= 0:
                raise QueueFull(
                    f"write queue full ({self._limit} keys pending in partition"
                    f" {part.index}, {self._max_pending} in all) for {timeout}s"
                )
            await self._pause(min(delay, left))
            delay = min(delay * 2, _PUT_BACKOFF[1])
            if self._closing.is_set():
                raise QueueClosed("the write queue closed while waiting for room")

    async def _put_once(self, part: Partition, key: str, op: OpKind, value: bytes | None) -> int:
        """The new version, or -1 if the partition is full."""
        now_ms = int(time.time() * 1000)
        keys = [part.ops, part.flight, part.stream, part.meta, part.dead_latest]
        args: list[EncodableT] = [key, op_code(op), value or b"", now_ms, self._limit, GROUP]
        try:
            with self._link.calls():
                if self._replication is not None:
                    # The deadline of a put, plus the WAIT's own bound.
                    deadline = self._link.write_timeout
                    if deadline is not None:
                        deadline += self._replication.timeout
                    async with asyncio.timeout(deadline):
                        return await self._replication.put(part, keys, args)
                async with asyncio.timeout(self._link.write_timeout):
                    version = await self._link.scripts.put(keys=keys, args=args)
        except WriteBehindError:
            if self._closing.is_set():  # closed under our feet: say so, not "unavailable"
                raise QueueClosed("the write queue closed during a put") from None
            raise
        return int(version)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the queue closes."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            pass

    async def peek(self, key: str) -> QueuedOp | None:
        await self._link.ready()
        part = self._link.layout.partition_of(key)
        with self._link.calls():
            async with asyncio.timeout(self._link.read_timeout):
                packed = await cast(Awaitable[bytes | None], self._link.client.hget(part.ops, key))
        return None if packed is None else unpack(key, packed)

    async def peek_many(self, keys: Sequence[str]) -> Mapping[str, QueuedOp]:
        await self._link.ready()
        by_partition: dict[Partition, list[str]] = defaultdict(list)
        for key in dict.fromkeys(keys):
            by_partition[self._link.layout.partition_of(key)].append(key)
        client = self._link.client

        async def load(part: Partition, names: list[str]) -> list[bytes | None]:
            return await cast(Awaitable[list[bytes | None]], client.hmget(part.ops, names))

        with self._link.calls():
            async with asyncio.timeout(self._link.read_timeout):
                found = await asyncio.gather(*(load(p, names) for p, names in by_partition.items()))
        return {
            key: unpack(key, packed)
            for names, values in zip(by_partition.values(), found, strict=True)
            for key, packed in zip(names, values, strict=True)
            if packed is not None
        }


def _check_op(op: OpKind, value: bytes | None) -> None:
    if op == SET:
        if not isinstance(value, bytes):
            raise ValueError("a set needs a value (bytes)")
    elif op == DELETE:
        if value is not None:
            raise ValueError("a delete carries no value")
    else:
        raise ValueError(f"unknown op {op!r}")
