"""G12 with real processes: writers and flush workers SIGKILLed, Redis restarted.

Every test runs the queue on a private Redis with AOF (``appendfsync always``) and the
store in PostgreSQL (a table per test, dropped after), then checks that the table
holds every acknowledged write, each key at its latest acknowledged value. Workers
run ``run_worker`` (:mod:`tests.patterns._crash_scripts.worker`) with a short
``claim_idle`` (1 s) so takeovers happen quickly.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cachewright.errors import QueueUnavailable
from cachewright.patterns.write_behind.queues import QueueStats
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import SQLStore
from tests._servers import RedisCluster, RedisServer, need, redis_binary, wait_until_async
from tests.patterns._crash_scripts.harness import (
    Processes,
    Setup,
    check_store,
    progressing,
    read_acks,
)
from tests.patterns._crash_scripts.writer import put

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def aof_redis() -> Iterator[RedisServer]:
    """A private Redis with AOF and ``appendfsync always``, in a tmpfs directory when
    there is one: a write reaches the AOF file before the reply, which is what a
    process crash tests (fsync is free on tmpfs, so the test runs at memory speed)."""
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer(appendonly=True)
    fast = Path("/dev/shm")
    if fast.is_dir():
        shutil.rmtree(server.dir)
        server.dir = Path(tempfile.mkdtemp(prefix="cw-redis-", dir=fast))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[SQLStore[int, int]]:
    table = f"cw_crash_{uuid.uuid4().hex[:10]}"
    store = SQLStore(pg_url, table, type=int, key_type=int)
    await store.create_table()  # before the workers: concurrent CREATEs race in PostgreSQL
    try:
        yield store
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()


def queue_for(setup: Setup) -> RedisWriteQueue:
    return RedisWriteQueue.from_url(
        setup.url, namespace=setup.namespace, name=setup.name, partitions=setup.partitions
    )


async def write_all(queue: RedisWriteQueue, total: int, keys: int) -> dict[int, int]:
    """The writer's pattern in this process: write ``i`` sets key ``i % keys`` to ``i``;
    returns the acknowledged (last) value per key."""
    acks: dict[int, int] = {}

    async def task(first: int) -> None:
        for i in range(first, total, 16):
            await put(queue, i % keys, i)
            acks[i % keys] = i

    await asyncio.gather(*(task(first) for first in range(16)))
    return acks


async def drained(queue: RedisWriteQueue) -> None:
    """Wait until nothing is pending; fail if the pending count stops going down."""
    fewest: list[int] = []

    async def empty() -> bool:
        try:
            stats = await queue.stats()
        except QueueUnavailable:
            return False  # Redis restarting
        assert stats.dead_letters == 0
        if not fewest or stats.pending < fewest[0]:
            fewest[:] = [stats.pending]
        return stats.pending == 0

    async def least_pending() -> int | None:
        return fewest[0] if fewest else None

    await progressing(empty, least_pending, what=f"draining {queue!r}")


async def moving(queue: RedisWriteQueue) -> tuple[int, int]:
    """What changes while a worker works: the pending and in-flight counts."""
    stats = await queue.stats()
    return stats.pending, stats.in_flight


async def finished(procs: Processes, writer: subprocess.Popen[bytes], acks: Path) -> int:
    """The writer's exit code, once it exits; fail if its acks stop growing."""

    async def exited() -> bool:
        return writer.poll() is not None

    async def written() -> int:
        return acked_count(acks)

    try:
        await progressing(exited, written, what="the writer")
    except TimeoutError as exc:
        exc.add_note(procs.log_of(writer))
        raise
    return writer.wait()


async def rows(store: SQLStore[int, int], keys: int) -> dict[int, int]:
    return dict(await store.get_many(list(range(keys))))


async def nothing_left_in_redis(setup: Setup) -> None:
    """Every entry acknowledged and deleted: no pending list, no stream entries."""
    async with queue_for(setup) as queue:  # fresh connections (Redis may have restarted)
        client = queue.client
        for part in queue.partitions:
            pending = await client.xpending(part.stream, "flush")
            assert pending["pending"] == 0, pending
            assert await client.xlen(part.stream) == 0
            assert await client.hlen(part.flight) == 0


def acked_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def test_writer_sigkilled_mid_50k_writes_loses_no_acknowledged_write(
    aof_redis: RedisServer,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    setup = Setup(aof_redis.url, namespace, pg_url, pg_store.table_name, batch=1000)
    acks = tmp_path / "acks"
    async with Processes(tmp_path) as procs, queue_for(setup) as queue:
        workers = [procs.start("worker", setup.worker_env()) for _ in range(2)]
        writer = procs.start("writer", setup.writer_env(total=50_000, acks=acks))

        async def halfway() -> bool:
            assert writer.poll() is None, procs.log_of(writer)
            return acked_count(acks) >= 20_000

        async def written() -> int:
            return acked_count(acks)

        await progressing(halfway, written, what="the writer", interval=0.01)
        writer.send_signal(signal.SIGKILL)
        assert await procs.exited(writer) == -signal.SIGKILL
        assert 20_000 <= acked_count(acks) < 50_000, "killed in the middle"
        await drained(queue)
        stats = [await procs.stop(worker) for worker in workers]
        await nothing_left_in_redis(setup)
    check_store(await rows(pg_store, setup.keys), read_acks(acks), keys=setup.keys, killed_tasks=16)
    assert sum(s["flushed"] for s in stats) >= setup.keys


async def test_worker_sigkilled_mid_batch_is_taken_over(
    aof_redis: RedisServer,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    setup = Setup(aof_redis.url, namespace, pg_url, pg_store.table_name)
    async with Processes(tmp_path) as procs, queue_for(setup) as queue:
        acks = await write_all(queue, 20_000, setup.keys)
        doomed = procs.start("worker", setup.worker_env(crash_after_rows=1200))
        assert await procs.exited(doomed, progress=lambda: moving(queue)) == -signal.SIGKILL
        stranded = await queue.stats()
        assert stranded.in_flight > 0, "the dead worker's batch is still claimed"
        assert 0 < len(await rows(pg_store, setup.keys)) < setup.keys
        rescuer = procs.start("worker", setup.worker_env())
        await drained(queue)
        stats = await procs.stop(rescuer)
        await nothing_left_in_redis(setup)
    check_store(await rows(pg_store, setup.keys), acks, keys=setup.keys)
    assert stats["reclaimed"] >= stranded.in_flight


@pytest.mark.parametrize("workers", [2, 4])
async def test_many_workers_at_once_one_sigkilled(
    workers: int,
    aof_redis: RedisServer,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    setup = Setup(aof_redis.url, namespace, pg_url, pg_store.table_name, batch=500)
    acks = tmp_path / "acks"
    async with Processes(tmp_path) as procs, queue_for(setup) as queue:
        doomed = procs.start("worker", setup.worker_env(crash_after_rows=200))
        others = [procs.start("worker", setup.worker_env()) for _ in range(workers - 1)]
        writer = procs.start("writer", setup.writer_env(total=20_000, acks=acks))
        assert await finished(procs, writer, acks) == 0, procs.log_of(writer)
        try:
            code = await procs.exited(doomed)
        except TimeoutError as exc:  # say how far the doomed worker got
            log = procs.log_of(doomed)
            raise AssertionError(f"the doomed worker is still running: {log}") from exc
        assert code == -signal.SIGKILL
        await drained(queue)
        stats = [await procs.stop(worker) for worker in others]
        await nothing_left_in_redis(setup)
    check_store(await rows(pg_store, setup.keys), read_acks(acks), keys=setup.keys)
    assert sum(s["reclaimed"] for s in stats) >= 1


async def test_redis_restarted_mid_flush_workers_reconnect_and_finish(
    aof_redis: RedisServer,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    setup = Setup(aof_redis.url, namespace, pg_url, pg_store.table_name, batch=200)
    gate = tmp_path / "gate"
    async with Processes(tmp_path) as procs, queue_for(setup) as queue:
        acks = await write_all(queue, 20_000, setup.keys)
        workers = [
            procs.start("worker", setup.worker_env(pause_after_rows=400, gate=gate))
            for _ in range(2)
        ]

        def paused() -> int:
            return len(list(tmp_path.glob("gate.*")))

        async def both_paused_mid_flush() -> bool:
            return await asyncio.to_thread(paused) == len(workers)

        await wait_until_async(both_paused_mid_flush, timeout=60, interval=0.02)
        before = await queue.stats()
        assert before.in_flight > 0, "the workers hold their batches"
        assert before.pending > before.in_flight, "and there is more to flush"
        aof_redis.restart()  # SIGKILL, then start again from the AOF
        after = await stats_once_back(queue)
        assert (after.pending, after.in_flight) == (before.pending, before.in_flight)
        for worker in workers:
            worker.send_signal(signal.SIGUSR1)  # go on: write, acknowledge, claim more
        await drained(queue)
        stats = [await procs.stop(worker) for worker in workers]
        await nothing_left_in_redis(setup)
    check_store(await rows(pg_store, setup.keys), acks, keys=setup.keys)
    assert sum(s["flushed"] for s in stats) >= setup.keys


async def stats_once_back(queue: RedisWriteQueue) -> QueueStats:
    """The queue's stats as soon as Redis answers again (stale connections fail first)."""
    seen: list[QueueStats] = []

    async def answered() -> bool:
        try:
            seen.append(await queue.stats())
        except QueueUnavailable:
            return False
        return True

    await wait_until_async(answered, timeout=30)
    return seen[-1]


@pytest.mark.cluster
async def test_worker_sigkilled_on_cluster_is_taken_over(
    redis_cluster: RedisCluster,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    setup = Setup(redis_cluster.url, namespace, pg_url, pg_store.table_name, keys=1000, batch=200)
    async with Processes(tmp_path) as procs, queue_for(setup) as queue:
        acks = await write_all(queue, 5_000, setup.keys)
        doomed = procs.start("worker", setup.worker_env(crash_after_rows=300))
        assert await procs.exited(doomed) == -signal.SIGKILL
        assert (await queue.stats()).in_flight > 0
        rescuer = procs.start("worker", setup.worker_env())
        await drained(queue)
        stats = await procs.stop(rescuer)
        await nothing_left_in_redis(setup)
    check_store(await rows(pg_store, setup.keys), acks, keys=setup.keys)
    assert stats["reclaimed"] > 0
