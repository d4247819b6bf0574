"""G2, counted on the servers: batches cost one round trip (per node on Cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster as ClusterClient

from cachewright.cache.backends.redis import RedisBackend
from cachewright.settings import Settings
from tests._servers import RedisCluster, RedisServer
from tests.cache.backends._probe import NodeProbe
from tests.cache.backends.conftest import Names

N = 100


@pytest.fixture
async def standalone(fresh_redis: RedisServer) -> AsyncIterator[RedisBackend]:
    # A server of its own: nothing else adds commands or replies to the counts.
    backend = RedisBackend.from_url(fresh_redis.url, settings=Settings())
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def cluster(redis_cluster: RedisCluster, names: Names) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend.from_url(redis_cluster.url, settings=Settings())
    try:
        yield backend
    finally:
        await backend.delete_pattern(f"{names.namespace}*")
        await backend.close()


async def test_standalone_batches_are_one_command(
    standalone: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    keys = names.keys(N)
    items = [(key, b"v" * 50, 60_000) for key in keys]
    tag = [names.tag("t")]
    # Warm up: a connection in the pool and the scripts in the server's cache.
    await standalone.set_many(items, tag)
    async with NodeProbe([fresh_redis.port]) as probe:
        got = await probe.measure(lambda: standalone.get_many(keys))
        assert (got.round_trips, got.commands) == ([1], [{"mget": 1}])
        # commandstats also counts what a script calls: here, the SETs inside it
        set_plain = await probe.measure(lambda: standalone.set_many(items))
        assert (set_plain.round_trips, set_plain.commands) == ([1], [{"evalsha": 1, "set": N}])
        set_tagged = await probe.measure(lambda: standalone.set_many(items, tag))
        assert set_tagged.round_trips == [1]
        assert set_tagged.calls("evalsha") == 1
        assert set_tagged.calls("zadd") == N
        deleted = await probe.measure(lambda: standalone.delete_many(keys))
        assert (deleted.round_trips, deleted.commands) == ([1], [{"unlink": 1}])


async def test_cluster_batches_are_one_round_trip_per_node(
    cluster: RedisBackend, redis_cluster: RedisCluster, names: Names
) -> None:
    client = cluster.client
    assert isinstance(client, ClusterClient)
    keys = names.keys(N)
    items = [(key, b"v" * 50, 60_000) for key in keys]
    await cluster.set_many(items)  # warm up: topology known, a connection per node
    await cluster.get_many(keys)
    await cluster.delete_many(keys)
    owners = {client.get_node_from_key(key).port for key in keys}  # type: ignore[union-attr]
    assert owners == set(redis_cluster.ports), "the keys should spread over every node"
    slots = {client.keyslot(key) for key in keys}
    async with NodeProbe(redis_cluster.ports) as probe:
        written = await probe.measure(lambda: cluster.set_many(items))
        assert written.round_trips == [1, 1, 1]
        assert written.calls("set") == N
        got = await probe.measure(lambda: cluster.get_many(keys))
        assert got.round_trips == [1, 1, 1]
        assert got.calls("mget") == len(slots)  # one MGET per slot, never across slots
        assert got.calls("get") == 0
        deleted = await probe.measure(lambda: cluster.delete_many(keys))
        assert deleted.round_trips == [1, 1, 1]
        assert deleted.calls("unlink") == len(slots)


async def test_cluster_tagged_batches_have_a_bounded_number_of_round_trips(
    cluster: RedisBackend, redis_cluster: RedisCluster, names: Names
) -> None:
    keys = names.keys(N)
    tags = [names.tag("a"), names.tag("b"), names.tag("c")]
    items = [(key, b"v", 60_000) for key in keys]
    # Warm up: the first call of a script on a node costs a NOSCRIPT answer and an EVAL.
    await cluster.set_many(items, tags)
    await cluster.invalidate_tags(tags)
    async with NodeProbe(redis_cluster.ports) as probe:
        # index, write, re-index: three phases, each one round trip per node at most
        written = await probe.measure(lambda: cluster.set_many(items, tags))
        assert max(written.round_trips) <= 3
        assert written.calls("evalsha") == 2 * len(tags)
        # pop the indexes, then unlink the members: two phases
        removed = await probe.measure(lambda: cluster.invalidate_tags(tags))
        assert max(removed.round_trips) <= 2
    assert await cluster.get_many(keys) == [None] * N
