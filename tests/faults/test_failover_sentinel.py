"""The cache and write-behind through a Sentinel failover (issue 17).

A private group per test: one primary, one replica, three sentinels (quorum 2,
down-after 1 s). The primary is SIGKILLed under traffic from one ``Cache`` built from
the ``redis+sentinel://`` URL; run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from cachewright import Cache, Settings
from tests._sentinel import SentinelGroup
from tests._servers import need, redis_binary
from tests.faults._failover import Figures, Traffic, summary

# redis-py's cluster client drops ClusterNode and Connection objects unclosed when it
# rebuilds its topology after a failover; their finalizers warn at garbage collection.
# The autouse fixture below collects them before the test ends, so they warn here,
# under this filter, and not in whichever later test the collector happens to run.
LEAKED = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <(socket\\.socket|function (_SelectorTransport|StreamWriter"
    "|AbstractConnection|ClusterNode)\\.__del__):pytest.PytestUnraisableExceptionWarning"
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, LEAKED]


@pytest.fixture(autouse=True)
def _collect_leaked_clients() -> Iterator[None]:
    yield
    gc.collect()


SETTINGS = Settings(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)
KEYS = [f"k{i}" for i in range(48)]


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    """A fresh Sentinel group (the tests kill its primary)."""
    if redis_binary() is None:
        need("redis-server binary not found")
    with SentinelGroup().start() as group:
        yield group


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
