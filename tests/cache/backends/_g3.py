"""G3's bounds on a tag index, as documented (docs/guarantees.md), checked at their edges.

A member's score is its entry's deadline rounded up to at most a second (the scripts'
GRAIN): never before the entry dies (no orphan), less than a second after it (bounded).
An index never expires before its top member's score and outlives it by at most the
scripts' SLACK; an index with a member without expiry has no expiry.
"""

from __future__ import annotations

import math
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

GRAIN_MS = 1_000  # a member's score is less than this after its entry's deadline
SLACK_MS = 1_000  # how long an index may outlive its top member's score, at most


async def server_ms(client: Redis | RedisCluster) -> int:
    """The server's clock in ms (on Cluster, any node's: their clocks are one host's)."""
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def passed(client: Redis | RedisCluster, ms: float) -> bool:
    """Whether the server's clock is past ``ms`` (a poll's probe)."""
    return await server_ms(client) > ms


async def assert_member(
    client: Redis | RedisCluster, tag: str, key: str, earliest: int, latest: int
) -> float:
    """``key`` is live and scored in ``tag`` at or after its deadline and less than a
    GRAIN after it. ``earliest`` and ``latest``: the server's clock read before and
    after the write, which allow for the write's own run time (its clock reading
    follows the SET). Returns the score."""
    deadline = int(await client.pexpiretime(key))
    assert deadline > 0, key
    score = await client.zscore(tag, key)
    assert score is not None, (tag, key)
    assert deadline <= score < deadline + GRAIN_MS + (latest - earliest), (deadline, score)
    return float(score)


async def assert_index(client: Redis | RedisCluster, tag: str) -> None:
    """``tag`` expires no earlier than its top member's score and at most SLACK after it,
    or never when that member has no expiry."""
    last = cast("list[tuple[bytes, float]]", await client.zrange(tag, -1, -1, withscores=True))
    assert last, tag
    top = last[0][1]
    if math.isinf(top):
        assert await client.pttl(tag) == -1
    else:
        assert top <= await client.pexpiretime(tag) <= top + SLACK_MS, tag
