"""G6: Redis killed mid-test. Reads fail open within the timeout, writes raise, the
breaker opens and stops hammering, and after a restart the cache recovers by itself."""

from __future__ import annotations

import time

import pytest

from cachewright import Cache, CacheUnavailable, CircuitOpen, Settings
from tests._servers import RedisServer, wait_until_async


def _settings(namespace: str, **extra: object) -> Settings:
    return Settings(
        namespace=namespace,
        connect_timeout=0.3,
        read_timeout=0.3,
        write_timeout=0.3,
        breaker_threshold=3,
        breaker_reset=0.5,
        **extra,  # type: ignore[arg-type]
    )


async def test_dead_redis_reads_fail_open_and_breaker_recovers(
    fresh_redis: RedisServer, namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        await cache.set("k", "v")
        assert await cache.get("k") == "v"

        fresh_redis.kill()

        started = time.monotonic()
        assert await cache.get("k") is None  # a miss, not an exception
        assert time.monotonic() - started < 5  # bounded by the timeouts, generously
        assert await cache.get_many(["k", "j"]) == {}
        assert await cache.exists("k") is False
        with pytest.raises(CacheUnavailable):
            await cache.set("k", "w")

        stats = await cache.stats(server=False)
        assert stats.circuit_state == "open"
        assert stats.fail_open_reads >= 3
        # While open, calls are refused at once, without touching the network.
        with pytest.raises(CircuitOpen):
            await cache.set("k", "w")
        assert (await cache.stats(server=False)).circuit_opens == 1

        fresh_redis.start()

        async def recovered() -> bool:
            try:
                await cache.set("k", "after")
            except CacheUnavailable:
                return False
            return True

        await wait_until_async(recovered, timeout=15, interval=0.1)
        assert await cache.get("k") == "after"
        assert (await cache.stats(server=False)).circuit_state == "closed"


async def test_fail_open_writes_are_dropped_and_counted(
    fresh_redis: RedisServer, namespace: str
) -> None:
    settings = _settings(namespace, fail_open_writes=True)
    async with Cache.from_url(fresh_redis.url, settings=settings) as cache:
        fresh_redis.kill()
        await cache.set("k", "v")  # no exception
        await cache.delete("k")
        stats = await cache.stats(server=False)
        assert stats.fail_open_writes == 2
        assert stats.errors >= 2


async def test_unreachable_server_never_leaks_the_password(namespace: str) -> None:
    url = "redis://app:hunter2-secret@127.0.0.1:1/0"
    async with Cache.from_url(url, settings=_settings(namespace)) as cache:
        assert "hunter2" not in repr(cache)
        with pytest.raises(CacheUnavailable) as caught:
            await cache.set("k", "v")
        assert "hunter2" not in str(caught.value)
        assert "hunter2" not in repr(caught.value)
        stats = await cache.stats()
        assert "hunter2" not in repr(stats)
