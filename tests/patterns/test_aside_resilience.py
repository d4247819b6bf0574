"""Issue 19 on CacheAside: soft and hard loader timeouts, fail-safe, events (memory and Redis).

No timing is asserted: a loader is held at a gate the test opens, so "returned before
the loader finished" is a fact (the gate is still shut), not a measurement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachewright import (
    Cache,
    CachewrightError,
    ConfigurationError,
    Event,
    EventKind,
    LoaderTimeout,
    cached,
)
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import wait_until_async
from tests.patterns._aside_support import BACKENDS, Gate, User, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


class Source:
    """A loader returning ``User(key, f"v{version}")``; ``gate`` holds it, ``fail`` fails it."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.finished: list[int] = []
        self.version = 1
        self.gate: Gate | None = None
        self.fail: Exception | None = None

    async def __call__(self, key: int) -> User:
        self.calls.append(key)
        if self.gate is not None:
            await self.gate.pass_through()
        if self.fail is not None:
            raise self.fail
        self.finished.append(key)
        return User(id=key, name=f"v{self.version}")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, key: str) -> list[EventKind]:
        return [event.kind for event in self.events if event.key == key]


async def _stale(cache: Cache, key: str) -> bool:
    entry = await cache.get_entry(key)
    return entry is not None and entry.stale


async def _name(cache: Cache, key: str) -> str | None:
    user = await cache.get(key, User)
    return None if user is None else user.name


async def _make_stale(users: CacheAside[int, User], cache: Cache, key: int) -> None:
    assert await users.get(key) == User(id=key, name="v1")
    await wait_until_async(lambda: _stale(cache, f"user:{key}"), timeout=5)


# -- soft_timeout ---------------------------------------------------------------------


async def test_a_loader_slower_than_soft_timeout_serves_stale_then_fills(cache: Cache) -> None:
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, ttl=0.05, stale_ttl=60, soft_timeout=0.05
    ) as users:
        await _make_stale(users, cache, 1)
        source.version, source.gate = 2, Gate()

        served = await users.get_entry(1)

        # Returned while the loader is still held at its gate: before it finished.
        assert source.gate.entered.is_set()
        assert source.finished == [1]
        assert served.stale is True
        assert served.value == User(id=1, name="v1")
        assert seen.kinds("user:1")[-2:] == [EventKind.LOADER_TIMEOUT, EventKind.STALE]
        assert "soft_timeout" in seen.events[-2].detail
        # A second reader joins the load still running instead of calling the loader.
        assert (await users.get(1)) == User(id=1, name="v1")
        assert source.calls == [1, 1]

        source.gate.open()
        await wait_until_async(lambda: _name(cache, "user:1"), expect="v2", timeout=10)
        await wait_until_async(lambda: _has(seen, EventKind.BACKGROUND_FILL, "user:1"), timeout=10)
        assert (await users.get_entry(1)).value == User(id=1, name="v2")
        stats = await users.stats()
        assert stats.loader_timeouts == 2
        assert stats.stale_served == 2


async def _has(recorder: Recorder, kind: EventKind, key: str) -> bool:
    return kind in recorder.kinds(key)


async def test_a_loader_within_soft_timeout_returns_the_fresh_value(cache: Cache) -> None:
    source = Source()
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, ttl=0.05, stale_ttl=60, soft_timeout=30
    ) as users:
        await _make_stale(users, cache, 1)
        source.version = 2
        served = await users.get_entry(1)
        assert served.stale is False
        assert served.value == User(id=1, name="v2")
        assert await _name(cache, "user:1") == "v2"
        assert (await users.stats()).loader_timeouts == 0


async def test_a_failing_refresh_within_soft_timeout_serves_stale_fail_safe(
    cache: Cache,
) -> None:
    source = Source()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, ttl=0.05, stale_ttl=60, soft_timeout=30
    ) as users:
        await _make_stale(users, cache, 1)
        source.fail = RuntimeError("database down")
        served = await users.get_entry(1)
        assert served.stale is True
        assert served.value == User(id=1, name="v1")
        assert EventKind.FAIL_SAFE in seen.kinds("user:1")
        assert "database down" in next(e for e in seen.events if e.kind == "fail_safe").detail
        assert (await users.stats()).fail_safe == 1


async def test_soft_timeout_needs_stale_ttl_and_must_be_below_hard_timeout(cache: Cache) -> None:
    with pytest.raises(ConfigurationError, match="stale_ttl"):
        CacheAside(cache, loader=Source(), key="u:{}", soft_timeout=1)
    with pytest.raises(ConfigurationError, match="shorter"):
        CacheAside(cache, loader=Source(), key="u:{}", stale_ttl=5, soft_timeout=2, hard_timeout=1)
    with pytest.raises(ConfigurationError, match="hard_timeout"):
        CacheAside(cache, loader=Source(), key="u:{}", hard_timeout=0)


# -- hard_timeout ---------------------------------------------------------------------


async def test_hard_timeout_raises_loader_timeout_and_the_load_still_fills(cache: Cache) -> None:
    source = Source()
    source.gate = Gate()
    seen = Recorder()
    cache.events.subscribe(seen)
    async with CacheAside(
        cache, loader=source, key="user:{}", type=User, hard_timeout=0.05
    ) as users:
        with pytest.raises(LoaderTimeout) as raised:
            await users.get(1)
        error = raised.value
        assert isinstance(error, CachewrightError)
        assert isinstance(error, TimeoutError)
        assert error.__cause__ is None
        assert error.__context__ is None
        assert error.key == "user:1"
        assert error.timeout == 0.05
        assert source.finished == []  # the loader had not finished
        assert seen.kinds("user:1") == [EventKind.MISS, EventKind.LOADER_TIMEOUT]

        # The next reader joins the load in flight rather than calling the loader again.
        with pytest.raises(LoaderTimeout):
            await users.get(1)
        assert source.calls == [1]

        source.gate.open()
        await wait_until_async(lambda: _name(cache, "user:1"), expect="v1", timeout=10)
        await wait_until_async(lambda: _has(seen, EventKind.BACKGROUND_FILL, "user:1"), timeout=10)
        assert await users.get(1) == User(id=1, name="v1")
        assert source.calls == [1]
        assert (await users.stats()).fills == 1


async def test_a_loader_failing_within_hard_timeout_raises_its_own_error(cache: Cache) -> None:
    source = Source()
    source.fail = KeyError("no such user")
    async with CacheAside(cache, loader=source, key="user:{}", type=User, hard_timeout=30) as users:
        with pytest.raises(KeyError) as raised:
            await users.get(1)
        assert raised.value is source.fail
        assert await cache.get_entry("user:1") is None  # the lease was released


async def test_close_cancels_the_loads_left_in_the_background(cache: Cache) -> None:
    source = Source()
    source.gate = Gate()
    users = CacheAside(cache, loader=source, key="user:{}", type=User, hard_timeout=0.05)
    with pytest.raises(LoaderTimeout):
        await users.get(1)
    await users.close()  # returns although the gate never opens
    assert source.finished == []
    assert await cache.get("user:1", User) is None


async def test_cached_functions_take_both_timeouts(cache: Cache) -> None:
    gate = Gate()

    @cached(cache, ttl=60, hard_timeout=0.05, key="slow:{n}")
    async def slow(n: int) -> User:
        await gate.pass_through()
        return User(id=n, name="slow")

    with pytest.raises(LoaderTimeout):
        await slow(3)
    gate.open()
    await wait_until_async(lambda: _name(cache, "slow:3"), expect="slow", timeout=10)
    assert await slow(3) == User(id=3, name="slow")
    await slow.close()


# -- events ---------------------------------------------------------------------------


async def test_events_reach_subscribers_and_a_failing_callback_is_only_logged(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Recorder()

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = cache.events.subscribe(seen)
    cache.events.subscribe(broken)
    async with CacheAside(cache, loader=Source(), key="user:{}", type=User) as users:
        with caplog.at_level(logging.WARNING, logger="cachewright.events"):
            assert await users.get(1) == User(id=1, name="v1")
            assert await users.get(1) == User(id=1, name="v1")
        assert seen.kinds("user:1") == [EventKind.MISS, EventKind.HIT]
        assert seen.events[0].source == "cache_aside"
        assert "subscriber bug" in caplog.text
        unsubscribe()
        await users.get(1)
        assert len(seen.events) == 2


async def test_events_are_counted_by_the_otel_counter(redis_url: str, namespace: str) -> None:
    sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
    sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    from cachewright import otel_metrics

    reader = sdk_export.InMemoryMetricReader()
    metrics = otel_metrics(sdk_metrics.MeterProvider(metric_readers=[reader]))
    async with (
        Cache.from_url(redis_url, namespace=namespace, metrics=metrics) as cache,
        CacheAside(cache, loader=Source(), key="user:{}", type=User) as users,
    ):
        await users.get(1)
        await users.get(1)
        await users.get(1)
        await cache.clear()
    counts: dict[str, int] = {}
    data: Any = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "cachewright.events":
                    for point in metric.data.data_points:
                        counts[point.attributes["cachewright.event"]] = point.value
    assert counts == {"miss": 1, "hit": 2}


async def test_a_cancelled_caller_does_not_cancel_a_timed_load(cache: Cache) -> None:
    source = Source()
    source.gate = Gate()
    async with CacheAside(cache, loader=source, key="user:{}", type=User, hard_timeout=30) as users:
        task = asyncio.create_task(users.get(1))
        await source.gate.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        source.gate.open()
        await wait_until_async(lambda: _name(cache, "user:1"), expect="v1", timeout=10)
