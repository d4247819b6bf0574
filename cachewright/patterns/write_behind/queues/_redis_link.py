"""What every part of the Redis write queue shares: the client, the scripts, the key
layout and the error mapping.

Usage::

    link = Link(client, Layout("shop", "profiles", 8))
    await link.ready()                     # checks the server, learns a cluster's slots
    with link.calls():                     # redis-py errors out as QueueUnavailable/...
        await link.scripts.put(keys=[...], args=[...])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from cachewright._deadlines import Deadlines
from cachewright._redis.capabilities import QUEUE_COMMANDS, require
from cachewright._redis.errors import QueueErrors
from cachewright._redis.lane import Lane
from cachewright.errors import ConfigurationError, QueueClosed
from cachewright.patterns.write_behind.queues._partitions import Layout, parse_receipt
from cachewright.patterns.write_behind.queues._redis_lua import Scripts

__all__ = ["Link"]


class Link:
    """The queue's way to Redis (one per queue object)."""

    __slots__ = (
        "_lane",
        "_lane_closed",
        "_ready",
        "_refused",
        "block_seconds",
        "client",
        "closed",
        "cluster",
        "deadlines",
        "errors",
        "layout",
        "read_timeout",
        "receipts",
        "scripts",
        "socket_timeout",
        "write_timeout",
    )

    def __init__(self, client: Redis | RedisCluster, layout: Layout) -> None:
        if isinstance(client, RedisCluster):
            kwargs: Mapping[str, Any] = client.get_connection_kwargs()
        elif isinstance(client, Redis):
            kwargs = client.connection_pool.connection_kwargs
        else:
            raise ConfigurationError("RedisWriteQueue needs a redis.asyncio Redis or RedisCluster")
        if kwargs.get("decode_responses"):
            raise ConfigurationError("RedisWriteQueue needs a client with decode_responses=False")
        self.client = client
        self.cluster = isinstance(client, RedisCluster)
        self.layout = layout
        self.scripts = Scripts(client)
        #: receipt -> (partition, entry) of the ops this queue object claimed and has
        #: not ended: read back by confirm and the ends without parsing it again
        self.receipts: dict[str, tuple[int, str]] = {}
        self._lane: Lane | None = None  # the flight scripts' kept connection (see run)
        self._lane_closed = False
        self.errors = QueueErrors(kwargs.get("password"), where=_label(client, kwargs))
        #: set once an owned client is closed: calls raise QueueClosed from then on
        self.closed = False
        # A blocking XREAD must end before the client's socket timeout fires.
        timeout = kwargs.get("socket_timeout")
        self.socket_timeout: float | None = timeout
        self.block_seconds = 2.0 if timeout is None else max(0.01, min(2.0, timeout / 2))
        self._ready = False
        #: deadlines of a whole put (write) and peek (read), from pool checkout to the
        #: reply; None leaves only the client's socket timeout, per round trip
        self.read_timeout: float | None = None
        self.write_timeout: float | None = None
        #: the puts' deadlines, on one timer (no loop timer armed per put)
        self.deadlines = Deadlines()
        # A server that cannot run the queue (too old, a command renamed away) is
        # told once; later calls raise the same error without asking again.
        self._refused: ConfigurationError | None = None

    def calls(self) -> QueueErrors:
        """The error mapping around Redis calls; refuses them once an owned client is
        closed (a shared client stays usable: its owner closes it)."""
        if self.closed:
            raise QueueClosed("the write queue is closed (its Redis client too)")
        return self.errors

    async def run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """``script`` on ``keys`` and ``args``: on a standalone client through a lane of
        the queue's own (a kept connection; the calls of a batch's partitions leave in
        one write instead of one pool checkout and round trip each), else as redis-py
        runs it. A script the server forgot (NOSCRIPT: nothing ran) is loaded and run."""
        lane = self._lane
        if lane is None:
            if self.cluster or self._lane_closed or not isinstance(self.client, Redis):
                return await script(keys=keys, args=args)
            lane = self._lane = Lane(self.client)
        try:
            return await lane.command("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await script(keys=keys, args=args)

    async def close(self) -> None:
        """Close the flight scripts' lane (waits for the call in flight on it)."""
        lane, self._lane = self._lane, None
        self._lane_closed = True  # later calls (a shared client) go through the pool
        if lane is not None:
            await lane.close()

    def receipt(self, receipt: str) -> tuple[int, str] | None:
        """``(partition, entry)`` of a receipt; ``None`` if not this queue's kind."""
        return self.receipts.get(receipt) or parse_receipt(receipt)

    def ended(self, receipt: str) -> tuple[int, str] | None:
        """:meth:`receipt`, forgetting it (its op is ending)."""
        return self.receipts.pop(receipt, None) or parse_receipt(receipt)

    @property
    def is_ready(self) -> bool:
        """Whether :meth:`ready` has run to the end (then it returns at once)."""
        return self._ready

    async def ready(self) -> None:
        """Before the first command: let a cluster client learn its slot map
        (concurrent first commands on an uninitialised ``RedisCluster`` fail,
        redis-py #3935), and check that every process of this queue splits it into
        the same number of partitions (the first one records it in Redis)."""
        if self._ready:
            return
        if self._refused is not None:  # a fresh error: re-raising one grows its traceback
            raise ConfigurationError(str(self._refused))
        layout = self.layout
        with self.calls():
            if isinstance(self.client, RedisCluster):
                await self.client.initialize()
            try:
                await require(
                    self.client,
                    QUEUE_COMMANDS,
                    what="the write-behind queue",
                    where=self.errors.where,
                )
            except ConfigurationError as exc:
                self._refused = exc
                raise
            count = str(len(layout.partitions)).encode()
            meta = layout.partitions[0].meta
            if not await self.client.hsetnx(meta, "partitions", count):
                recorded = cast("bytes | None", await self.client.hget(meta, "partitions"))
                if recorded is not None and recorded != count:
                    raise ConfigurationError(
                        f"write queue {layout.namespace}/{layout.name} has"
                        f" {recorded.decode()} partitions in Redis, not {count.decode()}:"
                        " every process must use the same number"
                    )
        self._ready = True


def _label(client: Redis | RedisCluster, kwargs: Mapping[str, Any]) -> str:
    """Where the client points, without credentials, for messages."""
    if isinstance(client, RedisCluster):
        return ",".join(f"{node.host}:{node.port}" for node in client.startup_nodes)
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
