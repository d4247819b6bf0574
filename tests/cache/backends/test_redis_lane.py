"""The lane: single-key commands alone on a kept connection, together in one round trip.

Counted on a private server (``NodeProbe``): a lone GET stays one GET and one round
trip; 64 GETs issued together cost a handful of round trips, never 64; every caller
gets its own answer; an error reply fails only its command; a cancelled call leaves
the lane usable; closing gives the connection back to a client the backend does not own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheError
from cachewright.settings import Settings
from tests._servers import RedisServer
from tests.cache.backends._probe import NodeProbe
from tests.cache.backends.conftest import Names


@pytest.fixture
async def standalone(fresh_redis: RedisServer) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend.from_url(fresh_redis.url, settings=Settings(read_timeout=2.0))
    try:
        yield backend
    finally:
        await backend.close()


async def test_a_lone_get_is_one_get_and_one_round_trip(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    key = names.key("alone")
    await standalone.set(key, b"v", 60_000)
    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(lambda: standalone.get(key))
    assert (seen.round_trips, seen.commands) == ([1], [{"get": 1}])
    assert await standalone.get(key) == b"v"


async def test_concurrent_gets_share_round_trips_and_each_gets_its_value(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    keys = names.keys(64)
    await standalone.set_many([(key, key.encode(), 60_000) for key in keys])
    await standalone.get(keys[0])  # the kept connection exists before counting
    results: list[bytes | None] = []

    async def read_all() -> None:
        # the same key twice in one batch, and a key that is absent
        asked = [*keys, keys[3], names.key("absent")]
        results.extend(await asyncio.gather(*(standalone.get(k) for k in asked)))

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(read_all)
    assert results == [key.encode() for key in keys] + [keys[3].encode(), None]
    assert seen.round_trips[0] <= 3  # the first GET alone, then one MGET for the rest
    assert seen.calls("get") + seen.calls("mget") <= 3


async def test_concurrent_writes_are_pipelined_and_keep_their_results(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    counter, text = names.key("counter"), names.key("text")
    await standalone.set(text, b"not a number", 60_000)
    await standalone.incr(counter, 0)
    outcomes: list[object] = []

    async def mixed() -> None:
        outcomes.extend(
            await asyncio.gather(
                *(standalone.incr(counter, 1) for _ in range(20)),
                standalone.incr(text, 1),  # an error reply: fails only this call
                standalone.exists(counter),
                return_exceptions=True,
            )
        )

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(mixed)
    assert sorted(o for o in outcomes[:20] if isinstance(o, int)) == list(range(1, 21))
    assert isinstance(outcomes[20], CacheError)
    assert outcomes[21] is True
    assert seen.round_trips[0] <= 3
    assert await standalone.incr(counter, 0.5) == 20.5


async def test_a_cancelled_call_leaves_the_lane_usable(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    slow, key = names.key("slow"), names.key("after")
    await standalone.set(key, b"right", 60_000)
    async with Redis(port=fresh_redis.port) as admin:
        # Hold every client for 300 ms so the GET is in flight when it is cancelled.
        await admin.client_pause(300, all=True)
        reading = asyncio.create_task(standalone.get(slow))
        await asyncio.sleep(0.02)
        queued = asyncio.create_task(standalone.get(key))  # waits behind the cancelled one
        await asyncio.sleep(0.05)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
    # No reply of the cancelled GET may reach anyone else.
    assert await queued == b"right"
    assert await standalone.get(key) == b"right"
    assert await standalone.get(slow) is None


async def test_close_gives_the_kept_connection_back(fresh_redis: RedisServer, names: Names) -> None:
    client = Redis(port=fresh_redis.port)
    backend = RedisBackend(client)
    try:
        await backend.set(names.key("a"), b"1", 60_000)
        assert await backend.get(names.key("a")) == b"1"
        await backend.close()
        pool = client.connection_pool
        assert not pool._in_use_connections
        assert await client.get(names.key("a")) == b"1"  # the user's client still works
    finally:
        await client.aclose()


async def test_a_one_connection_pool_is_left_to_redis_py(
    fresh_redis: RedisServer, names: Names
) -> None:
    # Keeping the only connection would starve SCAN and pipelines: the lane batches
    # through the client instead.
    client = Redis(port=fresh_redis.port, max_connections=1)
    backend = RedisBackend(client)
    try:
        keys = names.keys(10)
        await backend.set_many([(key, b"v", 60_000) for key in keys])
        got = await asyncio.gather(*(backend.get(key) for key in keys))
        assert got == [b"v"] * 10
        assert await backend.delete_pattern(f"{names.namespace}:*") == 10
    finally:
        await backend.close()
        await client.aclose()
