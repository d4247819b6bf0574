"""G3 on Redis and Cluster: tag invalidation without scans, bounded indexes, no orphans."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.cluster import RedisCluster as ClusterClient

from cachewright.cache.backends.redis import RedisBackend
from tests._servers import RedisCluster, RedisServer, wait_until_async
from tests.cache.backends._g3 import assert_index, assert_member, passed, server_ms
from tests.cache.backends._probe import NodeProbe
from tests.cache.backends.conftest import Names


@pytest.fixture
def ports(redis_backend: RedisBackend, request: pytest.FixtureRequest) -> list[int]:
    if redis_backend.mode == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        return cluster.ports
    server: RedisServer = request.getfixturevalue("redis_server")
    return [server.port]


async def test_invalidating_300_entries_touches_only_them(
    redis_backend: RedisBackend, names: Names, ports: list[int]
) -> None:
    tag, other_tag = names.tag("users"), names.tag("orders")
    tagged = names.keys(300, "user")
    for start in range(0, 300, 100):
        batch = tagged[start : start + 100]
        await redis_backend.set_many([(key, b"u", 60_000) for key in batch], [tag])
    others = names.keys(50, "order")
    await redis_backend.set_many([(key, b"o", None) for key in others[:25]], [other_tag])
    await redis_backend.set_many([(key, b"o", 60_000) for key in others[25:]])
    client = redis_backend.client
    if isinstance(client, ClusterClient):
        owners = {client.get_node_from_key(key).port for key in tagged}  # type: ignore[union-attr]
        assert owners == set(ports), "the entries should spread over every node"

    async with NodeProbe(ports) as probe:
        measured = await probe.measure(lambda: redis_backend.invalidate_tags([tag]))
    assert measured.calls("scan") == 0
    assert measured.calls("keys") == 0
    assert await redis_backend.get_many(tagged) == [None] * 300
    assert await redis_backend.get_many(others) == [b"o"] * 50
    assert not await client.exists(tag)
    assert await redis_backend.invalidate_tags([tag]) == 0
    assert await redis_backend.invalidate_tags([other_tag]) == 25


async def test_the_invalidation_count(redis_backend: RedisBackend, names: Names) -> None:
    tag = names.tag("counted")
    tagged = names.keys(300, "c")
    await redis_backend.set_many([(key, b"v", 60_000) for key in tagged], [tag])
    assert await redis_backend.invalidate_tags([tag]) == 300


async def test_expired_members_are_trimmed_and_the_index_expires(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    tag = names.tag("short")
    short = names.keys(20, "short")
    before = await server_ms(client)
    await redis_backend.set_many([(key, b"v", 100) for key in short], [tag])
    after = await server_ms(client)
    assert await client.zcard(tag) == 20
    # each scored less than a second (the grain) after its entry's deadline
    scores = [await assert_member(client, tag, key, before, after) for key in short]
    await assert_index(client, tag)
    await wait_until_async(lambda: redis_backend.get_many(short), expect=[None] * 20, timeout=3)
    # Once past their scores, the next tagged write trims the dead members: the index
    # follows live entries, each dead one kept less than the grain past its entry.
    await wait_until_async(lambda: passed(client, max(scores)), timeout=3)
    long = names.key("long")
    before = await server_ms(client)
    await redis_backend.set(long, b"v", 60_000, [tag])
    after = await server_ms(client)
    assert await client.zcard(tag) == 1
    await assert_member(client, tag, long, before, after)
    await assert_index(client, tag)

    # An index expires no earlier than its longest-lived member, and then goes.
    lone = names.tag("lone")
    before = await server_ms(client)
    await redis_backend.set(names.key("lone"), b"v", 200, [lone])
    after = await server_ms(client)
    await assert_member(client, lone, names.key("lone"), before, after)
    await assert_index(client, lone)
    await wait_until_async(lambda: client.exists(lone), expect=0, timeout=3)

    # A member without expiry keeps its index without expiry.
    forever = names.tag("forever")
    await redis_backend.set(names.key("f1"), b"v", 100, [forever])
    await redis_backend.set(names.key("f2"), b"v", None, [forever])
    assert await client.pttl(forever) == -1


async def test_touch_with_tags_keeps_the_index_alive(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    key, tag = names.key("sliding"), names.tag("sliding")
    await redis_backend.set(key, b"v1", 300, [tag])
    assert await redis_backend.touch_if(key, b"v1", 60_000, tags=[tag])
    assert await client.pttl(tag) > 30_000
    assert await redis_backend.expire(key, None, tags=[tag])
    assert await client.pttl(tag) == -1
    assert await redis_backend.invalidate_tags([tag]) == 1


async def test_a_concurrent_set_is_never_orphaned_by_an_invalidation(
    redis_backend: RedisBackend, names: Names
) -> None:
    """An entry that lives is in its tag's index, whatever the interleaving."""
    client = redis_backend.client
    tag = names.tag("race")
    keys = names.keys(3, "race")
    for round_ in range(200):
        if round_ % 4 == 3:
            write = redis_backend.set_many([(k, b"v", 60_000) for k in keys], [tag])
        else:
            write = redis_backend.set(keys[round_ % 3], b"v", 60_000, [tag])
        invalidate = redis_backend.invalidate_tags([tag])
        steps = (write, invalidate) if round_ % 2 else (invalidate, write)
        await asyncio.gather(*steps)
        for k in keys:
            if await client.exists(k):
                assert await client.zscore(tag, k) is not None, f"{k} orphaned in round {round_}"


async def test_keys_and_values_are_data_never_code(
    redis_backend: RedisBackend, names: Names
) -> None:
    """G13: what reaches Lua arrives as KEYS and ARGV, never as script text."""
    evil = names.key("x') redis.call('FLUSHALL') --")
    tag = names.tag("]] return redis.call('FLUSHALL') --[[")
    bystander = names.key("bystander")
    await redis_backend.set(bystander, b"safe", None)
    await redis_backend.set(evil, b"') redis.call('FLUSHALL') --", None, [tag])
    assert await redis_backend.compare_and_set(evil, b"')", b"end", None, [tag])
    assert await redis_backend.get(evil) == b"end"
    assert await redis_backend.invalidate_tags([tag]) == 1
    assert await redis_backend.get(bystander) == b"safe"
