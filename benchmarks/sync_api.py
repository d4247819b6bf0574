"""Per-call overhead of the synchronous API, as ratios to raw sync redis-py + orjson.

Usage::

    python benchmarks/sync_api.py                    # 5,000 calls per slice, 5 rounds
    python benchmarks/sync_api.py --ops 2000 --rounds 3 --markdown   # the docs section

Standalone: starts a private ``redis-server`` on a free loopback port (no persistence)
and stops it at the end. One thread calls one read at a time, so each figure is
the latency of one call from a thread with no event loop:

- ``raw redis-py + orjson``: ``redis.Redis.get`` (hiredis parser) then
  ``orjson.loads``: the floor of a synchronous Redis read with JSON decoding.
- ``sync Cache.get``: ``cachewright.sync.Cache.get(key, User)`` on an idle engine:
  the calling thread drives the shared loop through the async ``Cache.get`` (GET,
  envelope, pydantic validation into a model); no thread hand-off.
- ``sync Cache.get (dict)``: the same without a type (JSON to dicts, no model).
- ``run_coroutine_threadsafe``: the same async ``Cache.get`` driven through
  ``asyncio.run_coroutine_threadsafe`` on a loop thread: the stock bridge.
- ``anyio portal``: the same through ``anyio.from_thread`` blocking portal.
- ``async Cache.get, in loop``: the engine's own cost, awaited on its loop (no bridge).
- ``sync Cache.get, engine busy``: the same call once a two-level cache's
  invalidation listener keeps the loop busy: the call is handed to the loop's
  background thread and back (two thread hand-offs).
- ``sync Cache.get, local tier hit``: a two-level cache (``LocalTier()``): no I/O,
  but handed over as above.
- ``8 threads``: throughput of 8 threads calling at once, raw redis-py (one pool)
  versus the sync API (one engine), as calls per second; idle engine, then busy.

Where the time of a sync get goes (the bridge, asyncio's I/O, each layer of the
engine): ``benchmarks/sync_bound.py``.

Contenders take turns slice by slice in an order rotated every round, so load from
elsewhere on the machine hits them alike; each figure is the median over rounds.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import orjson
import redis
from pydantic import BaseModel

from cachewright import Cache as AsyncCache
from cachewright import LocalTier, Settings
from cachewright.sync import Cache

VALUE = {"id": 1, "name": "ada lovelace", "email": "ada@example.com", "score": 9.5, "vip": True}


class User(BaseModel):
    id: int
    name: str
    email: str
    score: float
    vip: bool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise SystemExit("redis-server not found")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", tmp]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


class LoopThread:
    """A bare event loop on a thread, for the stock bridges."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def per_call(fn: Callable[[], object], ops: int) -> tuple[float, float]:
    """Microseconds per call of ``fn`` over ``ops`` calls: wall time, and the CPU time
    of the whole process (every thread: the engine's background thread included)."""
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(ops):
        fn()
    wall = time.perf_counter() - start
    return wall / ops * 1e6, (time.process_time() - cpu) / ops * 1e6


def threaded_rate(fn: Callable[[], object], ops: int, threads: int = 8) -> float:
    """Calls per second of ``threads`` threads sharing ``ops`` calls."""
    share = ops // threads
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(share):
            fn()

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work) for _ in range(threads)]
        barrier.wait()
        start = time.perf_counter()
        for future in futures:
            future.result()
        return share * threads / (time.perf_counter() - start)


def _rounds(
    single: dict[str, Callable[[int], tuple[float, float]]],
    threaded: dict[str, Callable[[int], float]],
    args: argparse.Namespace,
    timings: dict[str, list[float]],
    cpu: dict[str, list[float]],
) -> None:
    """Warm up, then run every contender ``args.rounds`` times in rotated order."""
    for fn in [*single.values(), *threaded.values()]:
        fn(200)  # warm-up: connections, scripts, adapters
    names = [*single, *threaded]
    for name in names:
        timings[name] = []
    for name in single:
        cpu[name] = []
    for round_ in range(args.rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if name in single:
                wall, used = single[name](args.ops)
                timings[name].append(wall)
                cpu[name].append(used)
            else:
                timings[name].append(threaded[name](args.ops))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=5000, help="calls per slice")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print the docs section")
    args = parser.parse_args()

    with private_redis() as url:
        raw = redis.Redis.from_url(url)
        raw.set("raw:user", orjson.dumps(VALUE))
        pooled = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url))

        cache = Cache.from_url(url, settings=Settings(namespace="bench"))
        cache.set("user", VALUE)
        stock = LoopThread()
        engine = stock.run(_make_async(url))
        stock.run(engine.get("user", User))

        from anyio.from_thread import start_blocking_portal

        portal_cm = start_blocking_portal()
        portal = portal_cm.__enter__()
        portal_cache = portal.call(_make_async, url)
        portal.call(portal_cache.get, "user", User)

        async def in_loop(ops: int) -> tuple[float, float]:
            cpu = time.process_time()
            start = time.perf_counter()
            for _ in range(ops):
                await engine.get("user", User)
            wall = time.perf_counter() - start
            return wall / ops * 1e6, (time.process_time() - cpu) / ops * 1e6

        single: dict[str, Callable[[int], tuple[float, float]]] = {
            "raw redis-py + orjson": lambda n: per_call(
                lambda: orjson.loads(raw.get("raw:user")),
                n,  # type: ignore[arg-type]
            ),
            "sync Cache.get": lambda n: per_call(lambda: cache.get("user", User), n),
            "sync Cache.get (dict)": lambda n: per_call(lambda: cache.get("user"), n),
            "run_coroutine_threadsafe": lambda n: per_call(
                lambda: stock.run(engine.get("user", User)), n
            ),
            "anyio portal": lambda n: per_call(
                lambda: portal.call(portal_cache.get, "user", User), n
            ),
            "async Cache.get, in loop": lambda n: stock.run(in_loop(n)),
        }
        threaded: dict[str, Callable[[int], float]] = {
            "raw redis-py + orjson, 8 threads": lambda n: threaded_rate(
                lambda: orjson.loads(pooled.get("raw:user")),
                n,  # type: ignore[arg-type]
            ),
            "sync Cache.get, 8 threads": lambda n: threaded_rate(
                lambda: cache.get("user", User), n
            ),
        }
        timings: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        _rounds(single, threaded, args, timings, cpu)

        # Then with background work on the engine (a two-level cache's invalidation
        # listener): the loop is driven by its background thread, so each call is
        # handed over to it instead of being run by the calling thread.
        local = Cache.from_url(url, settings=Settings(namespace="bench"), local=LocalTier())
        local.get("user", User)
        busy = {
            "sync Cache.get, engine busy": single["sync Cache.get"],
            "sync Cache.get, local tier hit": lambda n: per_call(
                lambda: local.get("user", User), n
            ),
        }
        busy_threaded = {
            "sync Cache.get, 8 threads, engine busy": threaded["sync Cache.get, 8 threads"]
        }
        _rounds(busy, busy_threaded, args, timings, cpu)
        single.update(busy)
        threaded.update(busy_threaded)

        portal.call(portal_cache.close)
        portal_cm.__exit__(None, None, None)
        stock.run(engine.close())
        stock.stop()
        cache.close()
        local.close()
        raw.close()
        pooled.close()

    med = {name: statistics.median(values) for name, values in timings.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpu.items()}
    base = med["raw redis-py + orjson"]
    cpu_base = cpu_med["raw redis-py + orjson"]
    rows = [
        (
            name,
            f"{med[name]:.1f} µs",
            f"{base / med[name]:.2f}x",
            f"{cpu_med[name]:.1f} µs",
            f"{cpu_base / cpu_med[name]:.2f}x",
        )
        for name in single
    ]
    tbase = med["raw redis-py + orjson, 8 threads"]
    trows = [(name, f"{med[name]:,.0f} calls/s", f"{med[name] / tbase:.2f}x") for name in threaded]
    _print(rows, trows, args, load, markdown=args.markdown)


async def _make_async(url: str) -> AsyncCache:
    return AsyncCache.from_url(url, settings=Settings(namespace="bench"))


def _print(
    rows: list[tuple[str, str, str, str, str]],
    trows: list[tuple[str, str, str]],
    args: argparse.Namespace,
    load: str,
    *,
    markdown: bool,
) -> None:
    if not markdown:
        print(f"{'':36} {'wall/call':>18} {'ratio':>7} {'cpu/call':>11} {'ratio':>7}")
        for name, figure, ratio, used, cpu_ratio in rows:
            print(f"{name:36} {figure:>18} {ratio:>7} {used:>11} {cpu_ratio:>7}")
        for name, figure, ratio in trows:
            print(f"{name:36} {figure:>18} {ratio:>7}")
        return
    print("## Synchronous API: per-call overhead (`benchmarks/sync_api.py`)\n")
    print("Produced by `benchmarks/sync_api.py --markdown` (run by `python -m benchmarks`,")
    print("or alone; it starts its own `redis-server`);")
    print(f"{args.ops:,} calls per slice, median of {args.rounds} rounds;")
    print(f"load average at start: {load}. Ratio: speed relative to raw redis-py + orjson")
    print("(above 1.00x is faster). Read the script's docstring for what each row does.\n")
    print("| one thread, one call at a time | wall per call | ratio | CPU per call | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, figure, ratio, used, cpu_ratio in rows:
        print(f"| {name} | {figure} | {ratio} | {used} | {cpu_ratio} |")
    print("\n| 8 threads at once | throughput | ratio |\n|---|---:|---:|")
    for name, figure, ratio in trows:
        print(f"| {name} | {figure} | {ratio} |")


if __name__ == "__main__":
    main()
