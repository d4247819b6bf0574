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
(:data:`~cachewright.cache.backends.fills.LOST`) and read their keys again: when
redis-py reconnects and subscribes again by itself (its new confirmation says so),
and when it gives up (then the next wait subscribes afresh, at most once a second;
meanwhile waiters poll).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

from redis.asyncio import Connection, ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from cachewright.cache.backends.fills import FillHub

__all__ = ["FillListener"]

log = logging.getLogger("cachewright.cache")

_RETRY_AFTER = 1.0  # seconds a failed subscription is not tried again

# What a plain connection to one cluster node keeps of the cluster's connection options.
_PLAIN = frozenset(
    {
        "username",
        "password",
        "credential_provider",
        "client_name",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_keepalive_options",
    }
)


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
                # A plain client to one primary, with the cluster's credentials and TLS.
                node = client.get_default_node() or client.get_random_node()
                given = client.get_connection_kwargs()
                kwargs: dict[str, Any] = {
                    name: value
                    for name, value in given.items()
                    if name in _PLAIN or name.startswith("ssl_")
                }
                kind = cast("type[Connection]", given.get("connection_class") or Connection)
                pool = ConnectionPool(
                    connection_class=kind,
                    host=node.host,
                    port=int(node.port),
                    **kwargs,
                )
                self._own = Redis.from_pool(pool)
            client = self._own
        return client.pubsub()

    async def _run(self) -> None:
        pubsub: PubSub | None = None
        try:
            pubsub = self._pubsub()
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
                if message is None:
                    continue
                if message["type"] == "message":
                    on_message(message["data"])
                elif message["type"] == "subscribe":
                    # redis-py reconnected and subscribed again: what was published
                    # in between is lost, so every waiter reads its key again.
                    self.hub.interrupt()
        except (RedisError, OSError) as exc:
            log.debug("fill notices on %s lost: %s", self._name, type(exc).__name__)
            self._failed_at = asyncio.get_running_loop().time()
        except Exception:  # waiters fall back to reading; never a task error left unread
            log.error("fill notices on %s failed", self._name, exc_info=True)
            self._failed_at = asyncio.get_running_loop().time()
        finally:
            self.hub.lose()
            self._up.set()  # wake ready(): it sees the hub down
            if pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
