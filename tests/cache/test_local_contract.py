"""The whole Cache contract again, on two levels: a local tier in front of each backend.

Every ``test_*`` of ``test_cache_contract`` is collected here too, with the ``cache``
fixture below; a contract test added there runs on two levels without an edit here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, Settings
from cachewright.cache.local import LocalTier
from tests._servers import RedisCluster, RedisServer
from tests.cache import test_cache_contract as _contract

globals().update(
    {name: getattr(_contract, name) for name in dir(_contract) if name.startswith("test_")}
)


@pytest.fixture(params=["memory", "redis", "cluster"])
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    settings = Settings(namespace=namespace)
    tier = LocalTier(max_entries=1000, ttl=30)
    if request.param == "memory":
        url = "memory://"
    elif request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        if server.process is None:
            server.start()
        url = server.url
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        url = cluster.url
    instance = Cache.from_url(url, settings=settings, local=tier)
    async with instance:
        local = (await instance.stats(server=False)).local
        assert local is not None
        assert local.channel in {"up", "in-process"}  # the tier is live, not bypassed
        yield instance
        await instance.clear()
