"""The soak's processes: ``python -m tests.faults._soak_proc writer|worker``.

Writer (until the file ``CW_STOP`` appears; ``CW_SECONDS`` caps it): ``CW_TASKS``
tasks, each on its own keys, make a mixed workload through one cache (``CW_URL``,
through the fault proxy):

- write-behind sets on the Redis queue (``strict=True``: several processes), with a
  poison value (negative: the store rejects it) on a fresh key now and then;
- write-through sets into PostgreSQL (``strict=True``), then reads back;
- cache-aside reads of the write-through rows.

Values of one key only grow: task value ``n`` goes to key ``base + n % KEYS``. Each
outcome is appended to ``CW_LOG`` as one line ``kind key value time`` (``wb``/``wt``:
acknowledged; ``try-poison``: about to be written). At the end the writer prints its
counters as one JSON line.

Worker: ``run_worker`` into the write-behind table through :func:`poison_store`, until
SIGTERM; prints its ``WorkerStats`` as one JSON line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from tenacity import stop_after_attempt, wait_exponential

from cachewright import Cache, CacheAside, Settings, WriteBehind, WriteThrough
from cachewright.errors import CachewrightError, StoreError
from cachewright.patterns.worker import run_worker
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import BaseStore, SQLStore

KEYS = 40  # keys per task
POISON_BASE = 900_000
WT_TTL = 5.0  # bounds how long a write-through entry can lag a store write whose
# invalidation could not reach Redis (the documented G9 fallback)


class PoisonStore(BaseStore[int, int]):
    """The write-behind table; a batch holding a negative value is rejected whole."""

    def __init__(self, inner: SQLStore[int, int]) -> None:
        self._inner = inner

    async def get(self, key: int) -> int | None:
        return await self._inner.get(key)

    async def set(self, key: int, value: int) -> None:
        await self.set_many({key: value})

    async def delete(self, key: int) -> None:
        await self._inner.delete_many([key])

    async def set_many(self, items: Mapping[int, int]) -> None:
        poison = [k for k, v in items.items() if v < 0]
        if poison:
            raise StoreError(f"rejected: negative values for keys {poison[:5]}")
        await self._inner.set_many(items)

    async def delete_many(self, keys: Sequence[int]) -> None:
        await self._inner.delete_many(keys)

    async def close(self) -> None:
        await self._inner.close()


def poison_store() -> PoisonStore:
    env = os.environ
    return PoisonStore(SQLStore(env["CW_PG_URL"], env["CW_WB_TABLE"], type=int, key_type=int))


def stopped(path: str) -> bool:
    """Whether the test asked the writers to stop (one stat call, cheap enough per op)."""
    return os.path.exists(path)


def settings() -> Settings:
    return Settings(read_timeout=0.5, write_timeout=0.5, connect_timeout=0.5, breaker_reset=0.5)


async def writer() -> None:
    env = os.environ
    deadline = time.monotonic() + float(env["CW_SECONDS"])
    stop = env["CW_STOP"]
    writer_id, tasks = int(env["CW_WRITER"]), int(env["CW_TASKS"])
    log = os.open(env["CW_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    counts: Counter[str] = Counter()
    cache = Cache.from_url(env["CW_URL"], namespace=env["CW_NAMESPACE"], settings=settings())
    queue = RedisWriteQueue.from_url(
        env["CW_URL"], namespace=env["CW_NAMESPACE"], name="soak", partitions=4
    )
    wb_store = SQLStore(env["CW_PG_URL"], env["CW_WB_TABLE"], type=int, key_type=int)
    wt_store = SQLStore(env["CW_PG_URL"], env["CW_WT_TABLE"], type=int, key_type=int)
    behind = WriteBehind(
        cache, wb_store, key="wb:{}", type=int, key_type=int, queue=queue, flusher=False,
        strict=True, put_timeout=2.0,
    )  # fmt: skip
    through = WriteThrough(cache, wt_store, key="wt:{}", type=int, strict=True, ttl=WT_TTL)
    aside = CacheAside(cache, loader=wt_store.get, key="aside:{}", type=int, ttl=5)

    def record(kind: str, key: int, value: int) -> None:
        os.write(log, f"{kind} {key} {value} {time.time():.3f}\n".encode())

    async def task(t: int) -> None:
        rng = random.Random(writer_id * 1000 + t)
        base = writer_id * 10_000 + t * 1_000
        n = poison = 0
        while time.monotonic() < deadline and not stopped(stop):
            n += 1
            key = base + n % KEYS
            roll = rng.random()
            try:
                async with asyncio.timeout(15):
                    if roll < 0.01:
                        poison += 1
                        bad = POISON_BASE + base + poison
                        record("try-poison", bad, -1)
                        await behind.set(bad, -1)
                        record("poison", bad, -1)
                    elif roll < 0.6:
                        await behind.set(key, n)
                        record("wb", key, n)
                        counts["wb"] += 1
                    elif roll < 0.85:
                        await through.set(key, n)
                        record("wt", key, n)
                        counts["wt"] += 1
                        await through.get(key)
                    else:
                        await aside.get(base + rng.randrange(KEYS))
                        counts["aside"] += 1
            except CachewrightError as exc:
                counts[f"error:{type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)  # the workload's pace after a failure

    try:
        await asyncio.gather(*(task(t) for t in range(tasks)))
    finally:
        os.close(log)
        for closing in (behind, queue, cache, wb_store, wt_store):
            try:
                await closing.close()
            except CachewrightError as exc:
                # WriteBehind.close() raises when the queue's server is unreachable at
                # that moment (it asks the queue for its stats): see the report.
                counts[f"close-error:{type(exc).__name__}"] += 1
    print(json.dumps(dict(counts)), flush=True)


async def worker() -> None:
    env = os.environ
    stats = await run_worker(
        env["CW_URL"],
        "tests.faults._soak_proc:poison_store",
        type=int,
        key_type=int,
        namespace=env["CW_NAMESPACE"],
        name="soak",
        partitions=4,
        batch_size=200,
        wait=0.5,
        claim_idle=3.0,
        retry=RetryPolicy(
            stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.05, max=0.3)
        ),
    )
    print(json.dumps(dataclasses.asdict(stats)), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("CW_LOG_LEVEL", "INFO"), stream=sys.stderr)
    asyncio.run(writer() if sys.argv[1] == "writer" else worker())
