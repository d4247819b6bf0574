"""RedisWriteQueue: the shared contract suite (standalone and Cluster), then Redis specifics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from cachewright import Cache, Settings
from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import ConfigurationError, QueueClosed, QueueFull, QueueUnavailable
from cachewright.patterns.write_behind.queues import DELETE, SET, Batch, QueuedOp, WriteQueue
from cachewright.patterns.write_behind.queues._partitions import GROUP, Layout
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue, queue_name_for
from tests._servers import RedisCluster, free_port, wait_until_async
from tests.patterns._queue_contract import QueueFactory, WriteQueueContract

pytestmark = pytest.mark.redis


class TestRedisWriteQueue(WriteQueueContract):
    """One partition: the contract's strict FIFO and exact capacity hold per partition."""

    @pytest.fixture
    async def make_queue(self, redis_url: str, namespace: str) -> AsyncIterator[QueueFactory]:
        queues: list[RedisWriteQueue] = []

        async def make(max_pending: int = 100) -> WriteQueue:
            queue = RedisWriteQueue.from_url(
                redis_url,
                namespace=namespace,
                name=f"q{len(queues)}",
                partitions=1,
                max_pending=max_pending,
            )
            queues.append(queue)
            return queue

        yield make
        for queue in queues:
            await queue.close()


@pytest.mark.cluster
class TestRedisWriteQueueOnCluster(WriteQueueContract):
    @pytest.fixture
    async def make_queue(
        self, redis_cluster: RedisCluster, namespace: str
    ) -> AsyncIterator[QueueFactory]:
        queues: list[RedisWriteQueue] = []

        async def make(max_pending: int = 100) -> WriteQueue:
            queue = RedisWriteQueue.from_url(
                redis_cluster.url,
                namespace=namespace,
                name=f"q{len(queues)}",
                partitions=1,
                max_pending=max_pending,
            )
            queues.append(queue)
            return queue

        yield make
        for queue in queues:
            await queue.close()


# -- partitions -----------------------------------------------------------------------


def test_partition_tags_spread_evenly_over_the_slots() -> None:
    queue_slots = [key_slot(part.ops.encode()) for part in Layout("shop", "profiles", 8).partitions]
    assert [slot * 8 // 16384 for slot in queue_slots] == list(range(8))


@pytest.mark.cluster
async def test_partitions_land_on_different_cluster_nodes(
    redis_cluster: RedisCluster, namespace: str
) -> None:
    async with RedisWriteQueue.from_url(redis_cluster.url, namespace=namespace) as queue:
        client = queue.client
        assert isinstance(client, ClusterClient)
        nodes = set()
        for part in queue.partitions:
            keys = [part.ops, part.flight, part.stream, part.meta, part.dead]
            slots = {int(await client.cluster_keyslot(key)) for key in keys}  # the server's word
            assert slots == {key_slot(part.ops.encode())}, "one slot per partition"
            node = client.get_node_from_key(part.ops)
            assert node is not None
            nodes.add(node.name)
        assert len(nodes) == 3
        for key in range(200):
            await queue.put(str(key), SET, b"x", 1.0)
        batch = await queue.claim(500, 0)
        assert sorted(int(op.key) for op in batch.ops) == list(range(200))
        await queue.complete(batch, batch.ops)
        assert (await queue.stats()).pending == 0
        await claim_wakes_on_a_put(queue)


async def claim_wakes_on_a_put(queue: RedisWriteQueue) -> None:
    """A claim blocked on every partition (XREAD BLOCK) returns as soon as a put lands."""
    async with RedisWriteQueue.from_url(
        redis_url_of(queue), namespace=queue.namespace, name=queue.name
    ) as writer:
        for key in ("x", "y", "z"):
            claimer = asyncio.create_task(queue.claim(10, 30.0))
            await wait_until_async(lambda: blocked_clients(queue), expect=True)
            assert not claimer.done()
            await writer.put(key, SET, b"1", 1.0)
            batch = await asyncio.wait_for(claimer, 5)
            assert [op.key for op in batch.ops] == [key]
            await queue.complete(batch, batch.ops)


async def blocked_clients(queue: RedisWriteQueue) -> bool:
    """Whether a client is blocked (in XREAD BLOCK) on the queue's server(s)."""
    client = queue.client
    if isinstance(client, ClusterClient):
        per_node = await client.info("clients", target_nodes=ClusterClient.ALL_NODES)
        return any(int(info["blocked_clients"]) for info in per_node.values())
    return int((await client.info("clients"))["blocked_clients"]) > 0


def redis_url_of(queue: RedisWriteQueue) -> str:
    client = queue.client
    if isinstance(client, ClusterClient):
        node = client.get_default_node()
        assert node is not None
        return f"redis+cluster://{node.host}:{node.port}/0"
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"


async def test_many_partitions_share_claims_peeks_and_stats(redis_url: str, namespace: str) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=8) as queue:
        for key in range(300):
            await queue.put(str(key), SET, str(key).encode(), 1.0)
        await queue.put("7", DELETE, None, 1.0)
        client = queue.client
        assert all([await client.hlen(part.ops) > 0 for part in queue.partitions])
        found = await queue.peek_many([str(key) for key in range(-5, 305)])
        assert set(found) == {str(key) for key in range(300)}
        assert found["7"].op == DELETE
        small = await queue.claim(3, 0)  # fewer than partitions: still a full batch
        assert len(small) == 3
        rest = await queue.claim(1000, 0)
        claimed = {op.key for op in (*small.ops, *rest.ops)}
        assert claimed == {str(key) for key in range(300)}
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight, stats.coalesced) == (300, 300, 1)
        assert stats.oldest_pending_age >= 0
        await queue.complete(small, small.ops)
        await queue.complete(rest, rest.ops)
        assert (await queue.stats()).pending == 0
        for part in queue.partitions:  # acknowledged, then deleted: nothing left behind
            assert await client.xlen(part.stream) == 0
            assert (await client.xpending(part.stream, GROUP))["pending"] == 0
        await claim_wakes_on_a_put(queue)


def test_default_queue_names_come_from_the_key_format() -> None:
    assert queue_name_for("profile:{}") == "profile"
    assert queue_name_for("shop/order:{}:v2") == "shop_order"
    assert queue_name_for("{}") == "default"
    with pytest.raises(ConfigurationError, match="explicit queue name"):
        queue_name_for(str.upper)


async def test_max_pending_bounds_the_whole_queue(redis_url: str, namespace: str) -> None:
    """Several partitions, several handles (processes): the total pending never exceeds
    max_pending, whichever partitions the keys fall in (10 over 4 partitions: uneven)."""
    handles = [
        RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=4, max_pending=10)
        for _ in range(3)
    ]
    try:
        layout = Layout(namespace, "default", 4)
        keys = [str(key) for key in range(60)]
        assert len({layout.partition_of(key).index for key in keys[:10]}) > 1

        async def offer(handle: RedisWriteQueue, key: str) -> bool:
            try:
                await handle.put(key, SET, b"x", 0)
            except QueueFull:
                return False
            return True

        accepted = await asyncio.gather(*(offer(handles[n % 3], key) for n, key in enumerate(keys)))
        assert sum(accepted) == 10
        assert (await handles[0].stats()).pending == 10
        taken = [key for key, ok in zip(keys, accepted, strict=True) if ok]
        await handles[1].put(taken[0], SET, b"y", 0)  # a pending key coalesces when full

        # The put beyond the bound pushes back (waits), then fails: nothing dropped.
        with pytest.raises(QueueFull, match="10 keys pending"):
            await handles[2].put("beyond", SET, b"x", 0.05)
        assert await handles[0].peek("beyond") is None

        # ... and a waiting put gets in once a flusher frees room in any partition.
        waiting = asyncio.create_task(handles[2].put("beyond", SET, b"x", 30.0))
        await asyncio.sleep(0)
        assert not waiting.done()
        batch = await handles[0].claim(1, 0)
        await handles[0].complete(batch, batch.ops)
        await waiting
        assert (await handles[0].stats()).pending == 10
    finally:
        for handle in handles:
            await handle.close()


@pytest.mark.cluster
async def test_max_pending_bounds_the_whole_queue_on_cluster(
    redis_cluster: RedisCluster, namespace: str
) -> None:
    """On Cluster each partition holds its share (max_pending // partitions): the total
    still never exceeds max_pending."""
    async with RedisWriteQueue.from_url(
        redis_cluster.url, namespace=namespace, partitions=4, max_pending=10
    ) as queue:
        accepted = 0
        for key in range(60):
            try:
                await queue.put(str(key), SET, b"x", 0)
                accepted += 1
            except QueueFull:
                pass
        assert accepted == 8  # 2 per partition: at most 10 in all
        assert (await queue.stats()).pending == 8
    with pytest.raises(ConfigurationError, match="number of partitions"):
        RedisWriteQueue.from_url(
            redis_cluster.url, namespace=namespace, partitions=4, max_pending=3
        )


# -- flushers sharing the queue ---------------------------------------------------------


async def test_a_silent_flushers_batch_is_taken_over(redis_url: str, namespace: str) -> None:
    crashed = RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3)
    for key in range(50):
        await crashed.put(str(key), SET, b"v1", 1.0)
    stranded = await crashed.claim(100, 0)
    assert len(stranded) == 50
    await crashed.close()  # holds its batch: nothing renews it any more, as after a crash
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3) as rescuer:
        await rescuer.put("3", SET, b"v2", 1.0)  # a write while the crashed one held it
        taken: list[QueuedOp] = []

        async def reclaimed_all() -> bool:
            batch = await rescuer.claim(100, 0.05)
            taken.extend(batch.ops)
            return len(taken) == 50

        await wait_until_async(reclaimed_all, timeout=10)
        assert rescuer.reclaimed == 50
        by_key = {op.key: op for op in taken}
        assert by_key["3"].value == b"v2", "a takeover loads the latest op"
        assert by_key["4"].value == b"v1"
        await rescuer.complete(Batch("b"), taken)
        stats = await rescuer.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_a_claim_never_hands_out_the_same_op_twice(redis_url: str, namespace: str) -> None:
    """A partition that filled its share is asked again in the same claim; if
    claim_idle passed in between (a starved flusher, a call retried through a
    failover), its reclaim (XAUTOCLAIM) takes this claim's own entries once more.
    They must not come twice: a batch holds each key once (a flusher ending a key
    twice crashed). claim_idle=1 ms makes the gap certain enough to hit in 20 tries."""
    layout = Layout(namespace, "dup", partitions=2)
    keys = [k for k in map(str, range(400)) if layout.partition_of(k).index == 0][:40]
    for trial in range(20):
        async with RedisWriteQueue.from_url(
            redis_url, namespace=namespace, name="dup", partitions=2, claim_idle=0.001
        ) as queue:
            for key in keys:
                await queue.put(key, SET, str(trial).encode(), 1.0)
            written: set[str] = set()
            while len(written) < len(keys):
                batch = await queue.claim(len(keys), 0)
                claimed = [op.key for op in batch.ops]
                assert len(set(claimed)) == len(claimed), f"try {trial}: {sorted(claimed)}"
                await queue.complete(batch, batch.ops)
                written.update(claimed)
            stats = await queue.stats()
            assert (stats.pending, stats.in_flight) == (0, 0)


async def test_a_live_flushers_batch_is_not_taken_over(redis_url: str, namespace: str) -> None:
    async with (
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3) as slow,
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3) as other,
    ):
        for key in range(20):
            await slow.put(str(key), SET, b"x", 1.0)
        held = await slow.claim(100, 0)
        assert slow.held == 20
        loop = asyncio.get_running_loop()
        until = loop.time() + 1.2  # four times claim_idle: renewals keep the batch alive

        async def other_got_nothing_for_a_while() -> bool:
            assert not await other.claim(100, 0.05)
            return loop.time() > until

        await wait_until_async(other_got_nothing_for_a_while, timeout=10)
        await slow.complete(held, held.ops)
        assert slow.held == 0
        assert (await other.stats()).pending == 0


async def test_a_paused_flushers_late_write_is_followed_by_the_latest_value(
    redis_url: str, namespace: str
) -> None:
    """A flusher paused past claim_idle loses its batch to another one. If it wakes up,
    writes its older value over the newer one and completes while the other still
    holds the key, the key is queued again: the store ends at the latest value."""
    async with (
        # Renews every 20 s: as good as paused for the other one's 0.3 s claim_idle.
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=60) as paused,
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3) as rescuer,
    ):
        store: dict[str, bytes | None] = {}
        await paused.put("k", SET, b"v1", 1.0)
        old = await paused.claim(10, 0)
        await paused.put("k", SET, b"v2", 1.0)  # a newer write while v1 is in flight
        taken: list[QueuedOp] = []

        async def reclaimed() -> bool:
            taken.extend((await rescuer.claim(10, 0.05)).ops)
            return bool(taken)

        await wait_until_async(reclaimed, timeout=10)
        assert [op.value for op in taken] == [b"v2"]
        store["k"] = taken[0].value  # the rescuer writes v2,
        store["k"] = old.ops[0].value  # then the paused one wakes and writes v1 over it
        await paused.complete(old, old.ops)
        await rescuer.complete(Batch("b"), taken)
        again = await rescuer.claim(10, 0)
        assert [op.value for op in again.ops] == [b"v2"], "queued again after the late write"
        store["k"] = again.ops[0].value
        await rescuer.complete(again, again.ops)
        assert store == {"k": b"v2"}
        stats = await rescuer.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_a_paused_flusher_does_not_write_what_was_taken_over(
    redis_url: str, namespace: str
) -> None:
    """The check right before a store write: a flusher that paused past claim_idle
    finds the keys taken over and leaves them to the other flusher."""
    async with (
        # Renews every 20 s: as good as paused for the other one's 0.3 s claim_idle.
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=60) as paused,
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=0.3) as rescuer,
    ):
        for key in "ab":
            await paused.put(key, SET, b"v1", 1.0)
        old = await paused.claim(10, 0)
        await paused.put("a", SET, b"v2", 1.0)
        taken: list[QueuedOp] = []

        async def reclaimed() -> bool:
            taken.extend((await rescuer.claim(10, 0.05)).ops)
            return len(taken) == 2

        await wait_until_async(reclaimed, timeout=10)
        assert await paused.confirm(old, old.ops) == []
        assert paused.held == 0, "lost entries are no longer renewed"
        assert await rescuer.confirm(Batch("b"), taken) == taken
        await rescuer.complete(Batch("b"), taken)
        stats = await rescuer.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_concurrent_flushers_never_share_a_key_and_keep_order(
    redis_url: str, namespace: str
) -> None:
    """Three flushers and a writer at once: a key is never in two batches at a time,
    each key's ops reach the "store" in version order, and it ends at its last value."""
    queues = [
        RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=4) for _ in range(4)
    ]
    writer, flushers = queues[0], queues[1:]
    flying: set[str] = set()
    store: dict[str, tuple[int, bytes | None]] = {}
    last_put: dict[str, bytes] = {}
    done = asyncio.Event()

    async def write() -> None:
        for i in range(3000):
            key = str(i % 50)
            last_put[key] = str(i).encode()
            await writer.put(key, SET, last_put[key], 5.0)
        done.set()

    async def flush(queue: RedisWriteQueue) -> None:
        while not (done.is_set() and (await queue.stats()).pending == 0):
            batch = await queue.claim(16, 0.05)
            keys = {op.key for op in batch.ops}
            assert not keys & flying, "a key in flight twice"
            flying.update(keys)
            await asyncio.sleep(0)  # let the others run while this batch is "written"
            for op in batch.ops:
                previous = store.get(op.key, (0, None))[0]
                assert op.version > previous, "the store saw a key's writes out of order"
                store[op.key] = (op.version, op.value)
            flying.difference_update(keys)
            await queue.complete(batch, batch.ops)

    try:
        await asyncio.wait_for(asyncio.gather(write(), *(flush(q) for q in flushers)), 60)
    finally:
        for queue in queues:
            await queue.close()
    assert {key: value for key, (_, value) in store.items()} == last_put


# -- errors, configuration, lifecycle ---------------------------------------------------


async def test_unreachable_redis_raises_queue_unavailable_redacted(namespace: str) -> None:
    url = f"redis://app:s3cret@127.0.0.1:{free_port()}/0"
    async with RedisWriteQueue.from_url(url, namespace=namespace) as queue:
        with pytest.raises(QueueUnavailable) as caught:
            await queue.put("a", SET, b"x", 1.0)
        with pytest.raises(QueueUnavailable):
            await queue.claim(10, 0)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(queue)


async def test_rejects_bad_configuration(redis_url: str) -> None:
    decoding = Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError, match="decode_responses"):
            RedisWriteQueue(decoding)
    finally:
        await decoding.aclose()
    with pytest.raises(ConfigurationError, match="namespace"):
        RedisWriteQueue.from_url(redis_url, namespace="a:b")
    with pytest.raises(ConfigurationError, match="queue name"):
        RedisWriteQueue.from_url(redis_url, name="no spaces")
    async with RedisWriteQueue.from_url(redis_url) as queue:
        with pytest.raises(ValueError, match="needs a value"):
            await queue.put("a", SET, None, 0)


async def test_for_cache_shares_the_cache_client_and_namespace(
    redis_url: str, namespace: str
) -> None:
    async with Cache.from_url(redis_url, namespace=namespace) as cache:
        queue = RedisWriteQueue.for_cache(cache, name="profiles")
        backend = cache.backend
        assert isinstance(backend, RedisBackend)
        assert queue.client is backend.client
        assert (queue.namespace, queue.name) == (namespace, "profiles")
        await queue.put("1", SET, b"x", 1.0)
        batch = await queue.claim(10, 1.0)  # blocks in slices under the cache's timeout
        await queue.complete(batch, batch.ops)
        await queue.close()
        assert await cache.get("anything") is None  # the shared client is still open
    async with Cache.from_url("memory://") as memory_cache:
        with pytest.raises(ConfigurationError, match="on Redis"):
            RedisWriteQueue.for_cache(memory_cache)


async def test_close_leaves_the_group_and_keeps_pending_ops(redis_url: str, namespace: str) -> None:
    queue = RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=1)
    await queue.put("a", SET, b"x", 1.0)
    await queue.put("b", SET, b"x", 1.0)
    batch = await queue.claim(1, 0)
    await queue.complete(batch, batch.ops)
    consumer = queue.consumer
    await queue.close()
    with pytest.raises(QueueClosed):  # its own client is closed with it
        await queue.claim(1, 0)
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=1) as other:
        stream = other.partitions[0].stream
        names = [c["name"] for c in await other.client.xinfo_consumers(stream, GROUP)]
        assert consumer.encode() not in names
        assert [op.key for op in (await other.claim(10, 0)).ops] == ["b"]


async def test_dead_letters_across_partitions(redis_url: str, namespace: str) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=4) as queue:
        for key in range(12):
            await queue.put(str(key), SET, b"bad", 1.0)
        batch = await queue.claim(100, 0)
        ids = [await queue.dead_letter(batch, op, ValueError(op.key)) for op in batch.ops]
        letters = await queue.dead_letters(limit=100)
        assert sorted(d.id for d in letters) == sorted(ids)
        assert len({d.id.partition("/")[0] for d in letters}) > 1
        assert len(await queue.dead_letters(limit=5)) == 5
        assert await queue.drop(ids[:4]) == 4
        result = await queue.replay(ids)
        assert set(result.requeued) == set(ids[4:])
        assert set(result.missing) == set(ids[:4])
        assert (await queue.stats()).pending == 8


async def test_an_unreachable_cluster_is_a_queue_outage_not_a_raw_error(namespace: str) -> None:
    """redis-py's RedisClusterException is no RedisError: the queue must still map it."""
    url = "redis+cluster://u:s3cret@127.0.0.1:1/0"
    settings = Settings(connect_timeout=0.2, read_timeout=0.2)
    async with RedisWriteQueue.from_url(url, settings=settings, namespace=namespace) as queue:
        with pytest.raises(QueueUnavailable, match="write queue") as caught:
            await queue.put("1", SET, b"1", 0.5)
    assert "s3cret" not in str(caught.value)
