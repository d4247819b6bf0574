"""Local-tier hit versus Redis hit versus raw redis-py GET, as ratios.

Usage::

    python benchmarks/local_tier.py                  # 20,000 reads per run, 5 runs
    python benchmarks/local_tier.py --ops 5000 --runs 3

Starts a private ``redis-server`` on a free loopback port (no persistence) and stops
it at the end. One caller awaits one read at a time, so each figure is the latency
of one read on this machine, event loop included:

- ``raw GET``: ``redis.asyncio.Redis.get`` of the same bytes (hiredis parser), no
  decoding: the floor of any Redis-backed read.
- ``Redis hit``: ``Cache.get(key, User)`` on a one-level cache: GET, envelope,
  pydantic validation of the JSON into a model.
- ``local hit``: the same call on a two-level cache (``LocalTier()``): no I/O, no
  JSON; the decoded model is shared between hits.
- ``local hit, copies``: ``LocalTier(share_values=False)``: no I/O, but each hit
  validates a fresh model from the kept bytes.
- ``set``, ``set, two-level``: what a write costs without and with the tier (the
  second adds the invalidation PUBLISH after the write).

Each figure is the median over the runs; ratios are taken between medians. Timings
depend on the machine and its load; they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.utils import HIREDIS_AVAILABLE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cachewright import Cache, LocalTier


class User(BaseModel):
    id: int
    name: str
    email: str
    roles: list[str]
    score: float


USER = User(id=42, name="Ada Lovelace", email="ada@example.com", roles=["admin", "dev"], score=9.5)


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server on a free loopback port, without persistence; stopped at exit."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="cw-bench-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()  # our own child, by its handle
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


async def per_op(call: Callable[[], Awaitable[object]], ops: int) -> float:
    """Mean seconds per awaited call over ``ops`` calls (after a short warm-up)."""
    for _ in range(min(ops, 200)):
        await call()
    start = time.perf_counter()
    for _ in range(ops):
        await call()
    return (time.perf_counter() - start) / ops


async def one_run(url: str, ops: int) -> dict[str, float]:
    raw = Redis.from_url(url)
    one = Cache.from_url(url, namespace="bench1")
    two = Cache.from_url(url, namespace="bench2", local=LocalTier())
    copies = Cache.from_url(url, namespace="bench3", local=LocalTier(share_values=False))
    async with one, two, copies:
        for cache in (one, two, copies):
            await cache.set("user", USER, ttl=600)
            assert await cache.get("user", User) == USER
        stored = await raw.get(one.keys.entry("user"))
        assert stored is not None
        local = (await two.stats(server=False)).local
        assert local is not None
        assert local.channel == "up", "the two-level cache is not subscribed"
        key = one.keys.entry("user")
        figures = {
            "raw GET": await per_op(lambda: raw.get(key), ops),
            "Redis hit": await per_op(lambda: one.get("user", User), ops),
            "local hit": await per_op(lambda: two.get("user", User), ops * 10),
            "local hit, copies": await per_op(lambda: copies.get("user", User), ops),
            "set": await per_op(lambda: one.set("user", USER, ttl=600), ops // 4),
            "set, two-level": await per_op(lambda: two.set("user", USER, ttl=600), ops // 4),
        }
        hits = (await two.stats(server=False)).local
        assert hits is not None
        assert hits.hits >= ops * 10, "local reads did not hit the local tier"
        for cache in (one, two, copies):
            await cache.clear()
    await raw.aclose()
    return figures


async def main(ops: int, runs: int) -> None:
    print(f"hiredis parser: {'yes' if HIREDIS_AVAILABLE else 'NO (pure-Python parser)'}")
    with private_redis() as url:
        results = [await one_run(url, ops) for _ in range(runs)]
    medians = {name: statistics.median(run[name] for run in results) for name in results[0]}
    print(f"\n{runs} runs x {ops} reads, median per operation:")
    for name, seconds in medians.items():
        print(f"  {name:<18} {seconds * 1e6:9.2f} us")
    local = medians["local hit"]
    print("\nratios (how many local hits fit in one of the other):")
    print(f"  Redis hit / local hit          {medians['Redis hit'] / local:8.1f}x")
    print(f"  raw redis-py GET / local hit   {medians['raw GET'] / local:8.1f}x")
    print(f"  local hit, copies / local hit  {medians['local hit, copies'] / local:8.1f}x")
    copies = medians["local hit, copies"]
    print(f"  Redis hit / local hit, copies  {medians['Redis hit'] / copies:8.1f}x")
    print(f"  set two-level / set one-level  {medians['set, two-level'] / medians['set']:8.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=20_000, help="reads per run and figure")
    parser.add_argument("--runs", type=int, default=5, help="runs; the median is reported")
    args = parser.parse_args()
    asyncio.run(main(args.ops, args.runs))
