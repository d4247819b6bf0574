"""WriteThrough: store first, failure rules, read-through fills, concurrent writers (G9)."""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import AsyncIterator, Sequence

import pytest

from cachewright import Cache, MemoryBackend, Settings
from cachewright.errors import CacheUnavailable, StoreError, StoreUnavailable
from cachewright.patterns.write_through import WriteThrough
from cachewright.stores import DataStore, MemoryStore
from tests._servers import RedisServer
from tests.patterns._write_support import (
    FaultyStore,
    Item,
    cache_for,
    cache_url,
    store_for,
    store_url,
)


@pytest.fixture(params=["memory", "redis"])
def cache_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["memory"])
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


def through(
    cache: Cache, store: DataStore[int, Item], *, strict: bool = False
) -> WriteThrough[int, Item]:
    return WriteThrough(cache, store, key="item:{}", type=Item, ttl=300, strict=strict)


class CacheWatchingStore(MemoryStore[int, Item]):
    """Records what the cache held at the moment the store was written."""

    def __init__(self, cache: Cache) -> None:
        super().__init__()
        self.cache = cache
        self.cache_at_write: list[Item | None] = []

    async def set(self, key: int, value: Item) -> None:
        self.cache_at_write.append(await self.cache.get(f"item:{key}", Item))
        await super().set(key, value)


@pytest.mark.parametrize("store_kind", ["sqlite", "postgres"], indirect=True)
async def test_set_get_delete_round_trip(cache: Cache, store: FaultyStore[int, Item]) -> None:
    items = through(cache, store)
    await items.set(1, Item(name="a"))
    assert await store.inner.get(1) == Item(name="a")
    assert await cache.get("item:1", Item) == Item(name="a")
    assert await items.get(1) == Item(name="a")
    assert await items.exists(1)
    await items.set_many({2: Item(name="b"), 3: Item(name="c")})
    assert await items.get_many([1, 2, 3, 4]) == {
        1: Item(name="a"),
        2: Item(name="b"),
        3: Item(name="c"),
    }
    await items.delete(1)
    await items.delete_many([2])
    assert await store.inner.get_many([1, 2, 3]) == {3: Item(name="c")}
    assert await items.get(1) is None
    assert not await items.exists(2)
    assert await cache.get("item:2", Item) is None


async def test_the_store_is_written_before_the_cache(cache: Cache) -> None:
    store = CacheWatchingStore(cache)
    items = through(cache, store)
    await items.set(1, Item(name="v1"))
    await items.set(1, Item(name="v2"))
    assert store.cache_at_write == [None, Item(name="v1")]
    assert await cache.get("item:1", Item) == Item(name="v2")


async def test_a_store_failure_leaves_the_cache_untouched(
    cache: Cache, store: FaultyStore[int, Item]
) -> None:
    items = through(cache, store)
    await items.set(1, Item(name="v1"))
    store.down = True
    with pytest.raises(StoreUnavailable):
        await items.set(1, Item(name="v2"))
    with pytest.raises(StoreError):
        await items.delete(1)
    store.down = False
    store.poison = {1}
    with pytest.raises(StoreError):
        await items.set_many({1: Item(name="v3"), 2: Item(name="x")})
    assert await cache.get("item:1", Item) == Item(name="v1")
    assert await cache.get("item:2", Item) is None
    assert await store.inner.get(1) == Item(name="v1")
    assert (await items.stats()).store_errors == 3


async def test_other_store_exceptions_reach_the_caller_unchanged(cache: Cache) -> None:
    fire = RuntimeError("disk on fire")

    class Broken(MemoryStore[int, Item]):
        async def set(self, key: int, value: Item) -> None:
            raise fire

        async def get(self, key: int) -> Item | None:
            raise fire

    items = through(cache, Broken())
    with pytest.raises(RuntimeError) as caught:
        await items.set(1, Item(name="x"))
    assert caught.value is fire
    assert caught.value.__notes__ == ["cachewright: write-through store.set of 1"]
    assert traceback.extract_tb(caught.value.__traceback__)[-1].name == "set"
    with pytest.raises(RuntimeError) as read:
        await items.get(2)
    assert read.value is fire
    assert await cache.get("item:1", Item) is None


class FailingSets(MemoryBackend):
    """A memory backend whose plain writes fail while ``failing`` (deletes still work)."""

    failing = False

    async def set(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> None:
        if self.failing:
            raise CacheUnavailable("set refused by the test")
        await super().set(key, value, ttl_ms, tags)

    async def set_many(
        self, items: Sequence[tuple[str, bytes, int | None]], tags: Sequence[str] = ()
    ) -> None:
        if self.failing:
            raise CacheUnavailable("set refused by the test")
        await super().set_many(items, tags)


async def test_a_cache_failure_after_the_store_invalidates_and_succeeds(namespace: str) -> None:
    backend = FailingSets()
    cache = Cache(backend, settings=Settings(namespace=namespace, breaker_threshold=100))
    store = MemoryStore[int, Item]()
    items = through(cache, store)
    await items.set(1, Item(name="v1"))
    backend.failing = True
    await items.set(1, Item(name="v2"))  # succeeds: the store has it
    await items.set_many({1: Item(name="v3"), 2: Item(name="b")})
    assert (await items.stats()).cache_errors == 2
    assert (await items.stats()).invalidation_failures == 0
    assert await cache.get("item:1", Item) is None  # the stale v1 is gone
    assert await store.get(1) == Item(name="v3")
    backend.failing = False
    assert await items.get(1) == Item(name="v3")  # and reads fill from the store
    assert await cache.get("item:1", Item) == Item(name="v3")
    await cache.close()


async def test_a_dead_cache_server_does_not_fail_writes(
    fresh_redis: RedisServer, namespace: str
) -> None:
    store = MemoryStore[int, Item]()
    async with cache_for(fresh_redis.url, namespace, clear=False, connect_timeout=0.2) as cache:
        items = through(cache, store)
        await items.set(1, Item(name="v1"))
        fresh_redis.kill()
        await items.set(1, Item(name="v2"))
        assert (await items.stats()).cache_errors == 1
        assert (await items.stats()).invalidation_failures == 1  # counted and logged
        assert await items.get(1) == Item(name="v2")  # reads fail open to the store
        fresh_redis.start()  # an empty server: nothing stale survived
        assert await items.get(1) == Item(name="v2")
    assert await store.get(1) == Item(name="v2")


class SnapshotReads(MemoryStore[int, Item]):
    """``get`` reads its value, then waits for the test: a slow read of an old snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self.read_done = asyncio.Event()
        self.go_on = asyncio.Event()

    async def get(self, key: int) -> Item | None:
        value = await super().get(key)
        self.read_done.set()
        await self.go_on.wait()
        return value

    async def get_many(self, keys: Sequence[int]) -> dict[int, Item]:
        return {k: v for k in keys if (v := await self.get(k)) is not None}


@pytest.mark.parametrize("strict", [False, True])
async def test_a_read_through_fill_never_overwrites_a_newer_write(
    cache: Cache, strict: bool
) -> None:
    store = SnapshotReads()
    await MemoryStore.set(store, 1, Item(name="old"))
    items = through(cache, store, strict=strict)
    reader = asyncio.create_task(items.get(1))
    await store.read_done.wait()  # the reader holds the old value, not yet cached
    await items.set(1, Item(name="new"))
    store.go_on.set()
    assert await reader == Item(name="old")  # it read before the write: fine
    expected = None if strict else Item(name="new")  # strict writes invalidate
    assert await cache.get("item:1", Item) == expected
    assert await items.get(1) == Item(name="new")


async def _round(items: Sequence[WriteThrough[int, Item]], round_no: int) -> None:
    """Six concurrent calls on one key: mostly sets, some reads (which fill)."""
    rng = random.Random(round_no)
    calls = []
    for writer in range(6):
        wt = items[writer % len(items)]
        if rng.random() < 0.3:
            calls.append(wt.get(1))
        else:
            calls.append(wt.set(1, Item(name=f"r{round_no}", n=writer)))
    await asyncio.gather(*calls)


@pytest.mark.parametrize("strict", [False, True])
async def test_concurrent_writers_never_leave_the_cache_older_than_the_store(
    cache: Cache, strict: bool
) -> None:
    store = FaultyStore(MemoryStore[int, Item](), jitter=4, seed=1)
    items = [through(cache, store, strict=strict)]
    for round_no in range(200):
        await _round(items, round_no)
        cached = await cache.get("item:1", Item)
        assert cached in (None, await store.inner.get(1)), f"round {round_no}"
        if not strict:
            assert cached is not None


async def test_strict_mode_holds_across_instances(cache: Cache) -> None:
    """Two instances stand for two processes: no shared lock, only the cache and store."""
    store = FaultyStore(MemoryStore[int, Item](), jitter=4, seed=2)
    items = [through(cache, store, strict=True), through(cache, store, strict=True)]
    for round_no in range(200):
        await _round(items, round_no)
        assert await cache.get("item:1", Item) in (None, await store.inner.get(1))
