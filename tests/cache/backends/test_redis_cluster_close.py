"""Closing a cluster backend releases every connection, even after a connection error.

After a ConnectionError or TimeoutError (retries are off) redis-py's cluster client
flags itself for re-initialisation, and its ``aclose()`` then returns without closing
anything: the backend must still close every node's connections itself, or they stay
open on the servers until garbage collection warns about them in some later code.
"""

from __future__ import annotations

import pytest
import redis

from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheUnavailable
from cachewright.settings import Settings
from tests._servers import RedisCluster, wait_until_async

pytestmark = [pytest.mark.redis, pytest.mark.cluster]


def _ids(cluster: RedisCluster, name: str) -> dict[int, list[str]]:
    """The ids of the connections named ``name``, by node port."""
    found: dict[int, list[str]] = {}
    for port in cluster.ports:
        with redis.Redis(port=port) as admin:
            clients = admin.client_list()
        found[port] = [c["id"] for c in clients if c.get("name") == name]
    return found


async def test_close_after_a_connection_error_releases_every_connection(
    redis_cluster: RedisCluster, namespace: str
) -> None:
    name = f"close-{namespace}"
    backend = RedisBackend.from_url(f"{redis_cluster.url}?client_name={name}", settings=Settings())
    try:
        keys = [f"{namespace}:k{i}" for i in range(30)]  # spread over every node
        await backend.set_many([(key, b"v", 60_000) for key in keys])
        opened = _ids(redis_cluster, name)
        assert all(opened.values()), f"not every node was used: {opened}"
        victim = backend.node_of(keys[0])
        port = int(victim.rsplit(":", 1)[1])
        with redis.Redis(port=port) as admin:
            for client_id in opened[port]:
                admin.client_kill_filter(_id=client_id)
        with pytest.raises(CacheUnavailable):  # redis-py: ConnectionError
            await backend.get(keys[0])
    finally:
        await backend.close()

    async def left() -> int:
        return sum(len(ids) for ids in _ids(redis_cluster, name).values())

    await wait_until_async(left, expect=0)
