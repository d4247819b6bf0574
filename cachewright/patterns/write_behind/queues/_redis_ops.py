"""Puts and peeks of the Redis write queue: one Lua call per put, hash reads per peek.

Usage (what ``RedisWriteQueue.put`` and ``peek`` do)::

    ops = Ops(link, max_pending=100_000, closing=closing)
    version = await ops.put("42", SET, b"...", timeout=5.0)   # waits while full
    op = await ops.peek("42")                                 # the pending op, or None

``max_pending`` bounds the keys pending in the whole queue. On a standalone (or
Sentinel) server the put script counts every partition's pending keys, atomically, so
the bound is exact. On Cluster the partitions live on different nodes and no script
can count them together: each partition then holds at most
``max_pending // partitions`` keys, so the total still never exceeds ``max_pending``,
but a put may be refused a little earlier when keys crowd into one partition.

A full queue makes ``put`` back off (short, growing waits) until there is room, the
timeout passes (``QueueFull``) or the queue closes (``QueueClosed``). A key already
pending is always accepted: its write coalesces and takes no room.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from cachewright._redis.ahead import Ahead
from cachewright._redis.lane import Lane
from cachewright.errors import ConfigurationError, QueueClosed, QueueFull, WriteBehindError
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

__all__ = ["Carrier", "Ops"]

#: sends a put (an ``Ahead`` on the queue's lane) first in a request of its own
Carrier = Callable[[Ahead], Awaitable[None]]

_PUT_BACKOFF = (0.002, 0.25)  # first and longest wait while a partition is full


class Ops:
    __slots__ = (
        "_all_ops",
        "_closing",
        "_keys",
        "_lane",
        "_limit",
        "_link",
        "_max_pending",
        "_owns_lane",
        "_queue_limit",
        "_replication",
    )

    def __init__(
        self,
        link: Link,
        *,
        max_pending: int,
        closing: asyncio.Event,
        replication: Replication | None = None,
    ) -> None:
        self._link = link
        self._replication = replication  # None: the fast default, no WAIT
        self._max_pending = max_pending
        partitions = link.layout.partitions
        if link.cluster:
            self._limit = max_pending // len(partitions)
            if self._limit < 1:
                raise ConfigurationError(
                    f"max_pending ({max_pending}) must be at least the number of partitions"
                    f" ({len(partitions)}) on Redis Cluster, where each partition holds"
                    " its share"
                )
            self._queue_limit = 0
            self._all_ops: list[str] = []
        else:
            self._limit = max_pending
            self._queue_limit = max_pending
            self._all_ops = [part.ops for part in partitions] if len(partitions) > 1 else []
        self._closing = closing  # set once by the queue's close()
        # The put script's keys, per partition (the same on every put).
        self._keys = {
            p.index: [p.ops, p.flight, p.stream, p.meta, p.dead_latest, *self._all_ops]
            for p in partitions
        }
        self._lane: Lane | None = None
        self._owns_lane = False

    def use_lane(self, lane: Lane | None, *, owned: bool) -> None:
        """Send fast puts through ``lane``: a lone put is one EVALSHA on its kept
        connection, concurrent puts leave in one write (see Lane). Each put is still
        acknowledged by its own reply, once Redis ran it. Cluster and replicated puts
        keep redis-py's path. ``owned``: closed by :meth:`close`."""
        if lane is not None and isinstance(self._link.client, Redis) and not self._replication:
            self._lane, self._owns_lane = lane, owned

    async def close(self) -> None:
        """Close the lane if it is this queue's (waits for the put in flight on it)."""
        if self._lane is not None and self._owns_lane:
            await self._lane.close()

    @property
    def partition_limit(self) -> int:
        """The most keys one partition may hold (``max_pending`` but on Cluster)."""
        return self._limit

    # ``timeout`` is the WriteQueue protocol's: how long to wait for room, not a deadline.
    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109
        carrier: Carrier | None = None,
    ) -> int:
        """The new version. ``carrier``: the first attempt on the lane is handed to it
        (see ``Ahead``); if it did not send it, the put goes alone."""
        if self._closing.is_set():
            raise QueueClosed("the write queue is closed")
        _check_op(op, value)
        if not self._link.is_ready:  # no timer per put once ready (a put checks calls())
            with self._link.calls():
                async with asyncio.timeout(self._link.write_timeout):
                    await self._link.ready()
        part = self._link.layout.partition_of(key)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        delay = _PUT_BACKOFF[0]
        while True:
            version = await self._put_once(part, key, op, value, carrier)
            carrier = None  # a retry goes alone
            if version >= 0:
                return version
            # Full: back off (short, growing waits) until room or the timeout.
            left = math.inf if deadline is None else deadline - loop.time()
            if left <= 0:
                where = (
                    f"{self._limit} keys pending in partition {part.index}"
                    if self._link.cluster
                    else f"{self._max_pending} keys pending"
                )
                raise QueueFull(f"write queue full ({where}) for {timeout}s")
            await self._pause(min(delay, left))
            delay = min(delay * 2, _PUT_BACKOFF[1])
            if self._closing.is_set():
                raise QueueClosed("the write queue closed while waiting for room")

    async def _put_once(
        self, part: Partition, key: str, op: OpKind, value: bytes | None, carrier: Carrier | None
    ) -> int:
        """The new version, or -1 if the partition is full."""
        now_ms = int(time.time() * 1000)
        keys = self._keys[part.index]
        args: list[EncodableT] = [
            key,
            op_code(op),
            value or b"",
            now_ms,
            self._limit,
            GROUP,
            self._queue_limit if self._all_ops else 0,
        ]
        try:
            with self._link.calls():
                if self._replication is not None:
                    # The deadline of a put, plus the WAIT's own bound.
                    deadline = self._link.write_timeout
                    if deadline is not None:
                        deadline += self._replication.timeout
                    async with asyncio.timeout(deadline):
                        return await self._replication.put(part, keys, args)
                # The deadline on the link's one timer: no loop timer armed per put.
                limit = self._link.write_timeout
                put: Callable[..., Awaitable[Any]] = self._script_put
                put_args: tuple[Any, ...] = (keys, args)
                if self._lane is not None:
                    put, put_args = self._lane_put, (self._lane, keys, args, carrier)
                if limit is None:
                    version = await put(*put_args)
                else:
                    version = await self._link.deadlines.run(limit, put, put_args)
        except WriteBehindError:
            if self._closing.is_set():  # closed under our feet: say so, not "unavailable"
                raise QueueClosed("the write queue closed during a put") from None
            raise
        return int(version)

    async def _script_put(self, keys: list[str], args: list[EncodableT]) -> Any:
        return await self._link.scripts.put(keys=keys, args=args)

    async def _lane_put(
        self, lane: Lane, keys: list[str], args: list[EncodableT], carrier: Carrier | None
    ) -> Any:
        script = self._link.scripts.put
        command: tuple[EncodableT, ...] = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            if carrier is not None:
                ahead = Ahead(lane, command)
                await carrier(ahead)
                if ahead.sent:  # its reply, or the error it met
                    return ahead.reply()
            return await lane.command(*command)
        except NoScriptError:  # not loaded (a restarted server): nothing ran; load, run
            return await script(keys=keys, args=args)

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
