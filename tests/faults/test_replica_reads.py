"""Cache reads from replicas (``read_from_replicas``), on Cluster and Sentinel.

One replicated cluster and one Sentinel group for the module: the tests only freeze a
replica (SIGSTOP) for a moment and continue it. A frozen replica shows where a read
goes: with the option a ``get`` waits on it and fails open (a miss) while the primary
still takes writes; without it, or with a local tier (a refill never copies a replica),
the same read is served by the primary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial

import pytest
from redis import Redis

from cachewright import Cache, LocalTier
from cachewright.errors import ConfigurationError
from tests._sentinel import SentinelGroup
from tests._servers import RedisServer, need, redis_binary, wait_until, wait_until_async
from tests._topology import ReplicatedCluster
from tests.faults._failover import LEAKED_CLIENTS, SETTINGS

pytestmark = [pytest.mark.redis, pytest.mark.slow, *LEAKED_CLIENTS]

PRIMARY = SETTINGS
REPLICAS = SETTINGS.model_copy(update={"read_from_replicas": True})


# Module-scoped overrides of tests/faults/conftest.py's fresh-per-test fixtures: these
# tests only freeze a replica for a moment, so one topology serves the module.
@pytest.fixture(scope="module")
def cluster() -> Iterator[ReplicatedCluster]:
    if redis_binary() is None:
        need("redis-server binary not found")
    with ReplicatedCluster().start() as cluster:
        # A client learns the replicas from CLUSTER SLOTS when it starts: wait until
        # every node's answer lists them (gossip may lag the cluster's start).
        wait_until(partial(_replicas_listed, cluster), timeout=30, interval=0.05)
        yield cluster


def _replicas_listed(cluster: ReplicatedCluster) -> bool:
    for node in cluster.alive():
        with Redis(host="127.0.0.1", port=node.port) as client:
            ranges = client.execute_command("CLUSTER", "SLOTS")
        if not ranges or any(len(row) < 4 for row in ranges):
            return False
    return True


@pytest.fixture(scope="module")
def group() -> Iterator[SentinelGroup]:
    if redis_binary() is None:
        need("redis-server binary not found")
    with SentinelGroup().start() as group:
        yield group


async def _read_where_the_replica_is_frozen(
    url: str,
    namespace: str,
    replica_of: Callable[[str], RedisServer],
    frozen: Callable[[RedisServer], AbstractContextManager[RedisServer]],
) -> None:
    async with (
        Cache.from_url(url, namespace=namespace, settings=REPLICAS) as replicas,
        Cache.from_url(url, namespace=namespace, settings=PRIMARY) as primary,
        Cache.from_url(
            url, namespace=namespace, settings=REPLICAS, local=LocalTier(ttl=60)
        ) as local,
    ):
        await replicas.set("k", 1, ttl=300)
        # Replication is asynchronous: the write shows on the replica soon, not at once.
        await wait_until_async(partial(replicas.get, "k", int), expect=1, timeout=10)
        assert await replicas.get_many(["k"], int) == {"k": 1}
        # Each client learns the topology before the freeze (a cluster client may ask
        # the frozen node first, and that wait would eat the read's whole deadline).
        assert await primary.get("k", int) == 1
        assert await local.get("other", int) is None  # not "k": it would be kept locally
        replica = replica_of(f"{namespace}:k")
        with frozen(replica):
            await replicas.set("k", 2, ttl=300)  # writes go to the primary
            assert await replicas.get("k", int) is None  # waits on the replica: a miss
            assert await replicas.get_many(["k"], int) == {}
            assert await primary.get("k", int) == 2
            assert await local.get("k", int) == 2  # a local tier reads the primary
        await wait_until_async(partial(replicas.get, "k", int), expect=2, timeout=10)


async def test_cluster_reads_from_replicas(cluster: ReplicatedCluster, namespace: str) -> None:
    def replica_of(key: str) -> RedisServer:
        return cluster.replica_of(cluster.primary_for(key))

    await _read_where_the_replica_is_frozen(cluster.url, namespace, replica_of, cluster.frozen)


async def test_sentinel_reads_from_the_replica(group: SentinelGroup, namespace: str) -> None:
    def replica_of(key: str) -> RedisServer:
        return group.replica

    await _read_where_the_replica_is_frozen(group.url, namespace, replica_of, group.frozen)


def test_a_standalone_url_cannot_read_from_replicas() -> None:
    with pytest.raises(ConfigurationError, match="read_from_replicas"):
        Cache.from_url("redis://127.0.0.1:6379/0", settings=REPLICAS)
    with pytest.raises(ConfigurationError, match="read_from_replicas"):
        Cache.from_url("redis://127.0.0.1:6379/0?read_from_replicas=true")
