"""``Cache.shared_client``: the capability the durable write queue is built from."""

from __future__ import annotations

import pytest

from cachewright import Cache, MemoryBackend
from cachewright.cache.backends.base import SharesClient
from cachewright.errors import ConfigurationError
from cachewright.patterns import MemoryWriteQueue, RedisWriteQueue, WriteBehind
from cachewright.stores import MemoryStore


async def test_memory_shares_no_client_and_write_behind_queues_in_memory() -> None:
    async with Cache(MemoryBackend()) as cache:
        assert not isinstance(cache.backend, SharesClient)
        assert cache.shared_client is None
        with pytest.raises(ConfigurationError):
            RedisWriteQueue.for_cache(cache)
        profiles = WriteBehind(cache, MemoryStore[int, int](), key="p:{}", type=int)
        assert isinstance(profiles.queue, MemoryWriteQueue)
        await profiles.close()


async def test_redis_shares_its_client_and_write_behind_queues_on_it(
    redis_url: str, namespace: str
) -> None:
    async with Cache.from_url(redis_url, namespace=namespace) as cache:
        client = cache.shared_client
        assert client is not None
        await client.ping()
        profiles = WriteBehind(cache, MemoryStore[int, int](), key="p:{}", type=int)
        assert isinstance(profiles.queue, RedisWriteQueue)
        assert profiles.queue.client is client
        await profiles.close()
