"""WriteBehind: coalescing, read-your-writes, flushing, closing, and a 10,000-write soak."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from cachewright import Cache
from cachewright.errors import QueueClosed
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind.queues import SET, MemoryWriteQueue, OpKind
from cachewright.stores import DataStore, MemoryStore
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

CACHES = ["memory", "redis"]


@pytest.fixture(params=CACHES)
def cache_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_kind() -> str:
    return "memory"


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
) -> AsyncIterator[DataStore[int, Item]]:
    async with store_for(urls[1], namespace) as made:
        yield made


def behind(cache: Cache, store: DataStore[int, Item], **options: object) -> WriteBehind[int, Item]:
    # This suite is about WriteBehind over the in-memory queue, on either cache; the
    # durable queue (the default on a Redis cache) has test_write_behind_redis_queue.py.
    max_pending = options.pop("max_pending", 100_000)
    assert isinstance(max_pending, int)
    options.setdefault("queue", MemoryWriteQueue(max_pending))
    options.setdefault("retry", FAST_RETRY)
    return WriteBehind(cache, store, key="item:{}", type=Item, **options)  # type: ignore[arg-type]


async def test_set_reaches_cache_now_and_store_on_flush(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    async with behind(cache, store, flusher=False) as items:
        await items.set(1, Item(name="one"))
        assert await cache.get("item:1", Item) == Item(name="one")
        assert await store.get(1) is None
        report = await items.flush()
        assert (report.written, report.dead_lettered) == (1, 0)
        assert await store.get(1) == Item(name="one")
        assert await items.get(1) == Item(name="one")


async def test_a_burst_reaches_the_store_as_its_last_value(cache: Cache) -> None:
    store = FaultyStore(MemoryStore[int, Item]())
    async with behind(cache, store, flusher=False) as items:
        for n in range(50):
            await items.set(7, Item(name="seven", n=n))
        await items.flush()
        assert store.write_calls == 1
        assert await store.get(7) == Item(name="seven", n=49)
        stats = await items.stats()
        assert (stats.coalesced, stats.flushed, stats.pending) == (49, 1, 0)


@pytest.mark.parametrize("store_kind", ["sqlite"])
async def test_set_then_delete_leaves_the_row_deleted(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    await store.set(3, Item(name="old"))
    async with behind(cache, store, flusher=False) as items:
        await items.set(3, Item(name="new"))
        await items.delete(3)
        await items.flush()
        assert await store.get(3) is None
        assert await items.get(3) is None


async def test_reads_see_a_pending_write_after_eviction(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    await store.set(1, Item(name="stored"))
    await store.set(2, Item(name="stored"))
    async with behind(cache, store, flusher=False) as items:
        await items.set(1, Item(name="pending"))
        await items.delete(2)
        await cache.delete_many(["item:1", "item:2"])  # evicted before the flush
        assert await items.get(1) == Item(name="pending")
        assert await items.get(2) is None, "a pending delete reads as deleted"
        assert await items.get_many([1, 2, 3]) == {1: Item(name="pending")}
        # The evicted pending value went back into the cache (through a lease).
        assert await cache.get("item:1", Item) == Item(name="pending")
        await items.flush()
        assert await items.get(2) is None
        assert await store.get(1) == Item(name="pending")


async def test_get_reads_through_and_fills_the_cache(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    await store.set_many({1: Item(name="a"), 2: Item(name="b")})
    async with behind(cache, store, flusher=False) as items:
        assert await items.get(1) == Item(name="a")
        assert await cache.get("item:1", Item) == Item(name="a")
        assert await items.get_many([1, 2, 9]) == {1: Item(name="a"), 2: Item(name="b")}
        assert await cache.get("item:2", Item) == Item(name="b")
        assert await items.get(9) is None


async def test_set_many_queues_every_item(cache: Cache, store: DataStore[int, Item]) -> None:
    async with behind(cache, store, flusher=False) as items:
        await items.set_many({n: Item(name=str(n)) for n in range(20)})
        assert (await items.stats()).pending == 20
        await items.flush()
        assert await store.get_many(range(20)) == {n: Item(name=str(n)) for n in range(20)}


async def test_flusher_runs_on_its_interval(cache: Cache, store: DataStore[int, Item]) -> None:
    async with behind(cache, store, flush_interval=0.02) as items:
        await items.set(1, Item(name="x"))

        async def stored() -> Item | None:
            return await store.get(1)

        await eventually(stored, Item(name="x"))
        assert (await items.stats()).flusher_running


async def test_flusher_runs_at_once_when_a_batch_is_full(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    async with behind(cache, store, flush_interval=3600, batch_size=10) as items:
        await items.set_many({n: Item(name="x") for n in range(10)})

        async def pending() -> int:
            return (await items.stats()).pending

        await eventually(pending, 0)
        assert len(await store.get_many(range(10))) == 10


async def test_first_write_starts_the_flusher(cache: Cache, store: DataStore[int, Item]) -> None:
    items = behind(cache, store, flush_interval=0.02)
    assert not (await items.stats()).flusher_running
    await items.set(1, Item(name="x"))
    assert (await items.stats()).flusher_running
    await items.close()


@pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])
async def test_close_flushes_pending_writes(cache: Cache, store: DataStore[int, Item]) -> None:
    items = behind(cache, store, flush_interval=3600)
    async with items:
        await items.set_many({n: Item(name="x", n=n) for n in range(300)})
        await items.delete(5)
    report = await items.close()  # again: idempotent, same report
    assert report.complete
    assert report.pending == 0
    assert report.flushed.written == 300
    assert len(await store.get_many(range(300))) == 299
    with pytest.raises(QueueClosed):
        await items.set(1, Item(name="late"))


async def test_stats_report_age_and_counters(cache: Cache, store: DataStore[int, Item]) -> None:
    async with behind(cache, store, flusher=False) as items:
        await items.set(1, Item(name="x"))
        await items.set(1, Item(name="y"))

        async def aged() -> bool:
            return (await items.stats()).oldest_pending_age > 0

        await eventually(aged, True)
        stats = await items.stats()
        assert (stats.pending, stats.in_flight, stats.coalesced) == (1, 0, 1)
        await items.flush()
        stats = await items.stats()
        assert (stats.pending, stats.flushed, stats.batches, stats.oldest_pending_age) == (
            0,
            1,
            1,
            0.0,
        )


@pytest.mark.parametrize(
    ("cache_kind", "store_kind"),
    [("memory", "memory"), ("redis", "sqlite"), ("memory", "postgres")],
)
async def test_ten_thousand_random_writes_end_with_the_last_value_per_key(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    last: dict[int, Item | None] = {}
    items = behind(cache, store, flush_interval=0.01, batch_size=100)

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for step in range(500):
            key = rng.randrange(500)
            if rng.random() < 0.2:
                await items.delete(key)
                last[key] = None  # recorded before any other writer of key can run
            else:
                value = Item(name=f"w{seed}", n=step)
                await items.set(key, value)
                last[key] = value

    async with items:
        await asyncio.gather(*(writer(seed) for seed in range(20)))
    assert (await items.close()).complete
    expected = {key: value for key, value in last.items() if value is not None}
    assert await store.get_many(range(500)) == expected
    stats = await items.stats()
    assert stats.dead_lettered == 0
    assert stats.coalesced > 0
    assert stats.flushed < 10_000  # coalescing spared the store work


class JitteryQueue(MemoryWriteQueue):
    """A queue whose puts return after a random number of loop turns, as a remote
    queue's would: it widens the window between a put and the cache write after it."""

    rng = random.Random(3)

    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109 - the protocol's signature
    ) -> int:
        version = await super().put(key, op, value, timeout)
        for _ in range(self.rng.randint(0, 3)):
            await asyncio.sleep(0)
        return version


async def test_strict_mode_keeps_writers_sharing_a_queue_consistent(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    """Two instances on one queue stand for two processes: no shared lock between them."""
    queue = JitteryQueue()
    a = behind(cache, store, flusher=False, queue=queue, strict=True)
    b = behind(cache, store, flusher=False, queue=queue, strict=True)
    for round_no in range(100):
        await asyncio.gather(
            a.set(1, Item(name="a", n=round_no)),
            b.set(1, Item(name="b", n=round_no)),
            a.get(1),
            b.get(1),
        )
        pending = await queue.peek("1")
        assert pending is not None
        assert pending.value is not None
        latest = Item.model_validate_json(pending.value)
        assert await cache.get("item:1", Item) in (None, latest), f"round {round_no}"
        assert await b.get(1) == latest
        if round_no % 10 == 0:
            await a.flush()
    await a.close()
    await b.close()
    assert await store.get(1) == latest


@pytest.mark.parametrize("cache_kind", ["memory"], indirect=True)
async def test_keys_round_trip_through_the_queue(cache: Cache) -> None:
    store = MemoryStore[object, Item]()
    items: WriteBehind[object, Item] = WriteBehind(
        cache, store, key=lambda k: f"item:{k!r}", type=Item, flusher=False
    )
    async with items:
        await items.set(1, Item(name="int"))
        await items.set("1", Item(name="str"))
        await items.set(("a", 2), Item(name="tuple"))
        await items.flush()
    assert store.items() == {
        1: Item(name="int"),
        "1": Item(name="str"),
        ("a", 2): Item(name="tuple"),
    }


@pytest.mark.parametrize("cache_kind", ["memory"], indirect=True)
async def test_undecodable_queued_bytes_are_dead_lettered(
    cache: Cache, store: DataStore[int, Item]
) -> None:
    async with behind(cache, store, flusher=False) as items:
        await items.queue.put("5", SET, b'{"unexpected": true}', 1.0)  # e.g. an old schema
        await items.set(6, Item(name="fine"))
        report = await items.flush()
        assert (report.written, report.dead_lettered) == (1, 1)
        [failed] = await items.dead_letters()
        assert (failed.key, failed.value, failed.raw) == (5, None, b'{"unexpected": true}')
        assert "TypeMismatch" in failed.error


async def test_an_unusable_value_type_is_a_configuration_error() -> None:
    import typing

    from cachewright.errors import ConfigurationError

    class OldStyle(typing.TypedDict):  # pydantic refuses typing.TypedDict on Python < 3.12
        a: int

    async with Cache.from_url("memory://") as cache:
        store: MemoryStore[int, OldStyle] = MemoryStore()
        with pytest.raises(ConfigurationError, match="cannot be used"):
            WriteBehind(cache, store, key="x:{}", type=OldStyle, queue=MemoryWriteQueue())
