"""Write-behind through a primary failover on a replicated Redis Cluster (issue 17).

``WriteBehind`` on a ``Cache`` on the cluster, its Redis queue sharing the cache's
client, writes ``i`` to key ``i % KEYS`` from 16 tasks; two flush workers (processes
running ``run_worker``, :mod:`tests.patterns._crash_scripts.worker`) drain it into
PostgreSQL. The store is compared with the acknowledged writes: a key whose row is
missing or older than its last acknowledged value is a lost write.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from cachewright import Cache, Settings, WriteBehind
from cachewright.patterns.queues.redis import RedisWriteQueue
from cachewright.stores import SQLStore
from tests._servers import need, redis_binary, wait_until_async
from tests._topology import ReplicatedCluster
from tests.faults._write_failover import (
    KEYS,
    NAME,
    PARTITIONS,
    RawErrorEscaped,
    Writer,
    compare,
    drained,
    fill_replication_stream,
    grown,
    setup_for,
    tried,
    two_workers,
)
from tests.patterns._crash_scripts.harness import Processes

# redis-py's cluster client drops ClusterNode and Connection objects unclosed when it
# rebuilds its topology after a failover; their finalizers warn at garbage collection.
# The autouse fixture below collects them before the test ends, so they warn here,
# under this filter, and not in whichever later test the collector happens to run.
LEAKED = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <(socket\\.socket|function (_SelectorTransport|StreamWriter"
    "|AbstractConnection|ClusterNode)\\.__del__):pytest.PytestUnraisableExceptionWarning"
)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.slow,
    LEAKED,
]


@pytest.fixture(autouse=True)
def _collect_leaked_clients() -> Iterator[None]:
    yield
    gc.collect()


SETTINGS = Settings(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)


@pytest.fixture
def cluster() -> Iterator[ReplicatedCluster]:
    if redis_binary() is None:
        need("redis-server binary not found")
    with ReplicatedCluster().start() as cluster:
        yield cluster


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[SQLStore[int, int]]:
    table = f"cw_failover_{uuid.uuid4().hex[:10]}"
    store = SQLStore(pg_url, table, type=int, key_type=int)
    await store.create_table()
    try:
        yield store
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()


@pytest.mark.parametrize("durability", ["default", "replicated"])
async def test_write_behind_through_five_failovers(
    cluster: ReplicatedCluster,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
    durability: str,
) -> None:
    """Two workers keep running through five primary kills and drain the queue; the
    loss and every error type seen are printed. Holds today: the workers survive,
    reclaim and finish, nothing is dead-lettered, and only cachewright errors reach
    the writer (a raw one is raised last, as RawErrorEscaped)."""
    setup = setup_for(cluster.url, namespace, pg_url, pg_store.table_name)
    async with (
        Cache.from_url(cluster.url, namespace=namespace, settings=SETTINGS) as cache,
        Processes(tmp_path) as procs,
    ):
        options = {} if durability == "default" else {"durability": durability}
        queue = RedisWriteQueue.for_cache(
            cache, name=NAME, partitions=PARTITIONS, claim_idle=1.0, **options
        )
        behind = WriteBehind(
            cache, pg_store, type=int, key_type=int, queue=queue, flusher=False, put_timeout=2.0
        )
        workers = [procs.start("worker", setup.worker_env()) for _ in range(2)]
        writer = Writer(behind)
        runner = asyncio.create_task(writer.run())
        try:
            for round_ in range(5):
                goal = writer.total + 500
                await wait_until_async(partial(grown, writer, goal), timeout=60)
                victim = cluster.primary_for(queue.partitions[round_ % PARTITIONS].stream)
                cluster.kill(victim)
                await asyncio.to_thread(cluster.wait_promotion, victim)
                await asyncio.to_thread(cluster.restart, victim)
            goal = writer.total + 500
            await wait_until_async(partial(grown, writer, goal), timeout=60)
        finally:
            writer.stop.set()
            await runner
        await drained(queue)
        stats = [await procs.stop(worker) for worker in workers]
        dead = (await queue.stats()).dead_letters
        await queue.close()
    loss = compare(dict(await pg_store.get_many(list(range(KEYS)))), writer)
    print(
        f"\nwrite-behind, 5 cluster failovers ({durability}): acked keys {writer.acked()},"
        f" lost {loss.lost}"
        f" (missing {loss.missing}, older {loss.older}), failed-but-stored"
        f" {loss.failed_but_stored}, errors {writer.errors}, raw {writer.raw[:3]},"
        f" workers {stats}"
    )
    assert dead == 0
    if writer.raw:
        raise RawErrorEscaped(writer.raw[0])
    if durability == "replicated":
        assert loss.lost == 0


@pytest.mark.parametrize(
    "durability",
    [
        "default",
        pytest.param(
            "replicated",
            marks=pytest.mark.skip(
                reason="hung once in the oldest-versions CI session (the queue stopped"
                " draining after the primary was killed: ~240 ops pending, no progress;"
                " open in issue 17); replicated durability is still checked by the"
                " five-failover tests on Cluster and Sentinel and the Sentinel lagging test"
            ),
        ),
    ],
)
async def test_acknowledged_writes_on_a_lagging_replica(
    cluster: ReplicatedCluster,
    pg_store: SQLStore[int, int],
    namespace: str,
    durability: str,
) -> None:
    """A partition's replica is frozen (SIGSTOP) behind 32 MB of replication stream,
    writes go on, its primary is SIGKILLed,
    the replica is continued and promoted; then two flush workers (in this process) drain the queue.

    Default mode: the writes acknowledged while the replica lagged are lost (G16's
    stated loss window), counted here. Replicated mode (issue 17, item 3): a write the
    replica cannot confirm raises and is not acknowledged, so nothing acked is lost."""
    options = {} if durability == "default" else {"durability": durability}
    async with Cache.from_url(cluster.url, namespace=namespace, settings=SETTINGS) as cache:
        queue = RedisWriteQueue.for_cache(
            cache, name=NAME, partitions=PARTITIONS, claim_idle=1.0, **options
        )
        behind = WriteBehind(
            cache, pg_store, type=int, key_type=int, queue=queue, flusher=False, put_timeout=2.0
        )
        stream = queue.partitions[0].stream
        victim = cluster.primary_for(stream)
        writer = Writer(behind)
        with cluster.frozen(cluster.replica_of(victim)):
            await fill_replication_stream(victim.port, stream)
            runner = asyncio.create_task(writer.run())
            try:
                # Replicated mode refuses every write of the frozen replica's primary
                # (and, on Sentinel, every write): count attempts, not acks.
                await wait_until_async(partial(tried, writer, 3 * KEYS), timeout=60)
                cluster.kill(victim)
            finally:
                writer.stop.set()
                await runner
        await asyncio.to_thread(cluster.wait_promotion, victim)
        async with two_workers(cache, pg_store):
            await drained(queue)
        await queue.close()
    loss = compare(dict(await pg_store.get_many(list(range(KEYS)))), writer)
    print(
        f"\nwrite-behind, lagging replica ({durability}): acked keys {writer.acked()},"
        f" lost {loss.lost} (missing {loss.missing}, older {loss.older}),"
        f" errors {writer.errors}, raw {writer.raw[:3]}"
    )
    if durability == "default":
        assert loss.lost > 0, "the replica was frozen: its primary's acked writes are gone"
    else:
        assert writer.errors.get("NotReplicated", 0) > 0, "the frozen replica confirmed nothing"
        assert loss.lost == 0
