"""Describing a Redis client built elsewhere, and summarising its servers' INFO.

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    mode, label = describe(client, kwargs)      # ("cluster", "redis+cluster://h:7000,...")
    summary = summarize(mode, [(info, dbsize), ...])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from cachewright._redis.url import Mode

__all__ = ["describe", "flag", "summarize"]


def flag(value: object) -> bool:
    """A boolean option from the settings or a URL query (``true``, ``1``, ``yes``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def describe(client: Redis | RedisCluster, kwargs: Mapping[str, Any]) -> tuple[Mode, str]:
    """The mode and a password-free label of a client built elsewhere."""
    if isinstance(client, RedisCluster):
        # RedisCluster.startup_nodes is recent (redis-py 7); its NodesManager has them in all
        nodes = ",".join(
            f"{node.host}:{node.port}" for node in client.nodes_manager.startup_nodes.values()
        )
        return "cluster", f"redis+cluster://{nodes}"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        return "sentinel", f"redis+sentinel:///{pool.service_name}/{kwargs.get('db', 0)}"
    if "path" in kwargs:
        return "standalone", f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port, db = kwargs.get("host"), kwargs.get("port"), kwargs.get("db", 0)
    return "standalone", f"redis://{host}:{port}/{db}"


def summarize(mode: Mode, nodes: Sequence[tuple[Mapping[str, Any], int]]) -> dict[str, object]:
    used = sum(int(info.get("used_memory", 0)) for info, _ in nodes)
    hits = sum(int(info.get("keyspace_hits", 0)) for info, _ in nodes)
    misses = sum(int(info.get("keyspace_misses", 0)) for info, _ in nodes)
    return {
        "mode": mode,
        "nodes": len(nodes),
        "database_keys": sum(size for _, size in nodes),
        "used_memory": used,
        "used_memory_human": _human_bytes(used),
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "keyspace_hit_ratio": hits / (hits + misses) if hits + misses else None,
        "redis_version": str(nodes[0][0].get("redis_version", "")) if nodes else "",
    }


def _human_bytes(size: int) -> str:
    """Like Redis' used_memory_human: 1023B, 1.50K, 12.00M."""
    units = ("B", "K", "M", "G", "T")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{size}B" if unit == 0 else f"{value:.2f}{units[unit]}"
