"""Which node serves a key, and learning that again (a breaker per node, G6).

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    node_of(client, "shop:user:1", label)   # "10.0.0.5:7001", from the slot map
    primaries(client, label)                # the nodes serving keys now
    await refresh(client)                   # after a failover: ask the servers again

Cluster: the client's slot map (redis-py's public ``get_node_from_key``,
``get_primaries`` and ``nodes_manager.initialize()``, which reuses the connections of
the nodes that stay and only marks in-use ones to reconnect). Sentinel: the primary's
address the pool last discovered (``master_address``; ``get_master_address()`` asks
the sentinels again). Standalone: the one server, named by ``label``. No I/O but in
:func:`refresh`.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import RedisClusterException

__all__ = ["node_of", "primaries", "refresh"]


def node_of(client: Redis | RedisCluster, key: str, label: str) -> str:
    if isinstance(client, RedisCluster):
        try:
            node = client.get_node_from_key(key)
        except (RedisClusterException, KeyError):  # the slot map is not known yet
            return "cluster"
        return "cluster" if node is None else node.name
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        address = pool.master_address
        if address is None:  # not discovered yet
            return f"sentinel:{pool.service_name}"
        host, port = address
        return f"{host}:{port}"
    return label


def primaries(client: Redis | RedisCluster, label: str) -> frozenset[str]:
    if isinstance(client, RedisCluster):
        return frozenset(node.name for node in client.get_primaries())
    return frozenset((node_of(client, "", label),))


async def refresh(client: Redis | RedisCluster) -> None:
    if isinstance(client, RedisCluster):
        await client.nodes_manager.initialize()
        return
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        await pool.get_master_address()  # type: ignore[no-untyped-call]
