"""G7 stampede budgets: one loader call, and the Redis commands it costs, counted.

Commands are counted with ``INFO commandstats`` deltas on a private Redis. Those
include the commands a Lua script runs: the compare-and-set that replaces a lease
is EVALSHA + GETRANGE + SET, three commands, plus the PUBLISH that wakes the lock
waiters of other processes (``lock=True``). Connection set-up (CLIENT SETINFO) and
the test's own INFO are left out; each process warms its connection first.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cachewright import Cache
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import RedisServer, wait_until
from tests.patterns._aside_support import command_counts, command_delta

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4


async def test_one_process_stampede_costs_one_load_and_at_most_six_commands(
    fresh_redis: RedisServer, namespace: str
) -> None:
    loads = 0

    async def load(key: int) -> dict[str, int]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return {"id": key}

    async with (
        Cache.from_url(fresh_redis.url, namespace=namespace) as cache,
        CacheAside(cache, loader=load, key="item:{}", lock=True) as items,
        CacheAside(cache, loader=load, key="warm:{}", lock=True) as warm,
    ):
        await warm.get(0)  # connection and script cache warmed outside the count
        loads = 0
        before = command_counts(fresh_redis)
        values = await asyncio.gather(*(items.get(1) for _ in range(1_000)))
        spent = command_delta(before, command_counts(fresh_redis))

    assert loads == 1
    assert all(value == {"id": 1} for value in values)
    # GET (miss), SET NX GET (lease), EVALSHA + GETRANGE + SET + PUBLISH (the
    # compare-and-set fill and its notice to waiters elsewhere)
    assert sum(spent.values()) <= 6, spent


def test_four_processes_run_the_loader_once_within_twenty_commands(
    fresh_redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.patterns._aside_child",
                fresh_redis.url,
                namespace,
                str(tmp_path),
                str(index),
            ],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
        )
        for index in range(PROCESSES)
    ]
    try:
        wait_until(
            lambda: (
                all((tmp_path / f"ready-{i}").exists() for i in range(PROCESSES))
                or any(child.poll() is not None for child in children)
            ),
            timeout=30,
        )
        before = command_counts(fresh_redis)
        (tmp_path / "go").touch()
        errors = [child.communicate(timeout=30)[1] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert [child.returncode for child in children] == [0] * PROCESSES, errors
    spent = command_delta(before, command_counts(fresh_redis))

    runs = (tmp_path / "loads").read_text().split()
    assert len(runs) == 1, runs
    results = [json.loads((tmp_path / f"done-{i}").read_text()) for i in range(PROCESSES)]
    assert all(result["count"] == 1_000 for result in results)
    assert all(result["distinct"] == ['{"id": 1}'] for result in results), results
    print(f"four-process stampede: {sum(spent.values())} commands {spent}")
    assert sum(spent.values()) <= 20, spent
