"""A cache that goes away never fails a read that loaded its value (reads fail open)."""

from __future__ import annotations

import asyncio

import pytest

from cachewright import Cache, CacheUnavailable, Settings
from cachewright.patterns.aside.cache_aside import CacheAside
from cachewright.patterns.aside.cached import cached
from tests._servers import RedisServer
from tests.patterns._aside_support import Gate, User

pytestmark = pytest.mark.redis


def fast_failing(server: RedisServer, namespace: str) -> Cache:
    settings = Settings(namespace=namespace, connect_timeout=0.2, read_timeout=0.2)
    return Cache.from_url(server.url, settings=settings)


@pytest.mark.parametrize("lock", [False, True])
async def test_reads_load_without_filling_while_redis_is_down(
    fresh_redis: RedisServer, namespace: str, lock: bool
) -> None:
    calls: list[int] = []

    async def load(key: int) -> User:
        calls.append(key)
        return User(id=key, name="from the database")

    async with (
        fast_failing(fresh_redis, namespace) as cache,
        CacheAside(cache, loader=load, key="user:{}", type=User, lock=lock) as users,
    ):
        assert await users.get(1) == User(id=1, name="from the database")
        fresh_redis.kill()
        assert await users.get(2) == User(id=2, name="from the database")
        assert await users.get_many([3, 4]) == {
            3: User(id=3, name="from the database"),
            4: User(id=4, name="from the database"),
        }
        report = await users.warmup([5, 6])
        assert report.loaded == 2
        assert report.ok
        with pytest.raises(CacheUnavailable):
            await users.invalidate(1)  # a write: the caller must know it did not happen
        assert calls == [1, 2, 3, 4, 5, 6]


async def test_a_fill_that_fails_still_returns_the_loaded_value(
    fresh_redis: RedisServer, namespace: str
) -> None:
    gate = Gate()

    async def load(key: int) -> User:
        await gate.pass_through()
        return User(id=key, name="loaded")

    async with (
        fast_failing(fresh_redis, namespace) as cache,
        CacheAside(cache, loader=load, key="user:{}", type=User) as users,
    ):
        reader = asyncio.create_task(users.get(1))
        await gate.entered.wait()  # the lease is taken; Redis dies during the load
        fresh_redis.kill()
        gate.open()
        assert await reader == User(id=1, name="loaded")
        assert (await users.stats()).fills_failed == 1


async def test_cached_functions_keep_working_without_redis(
    fresh_redis: RedisServer, namespace: str
) -> None:
    async with fast_failing(fresh_redis, namespace) as cache:

        @cached(cache, ttl=60)
        async def double(n: int) -> int:
            return n * 2

        assert await double(2) == 4
        fresh_redis.kill()
        assert await double(3) == 6
        await double.close()
