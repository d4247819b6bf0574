"""The whole Cache contract again, on two levels: a local tier in front of each backend.

Every ``test_*`` of ``test_cache_contract`` is collected here too, with the ``cache``
fixture below; a contract test added there runs on two levels without an edit here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, Settings
from cachewright.cache.local import LocalTier
from tests._servers import RedisCluster, RedisServer, wait_until_async
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
        # The tier is live, not bypassed. Entering waits connect_timeout for the
        # subscription and then serves bypassed; on a loaded machine the confirmation can
        # come later, so poll for it (with a deadline) rather than assert at once.
        async def channel() -> str | None:
            local = (await instance.stats(server=False)).local
            return None if local is None else local.channel

        live = "in-process" if request.param == "memory" else "up"
        await wait_until_async(channel, expect=live, timeout=30)
        yield instance
        await instance.clear()
