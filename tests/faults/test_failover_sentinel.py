"""The cache and write-behind through a Sentinel failover (issue 17).

A private group per test: one primary, one replica, three sentinels (quorum 2,
down-after 1 s). The primary is SIGKILLed under traffic from one ``Cache`` built from
the ``redis+sentinel://`` URL; run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial

import pytest

from cachewright import Cache, LocalTier
from cachewright.errors import CachewrightError
from tests._sentinel import SentinelGroup
from tests._servers import wait_until_async
from tests.faults._failover import (
    LEAKED_CLIENTS,
    SETTINGS,
    Figures,
    Traffic,
    local_channel,
    reconnected,
    summary,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, *LEAKED_CLIENTS]

KEYS = [f"k{i}" for i in range(48)]


@pytest.fixture
async def cache(group: SentinelGroup, namespace: str) -> AsyncIterator[Cache]:
    async with Cache.from_url(group.url, namespace=namespace, settings=SETTINGS) as cache:
        yield cache


async def failover(group: SentinelGroup, cache: Cache) -> tuple[Figures, float, float]:
    """SIGKILL the primary under traffic; the figures, and the seconds from the kill
    and from the promotion until the same cache serves again; then the old primary
    rejoins as a replica."""
    master = group.master_port()
    assert master is not None
    victim = group.server(master)
    traffic = Traffic(cache, KEYS, set(KEYS))
    runner = asyncio.create_task(traffic.run())
    try:
        await asyncio.sleep(0.2)  # traffic under way before the kill (not a synchronisation)
        killed_at = group.kill(victim)
        await asyncio.to_thread(group.wait_promotion, master)
        promoted_at = time.monotonic()
        recovered_at = await traffic.until_recovered(KEYS[0])
    finally:
        traffic.stop()
        await runner
    figures = traffic.figures(killed_at, promoted_at)
    await asyncio.to_thread(group.restart, victim)
    return figures, recovered_at - killed_at, recovered_at - promoted_at


async def test_same_cache_follows_sentinel_failovers_and_tags_invalidate(
    group: SentinelGroup, cache: Cache
) -> None:
    """Right today: one Cache follows five Sentinel failovers by itself (redis-py's
    Sentinel pool asks the sentinels again on a failed connection), only cachewright
    errors reach the caller, and tags still invalidate every entry afterwards."""
    after_kill: list[float] = []
    after_promotion: list[float] = []
    promotion: list[float] = []
    raw: list[str] = []
    for _ in range(5):
        figures, since_kill, since_promotion = await failover(group, cache)
        after_kill.append(since_kill)
        after_promotion.append(since_promotion)
        promotion.append(figures.promotion_after_kill)
        raw.extend(figures.raw)
        print(f"\nsentinel failover: {figures}")
    print(f"\nsentinel promotion after kill: {summary(promotion)}")
    print(f"sentinel served again after kill: {summary(after_kill)}")
    print(f"sentinel served again after promotion: {summary(after_promotion)}")
    assert raw == []
    await cache.set_many(dict.fromkeys(KEYS, 1), ttl=300, tags=["all"])
    assert await cache.invalidate_tags("all") == len(KEYS)
    assert await cache.get_many(KEYS, int) == {}


async def _served(cache: Cache, key: str) -> bool:
    try:
        await cache.set(key, 1, ttl=300)
    except CachewrightError:
        return False
    return await cache.get(key, int) == 1


async def test_local_tier_channel_follows_the_promoted_primary(
    group: SentinelGroup, namespace: str
) -> None:
    """The channels listen on the primary; it is SIGKILLed: they reconnect to the
    promoted one, and a write in one cache still drops the other's local copy."""
    local = LocalTier(ttl=60, ping_interval=0.2, max_backoff=0.2)
    async with (
        Cache.from_url(group.url, namespace=namespace, settings=SETTINGS, local=local) as a,
        Cache.from_url(group.url, namespace=namespace, settings=SETTINGS, local=local) as b,
    ):
        for cache in (a, b):
            await wait_until_async(partial(local_channel, cache), expect="up", timeout=10)
        master = group.master_port()
        assert master is not None
        group.kill(group.server(master))
        await asyncio.to_thread(group.wait_promotion, master)
        for cache in (a, b):
            await wait_until_async(partial(reconnected, cache), timeout=30)
        await wait_until_async(partial(_served, a, "k"), timeout=30, interval=0.01)
        assert await b.get("k", int) == 1
        assert await b.get("k", int) == 1  # now held in b's local tier
        await a.set("k", 2, ttl=300)
        # Within the local ttl (60 s): only the invalidation message can drop b's copy.
        await wait_until_async(partial(b.get, "k", int), expect=2, timeout=10)
