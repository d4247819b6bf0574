"""The CacheAside hit path: a cache read and a freshness check, no task, no lock.

Misses and stale entries go on to the single flight (test_cache_aside.py); here, what
a hit costs: no task is started, and concurrent hits of one key share one cache read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import pytest

from cachewright import Cache
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import RedisServer
from tests.patterns._aside_support import BACKENDS, User, command_counts, command_delta, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


async def load(key: int) -> User:
    return User(id=key, name="loaded")


async def test_a_hit_starts_no_task(cache: Cache) -> None:
    async with CacheAside(cache, loader=load, key="user:{}", type=User, lock=True) as users:
        assert await users.get(1) == User(id=1, name="loaded")  # the miss fills it
        loop = asyncio.get_running_loop()
        started: list[str] = []

        def factory(
            loop: asyncio.AbstractEventLoop,
            coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
            **options: Any,
        ) -> asyncio.Task[Any]:
            started.append(getattr(coro, "__qualname__", repr(coro)))
            return asyncio.Task(coro, loop=loop, **options)

        previous = loop.get_task_factory()
        loop.set_task_factory(factory)
        try:
            for _ in range(20):
                assert await users.get(1) == User(id=1, name="loaded")
        finally:
            loop.set_task_factory(previous)
        assert started == []
        # The factory does count tasks: a miss runs in the single flight's task.
        loop.set_task_factory(factory)
        try:
            assert await users.get(2) == User(id=2, name="loaded")
        finally:
            loop.set_task_factory(previous)
        assert started


@pytest.mark.redis
async def test_concurrent_hits_of_one_key_cost_one_read(
    fresh_redis: RedisServer, namespace: str
) -> None:
    async with (
        Cache.from_url(fresh_redis.url, namespace=namespace) as cache,
        CacheAside(cache, loader=load, key="user:{}", type=User) as users,
    ):
        assert await users.get(1) == User(id=1, name="loaded")
        before = command_counts(fresh_redis)
        values = await asyncio.gather(*(users.get(1) for _ in range(100)))
        spent = command_delta(before, command_counts(fresh_redis))
    assert values == [User(id=1, name="loaded")] * 100
    assert spent == {"cmdstat_get": 1}, spent
