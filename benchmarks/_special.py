"""Workloads that are not "n operations": stampede, tag invalidation, local tier, C client.

Usage: called by :mod:`benchmarks.run`.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import queue
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from benchmarks._contenders import Contender, user_dict
from benchmarks._server import ServerProbe

__all__ = [
    "StampedeResult",
    "TagResult",
    "fill_background",
    "redis_benchmark",
    "stampede_one_process",
    "stampede_processes",
    "tag_invalidation",
]

LOADER_SECONDS = 0.05


@dataclass(frozen=True)
class StampedeResult:
    loader_calls: int
    commands: int  # handshakes excluded
    handshakes: int
    connections: int
    round_trips: int
    wall_ms: float
    calls: dict[str, int]


def _median_stampede(results: list[StampedeResult]) -> StampedeResult:
    def med(name: str) -> Any:
        return statistics.median(getattr(r, name) for r in results)

    worst = max(results, key=lambda r: r.commands)
    return StampedeResult(
        loader_calls=max(r.loader_calls for r in results),  # the worst, not the median
        commands=int(med("commands")),
        handshakes=int(med("handshakes")),
        connections=int(med("connections")),
        round_trips=int(med("round_trips")),
        wall_ms=float(med("wall_ms")),
        calls=worst.calls,
    )


async def stampede_one_process(
    contender: Contender, probe: ServerProbe, key: str, requests: int, *, lock: bool
) -> StampedeResult | None:
    calls = 0

    async def loader(k: str) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(LOADER_SECONDS)
        return user_dict(7)

    try:
        load = contender.stampede(loader, lock=lock)
    except NotImplementedError:
        return None
    # As in a running app: a pooled connection, the scripts in the server's cache.
    await contender.get("warm-up")
    await load(f"{key}-warm-up")
    calls = 0
    before = await probe.snapshot()
    started = time.perf_counter()
    results = await asyncio.gather(*(load(key) for _ in range(requests)))
    wall = time.perf_counter() - started
    seen = (await probe.snapshot()) - before
    assert all(r is not None for r in results)
    return StampedeResult(
        loader_calls=calls,
        commands=seen.work_commands,
        handshakes=seen.handshake,
        connections=seen.connections,
        round_trips=seen.round_trips,
        wall_ms=wall * 1000,
        calls=seen.calls,
    )


def _stampede_child(
    contender_cls: type[Contender],
    url: str,
    port: int,
    key: str,
    requests: int,
    lock: bool,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    async def main() -> None:
        contender = contender_cls(url, port)
        await contender.open()
        calls = 0

        async def loader(k: str) -> dict[str, Any]:
            nonlocal calls
            calls += 1
            await asyncio.sleep(LOADER_SECONDS)
            return user_dict(7)

        load = contender.stampede(loader, lock=lock)
        await contender.get("warm-up")
        await load(f"{key}-warm-up-{os.getpid()}")
        calls = 0
        ready.release()
        while not go.is_set():  # noqa: ASYNC110 - a process-shared event; the parent's INFO comes between ready and go
            await asyncio.sleep(0.001)
        try:
            await asyncio.gather(*(load(key) for _ in range(requests)))
            out.put(calls)
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
) -> StampedeResult:
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    children = [
        ctx.Process(
            target=_stampede_child,
            args=(contender_cls, url, port, key, requests // processes, lock, ready, go, out),
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
                calls += reply
            break
    wall = time.perf_counter() - started
    if errors:
        for child in children:
            child.join(30)
        raise RuntimeError(f"{len(errors)} process(es) failed: {errors[0]}")
    seen = (await probe.snapshot()) - before
    for child in children:
        child.join(30)
    return StampedeResult(
        loader_calls=calls,
        commands=seen.work_commands,
        handshakes=seen.handshake,
        connections=seen.connections,
        round_trips=seen.round_trips,
        wall_ms=wall * 1000,
        calls=seen.calls,
    )


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
