"""WriteBehind over the durable Redis queue: the same guarantees, shared by instances."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachewright import Cache
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import DataStore
from tests.patterns._write_support import (
    FAST_RETRY,
    FaultyStore,
    Item,
    cache_for,
    cache_url,
    store_for,
    store_url,
)


@pytest.fixture
def urls(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return cache_url("redis", request), store_url("sqlite", request)


@pytest.fixture
async def cache(urls: tuple[str, str | None], namespace: str) -> AsyncIterator[Cache]:
    async with cache_for(urls[0], namespace) as made:
        yield made


@pytest.fixture
async def store(
    urls: tuple[str, str | None], namespace: str
) -> AsyncIterator[FaultyStore[int, Item]]:
    async with store_for(urls[1], namespace) as made:
        yield FaultyStore(made)


@pytest.fixture
async def queues(cache: Cache) -> AsyncIterator[list[RedisWriteQueue]]:
    """Queue objects on one Redis queue: each stands for another process's handle."""
    made = [RedisWriteQueue.for_cache(cache, name="wb", partitions=4) for _ in range(2)]
    yield made
    for queue in made:
        await queue.close()


def behind(
    cache: Cache, store: DataStore[int, Item], queue: RedisWriteQueue, **options: Any
) -> WriteBehind[int, Item]:
    return WriteBehind(
        cache, store, key="item:{}", type=Item, queue=queue, retry=FAST_RETRY, **options
    )


async def test_random_writes_from_two_instances_end_with_the_last_value(
    cache: Cache, store: FaultyStore[int, Item], queues: list[RedisWriteQueue]
) -> None:
    instances = [behind(cache, store, queue, strict=True, flush_interval=0.01) for queue in queues]
    last: dict[int, Item | None] = {}

    # Each key belongs to one task (key % 10 == seed), so "last" is well defined even
    # across instances that share no lock.
    async def owned_writer(seed: int) -> None:
        rng = random.Random(seed)
        items = instances[seed % 2]
        for step in range(200):
            key = rng.randrange(10) * 10 + seed
            if rng.random() < 0.2:
                await items.delete(key)
                last[key] = None
            else:
                value = Item(name=f"w{seed}", n=step)
                await items.set(key, value)
                last[key] = value

    for items in instances:
        await items.start()
    await asyncio.gather(*(owned_writer(seed) for seed in range(10)))
    reports = [await items.close() for items in instances]
    assert reports[-1].complete, reports
    expected = {key: value for key, value in last.items() if value is not None}
    assert await store.inner.get_many(range(100)) == expected
    for key in range(100):
        assert await cache.get(f"item:{key}", Item) in (None, expected.get(key))


async def test_reads_see_pending_writes_in_the_shared_queue(
    cache: Cache, store: FaultyStore[int, Item], queues: list[RedisWriteQueue]
) -> None:
    writer = behind(cache, store, queues[0], flusher=False, strict=True)
    reader = behind(cache, store, queues[1], flusher=False, strict=True)
    await store.inner.set(2, Item(name="stored"))
    await writer.set(1, Item(name="pending"))
    await writer.delete(2)
    assert await reader.get(1) == Item(name="pending")
    assert await reader.get(2) is None
    assert await reader.get_many([1, 2]) == {1: Item(name="pending")}
    assert (await reader.flush()).written == 2  # any instance may flush
    assert await store.inner.get_many([1, 2]) == {1: Item(name="pending")}
    await writer.close()
    await reader.close()


async def test_poison_is_dead_lettered_and_replayed_through_redis(
    cache: Cache, store: FaultyStore[int, Item], queues: list[RedisWriteQueue]
) -> None:
    store.poison = {3}
    items = behind(cache, store, queues[0], flusher=False)
    await items.set_many({n: Item(name="x", n=n) for n in range(8)})
    report = await items.flush()
    assert (report.written, report.dead_lettered) == (7, 1)
    [failed] = await items.dead_letters()
    assert (failed.key, failed.value) == (3, Item(name="x", n=3))
    store.poison.clear()
    assert len((await items.replay_dead_letters()).requeued) == 1
    assert (await items.flush()).written == 1
    assert (await items.close()).complete
    assert len(await store.inner.get_many(range(8))) == 8
