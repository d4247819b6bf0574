"""G3 for the tag index upkeep of a write: what it keeps while entries are re-written.

A write trims expired members only when the index grows and moves the index's expiry
only when a new deadline passes it (with at most one second of slack), and scores a
member at its entry's deadline rounded up to at most a second: these tests check the
bounds that still hold (``_g3``). test_redis_tags.py has the rest of G3.
"""

from __future__ import annotations

import pytest

from cachewright.cache.backends.redis import RedisBackend
from tests._servers import wait_until_async
from tests.cache.backends._g3 import (
    GRAIN_MS,
    SLACK_MS,
    assert_index,
    assert_member,
    passed,
    server_ms,
)
from tests.cache.backends.conftest import Names


async def test_rewrites_keep_the_index_small_and_just_outliving_its_members(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    tag = names.tag("rewritten")
    keys = names.keys(5, "r")
    for _ in range(20):
        for key in keys:
            before = await server_ms(client)
            await redis_backend.set(key, b"v", 60_000, [tag])
            after = await server_ms(client)
            await assert_member(client, tag, key, before, after)
            await assert_index(client, tag)  # never before its top member, nor long after
            # the key just written is the longest-lived: outlived by under GRAIN + SLACK
            entry, index = await client.pexpiretime(key), await client.pexpiretime(tag)
            assert index < entry + GRAIN_MS + SLACK_MS + (after - before), (entry, index)
    assert await client.zcard(tag) == 5  # re-writes never grow it
    assert await redis_backend.invalidate_tags([tag]) == 5


async def test_the_index_of_a_shortened_entry_goes_by_its_longest_deadline_and_slack(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    key, tag = names.key("short"), names.tag("shortened")
    await redis_backend.set(key, b"v", 1_500, [tag])
    after = await server_ms(client)
    await redis_backend.set(key, b"v", 200, [tag])
    assert await client.zcard(tag) == 1
    assert await client.pexpiretime(tag) < after + 1_500 + GRAIN_MS + SLACK_MS
    await wait_until_async(lambda: client.exists(key), expect=0, timeout=5)
    await wait_until_async(lambda: client.exists(tag), expect=0, timeout=5)


# Standalone only: Cluster indexes use ZADD GT, so a member once written without expiry
# keeps that score (the index then lives as long as its longest-lived member could).
@pytest.mark.parametrize("redis_backend", ["redis"], indirect=True)
async def test_an_index_that_held_an_entry_without_expiry_expires_once_it_has_one(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    key, tag = names.key("forever"), names.tag("forever")
    await redis_backend.set(key, b"v", None, [tag])
    assert await client.pttl(tag) == -1
    before = await server_ms(client)
    await redis_backend.set(key, b"v", 200, [tag])
    after = await server_ms(client)
    await assert_member(client, tag, key, before, after)
    await assert_index(client, tag)  # an expiry again: its top member has one
    await wait_until_async(lambda: client.exists(tag), expect=0, timeout=5)


async def test_growth_trims_expired_members(redis_backend: RedisBackend, names: Names) -> None:
    client = redis_backend.client
    tag = names.tag("grown")
    await redis_backend.set(names.key("keeper"), b"v", 60_000, [tag])
    short = names.keys(10, "gone")
    before = await server_ms(client)
    await redis_backend.set_many([(key, b"v", 100) for key in short], [tag])
    after = await server_ms(client)
    assert await client.zcard(tag) == 11
    scores = [await assert_member(client, tag, key, before, after) for key in short]
    await wait_until_async(lambda: redis_backend.get_many(short), expect=[None] * 10, timeout=5)
    # a dead member stays until the server's clock passes its score (under a GRAIN later)
    await wait_until_async(lambda: passed(client, max(scores)), timeout=5)
    await redis_backend.set(names.key("newcomer"), b"v", 60_000, [tag])
    assert await client.zcard(tag) == 2  # the keeper and the newcomer
    assert await redis_backend.invalidate_tags([tag]) == 2
