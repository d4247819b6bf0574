"""Auto-recovery (issue 19): invalidations lost while Redis was unreachable are replayed
when it answers again, so Redis and the other processes' local tiers converge without
waiting for a ttl.

Process A reaches Redis through a fault proxy (its invalidation channel too); process B
(another Cache with its own local tier) reaches it directly. Local copies live a minute,
so only a replayed invalidation can make B read the new value within the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from cachewright import (
    Cache,
    CacheAside,
    CacheUnavailable,
    Event,
    EventKind,
    LocalTier,
    Settings,
)
from cachewright.cache import RecoveryStats
from tests._servers import RedisCluster, RedisServer, wait_until_async
from tests._topology import cli
from tests.faults._proxy import FaultProxy

SHORT: dict[str, Any] = {
    "write_timeout": 0.3,
    "read_timeout": 0.3,
    "breaker_reset": 0.2,
    "connect_timeout": 1,
}


@pytest.mark.parametrize("fail_open_writes", [False, True])
async def test_an_invalidation_lost_in_an_outage_reaches_peers_after_recovery(
    redis_server: RedisServer, namespace: str, fail_open_writes: bool
) -> None:
    database = {1: "v1"}

    async def load(user_id: int) -> str | None:
        return database.get(user_id)

    events: list[Event] = []
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}/0"
        settings_a = Settings(namespace=namespace, fail_open_writes=fail_open_writes, **SHORT)
        async with (
            Cache.from_url(proxied, settings=settings_a, local=LocalTier(ttl=60)) as a,
            Cache.from_url(redis_server.url, namespace=namespace, local=LocalTier(ttl=60)) as b,
        ):
            a.events.subscribe(events.append)
            users_a = CacheAside(a, loader=load, key="user:{}", type=str, ttl=600)
            users_b = CacheAside(b, loader=load, key="user:{}", type=str, ttl=600)
            assert await users_b.get(1) == "v1"  # in Redis and in B's local tier
            assert await users_a.get(1) == "v1"

            proxy.black_hole()
            proxy.drop()
            database[1] = "v2"
            if fail_open_writes:
                assert await users_a.invalidate(1) is False  # dropped, counted, remembered
            else:
                with pytest.raises(CacheUnavailable):
                    await users_a.invalidate(1)
            lost = await _recovery(a)
            assert lost.pending == 1
            assert lost.remembered >= 1
            assert await users_b.get(1) == "v1"  # B has not heard of it: Redis has v1 too

            proxy.pass_through()
            # No ttl runs out within the test: only the replayed delete, announced on
            # the channel, can drop B's local copy and Redis's entry.
            await wait_until_async(lambda: users_b.get(1), expect="v2", timeout=20)
            await wait_until_async(lambda: _recovered(events), timeout=10)
            stats = await _recovery(a)
            assert stats.pending == 0
            assert stats.replayed >= 1
            assert stats.recoveries >= 1
            assert stats.dropped == 0
            assert await users_a.get(1) == "v2"
            await a.clear()


async def _recovered(events: list[Event]) -> bool:
    return any(event.kind is EventKind.RECOVERED for event in events)


async def test_a_lost_tag_invalidation_is_replayed(
    redis_server: RedisServer, namespace: str
) -> None:
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}/0"
        async with (
            Cache.from_url(proxied, settings=Settings(namespace=namespace, **SHORT)) as a,
            Cache.from_url(redis_server.url, namespace=namespace) as b,
        ):
            await b.set("p:1", "one", ttl=600, tags=["products"])
            proxy.black_hole()
            proxy.drop()
            with pytest.raises(CacheUnavailable):
                await a.invalidate_tags("products")
            assert await b.get("p:1") == "one"
            proxy.pass_through()
            await wait_until_async(lambda: b.exists("p:1"), expect=False, timeout=20)
            assert (await _recovery(a)).pending == 0
            await b.clear()


async def test_an_invalidation_during_a_redis_restart_reaches_peers_after_recovery(
    namespace: str,
) -> None:
    """The issue's scenario with a real outage: a private redis-server (append-only
    file, so its data survives) is stopped, process A's invalidation fails, the server
    is started again with the old entry, and process B (its own connections, channel
    and local tier) reads the new value once A has replayed the delete. Without the
    replay B would read the old value from Redis until its ttl (10 minutes)."""
    server = RedisServer(appendonly=True).start()
    database = {1: "v1"}

    async def load(user_id: int) -> str | None:
        return database.get(user_id)

    try:
        settings_a = Settings(namespace=namespace, **SHORT)
        async with (
            Cache.from_url(server.url, settings=settings_a, local=LocalTier(ttl=60)) as a,
            Cache.from_url(server.url, namespace=namespace, local=LocalTier(ttl=60)) as b,
        ):
            users_a = CacheAside(a, loader=load, key="user:{}", type=str, ttl=600)
            users_b = CacheAside(b, loader=load, key="user:{}", type=str, ttl=600)
            assert await users_b.get(1) == "v1"
            # B's channel is subscribed and its local tier holds the copy (read from it).
            await wait_until_async(lambda: _local_hit(b, users_b), timeout=10)

            server.stop()
            database[1] = "v2"
            with pytest.raises(CacheUnavailable):
                await users_a.invalidate(1)
            assert (await _recovery(a)).pending == 1

            server.start()
            await wait_until_async(lambda: users_b.get(1), expect="v2", timeout=20)
            assert await _replayed(a)
            assert await a.get("user:1", str) in (None, "v2")
            await a.clear()
    finally:
        server.cleanup()


async def test_the_journal_bound_is_a_setting_and_drops_the_oldest_when_full(
    redis_server: RedisServer, namespace: str
) -> None:
    """``recovery_max_keys=3``: three lost deletes fill the journal (nothing dropped);
    a fourth drops the oldest (counted). After the replay the three newest keys are
    gone from Redis and the oldest is still there: it converges only by its ttl."""
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}/0"
        settings = Settings(
            namespace=namespace, fail_open_writes=True, recovery_max_keys=3, **SHORT
        )
        async with (
            Cache.from_url(proxied, settings=settings) as a,
            Cache.from_url(redis_server.url, namespace=namespace) as b,
        ):
            keys = ["k1", "k2", "k3", "k4"]
            await b.set_many({key: key for key in keys}, ttl=600)
            proxy.black_hole()
            proxy.drop()
            for key in keys[:3]:
                assert await a.delete(key) is False  # dropped by fail-open, remembered
            full = await _recovery(a)
            assert (full.pending, full.dropped) == (3, 0)
            assert await a.delete("k4") is False
            over = await _recovery(a)
            assert (over.pending, over.dropped) == (3, 1)

            proxy.pass_through()
            await wait_until_async(lambda: _replayed(a), timeout=20)
            assert (await _recovery(a)).replayed == 3
            assert await b.get_many(keys, type=str) == {"k1": "k1"}  # the oldest dropped
            await b.clear()


def test_the_journal_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="recovery_max_keys"):
        Settings(recovery_max_keys=0)


@pytest.mark.cluster
async def test_writes_lost_on_one_cluster_node_are_remembered_and_replayed(
    redis_cluster: RedisCluster, namespace: str
) -> None:
    """Per-node breakers: a ``delete_many`` whose keys span the nodes fails on the one
    node that takes no writes (paused), after the others deleted theirs; the journal
    still holds the whole batch, and it is replayed once that node takes writes again."""
    paused = redis_cluster.nodes[0].port
    settings = Settings(namespace=namespace, **SHORT)
    async with (
        Cache.from_url(redis_cluster.url, settings=settings) as a,
        Cache.from_url(redis_cluster.url, namespace=namespace) as b,
    ):
        keys = [f"k{i}" for i in range(48)]  # on every node: the slots are spread
        await a.set_many({key: key for key in keys}, ttl=600)
        assert len(await b.get_many(keys, type=str)) == len(keys)
        # Writes wait on the paused node (a caller that gives up has its command
        # dropped); PING, which the recovery asks first, is still answered.
        assert cli(paused, "CLIENT", "PAUSE", "10000", "WRITE").strip() == "OK"
        try:
            with pytest.raises(CacheUnavailable, match="1 of 3 nodes"):
                await a.delete_many(keys)
            lost = await _recovery(a)
            assert lost.pending == len(keys)  # the other nodes' keys included
            assert lost.recoveries == 0
        finally:
            cli(paused, "CLIENT", "UNPAUSE")
        await wait_until_async(lambda: _replayed(a), timeout=20)
        assert (await _recovery(a)).replayed >= len(keys)
        assert await b.get_many(keys, type=str) == {}
        assert (await b.stats(server=False)).fail_open_reads == 0  # b really read


async def _replayed(cache: Cache) -> bool:
    stats = await _recovery(cache)
    return stats.recoveries >= 1 and stats.pending == 0


async def _local_hit(cache: Cache, users: CacheAside[int, str]) -> bool:
    before = (await cache.stats(server=False)).local_hits
    assert await users.get(1) == "v1"
    return (await cache.stats(server=False)).local_hits > before


async def _recovery(cache: Cache) -> RecoveryStats:
    """The recovery figures, read as every figure is: ``await cache.stats()``."""
    return (await cache.stats(server=False)).recovery
