"""Concurrent tagged sets on one node share script calls (SET_TAGGED_MANY), and each
caller still gets its own answer: indexed like a lone set (G3), its own error, and a
cancellation that reaches no one else.

Every test runs on a private server of its own (``fresh_redis``), so the server's
command counts are the test's. A batch forms when tagged sets are issued while one is
in flight: ``asyncio.gather`` starts every call in one turn of the loop, the first goes
alone and the others queue behind it, deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest
from redis.asyncio import Redis

from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheError, PermissionDenied
from cachewright.settings import Settings
from tests._servers import RedisServer
from tests.cache.backends._g3 import assert_index, assert_member, server_ms
from tests.cache.backends._probe import NodeProbe
from tests.cache.backends.conftest import Names

#: generous: a test holds the server with CLIENT PAUSE while it cancels a caller
SETTINGS = Settings(read_timeout=5.0, write_timeout=5.0)


@pytest.fixture
async def standalone(fresh_redis: RedisServer) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend.from_url(fresh_redis.url, settings=SETTINGS)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def admin(fresh_redis: RedisServer) -> AsyncIterator[Redis]:
    async with Redis(host="127.0.0.1", port=fresh_redis.port) as client:
        yield client


async def members(client: Redis, tag: str) -> set[str]:
    found = cast("list[bytes]", await client.zrange(tag, 0, -1))
    return {member.decode() for member in found}


async def turns(count: int) -> None:
    """Let the event loop run ``count`` turns (the scheduling point a test cancels at)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def assert_indexed(admin: Redis, key: str, tags: list[str], earliest: int) -> None:
    """``key`` is live and a member of each of ``tags`` at or after its deadline and less
    than a grain after it, and each index lives at least as long as its top member, by at
    most the slack (``_g3``). ``earliest``: the server's clock before the write."""
    latest = await server_ms(admin)  # after the write: its clock reading was no later
    for tag in tags:
        await assert_member(admin, tag, key, earliest, latest)
        await assert_index(admin, tag)


async def test_concurrent_tagged_sets_share_script_calls_and_are_all_indexed(
    standalone: RedisBackend, admin: Redis, fresh_redis: RedisServer, names: Names
) -> None:
    a, b, c = names.tag("a"), names.tag("b"), names.tag("c")
    shapes = [[a], [a, b], [c, b], [c]]
    keys = names.keys(300)
    wanted = {
        key: (f"v{i}".encode(), 60_000 if i % 3 else 30_000 + i, shapes[i % 4])
        for i, key in enumerate(keys)
    }
    # indexes that already hold a longer-lived member: a batch must not shorten them
    before = await server_ms(admin)
    long = names.key("long")
    await standalone.set(long, b"long", 600_000, [a, b, c])
    expected = {**wanted, long: (b"long", 600_000, [a, b, c])}

    async def everything() -> None:
        # the same key twice with the same tags: the later value stands, indexed once
        twice = standalone.set(keys[0], b"first", 60_000, shapes[0])
        sets = [standalone.set(k, v, ttl, tags) for k, (v, ttl, tags) in wanted.items()]
        await asyncio.gather(twice, *sets)

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(everything)
    # 301 sets: the first alone, then the 300 queued behind it in calls of up to 128
    assert seen.calls("evalsha") == 1 + 3
    assert seen.calls("time") == 1 + 3  # one clock reading per call
    assert seen.calls("set") == 301
    assert seen.calls("zadd") <= 1 + 3 * 3  # per call, one ZADD per index it touches

    for key, (value, _, tags) in expected.items():
        assert await admin.get(key) == value
        await assert_indexed(admin, key, tags, before)
    holders = {tag: {k for k, (_, _, ts) in expected.items() if tag in ts} for tag in (a, b, c)}
    for tag in (a, b, c):
        assert await members(admin, tag) == holders[tag]
    # Invalidation finds every entry through its index.
    assert await standalone.invalidate_tags([b]) == len(holders[b])
    assert await admin.exists(*holders[b]) == 0
    assert await standalone.invalidate_tags([a, c]) == len(holders[a] | holders[c]) - len(
        holders[b]
    )
    assert await admin.exists(*expected) == 0


async def test_sequential_tagged_sets_each_go_alone(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    tag = [names.tag("seq")]
    await standalone.set(names.key("warm"), b"v", 60_000, tag)

    async def one_by_one() -> None:
        for key in names.keys(20):
            await standalone.set(key, b"v", 60_000, tag)

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(one_by_one)
    assert seen.calls("evalsha") == 20  # nothing waits to be batched
    assert seen.round_trips == [20]


async def test_an_entry_that_fails_in_a_batch_gets_the_error_it_gets_alone(
    standalone: RedisBackend, admin: Redis, fresh_redis: RedisServer, names: Names
) -> None:
    good, bad = names.tag("good"), names.tag("bad")
    await admin.set(bad, b"not a sorted set")
    await standalone.set(names.key("warm"), b"v", 60_000, [good])
    with pytest.raises(CacheError) as alone:
        await standalone.set(names.key("alone"), b"v", 60_000, [bad, good])
    keys = names.keys(20)
    failing = set(keys[1::4])
    before = await server_ms(admin)

    outcomes: list[BaseException | None] = []

    async def mixed() -> None:
        outcomes[:] = await asyncio.gather(
            *(
                standalone.set(key, b"v", 60_000, [bad, good] if key in failing else [good])
                for key in keys
            ),
            return_exceptions=True,
        )

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(mixed)
    # the first alone, the other 19 in one call, then each failed entry again alone
    assert seen.calls("evalsha") == 1 + 1 + len(failing)
    for key, outcome in zip(keys, outcomes, strict=True):
        if key in failing:
            assert type(outcome) is type(alone.value)
            assert "WRONGTYPE" in str(outcome)
        else:
            assert outcome is None
            await assert_indexed(admin, key, [good], before)
    assert await admin.get(bad) == b"not a sorted set"
    assert await standalone.invalidate_tags([good]) >= len(keys) - len(failing)
    assert await admin.exists(*(set(keys) - failing)) == 0


async def test_a_batch_the_server_refuses_whole_is_answered_entry_by_entry(
    fresh_redis: RedisServer, admin: Redis, names: Names
) -> None:
    # A user who may not touch one key: the server refuses any script call naming it
    # (NOPERM), so the batch holding it is sent again entry by entry.
    user = f"cw-{names.namespace}"
    allowed, forbidden = names.key("ok"), names.key("no")
    await admin.acl_setuser(
        user,
        enabled=True,
        passwords=["+pw"],
        keys=[f"{allowed}*", names.tag("*")],
        commands=["+@all"],
    )
    backend = RedisBackend.from_url(
        f"redis://{user}:pw@127.0.0.1:{fresh_redis.port}/0", settings=SETTINGS
    )
    tag = [names.tag("t")]
    try:
        with pytest.raises(PermissionDenied):
            await backend.set(forbidden, b"v", 60_000, tag)
        keys = [f"{allowed}{i}" for i in range(10)]
        outcomes = await asyncio.gather(
            *(backend.set(key, b"v", 60_000, tag) for key in keys),
            backend.set(forbidden, b"v", 60_000, tag),
            return_exceptions=True,
        )
        assert outcomes[:-1] == [None] * len(keys)
        assert isinstance(outcomes[-1], PermissionDenied)
        assert await admin.exists(forbidden) == 0
        assert await members(admin, tag[0]) == set(keys)
    finally:
        await backend.close()
        await admin.acl_deluser(user)


@pytest.mark.parametrize("turn", [1, 2, 3])
async def test_a_cancelled_caller_loses_or_corrupts_no_other(
    standalone: RedisBackend, admin: Redis, names: Names, turn: int
) -> None:
    tag = names.tag("c")
    await standalone.set(names.key("warm"), b"v", 60_000, [tag])
    keys = names.keys(40)
    before = await server_ms(admin)
    # The server holds every write while callers queue and one is cancelled: turn 1,
    # while its set waits in the queue (it is dropped); later, once its batch has left
    # (it is written, and indexed). The lone first call is cancelled in flight too.
    await admin.client_pause(5_000, all=False)  # WRITE: scripts wait, CLIENT UNPAUSE does not
    try:
        tasks = [asyncio.create_task(standalone.set(k, b"v", 60_000, [tag])) for k in keys]
        await turns(turn)
        for cancelled in (0, 7):
            tasks[cancelled].cancel()
    finally:
        await admin.client_unpause()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for i, (key, outcome) in enumerate(zip(keys, outcomes, strict=True)):
        if i in (0, 7):
            assert isinstance(outcome, asyncio.CancelledError)
            if i == 7 and turn == 1:
                assert await admin.exists(key) == 0  # dropped before it left
            elif await admin.exists(key):
                await assert_indexed(admin, key, [tag], before)  # never written unindexed
        else:
            assert outcome is None
            await assert_indexed(admin, key, [tag], before)
    await standalone.set(names.key("after"), b"v", 60_000, [tag])
    await assert_indexed(admin, names.key("after"), [tag], before)


async def test_close_answers_the_tagged_sets_still_queued(
    fresh_redis: RedisServer, admin: Redis, names: Names
) -> None:
    backend = RedisBackend.from_url(fresh_redis.url, settings=SETTINGS)
    tag = names.tag("closing")
    keys = names.keys(30)
    before = await server_ms(admin)
    tasks = [asyncio.create_task(backend.set(k, b"v", 60_000, [tag])) for k in keys]
    await turns(1)  # every caller has queued
    await backend.close()
    assert await asyncio.gather(*tasks) == [None] * len(keys)
    for key in keys:
        await assert_indexed(admin, key, [tag], before)


async def test_large_values_go_a_few_per_script_call(
    standalone: RedisBackend, admin: Redis, fresh_redis: RedisServer, names: Names
) -> None:
    tag = names.tag("large")
    await standalone.set(names.key("warm"), b"v", 60_000, [tag])
    keys = names.keys(10)
    value = b"x" * (100 * 1024)
    before = await server_ms(admin)

    async def large() -> None:
        await asyncio.gather(*(standalone.set(key, value, 60_000, [tag]) for key in keys))

    async with NodeProbe([fresh_redis.port]) as probe:
        seen = await probe.measure(large)
    # the first alone; the 9 queued behind it, 3 per call (a call stops past 256 KiB)
    assert seen.calls("evalsha") == 1 + 3
    for key in keys:
        assert await admin.strlen(key) == len(value)
        await assert_indexed(admin, key, [tag], before)
