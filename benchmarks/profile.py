"""Where cachewright's time goes on one workload: a pyinstrument profile.

Usage::

    python -m benchmarks.profile get_many          # get_many(100) into a model, 500 calls
    python -m benchmarks.profile aside --calls 5000 # CacheAside.get hits, sequential
    python -m benchmarks.profile aside --tasks 64   # the same from 64 tasks
    python -m benchmarks.profile get_many --cpu     # cProfile on CPU time instead
    python -m benchmarks.profile tagged --calls 20000 --cpu   # tagged set vs plain set

Starts a private ``redis-server``, fills the keys, then profiles ``--calls`` calls of
the workload (pyinstrument, async mode) and prints the call tree. The client-side
time of the floor doing the same job is printed beside it, for scale (for the tagged
set, whose target is a ratio to cachewright's own plain ``set``: that plain set). The
server's own time per command of each side's unprofiled run follows (``INFO
commandstats``: ``usec_per_call``; a script's figure includes the commands it ran,
which are also listed on their own). On a loaded
machine wall-clock samples land on whatever syscall the process was descheduled in;
``--cpu`` profiles with cProfile on ``time.process_time`` instead (deterministic,
heavier per call, but blind to time spent waiting for a core).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pyinstrument import Profiler

from benchmarks._contenders import Cachewright, Contender, RawRedis
from benchmarks._server import private_redis
from benchmarks._workloads import plain_set, workloads

__all__ = ["main"]


async def _timed(op: Callable[[int], Awaitable[Any]], calls: int, tasks: int) -> float:
    async def worker(start: int) -> None:
        for i in range(start, calls, tasks):
            await op(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(tasks)))
    return (time.perf_counter() - started) / calls * 1e6


async def _server_costs(port: int, side: str, run: Awaitable[float]) -> float:
    """``run``, then the server's usec_per_call of each command it received meanwhile."""
    from redis.asyncio import Redis

    admin = Redis(host="127.0.0.1", port=port)
    try:
        await admin.config_resetstat()
        result = await run
        stats = await admin.info("commandstats")
    finally:
        await admin.aclose()
    shown = {
        name.removeprefix("cmdstat_"): found
        for name, found in stats.items()
        if name not in ("cmdstat_config|resetstat", "cmdstat_info")
    }
    print(f"  server, {side}: " + ", ".join(
        f"{name} {found['calls']} calls {found['usec_per_call']:.2f} µs/call"
        for name, found in sorted(shown.items(), key=lambda item: -item[1]["calls"])
    ))  # fmt: skip
    return result


async def run(key: str, calls: int, tasks: int, interval: float, cpu: bool) -> None:
    workload = next(w for w in workloads(1.0) if w.key == key)
    with private_redis() as server:
        cachewright = Cachewright(server.url, server.port)
        contenders: list[Contender] = [cachewright]
        if not workload.with_plain_set:
            contenders.append(RawRedis(server.url, server.port))
        ops = []
        for contender in contenders:
            await contender.open()
            if workload.prepare is not None:
                await workload.prepare(contender)
            op = workload.op(contender)
            assert op is not None
            ops.append(op)
        if workload.with_plain_set:
            ops.append(plain_set(cachewright))  # the target's reference: the same cache
        reference = "plain set" if workload.with_plain_set else "floor"
        for op in ops:
            await _timed(op, max(tasks, calls // 10), tasks)  # warm-up
        try:
            cw, floor = ops
            plain = [
                await _server_costs(server.port, side, _timed(op, calls, tasks))
                for side, op in (("cachewright", cw), (reference, floor))
            ]
            print(f"{workload.name}, {tasks} task(s), {calls} calls, unprofiled: cachewright "
                  f"{plain[0]:.1f} µs/call, {reference} {plain[1]:.1f} µs/call")  # fmt: skip
            if cpu:
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                await _timed(cw, calls, tasks)
                profile.disable()
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
                print(out.getvalue())
                return
            profiler = Profiler(interval=interval, async_mode="enabled")
            with profiler:
                await _timed(cw, calls, tasks)
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        finally:
            for contender in contenders:
                await contender.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", help="a workload key: get, get_many, aside, set, ...")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.0001, help="sampling interval, s")
    parser.add_argument("--cpu", action="store_true", help="cProfile on CPU time")
    options = parser.parse_args()
    asyncio.run(run(options.workload, options.calls, options.tasks, options.interval, options.cpu))


if __name__ == "__main__":
    main()
