"""The cache through a primary failover on a Redis Cluster with replicas (issue 17).

A private cluster of three primaries and three replicas (node timeout 1 s) per test;
one primary is SIGKILLed under ``Cache.set``/``get`` traffic from one ``Cache`` object,
and the caller's view is recorded (:mod:`tests.faults._failover`). Tests marked
``xfail(strict=True)`` pin what is wrong today; run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest

from cachewright import Cache, LocalTier, Settings
from cachewright.cache.backends.redis import RedisBackend
from cachewright.cache.local._redis_channel import RedisChannel
from cachewright.errors import CacheUnavailable, CircuitOpen
from tests._servers import wait_until_async
from tests._topology import ReplicatedCluster
from tests.faults._failover import (
    LEAKED_CLIENTS,
    SETTINGS,
    Figures,
    Traffic,
    local_channel,
    reconnected,
    summary,
)
from tests.faults.conftest import fresh_cluster

pytestmark = [pytest.mark.redis, pytest.mark.cluster, pytest.mark.slow, *LEAKED_CLIENTS]

KEYS = [f"k{i}" for i in range(48)]
# A breaker that never probes within a test (60 s): whatever is served again after
# a failover is served by the breaker per node and the topology refresh, not by a probe.
NEVER_PROBES = Settings(
    connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5, breaker_reset=60.0
)


@pytest.fixture
def partial_cluster() -> Iterator[ReplicatedCluster]:
    """A fresh replicated cluster with ``cluster-require-full-coverage no``."""
    yield from fresh_cluster(full_coverage=False)


@pytest.fixture
async def cache(cluster: ReplicatedCluster, namespace: str) -> AsyncIterator[Cache]:
    async with Cache.from_url(cluster.url, namespace=namespace, settings=SETTINGS) as cache:
        yield cache


@pytest.fixture
async def never_probing_cache(cluster: ReplicatedCluster, namespace: str) -> AsyncIterator[Cache]:
    async with Cache.from_url(cluster.url, namespace=namespace, settings=NEVER_PROBES) as cache:
        yield cache


def physical(cache: Cache, key: str) -> str:
    """The Redis key an entry lives under (the namespace prefix; a hash tag keeps
    tag indexes and entries in the slots the cache chooses)."""
    return f"{cache.namespace}:{key}"


async def failover(
    cluster: ReplicatedCluster, cache: Cache, *, restart: bool = True
) -> tuple[Figures, float, float]:
    """SIGKILL the primary of ``KEYS[0]`` under traffic; the figures, and the seconds
    from the kill and from the promotion until the same cache serves that key again."""
    victim = cluster.primary_for(physical(cache, KEYS[0]))
    victim_keys = {k for k in KEYS if cluster.primary_for(physical(cache, k)) is victim}
    for key in KEYS:
        await cache.set(key, 0, ttl=300)
    traffic = Traffic(cache, KEYS, victim_keys)
    runner = asyncio.create_task(traffic.run())
    try:
        await asyncio.sleep(0.2)  # traffic under way before the kill (not a synchronisation)
        killed_at = cluster.kill(victim)
        await asyncio.to_thread(cluster.wait_promotion, victim)
        promoted_at = time.monotonic()
        recovered_at = await traffic.until_recovered(KEYS[0])
    finally:
        traffic.stop()
        await runner
    figures = traffic.figures(killed_at, promoted_at)
    if restart:
        await asyncio.to_thread(cluster.restart, victim)
    return figures, recovered_at - killed_at, recovered_at - promoted_at


async def test_same_cache_serves_failed_slots_again_and_tags_invalidate(
    cluster: ReplicatedCluster, cache: Cache
) -> None:
    """Right today: one Cache object follows five failovers by itself, and tag
    invalidation still removes every tagged entry afterwards."""
    after_kill: list[float] = []
    after_promotion: list[float] = []
    healthy_dark: list[float] = []
    promotion: list[float] = []
    for _ in range(5):
        figures, since_kill, since_promotion = await failover(cluster, cache)
        after_kill.append(since_kill)
        after_promotion.append(since_promotion)
        healthy_dark.append(figures.healthy_dark)
        promotion.append(figures.promotion_after_kill)
        print(f"\ncluster failover: {figures}")
    print(f"\ncluster promotion after kill: {summary(promotion)}")
    print(f"cluster served again after kill: {summary(after_kill)}")
    print(f"cluster served again after promotion: {summary(after_promotion)}")
    print(f"cluster healthy slots dark: {summary(healthy_dark)}")
    await cache.set_many(dict.fromkeys(KEYS, 1), ttl=300, tags=["all"])
    assert await cache.invalidate_tags("all") == len(KEYS)
    assert await cache.get_many(KEYS, int) == {}


async def served(cache: Cache, key: str) -> bool:
    """A set then a get of ``key`` work (a poll probe)."""
    try:
        await cache.set(key, 1, ttl=300)
    except CacheUnavailable:
        return False
    return await cache.get(key, int) == 1


async def test_healthy_primary_served_after_promotion_within_the_breaker_period(
    cluster: ReplicatedCluster, never_probing_cache: Cache
) -> None:
    """CLUSTERDOWN answers during the failover do not count against the healthy
    primaries' breakers, and the topology change closes any breaker still open:
    a healthy key is served after the promotion long before a breaker period ends."""
    cache = never_probing_cache
    victim = cluster.primary_for(physical(cache, KEYS[0]))
    healthy = next(k for k in KEYS if cluster.primary_for(physical(cache, k)) is not victim)
    traffic = Traffic(cache, KEYS, set())
    runner = asyncio.create_task(traffic.run())
    try:
        await asyncio.sleep(0.2)  # traffic under way before the kill (not a synchronisation)
        cluster.kill(victim)
        await asyncio.to_thread(cluster.wait_promotion, victim)
        await wait_until_async(partial(served, cache, healthy), timeout=30, interval=0.01)
    finally:
        traffic.stop()
        await runner
    assert traffic.raw == []


async def test_healthy_primaries_keep_serving_while_one_is_down(
    partial_cluster: ReplicatedCluster, namespace: str
) -> None:
    """A breaker per node: the dead primary's failures open its breaker only; with
    ``cluster-require-full-coverage no`` the other primaries keep serving."""
    async with Cache.from_url(
        partial_cluster.url, namespace=namespace, settings=NEVER_PROBES
    ) as cache:
        victim = partial_cluster.primary_for(physical(cache, KEYS[0]))
        healthy = next(
            k for k in KEYS if partial_cluster.primary_for(physical(cache, k)) is not victim
        )
        await cache.set(healthy, 0, ttl=300)
        partial_cluster.kill(victim)
        # Before the promotion (node timeout 1 s, then an election): the dead
        # primary's slots fail, once per failure the breaker counts, then it refuses.
        for _ in range(NEVER_PROBES.breaker_threshold):
            with pytest.raises(CacheUnavailable):
                await cache.set(KEYS[0], 1, ttl=300)
        with pytest.raises(CircuitOpen):
            await cache.set(KEYS[0], 1, ttl=300)
        await cache.set(healthy, 1, ttl=300)
        assert await cache.get(healthy, int) == 1
        # A batch across nodes: the dead node's keys read as misses, the rest hit;
        # a write names the node that failed and writes the others.
        victim_keys = [k for k in KEYS if partial_cluster.primary_for(physical(cache, k)) is victim]
        assert await cache.get_many([healthy, victim_keys[0]], int) == {healthy: 1}
        with pytest.raises(CacheUnavailable, match=f"127.0.0.1:{victim.port}"):
            await cache.set_many({healthy: 2, victim_keys[0]: 2}, ttl=300)
        assert await cache.get(healthy, int) == 2
        nodes = (await cache.stats(server=False)).circuit_nodes
        assert nodes[f"127.0.0.1:{victim.port}"] == "open"
        assert list(nodes.values()).count("closed") >= 1


async def test_failed_slots_served_after_promotion_within_the_breaker_period(
    cluster: ReplicatedCluster, never_probing_cache: Cache
) -> None:
    """The dead primary's breaker never probes (60 s); while it refuses, the slot
    map is looked up again, so the failed slots are served by the promoted node."""
    cache = never_probing_cache
    victim = cluster.primary_for(physical(cache, KEYS[0]))
    victim_keys = {k for k in KEYS if cluster.primary_for(physical(cache, k)) is victim}
    traffic = Traffic(cache, KEYS, victim_keys)
    runner = asyncio.create_task(traffic.run())
    try:
        await asyncio.sleep(0.2)
        cluster.kill(victim)
        promoted = await asyncio.to_thread(cluster.wait_promotion, victim)
        await wait_until_async(partial(served, cache, KEYS[0]), timeout=30, interval=0.01)
    finally:
        traffic.stop()
        await runner
    assert traffic.raw == []
    assert cluster.primary_for(physical(cache, KEYS[0])) is promoted


async def test_local_tier_channel_survives_losing_its_node(
    cluster: ReplicatedCluster, namespace: str
) -> None:
    """Both caches' channels are given the URL of one node only; it is SIGKILLed:
    the channels move to another node of the cluster (learnt from that one), and a
    write in one cache still drops the other's local copy."""
    listened = cluster.nodes[0]
    local = LocalTier(ttl=60, ping_interval=0.2, max_backoff=0.2)

    def make() -> Cache:
        channel = RedisChannel(
            f"redis+cluster://127.0.0.1:{listened.port}/0",
            f"{namespace}~inv",
            SETTINGS,
            ping_interval=local.ping_interval,
            max_backoff=local.max_backoff,
        )
        backend = RedisBackend.from_url(cluster.url, settings=SETTINGS)
        return Cache(backend, namespace=namespace, settings=SETTINGS, local=local, channel=channel)

    async with make() as a, make() as b:
        for cache in (a, b):
            await wait_until_async(partial(local_channel, cache), expect="up", timeout=10)
        key = next(k for k in KEYS if cluster.primary_for(physical(a, k)) is not listened)
        was_primary = listened in cluster.primaries()
        cluster.kill(listened)
        for cache in (a, b):
            await wait_until_async(partial(reconnected, cache), timeout=30)
        if was_primary:
            await asyncio.to_thread(cluster.wait_promotion, listened)
        await wait_until_async(partial(served, a, key), timeout=30, interval=0.01)
        assert await b.get(key, int) == 1
        assert await b.get(key, int) == 1  # now held in b's local tier
        await a.set(key, 2, ttl=300)
        # Within the local ttl (60 s): only the invalidation message can drop b's copy.
        await wait_until_async(partial(b.get, key, int), expect=2, timeout=10)
