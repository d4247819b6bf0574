"""Warm-up: 10,000 keys from SQLite, bounded concurrency, failures reported, the job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
import sqlalchemy as sa

from cachewright import Cache, ConfigurationError, TypeMismatch
from cachewright.patterns.aside.cache_aside import CacheAside
from cachewright.patterns.aside.warmup import Warmup, WarmupReport
from cachewright.stores import SQLStore
from tests.patterns._aside_support import BACKENDS, CountingStore, Gate, User, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


class Tracked:
    """A data store seen through its two read methods, counting batch reads in flight."""

    def __init__(self, store: SQLStore[int, User]) -> None:
        self.store = store
        self.batches = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def get(self, key: int) -> User | None:
        return await self.store.get(key)

    async def get_many(self, keys: Sequence[int]) -> Mapping[int, User]:
        self.batches += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.store.get_many(keys)
        finally:
            self.in_flight -= 1


async def test_ten_thousand_keys_from_sqlite_one_bad_row_reported(
    cache: Cache, sqlite_url: str
) -> None:
    async with SQLStore(sqlite_url, "users", type=User, key_type=int) as store:
        await store.set_many({i: User(id=i, name=f"user {i}") for i in range(1, 10_001)})
        async with store.engine.begin() as conn:  # a row that no longer validates
            await conn.execute(
                sa.text("UPDATE users SET value = :bad WHERE key = 777"), {"bad": '{"id": "x"}'}
            )
        source = Tracked(store)
        seen: list[tuple[int, int]] = []
        async with CacheAside(cache, loader=source, key="user:{}", type=User) as users:
            report = await users.warmup(
                range(1, 10_001),
                concurrency=4,
                batch_size=500,
                progress=lambda done, total: seen.append((done, total)),
            )
            assert isinstance(report, WarmupReport)
            assert report.loaded == 9_999
            assert report.skipped == 0
            assert report.missing == 0
            assert list(report.failed) == [777]
            assert isinstance(report.failed[777], TypeMismatch)
            assert not report.ok
            assert report.total == 10_000
            assert report.duration > 0
            assert source.batches == 20  # one get_many per chunk
            assert 1 < source.max_in_flight <= 4
            assert seen[-1] == (10_000, 10_000)
            assert [done for done, _ in seen] == sorted(done for done, _ in seen)

            sample = await cache.get_many([f"user:{i}" for i in (1, 776, 778, 10_000)], User)
            assert sample["user:10000"] == User(id=10_000, name="user 10000")
            assert len(sample) == 4
            assert await cache.exists("user:777") is False  # nothing, not even a lease

            again = await users.warmup(range(1, 10_001), concurrency=4)
            assert again.skipped == 9_999
            assert list(again.failed) == [777]
            assert again.loaded == 0


async def test_a_function_loader_is_bounded_and_one_failure_does_not_stop_it(
    cache: Cache,
) -> None:
    store = CountingStore({i: User(id=i, name=f"u{i}") for i in range(1, 201) if i != 50})

    async def load(key: int) -> User | None:
        if key == 13:
            raise RuntimeError("key 13 is cursed")
        return await store.get(key)

    async with CacheAside(cache, loader=load, key="user:{}", type=User) as users:
        report = await users.warmup(range(1, 201), concurrency=8, batch_size=64)
        assert report.loaded == 198
        assert report.missing == 1  # key 50: the source has nothing
        assert list(report.failed) == [13]
        assert repr(report.failed[13]) == "RuntimeError('key 13 is cursed')"
        assert 1 < store.max_in_flight <= 8
        assert await cache.get("user:200", User) == User(id=200, name="u200")


async def test_skip_cached_and_stale_entries(cache: Cache) -> None:
    store = CountingStore({i: User(id=i, name=f"u{i}") for i in range(1, 6)})
    async with CacheAside(cache, loader=store, key="user:{}", type=User) as users:
        await users.set(1, User(id=1, name="cached"))
        report = await users.warmup(range(1, 6))
        assert (report.loaded, report.skipped) == (4, 1)
        assert await cache.get("user:1", User) == User(id=1, name="cached")

        report = await users.warmup(range(1, 6), skip_cached=False)
        assert (report.loaded, report.skipped) == (5, 0)
        assert await cache.get("user:1", User) == User(id=1, name="u1")


async def test_a_warmup_never_overwrites_a_write_made_during_its_load(cache: Cache) -> None:
    gate = Gate()
    store = CountingStore({i: User(id=i, name=f"u{i}") for i in range(1, 4)})

    async def load(key: int) -> User | None:
        await gate.pass_through()
        return await store.get(key)

    async with CacheAside(cache, loader=load, key="user:{}", type=User) as users:
        warming = asyncio.create_task(users.warmup([1, 2, 3]))
        await gate.entered.wait()
        await users.set(2, User(id=2, name="newer"))
        gate.open()
        report = await warming
        assert report.loaded == 3
        assert await cache.get("user:2", User) == User(id=2, name="newer")


async def test_the_warmup_job_runs_every_interval_until_stopped(cache: Cache) -> None:
    store = CountingStore({i: User(id=i, name=f"u{i}") for i in range(1, 11)})
    reports: list[WarmupReport] = []
    three_runs = asyncio.Event()

    def on_report(report: WarmupReport) -> None:
        reports.append(report)
        if len(reports) >= 3:
            three_runs.set()

    async with (
        CacheAside(cache, loader=store, key="user:{}", type=User) as users,
        Warmup(users, keys=range(1, 11), interval=0.01, on_report=on_report) as job,
    ):
        await asyncio.wait_for(three_runs.wait(), timeout=10)
        assert job.running
    assert not job.running
    assert job.runs >= 3
    assert job.last_report is not None
    assert all(report.loaded == 10 and report.ok for report in reports)
    assert len(store.get_many_calls) >= 3  # each run reloads (skip_cached=False)
    await job.stop()  # idempotent


async def test_the_job_recomputes_keys_and_survives_a_failing_run(cache: Cache) -> None:
    store = CountingStore({i: User(id=i, name=f"u{i}") for i in range(1, 11)})
    calls = 0
    two_good_runs = asyncio.Event()
    good: list[WarmupReport] = []

    async def hot_keys() -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the hot-key query failed")
        return [calls]

    async def on_report(report: WarmupReport) -> None:
        good.append(report)
        if len(good) >= 2:
            two_good_runs.set()

    async with CacheAside(cache, loader=store, key="user:{}", type=User) as users:
        job = Warmup(users, keys=hot_keys, interval=0.01, on_report=on_report)
        await job.start()
        await job.start()  # idempotent
        try:
            await asyncio.wait_for(two_good_runs.wait(), timeout=10)
        finally:
            await job.stop()
        assert good[0].loaded == 1
        assert await cache.get("user:2", User) == User(id=2, name="u2")
        report = await job.run_once()
        assert report.total == 1


def test_warmup_options_are_checked() -> None:
    cache = Cache.from_url("memory://")
    users = CacheAside(cache, loader=CountingStore(), key="user:{}", type=User)
    with pytest.raises(ConfigurationError):
        Warmup(users, keys=[1], interval=0)


async def test_batch_size_and_concurrency_are_checked(cache: Cache) -> None:
    async with CacheAside(cache, loader=CountingStore(), key="user:{}", type=User) as users:
        with pytest.raises(ConfigurationError):
            await users.warmup([1], batch_size=0)
        with pytest.raises(ConfigurationError):
            await users.warmup([1], concurrency=-1)
