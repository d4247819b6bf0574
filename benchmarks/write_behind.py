"""Write-behind throughput: writes/s that ``set`` accepts, rows/s the flusher delivers.

Usage::

    python benchmarks/write_behind.py                 # full run
    python benchmarks/write_behind.py --quick         # smaller counts, for a smoke test
    python benchmarks/write_behind.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test

Part 1 times ``WriteBehind.set`` (cache now, queue for later; the flusher is off so
only the accepting side is measured) on the memory cache and on a Redis cache, one
writer and 32 concurrent writers. The Redis is a private ``redis-server`` this script
starts on a free port and stops at the end.

Part 2 fills the queue, then times ``flush()`` into PostgreSQL (``SQLStore`` on a
temporary table, dropped afterwards) with batch sizes 1, 100 and 1,000: rows/s is
what one flusher delivers.

Numbers depend on the machine; they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from pydantic import BaseModel

from cachewright import Cache, Settings, WriteBehind
from cachewright.stores import MemoryStore, SQLStore

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class Profile(BaseModel):
    id: int
    name: str
    email: str
    score: float


def profile(n: int) -> Profile:
    return Profile(id=n, name=f"user {n}", email=f"user{n}@example.com", score=n / 7)


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server on a free loopback port, without persistence; killed at exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="cw-bench-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


async def accept_rate(cache_url: str, writes: int, writers: int) -> float:
    """Writes per second that ``set`` accepts (cache write + enqueue)."""
    cache = Cache.from_url(cache_url, settings=Settings(namespace=f"b{uuid.uuid4().hex[:8]}"))
    store = MemoryStore[int, Profile]()
    items = WriteBehind(
        # Headroom: the Redis queue splits max_pending over its partitions, and keys
        # do not spread perfectly evenly over them.
        cache,
        store,
        key="p:{}",
        type=Profile,
        flusher=False,
        max_pending=writes * 4,
    )
    values = [profile(n) for n in range(writes)]
    per_writer = writes // writers

    async def writer(first: int) -> None:
        for n in range(first, first + per_writer):
            await items.set(n, values[n])

    started = time.perf_counter()
    await asyncio.gather(*(writer(w * per_writer) for w in range(writers)))
    elapsed = time.perf_counter() - started
    items_written = per_writer * writers
    await items.close(timeout=60)  # drains into the memory store; not timed
    await cache.clear()
    await cache.close()
    return items_written / elapsed


async def flush_rate(pg_url: str, rows: int, batch_size: int) -> float:
    """Rows per second one ``flush()`` delivers into PostgreSQL at ``batch_size``."""
    table = f"cw_bench_{uuid.uuid4().hex[:8]}"
    store: SQLStore[int, Profile] = SQLStore(pg_url, table, type=Profile, key_type=int)
    await store.create_table()
    cache = Cache.from_url("memory://", settings=Settings(namespace=table))
    items = WriteBehind(
        cache, store, key="p:{}", type=Profile, flusher=False, batch_size=batch_size,
        max_pending=rows * 4,
    )  # fmt: skip
    try:
        await items.set_many({n: profile(n) for n in range(rows)})
        started = time.perf_counter()
        report = await items.flush()
        elapsed = time.perf_counter() - started
        assert report.written == rows, report
        await items.close()
        return rows / elapsed
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()
        await cache.close()


async def main(quick: bool, pg_url: str) -> None:
    scale = 10 if quick else 1
    print("# cachewright write-behind benchmark")
    print()
    print("## set() accepted (cache write + enqueue), flusher off")
    print()
    print("| cache | writers | writes | writes/s |")
    print("|---|---:|---:|---:|")
    with private_redis() as redis_url:
        for label, url, writes in (
            ("memory", "memory://", 50_000 // scale),
            ("redis (private, loopback)", redis_url, 20_000 // scale),
        ):
            for writers in (1, 32):
                rate = await accept_rate(url, writes, writers)
                print(f"| {label} | {writers} | {writes:,} | {rate:,.0f} |")
    print()
    print("## flush() into PostgreSQL (SQLStore, one flusher)")
    print()
    print("| batch_size | rows | rows/s |")
    print("|---:|---:|---:|")
    for batch_size, rows in ((1, 2_000 // scale), (100, 20_000 // scale), (1_000, 50_000 // scale)):
        rate = await flush_rate(pg_url, rows, batch_size)
        print(f"| {batch_size:,} | {rows:,} | {rate:,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="ten times fewer writes")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (127.0.0.1 only)")
    options = parser.parse_args()
    asyncio.run(main(options.quick, options.pg))
