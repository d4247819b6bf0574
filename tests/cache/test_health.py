"""``await cache.ping()``: reachability, round trip, breaker, server version and the
local tier's channel, against real servers that are killed and restarted."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

import cachewright
from cachewright import Cache, Health, Settings
from cachewright.cache.backends.redis import RedisBackend
from cachewright.cache.local import LocalTier
from tests._servers import RedisServer, wait_until_async

FAST_CHANNEL = LocalTier(ttl=60, ping_interval=0.2, max_backoff=0.2)


def _settings(namespace: str, **extra: Any) -> Settings:
    return Settings(namespace=namespace, connect_timeout=0.3, read_timeout=0.3, **extra)


async def _server_version(port: int) -> str:
    admin = Redis(host="127.0.0.1", port=port)
    try:
        return str((await admin.info("server"))["redis_version"])
    finally:
        await admin.aclose()


def test_health_is_exported() -> None:
    assert "Health" in cachewright.__all__
    assert cachewright.Health is Health


async def test_memory_is_healthy_and_has_no_server_version() -> None:
    async with Cache.from_url("memory://") as cache:
        health = await cache.ping()
    assert health.healthy
    assert health.reachable
    assert health.rtt is not None
    assert health.rtt >= 0
    assert health.breaker == "closed"
    assert health.server_version is None
    assert health.channel is None  # no local tier
    assert health.error is None


async def test_a_live_server_is_healthy_with_its_version(
    fresh_redis: RedisServer, namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        health = await cache.ping()
    assert health.healthy
    assert health.reachable
    assert health.rtt is not None
    assert health.rtt > 0
    assert health.server_version == await _server_version(fresh_redis.port)
    assert health.backend == fresh_redis.url
    assert health.as_dict() == {
        "healthy": True,
        "reachable": True,
        "rtt": health.rtt,
        "breaker": "closed",
        "server_version": health.server_version,
        "backend": fresh_redis.url,
        "channel": None,
        "error": None,
    }


async def test_a_killed_server_is_unreachable_and_ping_does_not_raise(
    fresh_redis: RedisServer, namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        assert (await cache.ping()).healthy
        fresh_redis.kill()
        health = await cache.ping()
        assert not health.healthy
        assert not health.reachable
        assert health.rtt is None
        assert health.server_version is None
        assert health.error is not None

        fresh_redis.start()
        await wait_until_async(lambda: _reachable(cache), timeout=10)
        assert (await cache.ping()).healthy


async def test_the_password_never_appears(namespace: str) -> None:
    url = "redis://app:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    async with Cache.from_url(url, settings=_settings(namespace)) as cache:
        health = await cache.ping()
    assert not health.reachable
    assert health.backend == "redis://app:***@127.0.0.1:1/0"
    assert health.error is not None
    assert "s3cret" not in repr(health)
    assert "s3cret" not in str(health.as_dict())


async def _reachable(cache: Cache) -> bool:
    return (await cache.ping()).reachable


async def test_a_server_that_does_not_answer_is_reported_within_the_timeout(
    fresh_redis: RedisServer, namespace: str
) -> None:
    admin = Redis(host="127.0.0.1", port=fresh_redis.port)
    try:
        async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
            assert (await cache.ping()).reachable  # connected before the pause
            await admin.client_pause(3000, all=True)
            health = await cache.ping(timeout=0.2)
            assert not health.reachable
            assert health.error is not None
    finally:
        await admin.client_unpause()
        await admin.aclose()


async def test_an_open_breaker_is_reflected_and_left_alone(
    fresh_redis: RedisServer, namespace: str
) -> None:
    settings = _settings(namespace, breaker_threshold=2, breaker_reset=600)
    async with Cache.from_url(fresh_redis.url, settings=settings) as cache:
        assert (await cache.ping()).breaker == "closed"
        fresh_redis.kill()
        for _ in range(2):
            assert await cache.get("k") is None  # reads fail open, counted by the breaker
        assert (await cache.stats(server=False)).circuit_state == "open"

        fresh_redis.start()
        health = await cache.ping()
        assert health.reachable  # the server is back ...
        assert health.breaker == "open"  # ... but this process does not use it yet
        assert not health.healthy
        # ping goes past the breaker without changing it
        assert (await cache.stats(server=False)).circuit_state == "open"


async def test_the_local_tier_channel_state_is_shown(
    fresh_redis: RedisServer, namespace: str
) -> None:
    cache = Cache.from_url(fresh_redis.url, settings=_settings(namespace), local=FAST_CHANNEL)
    async with cache:
        health = await cache.ping()
        assert health.channel == "up"
        assert health.healthy

        fresh_redis.kill()
        await wait_until_async(lambda: _channel(cache), expect="down", timeout=10)
        assert not (await cache.ping()).healthy

        fresh_redis.start()
        await wait_until_async(lambda: _channel(cache), expect="up", timeout=15)
        assert (await cache.ping()).healthy


async def test_a_channel_down_on_a_reachable_server_is_unhealthy(
    redis_url: str, fresh_redis: RedisServer, namespace: str
) -> None:
    """The cache's entries on one server, its invalidation channel on another (the
    ``url`` a Cache builds its channel from): only the channel's server dies."""
    backend = RedisBackend.from_url(redis_url, settings=_settings(namespace))
    cache = Cache(
        backend,
        settings=_settings(namespace),
        url=fresh_redis.url,
        local=FAST_CHANNEL,
    )
    async with cache:
        assert (await cache.ping()).channel == "up"
        fresh_redis.kill()
        await wait_until_async(lambda: _channel(cache), expect="down", timeout=10)
        health = await cache.ping()
        assert health.reachable
        assert health.channel == "down"
        assert not health.healthy


async def test_a_cache_not_entered_subscribes_on_ping(
    fresh_redis: RedisServer, namespace: str
) -> None:
    cache = Cache.from_url(fresh_redis.url, settings=_settings(namespace), local=FAST_CHANNEL)
    try:  # no ``async with``: the channel starts on the first read, or ping
        await wait_until_async(lambda: _channel(cache), expect="up", timeout=10)
        assert (await cache.ping()).healthy
    finally:
        await cache.close()


async def test_memory_with_a_local_tier_has_an_in_process_channel() -> None:
    async with Cache.from_url("memory://", local=LocalTier()) as cache:
        health = await cache.ping()
    assert health.channel == "in-process"
    assert health.healthy


async def _channel(cache: Cache) -> str | None:
    return (await cache.ping()).channel


@pytest.mark.parametrize("budget", [0.0, -1.0])
async def test_a_timeout_that_cannot_be_met_reports_unreachable(
    budget: float, fresh_redis: RedisServer, namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        health = await cache.ping(timeout=budget)
    assert not health.reachable
