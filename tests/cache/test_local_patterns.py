"""Patterns run unchanged on a two-level cache: leases, fills and invalidations."""

from __future__ import annotations

import asyncio

from cachewright import Cache
from cachewright.cache.local import LocalTier
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import wait_until_async


async def test_cache_aside_on_two_levels_in_two_caches(redis_url: str, namespace: str) -> None:
    """Two caches stand for two processes: a hit is local, an invalidation in one
    reaches the other, and N concurrent misses still cause one load."""
    database = {1: "ada", 2: "grace"}
    loads: list[int] = []

    async def load(user_id: int) -> str | None:
        loads.append(user_id)
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
        return database.get(user_id)

    tier = LocalTier(ttl=60)
    async with (
        Cache.from_url(redis_url, namespace=namespace, local=tier) as one,
        Cache.from_url(redis_url, namespace=namespace, local=tier) as two,
    ):
        users_one = CacheAside(one, loader=load, key="user:{}", type=str, ttl=600)
        users_two = CacheAside(two, loader=load, key="user:{}", type=str, ttl=600)

        results = await asyncio.gather(*(users_two.get(1) for _ in range(20)))
        assert results == ["ada"] * 20
        assert loads == [1]  # one load for 20 concurrent misses (lease + single flight)

        async def received(cache: Cache) -> int:
            local = (await cache.stats(server=False)).local
            assert local is not None
            return local.messages_received

        # two's fill was announced; once one has the message, one's reads can fill.
        await wait_until_async(lambda: received(one), expect=1, timeout=10)
        assert await users_one.get(1) == "ada"  # filled by two, read from Redis
        assert await users_one.get(1) == "ada"  # now local
        assert await users_two.get(1) == "ada"  # its own fill dropped its copy: Redis
        assert await users_two.get(1) == "ada"  # now local
        assert loads == [1]
        assert (await one.stats(server=False)).local_hits >= 1
        assert (await two.stats(server=False)).local_hits >= 1

        database[1] = "ada lovelace"
        await users_one.invalidate(1)

        async def reloaded() -> str | None:
            return await users_two.get(1)

        await wait_until_async(reloaded, expect="ada lovelace", timeout=10)
        assert loads == [1, 1]
        assert await users_one.get(1) == "ada lovelace"

        assert await users_two.get_many([1, 2]) == {1: "ada lovelace", 2: "grace"}
        assert await users_one.get_many([1, 2]) == {1: "ada lovelace", 2: "grace"}
        assert loads == [1, 1, 2]
        await one.clear()
