"""Workloads that are not "n operations": stampede, tag invalidation, local tier, C client.

Usage: called by :mod:`benchmarks.run`.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import queue
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks._contenders import Contender, user_dict
from benchmarks._server import Seen, ServerProbe

__all__ = [
    "LOADER_SECONDS",
    "STAMPEDE_REQUESTS",
    "TAGGED_ENTRIES",
    "StampedeResult",
    "TagResult",
    "fill_background",
    "redis_benchmark",
    "stampede_one_process",
    "stampede_processes",
    "tag_invalidation",
]

LOADER_SECONDS = (0.05, 2.0)  # the cross-process stampede runs with each
STAMPEDE_REQUESTS = 1000  # concurrent misses for one key, split over the processes
TAGGED_ENTRIES = 1000  # entries under the tag that tag_invalidation removes


@dataclass(frozen=True)
class StampedeResult:
    loader_calls: int
    commands: int  # handshakes excluded
    handshakes: int
    connections: int
    round_trips: int
    wall_ms: float
    calls: dict[str, int]
    #: callers' delay from the first loader return (the value exists) to their own
    #: return (ms): p50, max
    after_fill_p50_ms: float = float("nan")
    after_fill_max_ms: float = float("nan")
    #: the process that learnt of the value last: from the first loader return to
    #: that process's first caller return (ms); the rest of after_fill_max_ms is
    #: the process handing the value to its other callers
    woken_max_ms: float = float("nan")
    #: CPU (process_time) of the busiest process from the start of the misses to its
    #: last caller's return (ms): a sleeping loader costs none, so this is the
    #: processes' own work (reads, the lease, the wait, waking their callers), which
    #: the wall-clock delays above add the machine's scheduling to
    cpu_max_ms: float = float("nan")


def _after_fill(loader_ends: list[int], done: list[int]) -> tuple[float, float]:
    """(p50, max) ms from the first loader return to each caller's return."""
    if not loader_ends or not done:
        return float("nan"), float("nan")
    fill = min(loader_ends)
    delays = sorted((d - fill) / 1e6 for d in done)
    return delays[len(delays) // 2], delays[-1]


def _result(
    calls: int,
    seen: Seen,
    wall: float,
    loader_ends: list[int],
    done: list[int],
    firsts: list[int] | None = None,
    cpu_ms: list[float] | None = None,
) -> StampedeResult:
    p50, worst = _after_fill(loader_ends, done)
    woken = float("nan")
    if loader_ends and (firsts or done):
        woken = (max(firsts or [min(done)]) - min(loader_ends)) / 1e6
    return StampedeResult(
        loader_calls=calls,
        commands=seen.work_commands,
        handshakes=seen.handshake,
        connections=seen.connections,
        round_trips=seen.round_trips,
        wall_ms=wall * 1000,
        calls=seen.calls,
        after_fill_p50_ms=p50,
        after_fill_max_ms=worst,
        woken_max_ms=woken,
        cpu_max_ms=max(cpu_ms) if cpu_ms else float("nan"),
    )


class _Timed:
    """A loader that sleeps ``seconds`` and notes when it returned; the callers' ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0
        self.ends: list[int] = []
        self.done: list[int] = []

    async def load(self, key: str) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        self.ends.append(time.monotonic_ns())  # CLOCK_MONOTONIC: one clock for all processes
        return user_dict(7)

    def reset(self) -> None:
        self.calls = 0
        self.ends.clear()
        self.done.clear()

    async def call(self, load: Callable[[str], Awaitable[Any]], key: str) -> Any:
        value = await load(key)
        self.done.append(time.monotonic_ns())
        return value


async def stampede_one_process(
    contender: Contender, probe: ServerProbe, key: str, requests: int, *, lock: bool
) -> StampedeResult | None:
    timed = _Timed(LOADER_SECONDS[0])
    try:
        load = contender.stampede(timed.load, lock=lock, lease=timed.seconds)
    except NotImplementedError:
        return None
    # As in a running app: a pooled connection, the scripts in the server's cache.
    await contender.get("warm-up")
    await load(f"{key}-warm-up")
    timed.reset()
    before = await probe.snapshot()
    started = time.perf_counter()
    cpu = time.process_time()
    results = await asyncio.gather(*(timed.call(load, key) for _ in range(requests)))
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - started
    seen = (await probe.snapshot()) - before
    assert all(r is not None for r in results)
    return _result(timed.calls, seen, wall, timed.ends, timed.done, cpu_ms=[cpu * 1000])


def _stampede_child(
    contender_cls: type[Contender],
    url: str,
    port: int,
    key: str,
    requests: int,
    lock: bool,
    seconds: float,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    async def main() -> None:
        contender = contender_cls(url, port)
        await contender.open()
        timed = _Timed(seconds)
        load = contender.stampede(timed.load, lock=lock, lease=seconds)
        await contender.get("warm-up")
        await load(f"{key}-warm-up-{os.getpid()}")
        timed.reset()
        ready.release()
        while not go.is_set():  # noqa: ASYNC110 - a process-shared event; the parent's INFO comes between ready and go
            await asyncio.sleep(0.001)
        try:
            cpu = time.process_time()
            await asyncio.gather(*(timed.call(load, key) for _ in range(requests)))
            cpu = time.process_time() - cpu
            out.put((timed.calls, timed.ends, timed.done, cpu * 1000))
        except Exception as exc:  # reported to the parent, which records the failure
            out.put(f"{type(exc).__name__}: {exc}")
        finally:
            await contender.close()

    asyncio.run(main())


async def stampede_processes(
    contender_cls: type[Contender],
    probe: ServerProbe,
    url: str,
    port: int,
    key: str,
    processes: int,
    requests: int,
    *,
    lock: bool,
    seconds: float,
) -> StampedeResult:
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    children = [
        ctx.Process(
            target=_stampede_child,
            args=(
                contender_cls,
                url,
                port,
                key,
                requests // processes,
                lock,
                seconds,
                ready,
                go,
                out,
            ),
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        while not ready.acquire(timeout=0.01):  # noqa: ASYNC110 - a process-shared semaphore
            await asyncio.sleep(0.01)
    before = await probe.snapshot()
    started = time.perf_counter()
    go.set()
    calls = 0
    ends: list[int] = []
    done: list[int] = []
    firsts: list[int] = []  # each process's first caller return
    cpu_ms: list[float] = []  # each process's CPU for its misses
    errors: list[str] = []
    deadline = time.monotonic() + 120
    for _ in children:
        while True:
            try:
                reply = out.get(timeout=0.01)
            except queue.Empty:
                if time.monotonic() > deadline:
                    for child in children:
                        child.kill()  # our own children, by handle
                    raise TimeoutError("stampede processes did not finish in 120 s") from None
                await asyncio.sleep(0.005)
                continue
            if isinstance(reply, str):
                errors.append(reply)
            else:
                calls += reply[0]
                ends += reply[1]
                done += reply[2]
                cpu_ms.append(reply[3])
                if reply[2]:
                    firsts.append(min(reply[2]))
            break
    wall = time.perf_counter() - started
    if errors:
        for child in children:
            child.join(30)
        raise RuntimeError(f"{len(errors)} process(es) failed: {errors[0]}")
    seen = (await probe.snapshot()) - before
    for child in children:
        child.join(30)
    return _result(calls, seen, wall, ends, done, firsts, cpu_ms)


# -- tag invalidation ---------------------------------------------------------------

_FILL = """
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  redis.call('SET', 'bg:' .. i, 'x')
end
return 1
"""


async def fill_background(probe: ServerProbe, upto: int, have: int) -> None:
    """SET bg:<have+1>..bg:<upto> with a server-side loop, 100,000 per call."""
    for start in range(have + 1, upto + 1, 100_000):
        end = min(upto, start + 99_999)
        await probe.client.eval(_FILL, 0, start, end)


@dataclass(frozen=True)
class TagResult:
    ms: float
    commands: float
    round_trips: float


async def tag_invalidation(
    contender: Contender, probe: ServerProbe, tag: str, entries: int
) -> TagResult:
    keys = [f"tagged:{tag}:{i}" for i in range(entries)]
    await contender.fill_tagged(keys, tag)
    before = await probe.snapshot()
    started = time.perf_counter()
    await contender.invalidate(tag)
    wall = time.perf_counter() - started
    seen = (await probe.snapshot()) - before
    assert await contender.get(keys[0]) is None
    assert await contender.get(keys[-1]) is None
    return TagResult(wall * 1000, seen.work_commands, seen.round_trips)


# -- the C client --------------------------------------------------------------------

_LINE = re.compile(r"^(\w+): ([\d.]+) requests per second(?:, p50=([\d.]+) msec)?")


def redis_benchmark(port: int, clients: int, requests: int) -> dict[str, tuple[float, float]]:
    """``redis-benchmark -q -t get,set -P 1``: {command: (requests/s, p50 µs)}."""
    proc = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-t", "get,set",
         "-n", str(requests), "-P", "1", "-c", str(clients)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    found: dict[str, tuple[float, float]] = {}
    for line in proc.stdout.replace("\r", "\n").splitlines():
        match = _LINE.match(line.strip())
        if match:
            p50 = float(match.group(3)) * 1000 if match.group(3) else float("nan")
            found[match.group(1)] = (float(match.group(2)), p50)
    return found
