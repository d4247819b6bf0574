"""Write-behind through a Sentinel failover (issue 17).

As :mod:`tests.faults.test_failover_write_behind`, on a Sentinel group (one primary,
one replica, three sentinels): ``WriteBehind`` on a ``Cache`` built from the
``redis+sentinel://`` URL, its queue sharing the cache's client, two flush workers
(processes) draining into PostgreSQL, the store compared with the acknowledged writes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from cachewright import Cache, Settings, WriteBehind
from cachewright.patterns.queues.redis import RedisWriteQueue
from cachewright.stores import SQLStore
from tests._sentinel import SentinelGroup
from tests._servers import need, redis_binary, wait_until_async
from tests.faults._write_failover import (
    KEYS,
    NAME,
    PARTITIONS,
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

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SETTINGS = Settings(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    if redis_binary() is None:
        need("redis-server binary not found")
    with SentinelGroup().start() as group:
        yield group


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
async def test_write_behind_through_five_sentinel_failovers(
    group: SentinelGroup,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
    durability: str,
) -> None:
    """Holds today: two workers carry on through five primary kills and drain the
    queue, nothing is dead-lettered; the loss and the errors seen are printed."""
    setup = setup_for(group.url, namespace, pg_url, pg_store.table_name)
    async with (
        Cache.from_url(group.url, namespace=namespace, settings=SETTINGS) as cache,
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
            for _ in range(5):
                goal = writer.total + 500
                await wait_until_async(partial(grown, writer, goal), timeout=60)
                master = group.master_port()
                assert master is not None
                victim = group.server(master)
                group.kill(victim)
                await asyncio.to_thread(group.wait_promotion, master)
                await asyncio.to_thread(group.restart, victim)
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
        f"\nwrite-behind, 5 sentinel failovers ({durability}): acked keys {writer.acked()},"
        f" lost {loss.lost}"
        f" (missing {loss.missing}, older {loss.older}), failed-but-stored"
        f" {loss.failed_but_stored}, errors {writer.errors}, raw {writer.raw[:3]},"
        f" workers {stats}"
    )
    assert dead == 0
    assert writer.raw == []
    if durability == "replicated":
        assert loss.lost == 0


@pytest.mark.parametrize(
    "durability",
    [
        "default",
        "replicated",
    ],
)
async def test_acknowledged_writes_on_a_lagging_sentinel_replica(
    group: SentinelGroup,
    pg_store: SQLStore[int, int],
    namespace: str,
    durability: str,
) -> None:
    """The replica is frozen behind 32 MB of replication stream, writes go on, the
    primary is SIGKILLed, the replica continued and promoted, then two flush workers
    (in this process) drain.
    Default mode loses what was acknowledged meanwhile (counted); replicated mode
    (issue 17, item 3) must lose nothing acknowledged."""
    options = {} if durability == "default" else {"durability": durability}
    async with Cache.from_url(group.url, namespace=namespace, settings=SETTINGS) as cache:
        queue = RedisWriteQueue.for_cache(
            cache, name=NAME, partitions=PARTITIONS, claim_idle=1.0, **options
        )
        behind = WriteBehind(
            cache, pg_store, type=int, key_type=int, queue=queue, flusher=False, put_timeout=2.0
        )
        old = group.primary.port
        writer = Writer(behind)
        with group.frozen(group.replica):
            await fill_replication_stream(old, queue.partitions[0].stream)
            runner = asyncio.create_task(writer.run())
            try:
                # Replicated mode refuses every write of the frozen replica's primary
                # (and, on Sentinel, every write): count attempts, not acks.
                await wait_until_async(partial(tried, writer, 3 * KEYS), timeout=60)
                group.kill(group.primary)
            finally:
                writer.stop.set()
                await runner
        await asyncio.to_thread(group.wait_promotion, old)
        async with two_workers(cache, pg_store):
            await drained(queue)
        await queue.close()
    loss = compare(dict(await pg_store.get_many(list(range(KEYS)))), writer)
    print(
        f"\nwrite-behind, lagging sentinel replica ({durability}): acked keys"
        f" {writer.acked()}, lost {loss.lost} (missing {loss.missing}, older {loss.older}),"
        f" errors {writer.errors}, raw {writer.raw[:3]}"
    )
    if durability == "default":
        assert loss.lost > 0, "the replica was frozen: the primary's acked writes are gone"
    else:
        assert writer.errors.get("NotReplicated", 0) > 0, "the frozen replica confirmed nothing"
        assert loss.lost == 0
