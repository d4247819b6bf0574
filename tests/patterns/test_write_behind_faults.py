"""WriteBehind under faults: store outages, poison items, a full queue, a dead cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from tenacity import stop_after_attempt, wait_none

from cachewright import Cache
from cachewright.errors import QueueFull, StoreUnavailable
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind.queues import MemoryWriteQueue
from cachewright.stores import DataStore
from tests._servers import RedisServer
from tests.patterns._write_support import (
    FAST_RETRY,
    FaultyStore,
    Item,
    cache_for,
    cache_url,
    eventually,
    store_for,
    store_url,
)


@pytest.fixture(params=["memory", "redis"])
def cache_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def urls(
    cache_kind: str, store_kind: str, request: pytest.FixtureRequest
) -> tuple[str, str | None]:
    return cache_url(cache_kind, request), store_url(store_kind, request)


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


def behind(cache: Cache, store: DataStore[int, Item], **options: object) -> WriteBehind[int, Item]:
    # This suite is about WriteBehind over the in-memory queue, on either cache; the
    # durable queue (the default on a Redis cache) has test_write_behind_redis_queue.py.
    max_pending = options.pop("max_pending", 100_000)
    assert isinstance(max_pending, int)
    options.setdefault("queue", MemoryWriteQueue(max_pending))
    options.setdefault("retry", FAST_RETRY)
    return WriteBehind(cache, store, key="item:{}", type=Item, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("store_kind", ["sqlite", "postgres"], indirect=True)
async def test_an_outage_loses_nothing(cache: Cache, store: FaultyStore[int, Item]) -> None:
    store.down = True
    async with behind(cache, store, flusher=False) as items:
        await items.set_many({n: Item(name="x", n=n) for n in range(200)})
        await items.delete(7)
        with pytest.raises(StoreUnavailable):
            await items.flush()
        stats = await items.stats()
        assert (stats.pending, stats.in_flight, stats.dead_lettered) == (200, 0, 0)
        assert stats.retries == 2  # FAST_RETRY: three attempts
        assert await items.get(3) == Item(name="x", n=3)  # still readable while down
        store.down = False
        report = await items.flush()
        assert (report.written, report.dead_lettered) == (200, 0)
    expected = {n: Item(name="x", n=n) for n in range(200) if n != 7}
    assert await store.inner.get_many(range(200)) == expected


async def test_the_background_flusher_rides_out_an_outage(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    store.down = True
    async with behind(cache, store, flush_interval=0.01) as items:
        await items.set_many({n: Item(name="x") for n in range(50)})

        async def released_some() -> bool:
            return (await items.stats()).released > 0

        await eventually(released_some, True)
        assert (await items.stats()).pending == 50
        store.down = False

        async def pending() -> int:
            return (await items.stats()).pending

        await eventually(pending, 0)
    assert len(await store.inner.get_many(range(50))) == 50


async def test_a_poison_item_is_dead_lettered_alone_and_replayed_once_fixed(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    await store.inner.set(13, Item(name="stored"))
    store.poison = {13}
    async with behind(cache, store, flusher=False, batch_size=64) as items:
        await items.set_many({n: Item(name="new", n=n) for n in range(64)})
        store.write_calls = 0
        report = await items.flush()
        assert (report.written, report.dead_lettered, report.released) == (63, 1, 0)
        # Splitting costs O(log n) calls: 3 tries of the batch, 2 per level of a
        # 64-item bisection (6 levels), then the isolated item's own 3 tries.
        assert store.write_calls == 3 + 2 * 6 + 3
        [failed] = await items.dead_letters()
        assert (failed.key, failed.op, failed.value) == (13, "set", Item(name="new", n=13))
        assert "rejected keys" in failed.error
        # The cache no longer claims a value the store never took.
        assert await items.get(13) == Item(name="stored")
        stats = await items.stats()
        assert (stats.dead_letters, stats.dead_lettered, stats.pending) == (1, 1, 0)

        store.poison.clear()
        replayed = await items.replay_dead_letters()
        assert replayed.requeued == (failed.id,)
        assert (await items.flush()).written == 1
        assert await items.dead_letters() == []
    stored = await store.inner.get_many(range(64))
    assert stored == {n: Item(name="new", n=n) for n in range(64)}


async def test_a_dead_letter_superseded_by_a_newer_write_is_not_replayed(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    store.poison = {1}
    async with behind(cache, store, flusher=False) as items:
        await items.set(1, Item(name="bad"))
        await items.flush()
        store.poison.clear()
        await items.set(1, Item(name="good"))
        await items.flush()
        result = await items.replay_dead_letters()
        assert (result.requeued, len(result.superseded)) == ((), 1)
        await items.flush()
        assert await store.inner.get(1) == Item(name="good")


@pytest.mark.parametrize("store_kind", ["memory"], indirect=True)
async def test_a_full_queue_pushes_back_then_raises_and_drops_nothing(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    items = behind(cache, store, flusher=False, max_pending=5, put_timeout=0.05)
    async with items:
        for n in range(5):
            await items.set(n, Item(name="x", n=n))
        started = time.monotonic()
        with pytest.raises(QueueFull):
            await items.set(5, Item(name="refused"))
        assert time.monotonic() - started >= 0.04
        assert await items.get(5) is None  # refused writes leave no trace
        await items.set(0, Item(name="coalesced"))  # a pending key needs no room

        patient = behind(cache, store, flusher=False, queue=items.queue, put_timeout=10)
        waiting = asyncio.create_task(patient.set(5, Item(name="waited")))
        await asyncio.sleep(0)
        assert not waiting.done()
        await items.flush()  # makes room; the waiting writer gets in
        await asyncio.wait_for(waiting, 5)
        await items.flush()
        await patient.close()
    assert await store.inner.get_many(range(6)) == {
        0: Item(name="coalesced"),
        **{n: Item(name="x", n=n) for n in range(1, 5)},
        5: Item(name="waited"),
    }


@pytest.mark.parametrize("cache_kind", ["memory"], indirect=True)
@pytest.mark.parametrize("store_kind", ["memory"], indirect=True)
async def test_close_reports_what_it_could_not_write(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    store.down = True
    items = behind(cache, store, flusher=False, retry=RetryPolicy.once())
    await items.set_many({n: Item(name="x") for n in range(10)})
    report = await items.close()
    assert not report.complete
    assert report.pending == 10
    assert report.error is not None
    assert "StoreUnavailable" in report.error or "StoreDown" in report.error
    assert (await items.queue.stats()).pending == 10  # still there, not lost


@pytest.mark.parametrize("cache_kind", ["memory"], indirect=True)
@pytest.mark.parametrize("store_kind", ["memory"], indirect=True)
async def test_close_gives_up_at_its_bound(cache: Cache, store: FaultyStore[int, Item]) -> None:
    store.down = True
    endless = RetryPolicy(stop=stop_after_attempt(10**6), wait=wait_none())
    items = behind(cache, store, flusher=False, retry=endless)
    await items.set(1, Item(name="x"))
    started = time.monotonic()
    report = await items.close(timeout=0.2)
    assert time.monotonic() - started < 5
    assert report.timed_out
    assert report.pending == 1
    stats = await items.queue.stats()
    assert (stats.pending, stats.in_flight) == (1, 0)  # released on cancel, not stranded


@pytest.mark.parametrize("cache_kind", ["memory"], indirect=True)
@pytest.mark.parametrize("store_kind", ["memory"], indirect=True)
async def test_writes_survive_a_dead_cache(
    fresh_redis: RedisServer, namespace: str, store: FaultyStore[int, Item]
) -> None:
    async with cache_for(fresh_redis.url, namespace, clear=False, connect_timeout=0.2) as cache:
        async with behind(cache, store, flusher=False) as items:
            await items.set(1, Item(name="before"))
            fresh_redis.kill()
            await items.set(1, Item(name="during"))  # accepted: the queue has it
            assert await items.get(1) == Item(name="during")  # reads fail open to it
            assert (await items.stats()).cache_errors >= 1
            await items.flush()
            fresh_redis.start()
        assert await store.inner.get(1) == Item(name="during")
