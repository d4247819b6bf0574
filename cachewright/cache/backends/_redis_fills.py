"""The Redis side of fill notices: one subscription per channel, opened on first need.

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    listener = FillListener(client, "shop~fill")
    hub = await listener.ready(1.0)      # subscribed (one SUBSCRIBE, once), or None
    await listener.close()

The subscription is opened by the first ``CacheAside(lock=True)`` miss of the process
and kept for the backend's life: one dedicated connection and one SUBSCRIBE, once.
It sends nothing afterwards (no PING: a notice that never comes only costs a waiter
its fallback read, bounded by the lease's life). The fills publish with classic
PUBLISH from their script, which a Redis Cluster delivers on every node, so one
connection to any primary hears every fill (sharded SPUBLISH would need one
subscription per key, taken after the read that finds the lease: a command per wait
and a race to close with another read). When the connection fails, waiters are told
(:data:`~cachewright.cache.backends.fills.LOST`) and read their keys again; the
listener reconnects with backoff at the next need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from cachewright.cache.backends.fills import FillHub

__all__ = ["FillListener"]

log = logging.getLogger("cachewright.cache")

_RETRY_AFTER = 1.0  # seconds a failed subscription is not tried again


class FillListener:
    """A pub/sub task feeding one :class:`FillHub`."""

    __slots__ = ("_client", "_failed_at", "_name", "_own", "_task", "_up", "hub")

    def __init__(self, client: Redis | RedisCluster, name: str) -> None:
        self._client = client
        self._name = name
        self._own: Redis | None = None  # Cluster: a plain client to one node
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._failed_at = float("-inf")
        self.hub = FillHub()

    async def ready(self, seconds: float) -> FillHub | None:
        """The hub once subscribed (within ``seconds``), else None."""
        if self.hub.up:
            return self.hub
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            if loop.time() - self._failed_at < _RETRY_AFTER:
                return None
            self._up.clear()
            self._task = loop.create_task(self._run(), name=f"cachewright-fills:{self._name}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._up.wait()
        return self.hub if self.hub.up else None

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.hub.lose()
        if self._own is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._own.aclose()

    def _pubsub(self) -> PubSub:
        client = self._client
        if isinstance(client, RedisCluster):
            if self._own is None:
                node = client.get_default_node() or client.get_random_node()
                kwargs: dict[str, Any] = dict(client.get_connection_kwargs())
                for name in ("host", "port", "connection_class"):
                    kwargs.pop(name, None)
                self._own = Redis(host=node.host, port=int(node.port), **kwargs)
            client = self._own
        return client.pubsub()

    async def _run(self) -> None:
        pubsub = self._pubsub()
        try:
            await pubsub.subscribe(self._name)
            while True:  # the confirmation comes first
                message = await pubsub.get_message(timeout=None)
                if message is not None and message["type"] == "subscribe":
                    break
            self.hub.up = True
            self._up.set()
            on_message = self.hub.on_message
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None and message["type"] == "message":
                    on_message(message["data"])
        except (RedisError, OSError) as exc:
            log.debug("fill notices on %s lost: %s", self._name, type(exc).__name__)
            self._failed_at = asyncio.get_running_loop().time()
        finally:
            self.hub.lose()
            self._up.set()  # wake ready(): it sees the hub down
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
