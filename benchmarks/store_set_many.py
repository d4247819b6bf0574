"""Rows per second of ``SQLStore.set_many`` (10,000 pydantic models) on PostgreSQL and SQLite.

Usage::

    python benchmarks/store_set_many.py                 # PostgreSQL on 127.0.0.1:5432/test
    python benchmarks/store_set_many.py --rows 50000 --runs 5
    CACHEWRIGHT_BENCH_PG_URL=postgresql+asyncpg://... python benchmarks/store_set_many.py

Each run writes fresh keys (inserts) into a table created for the benchmark, then a
second batch over the same keys (updates through ON CONFLICT). The figure is the median
of the runs and includes validation and JSON encoding, i.e. the whole ``set_many`` call.
The PostgreSQL table is dropped afterwards; the SQLite file lives in a temporary
directory (WAL, default synchronous=FULL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cachewright import StoreUnavailable
from cachewright.stores import SQLStore

PG_URL = os.environ.get(
    "CACHEWRIGHT_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


class Profile(BaseModel):
    id: int
    name: str
    email: str
    tags: list[str] = Field(default_factory=list)
    score: float = 0.0
    joined: datetime
    counters: dict[str, int] = Field(default_factory=dict)


def make_items(first: int, rows: int, label: str) -> dict[int, Profile]:
    joined = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    return {
        n: Profile(
            id=n,
            name=f"{label} {n}",
            email=f"user{n}@example.com",
            tags=["a", "b", f"t{n % 7}"],
            score=n / 3,
            joined=joined,
            counters={"logins": n, "posts": 2 * n},
        )
        for n in range(first, first + rows)
    }


async def measure(store: SQLStore[int, Profile], rows: int, runs: int) -> dict[str, float]:
    """Median seconds per ``set_many`` for inserts and for updates of the same keys."""
    await store.create_table()
    timings: dict[str, list[float]] = {"insert": [], "update": []}
    for run in range(runs):
        first = run * rows
        for kind in ("insert", "update"):
            items = make_items(first, rows, kind)
            started = time.perf_counter()
            await store.set_many(items)
            timings[kind].append(time.perf_counter() - started)
    return {kind: statistics.median(values) for kind, values in timings.items()}


async def bench_postgres(rows: int, runs: int) -> dict[str, float] | None:
    table = f"bench_{uuid.uuid4().hex[:10]}"
    store: SQLStore[int, Profile] = SQLStore(PG_URL, table, type=Profile, key_type=int)
    try:
        return await measure(store, rows, runs)
    except StoreUnavailable as exc:
        print(f"postgresql skipped: {exc}", file=sys.stderr)
        return None
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError, OSError):  # nothing to drop if down
            async with store.engine.begin() as conn:
                await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()


async def bench_sqlite(rows: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.sqlite3'}"
        async with SQLStore(url, "profiles", type=Profile, key_type=int) as store:
            return await measure(store, rows, runs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    results = {
        "postgresql": await bench_postgres(args.rows, args.runs),
        "sqlite": await bench_sqlite(args.rows, args.runs),
    }
    print(f"set_many of {args.rows:,} pydantic models, median of {args.runs} runs")
    print(f"{'store':<12} {'kind':<8} {'seconds':>9} {'rows/s':>10}")
    for name, medians in results.items():
        if medians is None:
            print(f"{name:<12} {'-':<8} {'skipped':>9}")
            continue
        for kind, seconds in medians.items():
            print(f"{name:<12} {kind:<8} {seconds:>9.3f} {args.rows / seconds:>10,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
