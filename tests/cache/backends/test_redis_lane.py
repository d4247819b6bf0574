"""The lane: single-key commands alone on a kept connection, together in one round trip.

Counted on a private server (``NodeProbe``): a lone GET stays one GET and one round
trip; 64 GETs issued together cost a handful of round trips, never 64; every caller
gets its own answer; an error reply fails only its command; a cancelled call leaves
the lane usable. Through a proxy that holds the replies of one connection: a large
MGET or a tag invalidation in flight does not hold up a ``get`` (they use the pool, not
the lane), and ``close()`` waits for the request in flight before closing the lane's
connection, leaving a client the backend does not own working; a held reply fails
within the client's socket timeout (the lane's own deadline) and the lane reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeoutError

from cachewright._redis.lane import Lane
from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheError
from cachewright.settings import Settings
from tests._servers import RedisServer, wait_until_async
from tests.cache.backends._marker_proxy import MarkerProxy
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


async def test_close_closes_the_lanes_connection_and_leaves_the_client_working(
    fresh_redis: RedisServer, names: Names
) -> None:
    client = Redis(host="127.0.0.1", port=fresh_redis.port)
    backend = RedisBackend(client)
    async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
        try:
            await backend.set(names.key("a"), b"1", 60_000)
            assert await backend.get(names.key("a")) == b"1"
            before = await _clients(admin)
            await backend.close()
            await wait_until_async(lambda: _clients(admin), expect=before - 1)
            assert await client.get(names.key("a")) == b"1"  # the user's client still works
        finally:
            await client.aclose()


async def test_a_one_connection_pool_is_left_to_redis_py(
    fresh_redis: RedisServer, names: Names
) -> None:
    # A pool capped at one connection is a cap: the lane opens no second one and
    # batches through the client instead.
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


# -- what runs beside the lane, and close() ---------------------------------------------

#: a deadlock guard for calls that must not wait on a held request: not a timing
#: assertion (a correct run finishes in milliseconds; a wrong one would wait forever)
NEVER = 20.0


async def _clients(admin: Redis) -> int:
    """Normal client connections on the server, the admin's own excluded."""
    listed = await admin.client_list(_type="normal")
    return len(listed) - 1


@pytest.fixture
async def held(fresh_redis: RedisServer, names: Names) -> AsyncIterator[MarkerProxy]:
    """A proxy that holds every reply on a connection that sent ``names.key("marker")``."""
    async with MarkerProxy(fresh_redis.port, names.key("marker").encode(), hold=True) as proxy:
        yield proxy


async def test_a_large_mget_in_flight_does_not_hold_up_a_get(
    held: MarkerProxy, fresh_redis: RedisServer, names: Names
) -> None:
    keys = [*names.keys(500), names.key("marker")]
    async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
        await admin.mset({key: key.encode() for key in keys})
    backend = RedisBackend.from_url(held.url, settings=Settings(read_timeout=NEVER))
    try:
        assert await backend.get(keys[0]) == keys[0].encode()  # the lane is connected
        bulk = asyncio.create_task(backend.get_many(keys))
        await held.seen.wait()  # the MGET reached the server; its reply is held
        async with asyncio.timeout(NEVER):
            got = await asyncio.gather(backend.get(keys[1]), backend.get(keys[2]))
        assert list(got) == [keys[1].encode(), keys[2].encode()]
        assert not bulk.done()  # still held: the gets went past it, not after it
        held.release()
        assert await bulk == [key.encode() for key in keys]
    finally:
        held.release()
        await backend.close()


async def test_a_tag_invalidation_in_flight_does_not_hold_up_a_get(
    held: MarkerProxy, fresh_redis: RedisServer, names: Names
) -> None:
    tag, plain = names.key("marker"), names.key("plain")  # the tag index is the marker
    direct = RedisBackend.from_url(fresh_redis.url)
    try:
        await direct.set_many([(key, b"v", 60_000) for key in names.keys(300)], [tag])
        await direct.set(plain, b"p", 60_000)
    finally:
        await direct.close()
    backend = RedisBackend.from_url(held.url, settings=Settings(read_timeout=NEVER))
    try:
        assert await backend.get(plain) == b"p"
        invalidating = asyncio.create_task(backend.invalidate_tags([tag]))
        await held.seen.wait()
        async with asyncio.timeout(NEVER):
            assert await backend.get(plain) == b"p"
            await backend.set(plain, b"q", 60_000)
        assert not invalidating.done()
        held.release()
        assert await invalidating == 300
        assert await backend.get(plain) == b"q"
    finally:
        held.release()
        await backend.close()


async def test_close_waits_for_the_request_in_flight(
    held: MarkerProxy, fresh_redis: RedisServer, names: Names
) -> None:
    marker = names.key("marker")
    client = Redis(host="127.0.0.1", port=held.port, socket_timeout=NEVER)
    backend = RedisBackend(client)
    finished: list[str] = []
    try:
        await backend.set(names.key("warm"), b"w", 60_000)
        async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
            await admin.set(marker, b"held value")
        reading = asyncio.create_task(backend.get(marker))
        reading.add_done_callback(lambda _: finished.append("get"))
        await held.seen.wait()  # the GET is in flight on the lane's connection
        closing = asyncio.create_task(backend.close())
        closing.add_done_callback(lambda _: finished.append("close"))
        done, _ = await asyncio.wait([closing], timeout=0.2)
        assert not done  # close() is waiting for the held reply
        held.release()
        await closing
        assert finished == ["get", "close"]
        assert await reading == b"held value"  # answered whole, not cut by close()
        assert await client.get(marker) == b"held value"
    finally:
        held.release()
        await client.aclose()


async def test_a_held_reply_fails_within_the_socket_timeout_and_the_lane_recovers(
    held: MarkerProxy, names: Names
) -> None:
    # The lane's connection has no socket timeout: the lane bounds each round trip by
    # the client's own, then reconnects for the next call.
    marker, warm = names.key("marker"), names.key("warm")
    client = Redis(
        host="127.0.0.1", port=held.port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    lane = Lane(client)
    try:
        await lane.command("SET", warm, b"w")
        with pytest.raises(RedisTimeoutError, match="Timeout talking to Redis"):
            await asyncio.wait_for(lane.get(marker), NEVER)  # NEVER: fail, not hang
        assert held.seen.is_set()
        held.release()
        assert await lane.get(warm) == b"w"
    finally:
        held.release()
        await lane.close()
        await client.aclose()
