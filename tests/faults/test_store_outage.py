"""The store's faults: write-behind on the Redis queue keeps accepting writes while the
private PostgreSQL is stopped, and once it is back a flush worker delivers all of them
(G11/G12); a silent (black-holed) PostgreSQL must fail a store call in bounded time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachewright import Cache, Settings, WriteBehind
from cachewright.errors import StoreUnavailable
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.patterns.write_behind.worker import FlushWorker
from cachewright.stores import MemoryStore, SQLStore
from tests._servers import RedisServer, wait_until_async
from tests.faults._pg import PrivatePostgres
from tests.faults._proxy import FaultProxy

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

KEYS = 50
WRITES = 600
BLACK_HOLE_BUDGET = 6.0  # seconds a store call may take against a silent server


@pytest.fixture
async def store(private_pg: PrivatePostgres) -> AsyncIterator[SQLStore[int, int]]:
    if not private_pg.running():
        await asyncio.to_thread(private_pg.start)
    store = SQLStore(private_pg.url, f"outage_{uuid.uuid4().hex[:8]}", type=int, key_type=int)
    await store.create_table()
    try:
        yield store
    finally:
        await store.close()


async def test_write_behind_rides_out_a_store_outage(
    private_pg: PrivatePostgres, store: SQLStore[int, int], redis_url: str, namespace: str
) -> None:
    expected: dict[int, int] = {}
    async with Cache.from_url(redis_url, namespace=namespace) as cache:
        queue = RedisWriteQueue.for_cache(cache, name="outage")
        writes = WriteBehind(
            cache, store, key="item:{}", type=int, key_type=int, queue=queue, flusher=False
        )
        worker_queue = RedisWriteQueue.from_url(redis_url, namespace=namespace, name="outage")
        worker: FlushWorker[int, int] = FlushWorker(
            worker_queue, store, type=int, key_type=int, batch_size=100, wait=0.2,
            backoff=(0.05, 0.5),
        )  # fmt: skip
        try:
            async with worker:
                await asyncio.to_thread(private_pg.stop)
                for i in range(WRITES):
                    async with asyncio.timeout(10):
                        await writes.set(i % KEYS, i)  # accepted while the store is down
                    expected[i % KEYS] = i
                # Reads see the pending writes while the store is down.
                assert await writes.get(7) == expected[7]
                assert (await writes.stats()).pending > 0

                # Keep the store down until the worker has failed against it at least once.
                async def worker_hit_the_outage() -> bool:
                    s = await worker.stats()
                    return s.retries + s.outages + s.released > 0

                await wait_until_async(worker_hit_the_outage, timeout=30, interval=0.05)
                await asyncio.to_thread(private_pg.start)

                async def delivered() -> bool:
                    rows = await store.get_many(list(range(KEYS)))
                    return dict(rows) == expected

                await wait_until_async(delivered, timeout=60, interval=0.2)
            stats = await worker.stats()
            print(f"\nstore outage: {WRITES} writes over {KEYS} keys, worker {stats}")
            assert stats.dead_lettered == 0
            assert await writes.dead_letters() == []
        finally:
            await writes.close()
            await worker_queue.close()


async def test_closing_write_behind_while_its_queue_is_down_reports_not_raises(
    fresh_redis: RedisServer, namespace: str
) -> None:
    store: MemoryStore[int, int] = MemoryStore()
    queue = RedisWriteQueue.from_url(
        fresh_redis.url, namespace=namespace, name="closing", settings=Settings(read_timeout=0.5)
    )
    cache = Cache.from_url("memory://", namespace=namespace)
    writes = WriteBehind(cache, store, type=int, key_type=int, queue=queue, flusher=False)
    try:
        await writes.set(1, 1)
        await asyncio.to_thread(fresh_redis.kill)
        async with asyncio.timeout(30):
            report = await writes.close()
        assert report is not None
    finally:
        await queue.close()
        await cache.close()


async def _store_call_through_a_black_hole(
    private_pg: PrivatePostgres,
    engine_options: dict[str, Any] | None,
    budget: float = BLACK_HOLE_BUDGET,
) -> None:
    """Write once through the proxy, black-hole it, write again: StoreUnavailable in time."""
    if not private_pg.running():
        await asyncio.to_thread(private_pg.start)
    async with FaultProxy("127.0.0.1", private_pg.port) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/postgres"
        table = f"hole_{uuid.uuid4().hex[:8]}"
        store = SQLStore(url, table, type=int, key_type=int, engine_options=engine_options)
        try:
            await store.set(1, 1)
            proxy.black_hole()
            with pytest.raises(StoreUnavailable):
                async with asyncio.timeout(budget):
                    await store.set(1, 2)
        finally:
            proxy.pass_through()
            proxy.drop()
            await store.close()


async def test_a_black_holed_store_fails_in_time_with_driver_timeouts(
    private_pg: PrivatePostgres,
) -> None:
    """The workaround today: asyncpg's own timeouts, through ``engine_options``."""
    await _store_call_through_a_black_hole(
        private_pg, {"connect_args": {"command_timeout": 1, "timeout": 1}, "pool_timeout": 1}
    )


async def test_a_black_holed_store_fails_in_time_by_default(private_pg: PrivatePostgres) -> None:
    # SQLStore's default timeout is 5 s (connect, pool checkout, each statement).
    await _store_call_through_a_black_hole(private_pg, None, budget=12.0)
