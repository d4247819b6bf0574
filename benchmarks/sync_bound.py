"""Where a synchronous ``Cache.get`` hit spends its time: the floors that bound its ratio.

Usage::

    python benchmarks/sync_bound.py                  # 2,000 calls per slice, 7 rounds
    python benchmarks/sync_bound.py --ops 5000 --rounds 5

Standalone, like ``sync_api.py`` (its private ``redis-server``, its value and model).
Microseconds per call, wall and CPU (``time.process_time``: every thread of the
process), median over rounds, contenders rotated round by round. Two tables:

The calling thread (no event loop of its own):

- ``raw redis.Redis.get + orjson``: the baseline of ``sync_api.py``.
- ``sync Connection GET + orjson``: redis-py's sync ``Connection`` alone
  (``send_packed_command`` + ``read_response``), no pool: the socket floor.
- ``bridge: a no-op call``: the sync API's runtime running an empty coroutine
  (the calling thread drives the shared loop: ``run_forever`` for one task).
- ``bridge + bare async GET + orjson``: the same runtime running one GET on a bare
  ``redis.asyncio`` connection: the asyncio floor, with no engine on top.
- ``sync Cache.get``: the real call (envelope, pydantic validation into a model). On
  this standalone Redis it is a direct read: a GET on the calling thread's own sync
  connection, decoded by the engine's read path (``cachewright.cache._direct``).
- ``sync GET + the engine's decode, no loop``: the floor of that direct read: the
  same connection calls and ``ReadPath.classify``, without the key check, the
  breaker's look, the error mapping and the per-thread look-up.
- ``bridge + async Cache.get``: the call as it was before direct reads (and as it
  still is with a local tier, Sentinel or Cluster): the runtime running the async
  ``Cache.get`` on the shared loop.

Inside the loop (one call awaits each layer N times: no bridge), each row adds one
layer of the engine's hit path over the one above it: a bare async connection, the
lane, the backend's error mapping, the guard (breaker, deadline, metrics), the read
path (key, decode, counters), ``Cache.get``. The engine layers are reached through
private attributes of the async ``Cache`` (this is a measuring tool, not API).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis
import redis.asyncio as aredis

from benchmarks.sync_api import VALUE, User, private_redis
from cachewright import Settings
from cachewright.cache._expiry import now_ms
from cachewright.sync import Cache
from cachewright.sync._runtime import runtime

Timing = tuple[float, float]  # wall, cpu: µs per call


def _per_call(fn: Callable[[], object], ops: int) -> Timing:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(ops):
        fn()
    return (time.perf_counter() - start) / ops * 1e6, (time.process_time() - cpu) / ops * 1e6


async def _awaited(fn: Callable[[], Awaitable[object]], ops: int) -> Timing:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(ops):
        await fn()
    return (time.perf_counter() - start) / ops * 1e6, (time.process_time() - cpu) / ops * 1e6


def _rotated(cases: dict[str, Callable[[int], Timing]], ops: int, rounds: int) -> dict[str, Timing]:
    for case in cases.values():
        case(200)  # warm-up
    names = list(cases)
    got: dict[str, list[Timing]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            got[name].append(cases[name](ops))
    return {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for name, ts in got.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=2000, help="calls per slice")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())

    with private_redis() as url:
        raw = redis.Redis.from_url(url)
        raw.set("raw:user", orjson.dumps(VALUE))
        sync_conn = raw.connection_pool.make_connection()
        cache = Cache.from_url(url, settings=Settings(namespace="bench"))
        cache.set("user", VALUE)
        rt = runtime()
        engine: Any = None  # the async Cache and a bare connection, built on the loop
        bare: Any = None

        async def setup() -> None:
            nonlocal engine, bare
            engine = cache._twin.current()
            pool = aredis.Redis.from_url(url).connection_pool
            bare = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
            await bare.connect()

        rt.call(setup())
        reads = engine._reads
        physical = engine._keys.entry("user")
        packed_entry = sync_conn.pack_command("GET", physical)

        def sync_hit() -> object:
            sync_conn.send_packed_command(packed_entry, check_health=False)
            data = sync_conn.read_response()
            return reads.classify(physical, data, User, now_ms()).value

        packed_raw = sync_conn.pack_command("GET", "raw:user")

        def sync_get() -> object:
            sync_conn.send_packed_command(packed_raw, check_health=False)
            return orjson.loads(sync_conn.read_response())

        async def noop() -> None:
            return None

        async def bare_get(key: str = "raw:user") -> Any:
            await bare.send_packed_command(bare.pack_command("GET", key), check_health=False)
            return await bare.read_response()

        async def bare_get_json() -> object:
            return orjson.loads(await bare_get())

        thread = _rotated(
            {
                "raw redis.Redis.get + orjson": lambda n: _per_call(
                    lambda: orjson.loads(raw.get("raw:user")),  # type: ignore[arg-type]
                    n,
                ),
                "sync Connection GET + orjson": lambda n: _per_call(sync_get, n),
                "bridge: a no-op call": lambda n: _per_call(lambda: rt.call(noop()), n),
                "bridge + bare async GET + orjson": lambda n: _per_call(
                    lambda: rt.call(bare_get_json()), n
                ),
                "sync Cache.get": lambda n: _per_call(lambda: cache.get("user", User), n),
                "sync GET + the engine's decode, no loop": lambda n: _per_call(sync_hit, n),
                "bridge + async Cache.get": lambda n: _per_call(
                    lambda: rt.call(engine.get("user", User)), n
                ),
            },
            args.ops,
            args.rounds,
        )

        backend = reads._read_from
        lane, guard = backend._lane, reads._guard
        layers: dict[str, Callable[[], Awaitable[object]]] = {
            "bare async connection GET": lambda: bare_get(physical),
            "+ lane": lambda: lane.get(physical),
            "+ backend (error mapping)": lambda: backend.get(physical),
            "+ guard (breaker, deadline)": lambda: guard.read(
                None, backend.get, physical, at=physical
            ),
            "+ read path (key, decode)": lambda: reads.lookup("user", User),
            "+ Cache.get": lambda: engine.get("user", User),
        }

        def in_loop(fn: Callable[[], Awaitable[object]]) -> Callable[[int], Timing]:
            return lambda n: rt.call(_awaited(fn, n))

        loop = _rotated({name: in_loop(fn) for name, fn in layers.items()}, args.ops, args.rounds)
        rt.call(bare.disconnect())
        cache.close()
        sync_conn.disconnect()
        raw.close()

    _print(thread, loop, args, load)


def _print(thread: dict[str, Timing], loop: dict[str, Timing], args: Any, load: str) -> None:
    base_wall, base_cpu = thread["raw redis.Redis.get + orjson"]
    print(f"{args.ops:,} calls per slice, median of {args.rounds} rounds; load at start: {load}")
    print(f"\n{'the calling thread':40} {'wall':>9} {'ratio':>6} {'cpu':>9} {'ratio':>6}")
    for name, (wall, cpu) in thread.items():
        print(
            f"{name:40} {wall:7.1f}µs {base_wall / wall:5.2f}x {cpu:7.1f}µs {base_cpu / cpu:5.2f}x"
        )
    print(f"\n{'inside the loop, layer by layer':40} {'wall':>9} {'':>6} {'cpu':>9} {'added':>6}")
    previous = None
    for name, (wall, cpu) in loop.items():
        added = "" if previous is None else f"{cpu - previous:+5.1f}"
        print(f"{name:40} {wall:7.1f}µs {'':>6} {cpu:7.1f}µs {added:>6}")
        previous = cpu
    noop_cpu = thread["bridge: a no-op call"][1]
    floor_cpu = thread["bridge + bare async GET + orjson"][1]
    loop_cpu = thread["bridge + async Cache.get"][1]
    get_cpu = thread["sync Cache.get"][1]
    print(
        f"\nCPU per get through the loop: {loop_cpu:.1f} µs = bridge {noop_cpu:.1f} + asyncio"
        f" I/O and decoding {floor_cpu - noop_cpu:.1f} + engine {loop_cpu - floor_cpu:.1f};"
        f" sync Cache.get (a direct read) {get_cpu:.1f};"
        f" raw redis-py + orjson {base_cpu:.1f} (0.8x of it: {base_cpu / 0.8:.1f})"
    )


if __name__ == "__main__":
    main()
