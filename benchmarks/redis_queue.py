"""The Redis write-behind queue: puts/s it accepts, rows/s flush workers deliver.

Usage::

    python benchmarks/redis_queue.py                  # 50,000 writes per measurement
    python benchmarks/redis_queue.py --quick          # 5,000: a smoke test
    python benchmarks/redis_queue.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test

Part 1 times ``RedisWriteQueue.put`` from 64 concurrent tasks (distinct keys, a
~90-byte JSON value each), next to raw redis-py ``XADD`` from 64 tasks on the same
server: the put is one Lua call (version, hash, stream entry), the baseline one
plain command.

Part 2 fills the queue, then starts 1, 2 and 4 worker processes (this script with
``--worker``: a ``FlushWorker`` into ``SQLStore`` on PostgreSQL, batches of 1,000),
lets them go at once (SIGUSR1) and times until the queue is empty: rows/s delivered.
Each run uses its own table, dropped afterwards.

The Redis is a private ``redis-server`` this script starts on a free port (AOF on,
``appendfsync everysec``, the usual production setting) and stops at the end. Numbers
depend on the machine (and on what else it runs); they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel
from redis.asyncio import Redis

from cachewright import FlushWorker, RedisWriteQueue
from cachewright.stores import SQLStore

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TASKS = 64
SET = "set"  # the queue's op kind for a write


class Profile(BaseModel):
    id: int
    name: str
    email: str
    score: float


def encoded(n: int) -> bytes:
    return (
        Profile(id=n, name=f"user {n}", email=f"user{n}@example.com", score=n / 7)
        .model_dump_json()
        .encode()
    )


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server on a free loopback port with AOF (everysec); killed at exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
                ).stdout.strip()
                != b"PONG"
            ):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("redis-server did not start")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait(10)


async def concurrently(n: int, op: object) -> float:
    """Seconds for ``n`` calls of ``op(i)`` spread over ``TASKS`` tasks."""
    assert callable(op)

    async def task(first: int) -> None:
        for i in range(first, n, TASKS):
            await op(i)

    started = time.perf_counter()
    await asyncio.gather(*(task(first) for first in range(TASKS)))
    return time.perf_counter() - started


async def put_rates(url: str, n: int) -> None:
    print(f"\nPart 1: puts/s, {TASKS} concurrent tasks, {n:,} distinct keys")
    async with RedisWriteQueue.from_url(url, namespace="bench", name="puts") as queue:
        seconds = await concurrently(n, lambda i: queue.put(str(i), SET, encoded(i), 10.0))
        print(f"  RedisWriteQueue.put     {n / seconds:>10,.0f} /s")
    raw = Redis.from_url(url)
    try:
        seconds = await concurrently(n, lambda i: raw.xadd("bench-raw", {"k": str(i)}))
        print(f"  raw redis-py XADD       {n / seconds:>10,.0f} /s   (baseline)")
    finally:
        await raw.aclose()


async def fill(url: str, name: str, n: int) -> None:
    async with RedisWriteQueue.from_url(url, namespace="bench", name=name) as queue:
        await concurrently(n, lambda i: queue.put(str(i), SET, encoded(i), 10.0))


async def drain_time(url: str, name: str, procs: list[asyncio.subprocess.Process]) -> float:
    async with RedisWriteQueue.from_url(url, namespace="bench", name=name) as queue:
        for proc in procs:
            assert proc.stdout is not None
            if (await proc.stdout.readline()).strip() != b"ready":
                raise SystemExit("a worker failed to start")
        started = time.perf_counter()
        for proc in procs:
            proc.send_signal(signal.SIGUSR1)
        while True:  # poll the queue until empty: that is the measured moment
            if not (await queue.stats()).pending:
                return time.perf_counter() - started
            await asyncio.sleep(0.005)


async def flush_rates(url: str, pg_url: str, n: int) -> None:
    print(f"\nPart 2: rows/s into PostgreSQL, {n:,} queued writes, batches of 1,000")
    for workers in (1, 2, 4):
        name, table = f"flush{workers}", f"cw_bench_{uuid.uuid4().hex[:8]}"
        store: SQLStore[int, Profile] = SQLStore(pg_url, table, type=Profile, key_type=int)
        await store.create_table()
        try:
            await fill(url, name, n)
            args = [sys.executable, __file__, "--worker", url, name, pg_url, table]
            procs = [
                await asyncio.create_subprocess_exec(*args, stdout=subprocess.PIPE)
                for _ in range(workers)
            ]
            try:
                seconds = await drain_time(url, name, procs)
            finally:
                for proc in procs:
                    proc.send_signal(signal.SIGTERM)
                flushed = [json.loads((await proc.communicate())[0]) for proc in procs]
            async with store.engine.connect() as conn:
                rows = (await conn.execute(sa.text(f'SELECT count(*) FROM "{table}"'))).scalar()
            assert rows == n, f"{rows} rows for {n} writes"
            print(
                f"  {workers} worker process{'es' if workers > 1 else '  '}"
                f"  {n / seconds:>10,.0f} rows/s   ({seconds:.2f}s; per worker: {flushed})"
            )
        finally:
            async with store.engine.begin() as conn:
                await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
            await store.close()


async def worker_process(url: str, name: str, pg_url: str, table: str) -> None:
    """``--worker``: ready, wait for SIGUSR1, flush until SIGTERM, print rows written."""
    loop = asyncio.get_running_loop()
    go, stop = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, go.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    store: SQLStore[int, Profile] = SQLStore(pg_url, table, type=Profile, key_type=int)
    async with (
        RedisWriteQueue.from_url(url, namespace="bench", name=name) as queue,
        store,
    ):
        worker = FlushWorker(queue, store, type=Profile, key_type=int, batch_size=1000)
        print("ready", flush=True)
        await go.wait()
        async with worker:
            await stop.wait()
    print(json.dumps((await worker.stats()).flushed), flush=True)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        asyncio.run(worker_process(*sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 writes instead of 50,000")
    parser.add_argument("--pg", default=os.environ.get("CACHEWRIGHT_BENCH_PG", PG_URL))
    options = parser.parse_args()
    n = 5_000 if options.quick else 50_000
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with private_redis() as url:
        asyncio.run(put_rates(url, n))
        asyncio.run(flush_rates(url, options.pg, n))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
