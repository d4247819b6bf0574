"""Replicated durability for the Redis write queue's puts (G16).

Usage (what ``Ops.put`` does with ``durability="replicated"``)::

    replication = Replication(link, replicas=1, timeout=0.25)
    version = await replication.put(part, keys, args)   # NotReplicated if unconfirmed

Redis replicates asynchronously. With the default ``durability="fast"`` a put is
acknowledged once its primary ran it; a primary that dies before its replica received
the write (replication lag: usually under a millisecond, unbounded while a replica is
slow or cut off) loses it at the failover.
With ``durability="replicated"`` each put is followed by ``WAIT replicas timeout`` on
the same connection; unless ``replicas`` replicas confirm it within
``replication_timeout``, the put raises :class:`~cachewright.errors.NotReplicated` and
is not acknowledged (it stays queued on the primary and may still reach the store).
A promoted replica then holds every acknowledged write, as long as no more than
``replicas - 1`` of the confirming replicas are lost with it.

A put is its usual ``EVALSHA`` followed, on the same connection and in the same
non-transactional pipeline, by ``WAIT replicas timeout``: the answer counts the
replicas that hold every write made on that connection so far, this put included.
Fewer than ``replicas`` raises :class:`~cachewright.errors.NotReplicated` and the
write is not acknowledged. ``WAIT`` must reach the primary that ran the put, so:

- standalone and Sentinel: the client's own pipeline (one connection of its pool;
  Sentinel's pool connects to the current primary);
- Cluster: a plain client per primary, built from the cluster client's connection
  options and the node redis-py's public ``get_node_from_key`` names for the
  partition. When that node fails or no longer owns the slot, the slot map is
  refreshed (``nodes_manager.initialize()``, at most every ``REFRESH_EVERY`` seconds),
  so the next put goes to the promoted primary.

``WAIT`` confirms the replicas received the write (in memory), not that they wrote
it to disk; ``WAITAOF`` (Redis 7.2+) would add that and is not used.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from redis import exceptions as rx
from redis.asyncio import Connection, ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cachewright.errors import ConfigurationError, NotReplicated, QueueUnavailable
from cachewright.patterns.write_behind.queues._partitions import Partition
from cachewright.patterns.write_behind.queues._redis_link import Link

__all__ = ["DURABILITY", "REFRESH_EVERY", "Replication", "replication_for"]

#: the queue's durability modes
DURABILITY = ("fast", "replicated")
#: the shortest time between two slot-map refreshes after a failed replicated put
REFRESH_EVERY = 0.1

# The connection options a per-primary client takes from the cluster client's.
_PASSED = (
    "username",
    "password",
    "credential_provider",
    "client_name",
    "socket_connect_timeout",
    "socket_timeout",
    "socket_keepalive",
    "health_check_interval",
    "encoding",
    "encoding_errors",
    "decode_responses",
    "protocol",
)

# What a failover does to a put on a per-primary client: the node is gone, or no
# longer owns the slot, or was demoted.
_TOPOLOGY_CHANGED = (
    rx.ConnectionError,
    rx.TimeoutError,
    OSError,
    rx.AskError,  # and MovedError
    rx.ReadOnlyError,
    rx.ClusterDownError,
)


def replication_for(
    link: Link, durability: str, replicas: int, timeout: float | None
) -> Replication | None:
    """The replication step for ``durability`` (``None`` for the fast default).

    ``timeout`` (seconds, default: half the client's socket timeout, at most 1 s)
    bounds the ``WAIT``; it must stay below the socket timeout, or the socket would
    time out first."""
    if durability not in DURABILITY:
        raise ConfigurationError(
            f"durability must be one of {', '.join(map(repr, DURABILITY))}, got {durability!r}"
        )
    if durability == "fast":
        return None
    if replicas < 1:
        raise ConfigurationError(f"replicas must be at least 1, got {replicas}")
    socket_timeout = link.socket_timeout
    if timeout is None:
        timeout = 1.0 if socket_timeout is None else min(1.0, socket_timeout / 2)
    if timeout <= 0 or (socket_timeout is not None and timeout >= socket_timeout):
        raise ConfigurationError(
            f"replication_timeout must be positive and below the socket timeout"
            f" ({socket_timeout}s), got {timeout}"
        )
    return Replication(link, replicas=replicas, timeout=timeout)


class Replication:
    """Puts confirmed by ``WAIT`` on the connection that made them."""

    __slots__ = ("_link", "_nodes", "_refreshed", "replicas", "timeout")

    def __init__(self, link: Link, *, replicas: int, timeout: float) -> None:
        self._link = link
        self.replicas = replicas
        self.timeout = timeout
        self._nodes: dict[str, Redis] = {}  # Cluster: a plain client per primary
        self._refreshed = 0.0

    async def put(self, part: Partition, keys: Sequence[str], args: Sequence[Any]) -> int:
        """Run the put script then ``WAIT``; the new version (-1: full)."""
        client = self._link.client
        if isinstance(client, RedisCluster):
            version, confirmed = await self._on_primary(client, part, keys, args)
        else:
            with self._link.calls():
                version, confirmed = await self._pipelined(client, keys, args)
        if version >= 0 and confirmed < self.replicas:
            raise NotReplicated(
                f"write queue: {confirmed} of {self.replicas} replica(s) confirmed the"
                f" write within {self.timeout}s; it is not acknowledged (it may still"
                " reach the store)"
            )
        return version

    async def _pipelined(
        self, client: Redis, keys: Sequence[str], args: Sequence[Any]
    ) -> tuple[int, int]:
        async with client.pipeline(transaction=False) as pipe:
            await self._link.scripts.put(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAIT", self.replicas, round(self.timeout * 1000))
            version, confirmed = await pipe.execute()
        return int(version), int(confirmed)

    async def _on_primary(
        self, cluster: RedisCluster, part: Partition, keys: Sequence[str], args: Sequence[Any]
    ) -> tuple[int, int]:
        with self._link.calls():
            node = cluster.get_node_from_key(part.ops)
            if node is None:
                raise rx.SlotNotCoveredError(f"no node serves {part.ops!r}")
            client = self._node_client(cluster, node.name, node.host, int(node.port))
            try:
                return await self._pipelined(client, keys, args)
            except _TOPOLOGY_CHANGED as exc:
                await self._refresh(cluster)
                raise QueueUnavailable(
                    f"write queue: the primary of partition {part.index} changed or failed"
                    f" ({type(exc).__name__}: {exc})"
                ) from exc

    def _node_client(self, cluster: RedisCluster, name: str, host: str, port: int) -> Redis:
        client = self._nodes.get(name)
        if client is None:
            kwargs: Mapping[str, Any] = cluster.get_connection_kwargs()
            passed = {k: v for k, v in kwargs.items() if k in _PASSED or k.startswith("ssl_")}
            pool = ConnectionPool(
                connection_class=kwargs.get("connection_class", Connection),
                host=host,
                port=port,
                # A blind retry would run the put twice: off, as on every client.
                retry=Retry(NoBackoff(), 0),
                **passed,
            )
            client = self._nodes[name] = Redis.from_pool(pool)
        return client

    async def _refresh(self, cluster: RedisCluster) -> None:
        """Learn the slot map again (rate limited): a failover moved the partition."""
        now = time.monotonic()
        if now - self._refreshed < REFRESH_EVERY:
            return
        self._refreshed = now
        try:
            await cluster.nodes_manager.initialize()
        except (TimeoutError, rx.RedisError, rx.RedisClusterException, OSError):
            self._refreshed = 0.0  # no node answered: the next failure tries again

    async def close(self) -> None:
        nodes, self._nodes = self._nodes, {}
        for client in nodes.values():
            await client.aclose()
