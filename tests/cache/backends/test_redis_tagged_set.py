"""The one-entry tagged set (``SET_TAGGED`` on one node; Cluster goes through WRITE).

G3 for it is tested with the rest in test_redis_tags.py and test_redis_tag_upkeep.py;
these check what is its own: the scores it gives (the entry's deadline rounded up to
at most a second, ``_g3``), every tag of a write, and a server
that lost its script cache.
"""

from __future__ import annotations

import pytest

from cachewright.cache.backends.redis import RedisBackend
from tests.cache.backends._g3 import assert_index, assert_member, server_ms
from tests.cache.backends.conftest import Names


async def test_every_tag_scores_the_entry_at_its_server_deadline_within_the_grain(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    key, tags = names.key("scored"), [names.tag("one"), names.tag("two")]
    before = await server_ms(client)
    await redis_backend.set(key, b"v", 60_000, tags)
    after = await server_ms(client)
    assert before + 60_000 <= await client.pexpiretime(key) <= after + 60_000
    for tag in tags:
        await assert_member(client, tag, key, before, after)
        await assert_index(client, tag)
    assert await redis_backend.invalidate_tags(tags[1:]) == 1
    assert await client.exists(key) == 0


@pytest.mark.parametrize("redis_backend", ["redis"], indirect=True)
async def test_a_server_that_lost_its_scripts_still_gets_the_tagged_set(
    redis_backend: RedisBackend, names: Names
) -> None:
    client = redis_backend.client
    key, tag = names.key("flushed"), names.tag("flushed")
    await redis_backend.set(names.key("warm"), b"v", 60_000, [tag])  # script cached
    assert await client.script_flush() is True
    await redis_backend.set(key, b"v", 60_000, [tag])
    assert await client.zscore(tag, key) is not None
    assert await redis_backend.invalidate_tags([tag]) == 2
