"""CacheAside.get_many: one cache read, one batched load, fills counted per round trip.

Round trips are counted with a delegating backend: every Backend call is one round
trip on one node (G2), so counting calls counts round trips. On a private Redis the
commands are counted too, with INFO commandstats.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from cachewright import Cache, Settings
from cachewright.cache import Backend
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import RedisServer, wait_until_async
from tests.patterns._aside_support import (
    BACKENDS,
    CountingStore,
    Gate,
    User,
    command_counts,
    command_delta,
    open_cache,
)


class CountingBackend:
    """A real backend, wrapped to count its calls (one call: one round trip)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        # Only the backend's calls to Redis are counted; its plain methods (the node
        # serving a key, the replica reader) stay plain.
        if name.startswith("_") or not inspect.iscoroutinefunction(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await cast(Callable[..., Awaitable[Any]], attr)(*args, **kwargs)

        return counted


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


def counted(cache: Cache) -> tuple[Cache, CountingBackend]:
    """The same backend behind a second Cache that counts round trips."""
    backend = CountingBackend(cache.backend)
    return Cache(cast(Backend, backend), namespace=cache.namespace), backend


def users(n: int) -> dict[int, User]:
    return {i: User(id=i, name=f"u{i}") for i in range(1, n + 1)}


async def test_hits_come_from_the_cache_and_misses_from_one_store_call(cache: Cache) -> None:
    store = CountingStore(users(10))
    async with CacheAside(cache, loader=store, key="user:{}", type=User) as aside:
        for i in (1, 2, 3):
            await aside.set(i, User(id=i, name="cached"))
        found = await aside.get_many([*range(1, 11), 99])
        assert store.get_many_calls == [[4, 5, 6, 7, 8, 9, 10, 99]]
        assert found == {
            **{i: User(id=i, name="cached") for i in (1, 2, 3)},
            **{i: User(id=i, name=f"u{i}") for i in range(4, 11)},
        }
        assert await aside.get_many(range(1, 11)) == found  # now all cached
        assert len(store.get_many_calls) == 1
        assert await aside.get_many([]) == {}


async def test_a_function_loader_runs_concurrently_within_max_concurrency(cache: Cache) -> None:
    store = CountingStore(users(40))
    async with CacheAside(
        cache, loader=store.get, key="user:{}", type=User, max_concurrency=4
    ) as aside:
        found = await aside.get_many(range(1, 41))
        assert len(found) == 40
        assert sorted(store.get_calls) == list(range(1, 41))
        assert 1 < store.max_in_flight <= 4


@pytest.mark.parametrize(("batch_fill", "fill_calls"), [("safe", None), ("fast", 1)])
async def test_round_trips_of_a_batch_read(
    cache: Cache, batch_fill: str, fill_calls: int | None
) -> None:
    counting_cache, backend = counted(cache)
    store = CountingStore(users(10))
    async with CacheAside(
        counting_cache,
        loader=store,
        key="user:{}",
        type=User,
        batch_fill=batch_fill,  # type: ignore[arg-type]
    ) as aside:
        await counting_cache.set_many({f"user:{i}": users(3)[i] for i in (1, 2, 3)}, ttl=60)
        backend.calls.clear()
        assert len(await aside.get_many(range(1, 11))) == 10
        calls = dict(backend.calls)
    assert calls.pop("get_many") == 1  # one read for all ten keys
    assert len(store.get_many_calls) == 1  # one load for the seven misses
    if batch_fill == "fast":
        assert calls == {"set_many": fill_calls}
    else:
        # A lease and a compare-and-set per missing key, sent concurrently (G10).
        assert calls == {"add": 7, "compare_and_set": 7}


@pytest.mark.redis
async def test_commands_of_a_batch_read_on_redis(fresh_redis: RedisServer, namespace: str) -> None:
    store = CountingStore(users(10))
    async with (
        Cache.from_url(fresh_redis.url, settings=Settings(namespace=namespace)) as cache,
        CacheAside(cache, loader=store, key="user:{}", type=User) as safe,
        CacheAside(cache, loader=store, key="fast:{}", type=User, batch_fill="fast") as fast,
    ):
        await cache.set_many({f"user:{i}": users(3)[i] for i in (1, 2, 3)}, ttl=60)
        await cache.set_many({f"fast:{i}": users(3)[i] for i in (1, 2, 3)}, ttl=60)

        before = command_counts(fresh_redis)
        assert len(await safe.get_many(range(1, 11))) == 10
        spent_safe = command_delta(before, command_counts(fresh_redis))

        before = command_counts(fresh_redis)
        assert len(await fast.get_many(range(1, 11))) == 10
        spent_fast = command_delta(before, command_counts(fresh_redis))

    # safe: MGET, then per missing key SET NX and EVALSHA (running GETRANGE + SET)
    assert spent_safe == {
        "cmdstat_mget": 1,
        "cmdstat_set": 7 + 7,
        "cmdstat_evalsha": 7,
        "cmdstat_getrange": 7,
    }
    # fast: MGET, then one EVALSHA writing the seven values
    assert spent_fast == {"cmdstat_mget": 1, "cmdstat_evalsha": 1, "cmdstat_set": 7}


async def test_a_safe_batch_fill_keeps_an_invalidation_made_during_the_load(
    cache: Cache,
) -> None:
    gate = Gate()
    store = CountingStore(users(5))

    async def load_many(key: int) -> User | None:
        await gate.pass_through()
        return await store.get(key)

    async with CacheAside(cache, loader=load_many, key="user:{}", type=User) as aside:
        reader = asyncio.create_task(aside.get_many(range(1, 6)))
        await gate.entered.wait()
        await aside.invalidate(4)
        await cache.set("user:5", User(id=5, name="newer"), ttl=60)
        gate.open()
        assert len(await reader) == 5
        assert await cache.get("user:4", User) is None
        assert await cache.get("user:5", User) == User(id=5, name="newer")
        assert await cache.get("user:1", User) == User(id=1, name="u1")
        assert (await aside.stats()).fills_refused == 2


async def test_a_fast_batch_fill_gives_up_g10_as_documented(cache: Cache) -> None:
    gate = Gate()
    store = CountingStore(users(5))

    async def load(key: int) -> User | None:
        await gate.pass_through()
        return await store.get(key)

    async with CacheAside(cache, loader=load, key="user:{}", type=User, batch_fill="fast") as aside:
        reader = asyncio.create_task(aside.get_many(range(1, 6)))
        await gate.entered.wait()
        await aside.invalidate(4)
        gate.open()
        await reader
        # The older value is back in the cache despite the invalidation: the trade-off.
        assert await cache.get("user:4", User) == User(id=4, name="u4")


async def test_one_failing_key_raises_but_the_others_are_cached(cache: Cache) -> None:
    async def load(key: int) -> User | None:
        if key == 3:
            raise RuntimeError("row 3 is broken")
        return User(id=key, name=f"u{key}")

    async with CacheAside(cache, loader=load, key="user:{}", type=User) as aside:
        with pytest.raises(RuntimeError, match="row 3 is broken") as caught:
            await aside.get_many(range(1, 6))
        assert "key 3" in caught.value.__notes__[0]
        assert await cache.get("user:1", User) == User(id=1, name="u1")
        assert await cache.lookup("user:3") is None  # its lease was released


async def test_negative_entries_are_cached_but_absent_from_the_result(cache: Cache) -> None:
    store = CountingStore(users(2))
    async with CacheAside(cache, loader=store, key="user:{}", type=User, cache_none=True) as aside:
        assert await aside.get_many([1, 2, 3]) == {1: users(2)[1], 2: users(2)[2]}
        entry = await cache.get_entry("user:3")
        assert entry is not None
        assert entry.value is None
        assert await aside.get_many([1, 2, 3]) == {1: users(2)[1], 2: users(2)[2]}
        assert len(store.get_many_calls) == 1


async def test_stale_entries_in_a_batch_are_served_and_refreshed(cache: Cache) -> None:
    store = CountingStore(users(3))
    async with CacheAside(
        cache, loader=store, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as aside:
        await aside.get_many([1, 2, 3])

        async def all_stale() -> bool:
            entries = await cache.get_many_entries(["user:1", "user:2", "user:3"])
            return len(entries) == 3 and all(entry.stale for entry in entries.values())

        await wait_until_async(all_stale, timeout=5)
        await store.set(2, User(id=2, name="changed"))
        assert await aside.get_many([1, 2, 3]) == users(3)  # stale, at once
        assert (await aside.stats()).stale_served == 3

        async def changed() -> object:
            return await cache.get("user:2", User)

        await wait_until_async(changed, expect=User(id=2, name="changed"), timeout=5)
