"""The invalidation channel: outages, stalls, foreign messages and failed publishes.

While the channel is down the local tier is bypassed and emptied; it reconnects by
itself with backoff and starts empty again once the subscription is confirmed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from cachewright import Cache, CacheUnavailable, Settings
from cachewright.cache.local import ChannelListener, LocalTier
from tests._servers import RedisServer, wait_until_async

FAST = LocalTier(ttl=60, ping_interval=0.2, max_backoff=0.2)


def _settings(namespace: str) -> Settings:
    return Settings(
        namespace=namespace,
        connect_timeout=0.3,
        read_timeout=0.3,
        write_timeout=0.3,
        breaker_threshold=100,  # these tests watch the channel, not the breaker
    )


@pytest.fixture
async def admin(fresh_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=fresh_redis.port)
    yield client
    await client.aclose()


async def _channel(cache: Cache) -> str:
    local = (await cache.stats(server=False)).local
    assert local is not None
    return local.channel


async def _entries(cache: Cache) -> int:
    local = (await cache.stats(server=False)).local
    assert local is not None
    return local.entries


async def _received(cache: Cache) -> int:
    local = (await cache.stats(server=False)).local
    assert local is not None
    return local.messages_received


async def _held_locally(cache: Cache, key: str, value: object) -> None:
    await cache.set(key, value)
    assert await cache.get(key) == value
    before = (await cache.stats(server=False)).local_hits
    assert await cache.get(key) == value
    assert (await cache.stats(server=False)).local_hits == before + 1


async def test_a_dead_server_bypasses_the_tier_until_the_channel_is_back(
    fresh_redis: RedisServer, namespace: str
) -> None:
    cache = Cache.from_url(fresh_redis.url, settings=_settings(namespace), local=FAST)
    async with cache:
        await _held_locally(cache, "k", 1)
        fresh_redis.kill()
        await wait_until_async(lambda: _channel(cache), expect="down", timeout=10)
        assert await _entries(cache) == 0
        assert await cache.get("k") is None  # bypassed, then a fail-open miss
        local = (await cache.stats(server=False)).local
        assert local is not None
        assert local.bypassed >= 1

        fresh_redis.start()  # an empty server: no persistence
        await wait_until_async(lambda: _channel(cache), expect="up", timeout=15)

        async def writable() -> bool:
            try:
                await cache.set("k", 2)
            except CacheUnavailable:
                return False
            return True

        await wait_until_async(writable, timeout=10)
        await _held_locally(cache, "k", 3)
        local = (await cache.stats(server=False)).local
        assert local is not None
        assert local.reconnects == 1


async def test_a_stalled_connection_is_detected_by_ping_and_replaced(
    fresh_redis: RedisServer, admin: Redis, namespace: str
) -> None:
    """A server that stops answering (no FIN, no error) is caught by the PING that
    follows a quiet ``ping_interval``: the tier goes down, then comes back."""
    cache = Cache.from_url(fresh_redis.url, settings=_settings(namespace), local=FAST)
    async with cache:
        await _held_locally(cache, "k", 1)
        await admin.client_pause(1500, all=True)

        async def lost() -> bool:
            local = (await cache.stats(server=False)).local
            return local is not None and local.reconnects >= 1

        await wait_until_async(lost, timeout=10)
        await wait_until_async(lambda: _channel(cache), expect="up", timeout=15)
        assert await cache.get("k") == 1  # from Redis: the tier was emptied meanwhile
        await _held_locally(cache, "k", 2)


async def test_unreadable_messages_empty_the_tier(
    fresh_redis: RedisServer, admin: Redis, namespace: str
) -> None:
    cache = Cache.from_url(fresh_redis.url, settings=_settings(namespace), local=FAST)
    async with cache:
        channel = cache.keys.internal("inv")
        for garbage in (b"not json", b'{"s": "x", "k": [1]}', b"[]", b'{"s": "x"}'):
            await _held_locally(cache, "k", 1)
            assert await admin.publish(channel, garbage) == 1
            await wait_until_async(lambda: _entries(cache), expect=0, timeout=10)
        await _held_locally(cache, "k", 1)
        received = await _received(cache)
        assert await admin.publish(channel, b'{"s": "x", "k": ["other"]}') == 1
        await wait_until_async(lambda: _received(cache), expect=received + 1, timeout=10)
        assert await _entries(cache) == 1  # a well-formed message for another key


class _BrokenChannel:
    """Always up, but no message ever goes out."""

    reconnects = 0
    state = "up"

    def start(self, listener: ChannelListener) -> None:
        listener.on_up()

    async def wait_up(self, seconds: float) -> bool:
        return True

    async def publish(self, data: bytes) -> None:
        raise CacheUnavailable("the publisher's connection is gone")

    async def close(self) -> None:
        return None


async def test_a_failed_publish_keeps_the_write_and_is_counted() -> None:
    from cachewright.cache.backends.memory import MemoryBackend

    cache = Cache(MemoryBackend(), local=LocalTier(), channel=_BrokenChannel())
    async with cache:
        await cache.set("k", 1)  # no exception: the write itself succeeded
        assert await cache.get("k") == 1
        await cache.set("k", 2)
        assert await cache.get("k") == 2  # this process dropped its own copy anyway
        local = (await cache.stats(server=False)).local
        assert local is not None
        assert local.publish_errors == 2
        assert local.messages_sent == 0


async def test_two_caches_in_one_process_invalidate_each_other(
    redis_url: str, namespace: str
) -> None:
    tier = LocalTier(ttl=60)
    async with (
        Cache.from_url(redis_url, namespace=namespace, local=tier) as a,
        Cache.from_url(redis_url, namespace=namespace, local=tier) as b,
    ):
        await a.set("k", 1)
        await _held_locally(b, "j", 0)
        assert await b.get("k") == 1
        await a.set("k", 2)

        async def fresh() -> object:
            return await b.get("k")

        await wait_until_async(fresh, expect=2, timeout=10)
        await a.clear()
