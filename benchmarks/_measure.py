"""Timing one workload on several contenders: ops/s, p50/p99, client CPU, server counts.

Usage::

    samples = await measure_interleaved({"a": op_a, "b": op_b}, n=3000, concurrency=1,
                                        probe=probe, chunks=10)

``op(i)`` is awaited ``n`` times per contender, by one task (sequential) or spread
over ``concurrency`` tasks started together. The ``n`` operations are cut into
``chunks`` slices and the contenders take turns slice by slice (a, b, a, b, ...), so a
burst of load from elsewhere on the machine hits all of them alike. Latency is taken
around each await with ``perf_counter_ns``; client CPU is ``time.process_time`` over
the slices (the event loop's own work included); commands and round trips come from
the server, read between slices.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from benchmarks._server import Seen, ServerProbe

__all__ = ["Sample", "measure", "measure_interleaved", "median_sample"]

Op = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class Sample:
    ops: int
    ops_per_s: float
    p50_us: float
    p99_us: float
    cpu_us: float  # client CPU per op
    commands: float  # per op, handshakes excluded
    round_trips: float  # per op
    server_cpu_us: float  # per op
    connections: int  # opened during the run


@dataclass
class _Tally:
    ops: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    commands: int = 0
    round_trips: int = 0
    server_cpu: float = 0.0
    connections: int = 0
    latencies: list[int] = field(default_factory=list)

    def add(self, seen: Seen) -> None:
        self.commands += seen.work_commands
        self.round_trips += seen.round_trips
        self.server_cpu += seen.server_cpu
        self.connections += seen.connections

    def sample(self) -> Sample:
        latencies = sorted(self.latencies) or [int(self.wall / self.ops * 1e9)]
        n = self.ops
        return Sample(
            ops=n,
            ops_per_s=n / self.wall,
            p50_us=_percentile(latencies, 0.50),
            p99_us=_percentile(latencies, 0.99),
            cpu_us=self.cpu / n * 1e6,
            commands=self.commands / n,
            round_trips=self.round_trips / n,
            server_cpu_us=self.server_cpu / n * 1e6,
            connections=self.connections,
        )


def _percentile(sorted_ns: list[int], q: float) -> float:
    index = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return sorted_ns[index] / 1000


async def _run(
    op: Op, first: int, count: int, concurrency: int, per_op: bool, tally: _Tally
) -> None:
    record = tally.latencies.append
    clock = time.perf_counter_ns
    end = first + count

    async def worker(start: int) -> None:
        if not per_op:
            for i in range(start, end, concurrency):
                await op(i)
            return
        for i in range(start, end, concurrency):
            t0 = clock()
            await op(i)
            record(clock() - t0)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    if concurrency == 1:
        await worker(first)
    else:
        await asyncio.gather(*(worker(first + k) for k in range(concurrency)))
    tally.wall += time.perf_counter() - wall0
    tally.cpu += time.process_time() - cpu0
    tally.ops += count


async def measure_interleaved(
    ops: Mapping[str, Op],
    *,
    n: int,
    concurrency: int,
    probe: ServerProbe,
    chunks: int = 10,
    per_op: bool = True,
) -> dict[str, Sample]:
    """``per_op=False``: no clock around each call (for sub-microsecond operations,
    where reading the clock would be most of the cost); p50 and p99 are then the mean."""
    size = max(concurrency, n // chunks)
    tallies = {name: _Tally() for name in ops}
    gc.collect()
    for first in range(0, n, size):
        count = min(size, n - first)
        for name, op in ops.items():
            before = await probe.snapshot()
            await _run(op, first, count, concurrency, per_op, tallies[name])
            tallies[name].add((await probe.snapshot()) - before)
    return {name: tally.sample() for name, tally in tallies.items()}


async def measure(
    op: Op, *, n: int, concurrency: int, probe: ServerProbe, per_op: bool = True
) -> Sample:
    """One contender, one slice."""
    found = await measure_interleaved(
        {"": op}, n=n, concurrency=concurrency, probe=probe, chunks=1, per_op=per_op
    )
    return found[""]


def median_sample(samples: list[Sample]) -> Sample:
    """Field-wise median of repeats."""

    def med(name: str) -> float:
        return float(statistics.median(getattr(s, name) for s in samples))

    return Sample(
        ops=samples[0].ops,
        ops_per_s=med("ops_per_s"),
        p50_us=med("p50_us"),
        p99_us=med("p99_us"),
        cpu_us=med("cpu_us"),
        commands=med("commands"),
        round_trips=med("round_trips"),
        server_cpu_us=med("server_cpu_us"),
        connections=int(med("connections")),
    )
