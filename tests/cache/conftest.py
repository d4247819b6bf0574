"""A ``cache`` fixture over every backend: memory, a private Redis, a private Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, Settings
from tests._servers import RedisCluster, RedisServer

BACKENDS = ["memory", "redis", "cluster"]


async def make_cache(
    kind: str, namespace: str, request: pytest.FixtureRequest, **settings: object
) -> Cache:
    # The contract tests are not about time: a generous read timeout keeps a read on a
    # loaded machine from failing open (and counting as an error, not a corrupt entry).
    settings.setdefault("read_timeout", 5.0)
    config = Settings(namespace=namespace, **settings)  # type: ignore[arg-type]
    if kind == "memory":
        return Cache.from_url("memory://", settings=config)
    if kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        if server.process is None:
            server.start()
        return Cache.from_url(server.url, settings=config)
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return Cache.from_url(cluster.url, settings=config)


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    instance = await make_cache(request.param, namespace, request)
    try:
        yield instance
    finally:
        await instance.clear()
        await instance.close()
