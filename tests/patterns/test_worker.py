"""FlushWorker and run_worker in this process: draining, graceful stop, store and Redis
outages, poison writes. The crash tests (``test_crash.py``) run them as processes."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping, Sequence

import pytest
from pydantic import BaseModel
from tenacity import stop_after_attempt, wait_none

from cachewright import Cache
from cachewright.errors import ConfigurationError, QueueUnavailable, StoreError, StoreUnavailable
from cachewright.patterns import RetryPolicy
from cachewright.patterns.worker import run_worker
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind.queues import SET
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.patterns.write_behind.worker import FlushWorker
from cachewright.stores import BaseStore, MemoryStore, SQLStore
from tests._servers import RedisServer, wait_until_async

pytestmark = pytest.mark.redis

FAST = RetryPolicy(stop=stop_after_attempt(2), wait=wait_none())


class Profile(BaseModel):
    name: str
    visits: int = 0


class Flaky(BaseStore[int, int]):
    """A memory store the test can switch off (``down``), poison (``reject``) or hold
    inside a write (``hold``: the write waits until the test sets it again)."""

    def __init__(self) -> None:
        self.inner = MemoryStore[int, int]()
        self.down = 0  # the next n writes raise StoreUnavailable
        self.reject: set[int] = set()
        self.hold: asyncio.Event | None = None
        self.holding = asyncio.Event()

    async def get(self, key: int) -> int | None:
        return await self.inner.get(key)

    async def set(self, key: int, value: int) -> None:
        await self.set_many({key: value})

    async def delete(self, key: int) -> None:
        await self.delete_many([key])

    async def set_many(self, items: Mapping[int, int]) -> None:
        await self._gate(list(items))
        await self.inner.set_many(items)

    async def delete_many(self, keys: Sequence[int]) -> None:
        await self._gate(keys)
        await self.inner.delete_many(keys)

    async def _gate(self, keys: Sequence[int]) -> None:
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        if self.down:
            self.down -= 1
            raise StoreUnavailable("switched off by the test")
        if self.reject.intersection(keys):
            raise StoreError(f"rejected {sorted(self.reject.intersection(keys))}")


async def put_ints(queue: RedisWriteQueue, values: Mapping[int, int]) -> None:
    for key, value in values.items():
        await queue.put(str(key), SET, str(value).encode(), 5.0)


async def drained(queue: RedisWriteQueue) -> None:
    async def empty() -> bool:
        return (await queue.stats()).pending == 0

    await wait_until_async(empty, timeout=20)


async def test_worker_flushes_what_an_app_without_flusher_wrote(
    redis_url: str, namespace: str, sqlite_url: str
) -> None:
    store: SQLStore[int, Profile] = SQLStore(sqlite_url, "profiles", type=Profile, key_type=int)
    async with Cache.from_url(redis_url, namespace=namespace) as cache, store:
        app = WriteBehind(
            cache,
            store,
            key="profile:{}",
            type=Profile,
            key_type=int,
            queue=RedisWriteQueue.for_cache(cache, name="profiles"),
            flusher=False,
        )
        for user in range(40):
            await app.set(user, Profile(name=f"u{user}", visits=user))
        await app.delete(7)
        await cache.delete("profile:3")  # evicted: the read falls back to the queue
        assert await app.get(3) == Profile(name="u3", visits=3)
        assert await store.get(3) is None, "nothing reached the store yet"
        # The worker: another queue object on its own client, as in another process.
        async with (
            RedisWriteQueue.from_url(redis_url, namespace=namespace, name="profiles") as queue,
            FlushWorker(queue, store, type=Profile, key_type=int, batch_size=16) as worker,
        ):
            await drained(queue)
        assert (await worker.stats()).flushed == 40
        assert (await worker.stats()).batches >= 3
        assert not worker.running
        assert await store.get(3) == Profile(name="u3", visits=3)
        assert await store.get(7) is None
        assert len(await store.get_many(list(range(40)))) == 39
        await app.close()


async def test_stop_finishes_the_batch_in_hand(redis_url: str, namespace: str) -> None:
    store = Flaky()
    store.hold = asyncio.Event()
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace) as queue:
        await put_ints(queue, {key: key * 10 for key in range(10)})
        worker = FlushWorker(queue, store, type=int, key_type=int, retry=FAST)
        worker.start()
        await asyncio.wait_for(store.holding.wait(), 10)  # a batch is being written
        stopping = asyncio.create_task(worker.stop())
        await asyncio.sleep(0)
        assert not stopping.done(), "stop waits for the batch in hand"
        store.hold.set()
        stats = await asyncio.wait_for(stopping, 10)
        assert stats.flushed == 10
        assert await store.get_many(list(range(10))) == {key: key * 10 for key in range(10)}
        assert (await queue.stats()).pending == 0
        assert queue.held == 0


async def test_a_store_outage_is_waited_out(redis_url: str, namespace: str) -> None:
    store = Flaky()
    store.down = 5  # more failures than one retry policy allows: the batch goes back
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace) as queue:
        await put_ints(queue, {key: key for key in range(20)})
        async with FlushWorker(
            queue, store, type=int, key_type=int, retry=FAST, backoff=(0.01, 0.05)
        ) as worker:
            await drained(queue)
        assert (await worker.stats()).outages >= 1
        assert (await worker.stats()).released >= 1
        assert len(await store.get_many(list(range(20)))) == 20
        assert (await queue.stats()).dead_letters == 0


async def test_a_poison_write_is_dead_lettered_and_the_rest_written(
    redis_url: str, namespace: str
) -> None:
    store = Flaky()
    store.reject = {13}
    async with (
        Cache.from_url(redis_url, namespace=namespace) as cache,
        RedisWriteQueue.from_url(redis_url, namespace=namespace) as queue,
    ):
        await cache.set("n:13", 13)
        await put_ints(queue, {key: key for key in range(30)})
        async with FlushWorker(
            queue, store, type=int, key_type=int, retry=FAST, cache=cache, key="n:{}"
        ) as worker:
            await drained(queue)
        [dead] = await queue.dead_letters()
        assert (dead.key, dead.value) == ("13", b"13")
        assert "rejected [13]" in dead.error
        assert (await worker.stats()).dead_lettered == 1
        assert len(await store.get_many(list(range(30)))) == 29
        assert await cache.get("n:13") is None, "readers fall back to the store's truth"


async def test_the_worker_rides_out_a_redis_restart(
    fresh_redis: RedisServer, namespace: str
) -> None:
    store = Flaky()
    async with RedisWriteQueue.from_url(fresh_redis.url, namespace=namespace) as queue:
        worker = FlushWorker(queue, store, type=int, key_type=int, backoff=(0.01, 0.1))
        async with worker:
            await put_ints(queue, {1: 1})

            async def acknowledged() -> bool:
                # Written AND acknowledged: killing Redis between the two would leave the
                # batch unacknowledged (rewritten later, at least once), not counted here.
                return (await worker.stats()).flushed == 1

            await wait_until_async(acknowledged)
            assert await store.get(1) == 1
            fresh_redis.kill()

            async def noticed() -> bool:
                return (await worker.stats()).outages >= 2

            await wait_until_async(noticed)
            fresh_redis.start()  # empty (no persistence here): the worker reconnects

            async def writes_flow_again() -> bool:
                try:
                    await queue.put("2", SET, b"2", 1.0)
                except QueueUnavailable:
                    return False
                return True

            await wait_until_async(writes_flow_again)
            await wait_until_async(lambda: store.get(2), expect=2)
        assert (await worker.stats()).flushed == 2


async def test_run_worker_stops_gracefully_on_sigterm(redis_url: str, namespace: str) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, name="jobs") as queue:
        await put_ints(queue, {1: 100, 2: 200})
        running = asyncio.create_task(
            run_worker(
                redis_url,
                "tests.patterns.test_worker:shared_store",
                type="builtins:int",
                key_type=int,
                namespace=namespace,
                name="jobs",
                wait=0.1,
            )
        )
        await drained(queue)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler run_worker installed catches it
        stats = await asyncio.wait_for(running, 10)
    assert stats.flushed == 2
    assert await SHARED.get_many([1, 2]) == {1: 100, 2: 200}


async def test_run_worker_rejects_bad_factories(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="module:name"):
        await run_worker(redis_url, "no-colon", type=int, handle_signals=False)
    with pytest.raises(ConfigurationError, match="has no 'nope'"):
        await run_worker(redis_url, "tests.patterns.test_worker:nope", type=int)
    with pytest.raises(ConfigurationError, match="not a data store"):
        await run_worker(redis_url, "tests.patterns.test_worker:not_a_store", type=int)
    with pytest.raises(ConfigurationError, match="must be json, one of"):
        await run_worker(redis_url, "tests.patterns.test_worker:shared_store", type="integer")


SHARED = MemoryStore[int, int]()


def shared_store() -> MemoryStore[int, int]:
    return SHARED


def not_a_store() -> object:
    return object()
