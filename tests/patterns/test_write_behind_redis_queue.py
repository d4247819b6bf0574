"""WriteBehind over the durable Redis queue: the same guarantees, shared by instances."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachewright import Cache
from cachewright.errors import QueueFull
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind.queues import MemoryWriteQueue, OpKind
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import DataStore, MemoryStore
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


class HeldQueue(RedisWriteQueue):
    """A process's handle that pauses between the queue accepting a put and the
    caller's next step (its cache write): the window another process writes in."""

    def hold_next_put(self) -> tuple[asyncio.Event, asyncio.Event]:
        self.accepted, self.resume = asyncio.Event(), asyncio.Event()
        return self.accepted, self.resume

    async def put(self, key: str, op: OpKind, value: bytes | None, timeout: float | None) -> int:  # noqa: ASYNC109
        version = await super().put(key, op, value, timeout)
        accepted = getattr(self, "accepted", None)
        if accepted is not None and not accepted.is_set():
            accepted.set()
            await self.resume.wait()
        return version


@pytest.mark.parametrize("strict", [None, False])
async def test_two_processes_writing_one_key(
    cache: Cache, store: FaultyStore[int, Item], strict: bool | None
) -> None:
    """Process A's write is queued first; B's write is queued and cached while A is
    between its put and its cache write. By default (strict on a shared queue) the
    cache can never end older than the queue; the fast mode can, and says so."""
    client = cache.shared_client
    assert client is not None
    held = HeldQueue(client, namespace=cache.namespace, name="wb", partitions=4)
    other = RedisWriteQueue.for_cache(cache, name="wb", partitions=4)
    a = behind(cache, store, held, flusher=False, strict=strict)
    b = behind(cache, store, other, flusher=False, strict=strict)
    assert a.strict is (strict is None)
    older, newer = Item(name="a", n=1), Item(name="b", n=2)
    accepted, resume = held.hold_next_put()
    first = asyncio.create_task(a.set(1, older))
    await accepted.wait()
    await b.set(1, newer)
    resume.set()
    await first
    cached_now = await cache.get("item:1", Item)
    if strict is None:
        assert cached_now in (None, newer)  # never older than the queue's latest
        assert await a.get(1) == newer
        assert await cache.get("item:1", Item) == newer  # filled back from the queue
    else:
        assert cached_now == older  # the trade the fast mode makes (until ttl)
    assert await b.get(1) == (newer if strict is None else older)
    await a.flush()
    assert await store.inner.get(1) == newer  # the store follows the queue either way
    for instance in (a, b):
        await instance.close()
    for queue in (held, other):
        await queue.close()


async def test_shared_queue_default_is_strict_and_memory_queue_is_not(cache: Cache) -> None:
    store = MemoryStore[int, Item]()
    on_redis = WriteBehind(cache, store, key="item:{}", type=Item, flusher=False)
    in_memory = WriteBehind(
        cache, store, key="item:{}", type=Item, flusher=False, queue=MemoryWriteQueue(10)
    )
    fast = WriteBehind(cache, store, key="item:{}", type=Item, flusher=False, strict=False)
    assert (on_redis.strict, in_memory.strict, fast.strict) == (True, False, False)
    for instance in (on_redis, in_memory, fast):
        await instance.close()


async def test_write_behind_max_pending_bounds_its_default_redis_queue(cache: Cache) -> None:
    """The default durable queue has 8 partitions; max_pending=5 still means 5 keys."""
    store = MemoryStore[int, Item]()
    items = WriteBehind(
        cache, store, key="bounded:{}", type=Item, flusher=False, max_pending=5, put_timeout=0.05
    )
    for key in range(5):
        await items.set(key, Item(name="ok", n=key))
    await items.set(0, Item(name="again"))  # a pending key coalesces
    with pytest.raises(QueueFull):
        await items.set(5, Item(name="beyond"))
    assert (await items.stats()).pending == 5
    assert await items.get(5) is None  # refused: neither queued nor cached
    assert (await items.flush()).written == 5
    await items.set(5, Item(name="beyond"))  # room again
    assert (await items.flush()).written == 1
    await items.close()
    assert len(store.items()) == 6
