"""CacheAside against memory and a private Redis: G7 in one process, G8, G10, negatives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cachewright import (
    Cache,
    ConfigurationError,
    Entry,
    LockTimeout,
    Settings,
    TypeMismatch,
)
from cachewright.patterns.aside._refresh import refresh_early
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import wait_until_async
from tests.patterns._aside_support import BACKENDS, Gate, User, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


class Loader:
    """A loader that counts its calls; ``fail`` makes it raise, ``gate`` holds it."""

    def __init__(self, *, gate: Gate | None = None) -> None:
        self.calls: list[int] = []
        self.fail: Exception | None = None
        self.version = 1
        self.gate = gate

    async def __call__(self, key: int) -> User | None:
        self.calls.append(key)
        if self.gate is not None:
            await self.gate.pass_through()
        if self.fail is not None:
            raise self.fail
        if key < 0:
            return None
        return User(id=key, name=f"v{self.version}")


# -- G7 in one process --------------------------------------------------------------


async def test_a_thousand_concurrent_misses_run_the_loader_once(cache: Cache) -> None:
    loader = Loader(gate=Gate())
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        tasks = [asyncio.create_task(users.get(7)) for _ in range(1_000)]
        await loader.gate.entered.wait()  # type: ignore[union-attr]
        loader.gate.open()  # type: ignore[union-attr]
        values = await asyncio.gather(*tasks)
        assert loader.calls == [7]
        assert all(value == User(id=7, name="v1") for value in values)
        assert await cache.get("user:7", User) == User(id=7, name="v1")
        assert await users.get(7) == User(id=7, name="v1")
        assert loader.calls == [7]


async def test_a_failure_reaches_every_waiter_and_the_next_call_retries(cache: Cache) -> None:
    loader = Loader(gate=Gate())
    loader.fail = RuntimeError("database down")
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        tasks = [asyncio.create_task(users.get(1)) for _ in range(50)]
        await loader.gate.entered.wait()  # type: ignore[union-attr]
        loader.gate.open()  # type: ignore[union-attr]
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert loader.calls == [1]
        # Every waiter gets the loader's own exception object, noted once with the key.
        assert all(outcome is loader.fail for outcome in outcomes)
        assert loader.fail.__notes__ == ["cachewright: while loading key 1 (cache key 'user:1')"]
        # The failed lease was released: nothing waits for it, nothing is cached.
        assert await cache.lookup("user:1") is None

        loader.fail = None
        assert await users.get(1) == User(id=1, name="v1")
        assert loader.calls == [1, 1]


async def test_a_cancelled_caller_does_not_cancel_the_shared_load(cache: Cache) -> None:
    loader = Loader(gate=Gate())
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        first = asyncio.create_task(users.get(3))
        second = asyncio.create_task(users.get(3))
        await loader.gate.entered.wait()  # type: ignore[union-attr]
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        loader.gate.open()  # type: ignore[union-attr]
        assert await second == User(id=3, name="v1")
        assert loader.calls == [3]
        assert await cache.get("user:3", User) == User(id=3, name="v1")


# -- negative caching ---------------------------------------------------------------


async def test_a_cached_none_is_told_apart_from_a_miss(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, cache_none=True, none_ttl=30
    ) as users:
        assert await users.get(-1) is None
        assert await users.get(-1) is None
        assert loader.calls == [-1]  # the None was cached
        entry = await cache.get_entry("user:-1", User | None)
        assert entry is not None
        assert entry.value is None
        ttl = await cache.ttl("user:-1")
        assert ttl is not None
        assert ttl <= 30
        served = await users.get_entry(-1)
        assert served.value is None
        assert served.stale is False
        assert await cache.get_entry("user:-2") is None  # a true miss reads as None


async def test_without_cache_none_a_none_is_returned_and_not_cached(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        assert await users.get(-1) is None
        assert await users.get(-1) is None
        assert loader.calls == [-1, -1]
        assert await cache.lookup("user:-1") is None  # no entry and no leftover lease


# -- G10: fills never overwrite a newer write or an invalidation ---------------------


@pytest.mark.parametrize("interference", ["invalidate", "aside_set", "cache_set", "tags"])
async def test_a_fill_racing_a_write_or_invalidation_keeps_the_newer_state(
    cache: Cache, interference: str
) -> None:
    loader = Loader(gate=Gate())
    newer = User(id=5, name="newer")
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, tags="users") as users:
        reader = asyncio.create_task(users.get(5))
        await loader.gate.entered.wait()  # type: ignore[union-attr]
        # The load is in progress (it read "v1" from the source); now the source changes.
        if interference == "invalidate":
            assert await users.invalidate(5) is True  # deletes the lease
        elif interference == "aside_set":
            await users.set(5, newer)
        elif interference == "cache_set":
            await cache.set("user:5", newer, ttl=60)
        else:
            assert await cache.invalidate_tags("users") == 1  # the lease carries the tag
        loader.gate.open()  # type: ignore[union-attr]
        assert await reader == User(id=5, name="v1")  # the caller gets what it loaded

        expected = None if interference in ("invalidate", "tags") else newer
        assert await cache.get("user:5", User) == expected
        assert (await users.stats()).fills_refused == 1
        # Callers arriving after the change never join the older load.
        loader.gate = None
        loader.version = 2
        fresh = await users.get(5)
        assert fresh == (User(id=5, name="v2") if expected is None else newer)


async def test_a_refresh_never_overwrites_a_newer_write(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        await users.get(9)
        gate = loader.gate = Gate()
        refresh = asyncio.create_task(users.refresh(9))
        await gate.entered.wait()
        # Same ttl, likely the same millisecond as the entry being refreshed: the
        # entry's version still tells the two writes apart.
        await users.set(9, User(id=9, name="newer"))
        gate.open()
        assert await refresh == User(id=9, name="v1")
        assert await cache.get("user:9", User) == User(id=9, name="newer")


async def test_refresh_reloads_and_replaces_the_entry(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        assert await users.get(4) == User(id=4, name="v1")
        loader.version = 2
        assert await users.get(4) == User(id=4, name="v1")  # cached
        assert await users.refresh(4) == User(id=4, name="v2")
        assert await users.get(4) == User(id=4, name="v2")
        assert await users.refresh(40) == User(id=40, name="v2")  # a missing key is filled
        assert await cache.get("user:40", User) == User(id=40, name="v2")


async def test_set_and_invalidate(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=timedelta(minutes=5)
    ) as users:
        await users.set(1, User(id=1, name="written"))
        assert await users.get(1) == User(id=1, name="written")
        assert loader.calls == []
        assert await users.invalidate(1) is True
        assert await users.invalidate(1) is False
        assert await users.get(1) == User(id=1, name="v1")
        await users.set(1, None)  # without cache_none: same as invalidate
        assert await cache.exists("user:1") is False
        await users.set(2, User(id=2, name="b"))
        await users.set(3, User(id=3, name="c"))
        assert await users.invalidate_many([2, 3, 4]) == 2
        assert users.cache_key(2) == "user:2"


# -- G7 across processes, simulated with leases held by "another process" ------------


async def test_a_lock_waiter_uses_the_value_another_process_fills(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, lock=True) as users:
        lease = await cache.try_lease("user:8", 10)  # another process is loading user 8
        assert lease is not None
        waiter = asyncio.create_task(users.get(8))
        await wait_until_async(lambda: _stat(users, "lock_waits"), expect=1)
        assert not waiter.done()
        filled = User(id=8, name="from another process")
        assert await cache.set_if_version("user:8", filled, lease.version, 60, type=User)
        assert await waiter == filled
        assert loader.calls == []


async def test_a_lock_waiter_takes_over_when_the_lease_expires(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, lock=True) as users:
        assert await cache.try_lease("user:8", 0.15) is not None  # its holder "died"
        assert await users.get(8) == User(id=8, name="v1")
        assert loader.calls == [8]
        assert await cache.get("user:8", User) == User(id=8, name="v1")


async def test_a_lock_wait_gives_up_after_lock_wait(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, lock=True, lock_wait=0.15
    ) as users:
        assert await cache.try_lease("user:8", 30) is not None
        with pytest.raises(LockTimeout):
            await users.get(8)
        assert loader.calls == []
        assert (await users.stats()).lock_timeouts == 1


async def test_without_lock_a_held_lease_means_load_but_do_not_fill(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User) as users:
        lease = await cache.try_lease("user:8", 30)
        assert lease is not None
        assert await users.get(8) == User(id=8, name="v1")
        found = await cache.lookup("user:8")
        assert found is not None
        assert found.version == lease.version  # the other filler's lease is untouched


async def test_hits_never_touch_the_lock(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, lock=True) as users:
        await cache.set("user:1", User(id=1, name="cached"), ttl=60)
        assert (
            await asyncio.gather(*(users.get(1) for _ in range(100)))
            == [User(id=1, name="cached")] * 100
        )
        assert (await users.stats()).lock_waits == 0
        assert loader.calls == []


@pytest.mark.parametrize("lock", [False, True])
async def test_an_unreadable_entry_is_replaced_not_waited_on(cache: Cache, lock: bool) -> None:
    """G5 reads a corrupt entry as a miss; the fill must still be able to replace it."""
    loader = Loader()
    await cache.backend.set(cache.keys.entry("user:1"), b"\xccw garbage", None)
    await cache.set("user:2", {"unexpected": "shape"}, ttl=60)  # readable, wrong type
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, lock=lock, lock_wait=2
    ) as users:
        assert await users.get(1) == User(id=1, name="v1")
        assert await cache.get("user:1", User) == User(id=1, name="v1")
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, lock=lock) as users:
        with pytest.raises(TypeMismatch):
            await users.get(2)  # on_type_mismatch="raise" (the default) says so
    # With on_type_mismatch="miss" the entry of the old shape is replaced by a fill.
    tolerant = Cache(
        cache.backend, settings=Settings(namespace=cache.namespace, on_type_mismatch="miss")
    )
    async with CacheAside(
        tolerant, loader=loader, key="user:{}", type=User, lock=lock, lock_wait=2
    ) as users:
        assert await users.get(2) == User(id=2, name="v1")
        assert await cache.get("user:2", User) == User(id=2, name="v1")


# -- G8: stale on error, background refresh, early refresh ---------------------------


async def _stale(cache: Cache, key: str) -> bool:
    entry = await cache.get_entry(key)
    return entry is not None and entry.stale


async def _value(result: object) -> object:
    return result


async def _stat(aside: CacheAside[Any, Any], name: str) -> object:
    return getattr(await aside.stats(), name)


async def test_a_stale_value_is_served_while_the_loader_fails_then_replaced(
    cache: Cache,
) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        assert await users.get(1) == User(id=1, name="v1")
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)

        loader.fail = RuntimeError("database down")
        served = await users.get_entry(1)
        assert served.value == User(id=1, name="v1")
        assert served.stale is True
        await wait_until_async(lambda: _value(len(loader.calls)), expect=2)
        assert await users.get(1) == User(id=1, name="v1")  # still served, still stale

        loader.fail = None
        loader.version = 2
        assert await users.get(1) == User(id=1, name="v1")  # starts a refresh that succeeds

        async def refreshed() -> bool:
            entry = await cache.get_entry("user:1", User)
            return entry is not None and entry.value == User(id=1, name="v2")

        await wait_until_async(refreshed, timeout=5)
        stats = await users.stats()
        assert stats.stale_served >= 2
        assert stats.load_errors >= 1


async def test_after_the_stale_grace_a_failing_loader_raises(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=0.05, stale_ttl=0.1
    ) as users:
        await users.get(1)
        await wait_until_async(lambda: cache.exists("user:1"), expect=False, timeout=5)
        loader.fail = RuntimeError("database down")
        with pytest.raises(RuntimeError) as caught:
            await users.get(1)
        assert caught.value is loader.fail


async def test_one_background_refresh_per_key_at_a_time(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        await users.get(1)
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        gate = loader.gate = Gate()
        for _ in range(20):
            assert (await users.get_entry(1)).stale
        await gate.entered.wait()
        assert loader.calls == [1, 1]  # one refresh running, the other reads served stale
        assert (await users.stats()).refreshes == 1
        gate.open()


async def test_a_stale_refresh_never_overwrites_a_newer_write(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        await users.get(1)
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        gate = loader.gate = Gate()
        assert (await users.get_entry(1)).stale  # starts the background refresh
        await gate.entered.wait()
        newer = User(id=1, name="newer")
        await users.set(1, newer)
        gate.open()
        await wait_until_async(lambda: _stat(users, "fills_refused"), expect=1)
        assert await cache.get("user:1", User) == newer


async def test_close_cancels_background_refreshes(cache: Cache) -> None:
    loader = Loader()
    users = CacheAside(cache, loader=loader, key="user:{}", type=User, ttl=0.05, stale_ttl=60)
    await users.get(1)
    await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
    gate = loader.gate = Gate()
    await users.get(1)
    await gate.entered.wait()
    await users.close()  # the refresh is cancelled, not awaited forever
    await users.close()  # idempotent
    entry = await users.get_entry(1)  # reads still work, without a refresh
    assert entry.stale


async def test_early_refresh_reloads_a_hot_entry_before_it_expires(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=600, early_refresh=1e12
    ) as users:
        await users.get(1)  # measures the load time (XFetch's delta)
        loader.version = 2
        assert await users.get(1) == User(id=1, name="v1")  # a hit, refreshed in background

        async def refreshed() -> object:
            return await cache.get("user:1", User)

        await wait_until_async(refreshed, expect=User(id=1, name="v2"), timeout=5)


async def test_without_early_refresh_a_hit_does_not_load(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(cache, loader=loader, key="user:{}", type=User, ttl=600) as users:
        for _ in range(10):
            await users.get(1)
        assert loader.calls == [1]
        assert (await users.stats()).refreshes == 0


def test_xfetch_probability_rises_near_expiry() -> None:
    now = datetime.now(UTC).timestamp()
    far = datetime.fromtimestamp(now + 3600, tz=UTC)
    past = datetime.fromtimestamp(now - 1, tz=UTC)
    assert not refresh_early(far, delta=0.0, beta=1.0, now=now)  # no load measured yet
    assert refresh_early(past, delta=0.01, beta=1.0, now=now)
    hits = sum(refresh_early(far, delta=0.001, beta=1.0, now=now) for _ in range(1_000))
    assert hits == 0
    near = datetime.fromtimestamp(now + 0.05, tz=UTC)
    share = sum(refresh_early(near, delta=0.05, beta=1.0, now=now) for _ in range(2_000))
    assert 500 < share < 1_000  # P = exp(-1) ~ 0.37 of 2,000


# -- entries and options ------------------------------------------------------------


async def test_an_entry_is_typed_and_carries_metadata(cache: Cache) -> None:
    loader = Loader()
    async with CacheAside(
        cache, loader=loader, key="user:{}", type=User, ttl=60, stale_ttl=30, tags=["users"]
    ) as users:
        loaded = await users.get_entry(1)
        cached = await users.get_entry(1)
        for entry in (loaded, cached):
            assert isinstance(entry, Entry)
            assert entry.value == User(id=1, name="v1")
            assert entry.tags == ("users",)
            assert entry.fresh_until is not None
            assert entry.expires_at is not None
            assert entry.expires_at - entry.fresh_until == timedelta(seconds=30)


def test_options_are_checked() -> None:
    cache = Cache.from_url("memory://")
    loader = Loader()
    with pytest.raises(ConfigurationError):
        CacheAside(cache, loader=loader, key="user:{}:{}")
    with pytest.raises(ConfigurationError):
        CacheAside(cache, loader=loader, key="user", ttl=None, stale_ttl=10)
    with pytest.raises(ConfigurationError):
        CacheAside(cache, loader=loader, key="user:{}", batch_fill="fast", stale_ttl=10)
    with pytest.raises(ConfigurationError):
        CacheAside(cache, loader=loader, key="user:{}", lock_ttl=0)
    with pytest.raises(ConfigurationError):
        CacheAside(cache, loader=42, key="user:{}")  # type: ignore[arg-type]
