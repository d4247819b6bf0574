"""Issue 19 beyond ``get``: loader timeouts, events and background fills on ``get_many``,
``refresh()``, warm-up and the cross-process lock wait (memory and a private Redis).

No timing is asserted: a loader is held at a gate the test opens, so "returned before
the loader finished" is a fact (the gate is still shut), not a measurement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, EventKind, LoaderTimeout
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import wait_until_async
from tests.patterns._aside_support import BACKENDS, Gate, User, open_cache
from tests.patterns.test_aside_resilience import Recorder, Source, _has, _name, _stale


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


async def _filled_in_background(cache: Cache, seen: Recorder, key: str, name: str) -> None:
    await wait_until_async(lambda: _name(cache, key), expect=name, timeout=10)
    await wait_until_async(lambda: _has(seen, EventKind.BACKGROUND_FILL, key), timeout=10)


async def _fills_refused(users: CacheAside[int, User], expect: int) -> bool:
    return (await users.stats()).fills_refused == expect


# -- events ---------------------------------------------------------------------------


async def test_get_many_emits_hit_miss_and_stale_per_key_as_get_does(cache: Cache) -> None:
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=Source(), key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        assert await users.get_many([1]) == {1: User(id=1, name="v1")}
        assert seen.kinds("user:1") == [EventKind.MISS]
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        await users.get_many([1, 2])
        assert seen.kinds("user:1") == [EventKind.MISS, EventKind.HIT, EventKind.STALE]
        assert seen.kinds("user:2") == [EventKind.MISS]
        assert {event.source for event in seen.events} == {"cache_aside"}


async def test_warmup_emits_hit_for_a_skipped_key_miss_for_a_loaded_one_and_fail_safe(
    cache: Cache,
) -> None:
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        await users.get(1)
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        await users.set(2, User(id=2, name="fresh"))  # set writes with the pattern's ttl
        source.fail = RuntimeError("database down")
        report = await users.warmup([1, 3])
        assert set(report.failed) == {1, 3}
        # The stale entry whose reload failed stays in service: fail-safe.
        assert seen.kinds("user:1")[-2:] == [EventKind.MISS, EventKind.FAIL_SAFE]
        assert seen.kinds("user:3") == [EventKind.MISS]
        assert (await users.stats()).fail_safe == 1
        assert (await cache.get_entry("user:1", User)) is not None
        source.fail = None
        async with CacheAside(cache, loader=source, key="user:{}", type=User, ttl=600) as fresh:
            await fresh.set(4, User(id=4, name="cached"))
            report = await fresh.warmup([4])
            assert report.skipped == 1
            assert seen.kinds("user:4") == [EventKind.HIT]


# -- hard_timeout beyond get ----------------------------------------------------------


async def test_get_many_past_hard_timeout_raises_and_the_batch_fills_in_the_background(
    cache: Cache,
) -> None:
    source = Source()
    source.gate = Gate()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, hard_timeout=0.05
    ) as users:
        await users.set(9, User(id=9, name="hit"))
        with pytest.raises(LoaderTimeout) as raised:
            await users.get_many([9, 1, 2])
        assert raised.value.timeout == 0.05
        assert "2 keys" in str(raised.value)
        assert source.finished == []  # the loader had not finished
        for key in ("user:1", "user:2"):
            assert seen.kinds(key) == [EventKind.MISS, EventKind.LOADER_TIMEOUT]
        assert seen.kinds("user:9") == [EventKind.HIT]

        source.gate.open()
        for key in ("user:1", "user:2"):
            await _filled_in_background(cache, seen, key, "v1")
        assert await users.get_many([1, 2, 9]) == {
            1: User(id=1, name="v1"),
            2: User(id=2, name="v1"),
            9: User(id=9, name="hit"),
        }
        assert (await users.stats()).loader_timeouts == 2


async def test_refresh_past_hard_timeout_raises_and_still_fills(cache: Cache) -> None:
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, hard_timeout=0.05
    ) as users:
        await users.set(1, User(id=1, name="v1"))  # not bounded: only the refresh is
        source.version, source.gate = 2, Gate()
        with pytest.raises(LoaderTimeout):
            await users.refresh(1)
        assert await _name(cache, "user:1") == "v1"  # the loader is still held
        source.gate.open()
        await wait_until_async(lambda: _name(cache, "user:1"), expect="v2", timeout=10)
        await wait_until_async(lambda: _has(seen, EventKind.BACKGROUND_FILL, "user:1"))


async def test_hard_timeout_bounds_a_wait_on_another_process_lock(cache: Cache) -> None:
    """With ``lock=True`` a miss whose key another process has leased waits for its fill;
    ``hard_timeout`` bounds that wait as it bounds a load (``lock_wait`` is far longer).
    The wait goes on in the background: once the other process's lease is gone, it
    takes the key over, loads, and fills."""
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    other = await cache.try_lease("user:1", 60)  # the other process, mid-load
    assert other is not None
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, lock=True, lock_wait=60, hard_timeout=0.05
    ) as users:
        with pytest.raises(LoaderTimeout):
            await users.get(1)
        assert source.calls == []  # still waiting on the other process's lock
        assert (await users.stats()).lock_waits == 1
        await cache.delete("user:1")  # the other process gave up (or died): lease gone
        await wait_until_async(lambda: _name(cache, "user:1"), expect="v1", timeout=10)
        await wait_until_async(lambda: _has(seen, EventKind.BACKGROUND_FILL, "user:1"))
        assert source.calls == [1]


async def test_get_many_soft_timeout_serves_stale_keys_then_fills(cache: Cache) -> None:
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, ttl=0.05, stale_ttl=60, soft_timeout=0.05
    ) as users:
        await users.get_many([1, 2])
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        await wait_until_async(lambda: _stale(cache, "user:2"), timeout=5)
        source.version, source.gate = 2, Gate()
        served = await users.get_many([1, 2])
        assert served == {1: User(id=1, name="v1"), 2: User(id=2, name="v1")}
        assert source.finished == [1, 2]  # both refreshes are held at the gate
        assert seen.kinds("user:1")[-3:] == [
            EventKind.HIT,
            EventKind.LOADER_TIMEOUT,
            EventKind.STALE,
        ]
        source.gate.open()
        for key in ("user:1", "user:2"):
            await _filled_in_background(cache, seen, key, "v2")


# -- background_fill only for a fill that was written ---------------------------------


async def test_no_background_fill_event_when_a_newer_write_refuses_the_fill(
    cache: Cache,
) -> None:
    source = Source()
    source.gate = Gate()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, hard_timeout=0.05
    ) as users:
        with pytest.raises(LoaderTimeout):
            await users.get(1)
        await cache.set("user:1", User(id=1, name="newer"), ttl=600)  # lands mid-load
        source.gate.open()
        await wait_until_async(lambda: _fills_refused(users, 1), timeout=10)
        assert await _name(cache, "user:1") == "newer"
        assert EventKind.BACKGROUND_FILL not in seen.kinds("user:1")
