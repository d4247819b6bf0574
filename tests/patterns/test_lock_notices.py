"""G7 across processes: lock waiters are woken by the fill's notice, not by polling.

Two ways to tell a notice from a poll without timing anything:

- command counts (``INFO commandstats`` on a private Redis): a waiter that polled
  would read the key again; one woken by the notice reads nothing after its lease
  attempt, whatever the loader's time;
- a ``lock_wait`` shorter than any fallback read: the lease outlives the wait and a
  waiter without notice reads again only when it expires (or after a quarter of
  ``lock_ttl``), so only a notice can hand it the value before ``LockTimeout``.

"Other processes" in-process are independent ``Cache`` objects, each with its own
connections (and, on memory, one shared ``MemoryBackend``); the cross-process test
runs four real processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis
from pydantic import BaseModel, model_validator

from cachewright import Cache
from cachewright.cache.backends.memory import MemoryBackend
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import RedisCluster, RedisServer, wait_until, wait_until_async
from tests.patterns._aside_support import command_counts, command_delta

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4

# A lease far longer than the wait: without a notice the waiter times out.
LEASE = 60.0
WAIT = 5.0


@pytest.mark.redis
@pytest.mark.parametrize("seconds", [0.05, 2.0])
def test_four_processes_are_woken_by_the_fill_whatever_the_loader_time(
    fresh_redis: RedisServer, namespace: str, tmp_path: Path, seconds: float
) -> None:
    before: dict[str, int] = {}

    def snapshot_when_ready() -> None:
        wait_until(
            lambda: all((tmp_path / f"ready-{i}").exists() for i in range(PROCESSES)), timeout=30
        )
        before.update(command_counts(fresh_redis))

    # The snapshot is taken between "ready" (connections, scripts and each process's
    # one SUBSCRIBE done, in its warm-up) and "go".
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.patterns._aside_child", fresh_redis.url, namespace]
    children = [
        subprocess.Popen(
            [*command, str(tmp_path), str(index), str(seconds)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        for index in range(PROCESSES)
    ]
    try:
        snapshot_when_ready()
        (tmp_path / "go").touch()
        errors = [child.communicate(timeout=60)[1] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert [child.returncode for child in children] == [0] * PROCESSES, errors
    spent = command_delta(before, command_counts(fresh_redis))

    assert len((tmp_path / "loads").read_text().split()) == 1
    results = [json.loads((tmp_path / f"done-{i}").read_text()) for i in range(PROCESSES)]
    assert all(result["count"] == 1_000 for result in results)
    assert all(result["distinct"] == ['{"id": 1}'] for result in results), results
    # Per process: its first read (GET) and, on a miss, one SET NX GET (the lease, or
    # what holds it); then the fill: EVALSHA + GETRANGE + SET + PUBLISH. No second
    # read by any waiter, so the count does not grow with the loader's time. Before
    # Redis 7.0 (no SET NX with GET) a lease attempt that loses is a SET NX then a GET.
    losers = 0 if nx_get_supported(fresh_redis) else PROCESSES - 1
    assert spent.get("cmdstat_get") == PROCESSES + losers, spent
    assert spent.get("cmdstat_publish") == 1, spent
    assert sum(spent.values()) <= 3 * PROCESSES + losers, spent


def nx_get_supported(server: RedisServer) -> bool:
    """SET with both NX and GET: Redis (and Valkey) 7.0 and later."""
    with redis.Redis.from_url(server.url) as client:
        version = str(client.info("server")["redis_version"])
    return int(version.split(".")[0]) >= 7


KINDS = [
    "memory",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("cluster", marks=pytest.mark.redis),
]


@pytest.fixture(params=KINDS)
async def caches(
    request: pytest.FixtureRequest, namespace: str
) -> AsyncIterator[tuple[Cache, Cache]]:
    """Two independent caches on one store: "this process" and "another process"."""
    if request.param == "memory":
        backend = MemoryBackend()
        mine, theirs = Cache(backend, namespace=namespace), Cache(backend, namespace=namespace)
    else:
        fixture = "redis_cluster" if request.param == "cluster" else "redis_server"
        server: RedisServer | RedisCluster = request.getfixturevalue(fixture)
        mine = Cache.from_url(server.url, namespace=namespace)
        theirs = Cache.from_url(server.url, namespace=namespace)
    try:
        yield mine, theirs
    finally:
        await mine.clear()
        await mine.close()
        await theirs.close()


@pytest.fixture
async def redis_caches(
    fresh_redis: RedisServer, namespace: str
) -> AsyncIterator[tuple[Cache, Cache]]:
    """As ``caches``, on a Redis of the test's own (its command counts, its clients)."""
    async with (
        Cache.from_url(fresh_redis.url, namespace=namespace) as mine,
        Cache.from_url(fresh_redis.url, namespace=namespace) as theirs,
    ):
        yield mine, theirs


async def _waiting(items: CacheAside[int, Any]) -> int:
    return (await items.stats()).lock_waits


async def test_a_waiter_is_handed_the_value_by_the_notice(caches: tuple[Cache, Cache]) -> None:
    async def load(key: int) -> dict[str, int]:
        raise AssertionError("the waiter must not load")

    mine, theirs = caches
    items = CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT)
    lease = await theirs.try_lease("item:1", LEASE)  # another process is loading
    assert lease is not None
    waiter = asyncio.create_task(items.get(1))
    await wait_until_async(lambda: _waiting(items), expect=1)
    assert await theirs.set_if_version("item:1", {"id": 1}, lease.version, 60, notify=True)
    assert await waiter == {"id": 1}
    await items.close()


@pytest.mark.redis
async def test_the_woken_waiter_reads_nothing_more(
    fresh_redis: RedisServer, redis_caches: tuple[Cache, Cache]
) -> None:
    async def load(key: int) -> dict[str, int]:
        raise AssertionError("the waiter must not load")

    mine, theirs = redis_caches
    async with CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT) as items:
        warm = await theirs.try_lease("warm", LEASE)  # the script in the server's cache
        assert warm is not None
        assert await theirs.set_if_version("warm", 0, warm.version, 60, notify=True)
        lease = await theirs.try_lease("item:1", LEASE)
        assert lease is not None
        waiter = asyncio.create_task(items.get(1))
        await wait_until_async(lambda: _waiting(items), expect=1)
        before = command_counts(fresh_redis)
        assert await theirs.set_if_version("item:1", {"id": 1}, lease.version, 60, notify=True)
        assert await waiter == {"id": 1}
        spent = command_delta(before, command_counts(fresh_redis))
    # the fill alone: the value came with its notice
    assert spent == {
        "cmdstat_evalsha": 1,
        "cmdstat_getrange": 1,
        "cmdstat_set": 1,
        "cmdstat_publish": 1,
    }


async def test_a_failed_load_elsewhere_lets_a_waiter_take_over_at_once(
    caches: tuple[Cache, Cache],
) -> None:
    entered = asyncio.Event()
    fail = asyncio.Event()

    async def failing(key: int) -> dict[str, int]:
        entered.set()
        await fail.wait()
        raise LookupError("source down")

    async def load(key: int) -> dict[str, int]:
        return {"id": key}

    mine, theirs = caches
    first = CacheAside(theirs, loader=failing, key="item:{}", lock=True, lock_ttl=LEASE)
    items = CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT)
    filler = asyncio.create_task(first.get(1))
    await entered.wait()
    waiter = asyncio.create_task(items.get(1))
    await wait_until_async(lambda: _waiting(items), expect=1)
    fail.set()
    with pytest.raises(LookupError):
        await filler
    # The lease was released with a notice: the waiter leases and loads itself
    # (without it, the waiter would time out: the lease lives 60 s).
    assert await waiter == {"id": 1}
    assert (await items.stats()).loads == 1
    await first.close()
    await items.close()


async def test_a_refused_fill_sends_waiters_to_the_newer_write(caches: tuple[Cache, Cache]) -> None:
    async def load(key: int) -> dict[str, int]:
        raise AssertionError("the waiter must not load")

    mine, theirs = caches
    items = CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT)
    lease = await theirs.try_lease("item:1", LEASE)
    assert lease is not None
    waiter = asyncio.create_task(items.get(1))
    await wait_until_async(lambda: _waiting(items), expect=1)
    await theirs.set("item:1", {"id": 1, "written": True}, ttl=60)  # a write wins (G10)
    stale = {"id": 1, "written": False}
    assert not await theirs.set_if_version("item:1", stale, lease.version, 60, notify=True)
    assert await waiter == {"id": 1, "written": True}
    await items.close()


@pytest.mark.redis
async def test_a_lost_channel_sends_waiters_back_to_reading(
    fresh_redis: RedisServer, redis_caches: tuple[Cache, Cache]
) -> None:
    async def load(key: int) -> dict[str, int]:
        raise AssertionError("the waiter must not load")

    mine, theirs = redis_caches
    async with CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT) as items:
        lease = await theirs.try_lease("item:1", LEASE)
        assert lease is not None
        waiter = asyncio.create_task(items.get(1))
        await wait_until_async(lambda: _waiting(items), expect=1)
        admin = redis.Redis(host="127.0.0.1", port=fresh_redis.port)
        try:
            assert admin.client_kill_filter(_type="pubsub") >= 1
        finally:
            admin.close()
        # The waiter, told its notices may be lost (redis-py subscribed again, or gave
        # up), reads the key again; the fill is then seen either way.
        assert await theirs.set_if_version("item:1", {"id": 1}, lease.version, 60, notify=True)
        assert await waiter == {"id": 1}


async def test_a_cancelled_waiter_leaves_the_others_waiting(caches: tuple[Cache, Cache]) -> None:
    async def load(key: int) -> dict[str, int]:
        raise AssertionError("no waiter may load")

    mine, theirs = caches
    # Two patterns on one cache: two waits on one key in one process.
    quitter = CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT)
    stayer = CacheAside(mine, loader=load, key="item:{}", lock=True, lock_wait=WAIT)
    lease = await theirs.try_lease("item:1", LEASE)
    assert lease is not None
    gone = asyncio.create_task(quitter.get(1))
    kept = asyncio.create_task(stayer.get(1))
    await wait_until_async(lambda: _waiting(quitter), expect=1)
    await wait_until_async(lambda: _waiting(stayer), expect=1)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await theirs.set_if_version("item:1", {"id": 1}, lease.version, 60, notify=True)
    assert await kept == {"id": 1}
    assert await quitter.get(1) == {"id": 1}  # a hit now
    await quitter.close()
    await stayer.close()


class Counted(BaseModel):
    """A model that counts its validations: one per decode of a cached value."""

    id: int
    validations: ClassVar[int] = 0

    @model_validator(mode="after")
    def count(self) -> Counted:
        type(self).validations += 1
        return self


async def test_the_callers_of_one_process_share_one_decode_of_the_notice(
    caches: tuple[Cache, Cache],
) -> None:
    async def load(key: int) -> Counted:
        raise AssertionError("no caller may load")

    mine, theirs = caches
    async with CacheAside(
        mine, loader=load, key="item:{}", type=Counted, lock=True, lock_wait=WAIT
    ) as items:
        lease = await theirs.try_lease("item:1", LEASE)
        assert lease is not None
        callers = [asyncio.create_task(items.get(1)) for _ in range(50)]
        await wait_until_async(lambda: _waiting(items), expect=1)  # one wait for all 50
        value = Counted(id=1)
        Counted.validations = 0
        assert await theirs.set_if_version("item:1", value, lease.version, 60, notify=True)
        got = await asyncio.gather(*callers)
        # One wait, one decode: the 50 callers hold the same object (G7's single flight).
        assert Counted.validations == 1
        assert got[0] == value
        assert all(one is got[0] for one in got)
        assert (await items.stats()).lock_waits == 1
