"""Read-your-writes across patterns in one process (issue 15, item 9).

A read that starts after a write to a key has returned, through any pattern or the
cache itself, never returns a value older than that write. The race it guards: a
CacheAside load that began before the write is still running when the read starts;
single flight would hand the new reader that load's older value.

Each test is deterministic: the first reader's loader reads the old value, then blocks
on an ``asyncio.Event``; the write happens and returns; a second reader starts; only
then is the first load released. Without the fence the second reader joins the first
load and gets the old value.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest

from cachewright import (
    Cache,
    CacheAside,
    LoaderTimeout,
    Settings,
    WriteBehind,
    WriteThrough,
    cached,
)
from cachewright.cache import LocalTier
from cachewright.stores import MemoryStore
from tests.patterns._write_support import Item, cache_url

BACKENDS = ["memory", "redis", "redis+local"]
OLD = Item(name="old", n=1)
NEW = Item(name="new", n=2)

Writer = Callable[[Cache, MemoryStore[int, Item]], Awaitable[None]]


@asynccontextmanager
async def opened(kind: str, namespace: str, request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    url = cache_url("memory" if kind == "memory" else "redis", request)
    local = LocalTier(ttl=60) if kind.endswith("+local") else None
    cache = Cache.from_url(url, settings=Settings(namespace=namespace), local=local)
    async with cache:
        try:
            yield cache
        finally:
            await cache.clear()


class GatedLoader:
    """Reads the store, then (first call only) waits for ``release`` before returning:
    a slow load that read the value from before the write."""

    def __init__(self, read: Callable[[int], Awaitable[Item | None]]) -> None:
        self.read = read
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self, key: int) -> Item | None:
        self.calls += 1
        value = await self.read(key)
        if self.calls == 1:
            self.entered.set()
            await self.release.wait()
        return value


async def second_read_after_write(
    read: Callable[[], Coroutine[Any, Any, Item | None]],
    loader: GatedLoader,
    write: Callable[[], Awaitable[None]],
) -> tuple[Item | None, Item | None]:
    """First read blocks in its load; the write returns; a second read starts; then the
    first load is released. Returns (first result, second result)."""
    first = asyncio.create_task(read())
    await loader.entered.wait()  # the first load has read the old value
    await write()  # ... and the write has returned
    second = asyncio.create_task(read())
    # Give the second read its chance to finish on its own (it must not need the
    # first load); the deadline only bounds the test, the values are what is asserted.
    await asyncio.wait({second}, timeout=10)
    loader.release.set()
    return await first, await second


async def write_through_set(cache: Cache, store: MemoryStore[int, Item]) -> None:
    await WriteThrough(cache, store, key="item:{}", type=Item, ttl=60).set(1, NEW)


async def write_through_delete(cache: Cache, store: MemoryStore[int, Item]) -> None:
    await WriteThrough(cache, store, key="item:{}", type=Item, ttl=60).delete(1)


async def cache_set(cache: Cache, store: MemoryStore[int, Item]) -> None:
    await store.set(1, NEW)  # write the database, then the cache
    await cache.set("item:1", NEW, ttl=60, type=Item)


async def cache_delete(cache: Cache, store: MemoryStore[int, Item]) -> None:
    await store.set(1, NEW)  # write the database, then invalidate the cache
    await cache.delete("item:1")


WRITERS: dict[str, tuple[Writer, Item | None]] = {
    "WriteThrough.set": (write_through_set, NEW),
    "WriteThrough.delete": (write_through_delete, None),
    "Cache.set": (cache_set, NEW),
    "Cache.delete": (cache_delete, NEW),
}


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("kind", BACKENDS)
async def test_cache_aside_read_after_a_write_sees_it(
    kind: str, writer: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    write, expected = WRITERS[writer]
    async with opened(kind, namespace, request) as cache:
        store = MemoryStore[int, Item]({1: OLD})
        loader = GatedLoader(store.get)
        items = CacheAside(cache, loader=loader, key="item:{}", type=Item, ttl=60)
        first, second = await second_read_after_write(
            lambda: items.get(1), loader, lambda: write(cache, store)
        )
        assert first == OLD  # began before the write: may return what it loaded
        assert second == expected  # began after it returned: never older
        # The first load's fill lost to the write (G10): later reads agree.
        assert await items.get(1) == expected
        await items.close()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_read_after_a_delete_does_not_join_a_load_past_its_hard_timeout(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    """A load that outlived ``hard_timeout`` goes on in the background, and later
    misses join it; a write to its key detaches it, as it detaches single flight."""
    async with opened(kind, namespace, request) as cache:
        store = MemoryStore[int, Item]({1: OLD})
        loader = GatedLoader(store.get)
        items = CacheAside(cache, loader=loader, key="item:{}", type=Item, ttl=60, hard_timeout=2)
        first = asyncio.create_task(items.get(1))
        await loader.entered.wait()  # the first load has read the old value ...
        with pytest.raises(LoaderTimeout):
            await first  # ... and goes on in the background past its caller
        await cache_delete(cache, store)
        assert await items.get(1) == NEW  # a load of its own, not the one holding OLD
        loader.release.set()
        await items.close()
        assert loader.calls == 2
        assert await items.get(1) == NEW  # the old load's fill lost to the delete (G10)


@pytest.mark.parametrize("strict", [None, False, True])
@pytest.mark.parametrize("kind", BACKENDS)
async def test_cache_aside_over_write_behind_sees_a_pending_write(
    kind: str, strict: bool | None, namespace: str, request: pytest.FixtureRequest
) -> None:
    """The write-behind recipe: CacheAside's loader is ``WriteBehind.get`` (which sees
    writes still queued), so its reads never go behind a write-behind write."""
    async with opened(kind, namespace, request) as cache:
        store = MemoryStore[int, Item]({1: OLD})
        profiles = WriteBehind(
            cache, store, key="item:{}", type=Item, ttl=60, flush_interval=60, strict=strict
        )
        async with profiles:
            loader = GatedLoader(profiles.get)
            items = CacheAside(cache, loader=loader, key="item:{}", type=Item, ttl=60)
            first, second = await second_read_after_write(
                lambda: items.get(1), loader, lambda: profiles.set(1, NEW)
            )
            assert first == OLD
            assert second == NEW
            assert await items.get(1) == NEW
            await items.close()
        assert await store.get(1) == NEW  # flushed on close


@pytest.mark.parametrize("kind", BACKENDS)
async def test_cached_function_read_after_a_cache_delete_sees_it(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    async with opened(kind, namespace, request) as cache:
        store = MemoryStore[int, Item]({1: OLD})
        loader = GatedLoader(store.get)

        @cached(cache, ttl=60, key="item:{item_id}", type=Item)
        async def load_item(item_id: int) -> Item | None:
            return await loader(item_id)

        async def update() -> None:
            await store.set(1, NEW)
            await cache.delete(load_item.key(1))  # the cache, not the function's handle

        first, second = await second_read_after_write(lambda: load_item(1), loader, update)
        assert (first, second) == (OLD, NEW)
        await load_item.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_readers_still_share_one_load_without_writes(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    """The fence only detaches loads a write overtook: concurrent misses with no write
    in between still cost one loader call."""
    async with opened(kind, namespace, request) as cache:
        store = MemoryStore[int, Item]({1: OLD})
        loader = GatedLoader(store.get)
        items = CacheAside(cache, loader=loader, key="item:{}", type=Item, ttl=60)
        first = asyncio.create_task(items.get(1))
        await loader.entered.wait()
        others = [asyncio.create_task(items.get(1)) for _ in range(20)]
        await cache.set("other:1", 1)  # a write to another key fences nothing here
        loader.release.set()
        assert await asyncio.gather(first, *others) == [OLD] * 21
        assert loader.calls == 1
        await items.close()


async def test_the_cache_holds_its_watchers_weakly() -> None:
    """A CacheAside dropped by the application is not kept alive by the cache it
    watches, and writes after it is gone still work."""
    async with Cache.from_url("memory://") as cache:
        items = CacheAside(cache, loader=MemoryStore[int, Item]().get, key="item:{}", type=Item)
        gone = weakref.ref(items)
        del items
        gc.collect()
        assert gone() is None
        await cache.set("item:1", NEW, type=Item)
        assert await cache.get("item:1", Item) == NEW
