"""The patterns take ``sliding`` and ``expires_at`` like ``Cache.set`` (issue 15, item 8).

For CacheAside, @cached, WriteThrough and WriteBehind, on memory and a private Redis:
an entry written through the pattern slides on reads (its remaining life grows back
after a read, and it is gone once reads stop), and one written with ``expires_at``
ends by then, whatever ``ttl`` says. Times are polled with deadlines; the only
assertions on time are orderings (a read made the remaining life longer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cachewright import Cache, CacheAside, Settings, WriteBehind, WriteThrough, cached
from cachewright.errors import ConfigurationError
from cachewright.patterns.write_behind.queues import MemoryWriteQueue
from cachewright.stores import MemoryStore
from tests._servers import wait_until_async
from tests.patterns._write_support import Item, cache_url

PATTERNS = ["CacheAside", "cached", "WriteThrough", "WriteBehind"]
VALUE = Item(name="x", n=1)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    url = cache_url(request.param, request)
    async with Cache.from_url(url, settings=Settings(namespace=namespace)) as made:
        try:
            yield made
        finally:
            await made.clear()


Access = tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]]]


@asynccontextmanager
async def through(pattern: str, cache: Cache, **expiry: Any) -> AsyncIterator[Access]:
    """(write key 1 through ``pattern``, read it through ``pattern``); the entry is
    at cache key ``item:1``."""
    store = MemoryStore[int, Item]({1: VALUE})
    async with AsyncExitStack() as stack:
        if pattern == "CacheAside":
            aside = CacheAside(cache, loader=store.get, key="item:{}", type=Item, **expiry)
            stack.push_async_callback(aside.close)
            yield (lambda: aside.get(1)), (lambda: aside.get(1))
        elif pattern == "cached":

            @cached(cache, key="item:{item_id}", type=Item, **expiry)
            async def load(item_id: int) -> Item | None:
                return await store.get(item_id)

            stack.push_async_callback(load.close)
            yield (lambda: load(1)), (lambda: load(1))
        elif pattern == "WriteThrough":
            orders = WriteThrough(cache, store, key="item:{}", type=Item, **expiry)
            yield (lambda: orders.set(1, VALUE)), (lambda: orders.get(1))
        else:
            behind = WriteBehind(
                cache,
                store,
                key="item:{}",
                type=Item,
                queue=MemoryWriteQueue(100),  # the fast mode: writes fill the cache
                **expiry,
            )
            await stack.enter_async_context(behind)
            yield (lambda: behind.set(1, VALUE)), (lambda: behind.get(1))


async def remaining(cache: Cache) -> float | None:
    return await cache.ttl("item:1")


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_entries_written_through_a_pattern_slide(cache: Cache, pattern: str) -> None:
    async with through(pattern, cache, ttl=3600, sliding=timedelta(seconds=1.5)) as (write, read):
        await write()
        first = await remaining(cache)
        assert first is not None
        assert first <= 1.5

        async def aged() -> bool:
            left = await remaining(cache)
            return left is None or left < 1.0

        await wait_until_async(aged)
        before = await remaining(cache)
        assert await read() == VALUE  # a hit: the read slides the entry ...
        after = await remaining(cache)
        if before is not None:  # (under heavy load it may have expired meanwhile)
            assert after is not None
            assert after > before

        async def gone() -> bool:  # no reads (ttl() does not slide): it ends a window later
            return await remaining(cache) is None

        await wait_until_async(gone, timeout=30)


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_entries_written_through_a_pattern_expire_at_the_given_time(
    cache: Cache, pattern: str
) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=2)
    async with through(pattern, cache, ttl=3600, expires_at=deadline) as (write, read):
        await write()
        left = await remaining(cache)
        assert left is not None
        assert left <= 2.0
        assert await read() == VALUE

        async def gone() -> bool:
            return await remaining(cache) is None

        await wait_until_async(gone, timeout=30)
        assert datetime.now(UTC) >= deadline - timedelta(milliseconds=50)  # not before it


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_an_expires_at_function_is_asked_at_each_write(cache: Cache, pattern: str) -> None:
    """A function (say, the next midnight) is asked per write; once its time has passed,
    the pattern caches nothing instead of failing the call."""
    ends = [datetime.now(UTC) + timedelta(hours=1)]
    async with through(pattern, cache, ttl=None, expires_at=lambda: ends[0]) as (write, _):
        await write()
        left = await remaining(cache)
        assert left is not None
        assert 3000 < left <= 3600
        await cache.delete("item:1")
        ends[0] = datetime.now(UTC) - timedelta(seconds=1)
        await write()  # succeeds, and caches nothing
        assert await cache.get("item:1", Item) is None


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_bad_expiry_options_are_refused_at_construction(cache: Cache, pattern: str) -> None:
    bad: list[dict[str, Any]] = [
        {"sliding": 0},
        {"sliding": -1.0},
        {"sliding": True},
        {"expires_at": datetime.now(UTC) - timedelta(seconds=1)},
        {"expires_at": "tomorrow"},
    ]
    for options in bad:
        with pytest.raises(ConfigurationError):
            async with through(pattern, cache, **options):
                pass


async def test_cache_aside_refuses_sliding_with_stale_ttl(cache: Cache) -> None:
    with pytest.raises(ConfigurationError, match="sliding and stale_ttl"):
        CacheAside(
            cache, loader=MemoryStore[int, Item]().get, key="i:{}", ttl=60, stale_ttl=60, sliding=5
        )


async def test_set_many_and_set_if_version_take_sliding_and_expires_at(cache: Cache) -> None:
    until = datetime.now(UTC) + timedelta(seconds=30)
    await cache.set_many({"a": 1, "b": 2}, 3600, expires_at=until)
    await cache.set_many({"c": 3}, 3600, sliding=20)
    for key, most in (("a", 30), ("b", 30), ("c", 20)):
        left = await cache.ttl(key)
        assert left is not None
        assert left <= most
    lease = await cache.try_lease("d", 10)
    assert lease is not None
    assert await cache.set_if_version("d", 4, lease.version, 3600, sliding=20)
    left = await cache.ttl("d")
    assert left is not None
    assert left <= 20
