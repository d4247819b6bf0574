"""Write-behind in the run: the accept rate against raw SETs, and flush rows/s.

Usage: called by :mod:`benchmarks.run` with the run's private Redis::

    accept = await accept_rates(url, port, probe, n=2000, repeats=3)
    flush = await flush_rates(url, pg_url, rows=20_000, repeats=3)

*Accept*: ``WriteBehind.set`` on a cache on Redis (so the durable Redis queue, the
default there; flusher off, so only the accepting side is timed) against a raw
redis-py ``SET PX`` of the same value encoded by orjson, interleaved slice by slice.

*Flush*: the queue is filled, then one ``flush()`` into PostgreSQL (``SQLStore`` on
a table made for the run, dropped afterwards) at ``batch_size=1000`` is timed, from
the in-memory queue (memory cache) and from the Redis queue (cache on Redis).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel

from benchmarks._measure import Sample, measure_interleaved
from benchmarks._server import ServerProbe
from cachewright import Cache, WriteBehind
from cachewright.stores import MemoryStore, SQLStore

__all__ = ["BATCH_SIZE", "PG_URL", "accept_rates", "flush_rates"]

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WB, RAW = "WriteBehind.set (Redis queue)", "redis-py SET PX"
BATCH_SIZE = 1000


class Profile(BaseModel):
    id: int
    name: str
    email: str
    score: float


def profile(n: int) -> Profile:
    return Profile(id=n, name=f"user {n}", email=f"user{n}@example.com", score=n / 7)


async def accept_rates(
    url: str, probe: ServerProbe, n: int, repeats: int, modes: dict[str, int]
) -> dict[str, dict[str, list[Sample]]]:
    """{mode: {contender: [sample per repeat]}}."""
    from redis.asyncio import Redis

    cache = Cache.from_url(url, namespace=f"wb{uuid.uuid4().hex[:6]}")
    raw = Redis.from_url(url)
    items = WriteBehind(
        cache, MemoryStore[int, Profile](), key="p:{}", type=Profile, flusher=False,
        max_pending=max(100_000, n * 8),
    )  # fmt: skip
    values = [profile(i) for i in range(n)]
    encoded = [orjson.dumps(v.model_dump()) for v in values]

    async def accept(i: int) -> Any:
        return await items.set(i, values[i % n])

    async def raw_set(i: int) -> Any:
        return await raw.set(f"rawwb:{i % n}", encoded[i % n], px=600_000)

    out: dict[str, dict[str, list[Sample]]] = {}
    try:
        for mode, concurrency in modes.items():
            for repeat in range(repeats):
                pair = {WB: accept, RAW: raw_set}
                if repeat % 2:
                    pair = {RAW: raw_set, WB: accept}
                warm = max(concurrency, n // 10)
                await measure_interleaved(
                    pair, n=warm, concurrency=concurrency, probe=probe, chunks=1
                )
                found = await measure_interleaved(
                    pair, n=n, concurrency=concurrency, probe=probe, chunks=10
                )
                for name, sample in found.items():
                    out.setdefault(mode, {}).setdefault(name, []).append(sample)
    finally:
        await items.close(timeout=120)  # drains into the memory store; not timed
        await cache.clear()
        await cache.close()
        await raw.aclose()
    return out


async def _flush_once(cache_url: str, pg_url: str, rows: int, batch_size: int) -> float:
    table = f"cw_bench_{uuid.uuid4().hex[:8]}"
    store: SQLStore[int, Profile] = SQLStore(pg_url, table, type=Profile, key_type=int)
    await store.create_table()
    cache = Cache.from_url(cache_url, namespace=table)
    items = WriteBehind(
        cache, store, key="p:{}", type=Profile, flusher=False, batch_size=batch_size,
        max_pending=rows * 4,
    )  # fmt: skip
    try:
        await items.set_many({i: profile(i) for i in range(rows)})
        started = time.perf_counter()
        report = await items.flush()
        elapsed = time.perf_counter() - started
        if report.written != rows:
            raise RuntimeError(f"flush wrote {report.written} rows of {rows}")
        await items.close()
        return rows / elapsed
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()
        await cache.clear()
        await cache.close()


async def flush_rates(
    redis_url: str, pg_url: str, rows: int, repeats: int, batch_size: int = BATCH_SIZE
) -> dict[str, list[float]]:
    """{queue: [rows/s per repeat]}, alternating the two queues."""
    out: dict[str, list[float]] = {}
    for _ in range(repeats):
        for label, url in (("memory queue", "memory://"), ("Redis queue", redis_url)):
            out.setdefault(label, []).append(await _flush_once(url, pg_url, rows, batch_size))
    return out
