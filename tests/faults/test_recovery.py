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
            assert a.recovery.pending == 1
            assert a.recovery.remembered >= 1
            assert await users_b.get(1) == "v1"  # B has not heard of it: Redis has v1 too

            proxy.pass_through()
            # No ttl runs out within the test: only the replayed delete, announced on
            # the channel, can drop B's local copy and Redis's entry.
            await wait_until_async(lambda: users_b.get(1), expect="v2", timeout=20)
            await wait_until_async(lambda: _recovered(events), timeout=10)
            stats = a.recovery
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
            assert a.recovery.pending == 0
            await b.clear()


async def test_the_journal_is_bounded_and_counts_what_it_drops() -> None:
    from cachewright.cache._recovery import MAX_REMEMBERED, Recovery
    from cachewright.cache.local import Notice

    async with Cache.from_url("memory://") as cache:
        recovery = Recovery(
            replay_keys=cache.delete_many,
            replay_tags=cache.invalidate_tags,
            replay_pattern=cache.delete_pattern,
            replay_clear=cache.clear,
            interval=3600,  # no replay during the test: only the bound is looked at
            on_recovered=lambda detail: None,
        )
        recovery.remember(Notice(keys=[f"k{i}" for i in range(MAX_REMEMBERED + 5)]))
        recovery.remember(Notice(keys=("lease",), publish=False))  # not a lost write
        assert recovery.stats().pending == MAX_REMEMBERED
        assert recovery.stats().dropped == 5
        assert await recovery.replay() is True  # the newest MAX_REMEMBERED keys
        assert recovery.stats().replayed == MAX_REMEMBERED
        await recovery.close()


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
            assert a.recovery.pending == len(keys)  # the other nodes' keys included
            assert a.recovery.recoveries == 0
        finally:
            cli(paused, "CLIENT", "UNPAUSE")
        await wait_until_async(lambda: _replayed(a), timeout=20)
        assert a.recovery.replayed >= len(keys)
        assert await b.get_many(keys, type=str) == {}
        assert (await b.stats(server=False)).fail_open_reads == 0  # b really read


async def _replayed(cache: Cache) -> bool:
    stats = cache.recovery
    return stats.recoveries >= 1 and stats.pending == 0
