"""The Redis write queue: durable, shared by processes, survives crashes (G12).

Usage::

    queue = RedisWriteQueue.from_url("redis://127.0.0.1:6379/0", namespace="shop",
                                     name="profiles")        # owns its client
    queue = RedisWriteQueue.for_cache(cache, name="profiles")  # shares the cache's client
    profiles = WriteBehind(cache, store, key="profile:{}", type=Profile, queue=queue)

    # elsewhere, any number of processes:
    async with FlushWorker(queue, store, type=Profile) as worker:
        await worker.run()

The queue is split into ``partitions`` (8 by default) by a stable hash of the key;
each partition lives under its own hash tag, so on Redis Cluster the partitions are
spread over the nodes. Per partition (see :mod:`._partitions` for the keys):

- a hash of the latest op per key: it coalesces writes and answers ``peek``;
- a stream holding one entry per pending key, read through the consumer group
  ``flush``: the entry is what a flusher claims, holds and acknowledges;
- an in-flight marker per claimed key: one flight per key, across every flusher.

Each behaviour lives beside this class, with its prose: puts and peeks in
:mod:`._redis_ops` (one Lua call per put; concurrent puts share a write), claims in
:mod:`._redis_claim` (released ops first, then entries a crashed flusher held longer
than ``claim_idle``, then new ones; blocking on ``XREAD`` while there is nothing), lease
renewals in :mod:`._redis_holds`, ``complete`` and ``release`` in :mod:`._redis_end`,
dead letters in :mod:`._redis_dead`, and ``durability="replicated"`` (G16: each put
followed by ``WAIT``, else :class:`~cachewright.errors.NotReplicated`) in
:mod:`._redis_replication`.

Limits: ``max_pending`` bounds the keys pending in the whole queue; the put beyond
it waits for room, then raises ``QueueFull``. On a standalone or Sentinel server the
put script counts every partition (exact). On Cluster, partitions on different nodes
cannot share an atomic count, so each holds at most ``max_pending // partitions``
keys: the total never exceeds ``max_pending`` there either, but a put may be refused
earlier when keys crowd into one partition. Store
writes are at least once: after a crash, a reclaimed op is written again. The Redis
server must not evict the queue's keys (``maxmemory-policy noeviction`` or a
``volatile-*`` policy) and should persist them (AOF) for the queue to survive a
Redis restart.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from cachewright._redis.errors import QueueErrors
from cachewright._redis.lane import Lane
from cachewright._redis.url import Opened, close_client, open_client, parse_url
from cachewright.cache import Cache
from cachewright.cache.backends.base import SharesLane
from cachewright.cache.config import CacheSettings, default_settings
from cachewright.errors import ConfigurationError
from cachewright.patterns.write_behind.queues._names import is_dead_letter_id, queue_name_for
from cachewright.patterns.write_behind.queues._partitions import Layout, Partition
from cachewright.patterns.write_behind.queues._redis_claim import Claimer
from cachewright.patterns.write_behind.queues._redis_dead import DeadLetters
from cachewright.patterns.write_behind.queues._redis_end import Ender
from cachewright.patterns.write_behind.queues._redis_holds import Holds
from cachewright.patterns.write_behind.queues._redis_link import Link
from cachewright.patterns.write_behind.queues._redis_ops import Carrier, Ops
from cachewright.patterns.write_behind.queues._redis_replication import (
    Replication,
    replication_for,
)
from cachewright.patterns.write_behind.queues._redis_stats import queue_exists, queue_stats
from cachewright.patterns.write_behind.queues.base import (
    Batch,
    DeadLetter,
    OpKind,
    QueuedOp,
    QueueStats,
    ReplayResult,
)

__all__ = ["Partition", "RedisWriteQueue", "is_dead_letter_id", "queue_name_for"]


class RedisWriteQueue:
    """A ``WriteQueue`` in Redis (standalone, Sentinel or Cluster); see the module doc.

    ``RedisWriteQueue(client)`` uses a ``redis.asyncio`` client created with
    ``decode_responses=False`` and leaves it open on ``close()`` unless
    ``close_client=True``; :meth:`from_url` builds and owns one. Every process that
    shares a queue must use the same ``namespace``, ``name`` and ``partitions``.
    """

    __slots__ = (
        "_claim_idle",
        "_claimer",
        "_closed",
        "_closing",
        "_consumer",
        "_dead",
        "_ender",
        "_holds",
        "_leases",
        "_link",
        "_max_pending",
        "_opened",
        "_ops",
        "_owns_client",
        "_replication",
    )

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        namespace: str = "cw",
        name: str = "default",
        partitions: int = 8,
        max_pending: int = 100_000,
        claim_idle: float = 30.0,
        consumer: str | None = None,
        close_client: bool = False,
        durability: str = "fast",
        replicas: int = 1,
        replication_timeout: float | None = None,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        if claim_idle <= 0:
            raise ValueError(f"claim_idle must be positive, got {claim_idle}")
        self._link = Link(client, Layout(namespace, name, partitions))
        self._owns_client = close_client
        self._opened: Opened | None = None
        self._max_pending = max_pending
        self._claim_idle = claim_idle
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._closed = False
        self._closing = asyncio.Event()
        self._holds = Holds(self._link, self._consumer, claim_idle=claim_idle)
        self._leases = self._holds.leases
        self._claimer = Claimer(
            self._link,
            self._consumer,
            claim_idle=claim_idle,
            leases=self._leases,
            closing=self._closing,
        )
        self._ender = Ender(
            self._link, claim_idle=claim_idle, leases=self._leases, closing=self._closing
        )
        self._dead = DeadLetters(self._link)
        self._replication: Replication | None = replication_for(
            self._link, durability, replicas, replication_timeout
        )
        self._ops = Ops(
            self._link,
            max_pending=max_pending,
            closing=self._closing,
            replication=self._replication,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        settings: CacheSettings | None = None,
        namespace: str | None = None,
        **options: Any,
    ) -> RedisWriteQueue:
        """A queue on its own client for ``url`` (closed with the queue).

        ``options`` are the constructor's (``name``, ``partitions``, ``max_pending``,
        ``claim_idle``, ``consumer``, ``durability``, ``replicas``,
        ``replication_timeout``). The socket timeout is at least 5 s: blocking
        reads and batch scripts take longer than cache reads.
        """
        settings = settings or default_settings()
        target = parse_url(url)
        opened = open_client(target, settings, {"socket_timeout": max(settings.read_timeout, 5.0)})
        queue = cls(
            opened.client,
            namespace=namespace or settings.namespace,
            close_client=True,
            **options,
        )
        queue._opened = opened
        if isinstance(opened.client, Redis):
            queue._ops.use_lane(Lane(opened.client), owned=True)
        queue._link.errors = QueueErrors(target.password, where=target.redacted)
        queue._link.read_timeout = settings.read_timeout
        queue._link.write_timeout = settings.write_timeout
        return queue

    @classmethod
    def for_cache(cls, cache: Cache, *, name: str = "default", **options: Any) -> RedisWriteQueue:
        """A queue in the cache's Redis and namespace, sharing its client (the cache
        closes it). ``name`` tells apart the queues of one namespace."""
        client = cache.shared_client
        if client is None:
            raise ConfigurationError("RedisWriteQueue.for_cache needs a cache on Redis")
        queue = cls(client, namespace=cache.namespace, name=name, **options)
        if isinstance(cache.backend, SharesLane):  # puts travel with the cache's commands
            queue._ops.use_lane(cache.backend.shared_lane(), owned=False)
        queue._link.read_timeout = cache.settings.read_timeout
        queue._link.write_timeout = cache.settings.write_timeout
        return queue

    def __repr__(self) -> str:
        layout = self._link.layout
        return (
            f"RedisWriteQueue(namespace={layout.namespace!r}, name={layout.name!r},"
            f" partitions={len(layout.partitions)}, consumer={self._consumer!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def name(self) -> str:
        return self._link.layout.name

    @property
    def namespace(self) -> str:
        return self._link.layout.namespace

    @property
    def partitions(self) -> tuple[Partition, ...]:
        """The partitions and their Redis keys (for operators and tests)."""
        return self._link.layout.partitions

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client (shared with the cache for ``for_cache``)."""
        return self._link.client

    @property
    def consumer(self) -> str:
        """This queue object's consumer name in the group (host-pid-random)."""
        return self._consumer

    @property
    def max_pending(self) -> int:
        """The most keys pending in the whole queue (see the module doc for Cluster)."""
        return self._max_pending

    @property
    def claim_idle(self) -> float:
        return self._claim_idle

    @property
    def reclaimed(self) -> int:
        """Ops this queue object took over from flushers that went silent."""
        return self._claimer.reclaimed

    @property
    def held(self) -> int:
        """Ops this queue object has claimed and not yet ended."""
        return len(self._leases)

    # -- writers and readers -------------------------------------------------------

    # ``timeout`` is the WriteQueue protocol's: how long to wait for room, not a deadline.
    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109
    ) -> int:
        return await self._ops.put(key, op, value, timeout)

    async def put_carried(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109
        carrier: Carrier,
    ) -> int:
        """``put``, its first attempt on the lane handed to ``carrier`` (WriteBehind's
        drop of the cache entry), which sends it first in a request of its own: the put
        and what follows it leave in one write, and Redis runs the put first. A put
        the carrier did not send goes alone."""
        return await self._ops.put(key, op, value, timeout, carrier)

    async def peek(self, key: str) -> QueuedOp | None:
        return await self._ops.peek(key)

    async def peek_many(self, keys: Sequence[str]) -> Mapping[str, QueuedOp]:
        return await self._ops.peek_many(keys)

    # -- flushers ------------------------------------------------------------------

    async def claim(self, max_items: int, wait: float) -> Batch:
        """See the protocol. Oldest first within a partition; a batch takes a share of
        every partition that has ops, starting from a rotating one."""
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        await self._link.ready()
        return await self._claimer.batch(max_items, wait)

    async def confirm(self, batch: Batch, ops: Sequence[QueuedOp]) -> list[QueuedOp]:
        """See the protocol: one renewal per partition, which also says which entries
        are still this consumer's; lost ones stop being renewed."""
        await self._link.ready()
        return await self._holds.confirm(ops)

    async def complete(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        await self._link.ready()
        await self._ender.complete(ops)

    async def release(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        await self._link.ready()
        await self._ender.release(ops)

    async def dead_letter(self, batch: Batch, op: QueuedOp, error: BaseException) -> str:
        await self._link.ready()
        receipt = self._link.ended(op.receipt)
        if receipt is not None:
            self._leases.drop(receipt[0], (receipt[1],))
        return await self._dead.record(op, "" if receipt is None else receipt[1], error)

    # -- dead letters --------------------------------------------------------------

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        await self._link.ready()
        return await self._dead.read(limit)

    async def replay(self, ids: Iterable[str]) -> ReplayResult:
        await self._link.ready()
        return await self._dead.replay(ids)

    async def drop(self, ids: Iterable[str]) -> int:
        await self._link.ready()
        return await self._dead.drop(ids)

    # -- monitoring and lifecycle --------------------------------------------------

    async def exists(self) -> bool:
        """Whether this queue is in Redis: a process has used it (a put, a claim, its
        stats). Asking creates nothing, so a mistyped name can be told from an idle queue.
        """
        return await queue_exists(self._link)

    async def stats(self) -> QueueStats:
        await self._link.ready()
        return await queue_stats(self._link)

    async def close(self) -> None:
        """Stop accepting puts (waiting writers get ``QueueClosed``), stop renewing
        leases, leave the consumer group if holding nothing, and close the client if
        the queue owns it. Pending ops stay in Redis for the other flushers."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        await self._leases.stop()
        try:
            if not len(self._leases):
                await self._claimer.leave()
        finally:
            await self._link.close()
            await self._ops.close()
            if self._replication is not None:
                await self._replication.close()
            if self._owns_client:
                self._link.closed = True
                if self._opened is not None:
                    await self._opened.close()
                else:
                    await close_client(self._link.client)
