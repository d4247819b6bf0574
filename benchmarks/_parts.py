"""The parts of a run that are not "n operations per contender": local tier,
stampede, tag invalidation.

Usage: called by :mod:`benchmarks.run`; each returns what the report reads.
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks import _special as special
from benchmarks._contenders import Cachewright, Contender
from benchmarks._measure import Sample, measure_interleaved, median_sample
from benchmarks._peers import Aiocache, Cashews
from benchmarks._server import ServerProbe

__all__ = ["run_local_tier", "run_stampede", "run_tags"]

CHUNKS = 10  # slices per sample, contenders taking turns slice by slice


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_local_tier(
    url: str, port: int, probe: ServerProbe, scale: float, repeats: int
) -> dict[str, Sample]:
    from cachewright import Cache, LocalTier

    remote = Cachewright(url, port)
    await remote.open()
    local_cache = Cache.from_url(url, namespace="cw", local=LocalTier(max_entries=10_000, ttl=5.0))
    samples: dict[str, list[Sample]] = {}
    n = max(64, int(3000 * scale))
    try:
        async with local_cache:
            for i in range(1000):
                await remote.cache.set(f"h{i}", {"id": i}, ttl=60)

            async def local_op(i: int) -> Any:
                return await local_cache.get(f"h{i % 1000}")

            async def remote_op(i: int) -> Any:
                return await remote.cache.get(f"h{i % 1000}")

            pair = {"local tier": local_op, "redis": remote_op}
            await measure_interleaved(pair, n=n // 10, concurrency=1, probe=probe, chunks=1)
            for _ in range(repeats):
                for per_op, suffix in ((True, ""), (False, ", no per-call clock")):
                    found = await measure_interleaved(
                        pair, n=n, concurrency=1, probe=probe, chunks=CHUNKS, per_op=per_op
                    )
                    for name, sample in found.items():
                        samples.setdefault(name + suffix, []).append(sample)
    finally:
        await remote.close()
    return {name: median_sample(s) for name, s in samples.items()}


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:g} s"


async def run_stampede(
    url: str,
    port: int,
    probe: ServerProbe,
    repeats: int,
    processes: int,
    quick: bool,
    failures: dict[str, str],
) -> dict[str, dict[str, list[special.StampedeResult]]]:
    """{setting: {variant: [result per repeat]}}: one process, then ``processes``
    processes with each loader time (quick: cachewright only, 50 ms, one repeat)."""
    variants: list[tuple[str, type[Contender], bool]] = [
        ("cachewright CacheAside", Cachewright, False),
        ("cachewright CacheAside(lock=True)", Cachewright, True),
        ("cashews (lock=True)", Cashews, True),
        ("aiocache (cached_stampede)", Aiocache, True),
    ][: 2 if quick else None]
    out: dict[str, dict[str, list[special.StampedeResult]]] = {}
    one = f"one process, {_seconds(special.LOADER_SECONDS[0])} loader"
    for repeat in range(repeats):
        shift = repeat % len(variants)
        for label, cls, lock in variants[shift:] + variants[:shift]:
            contender = cls(url, port)
            await contender.open()
            try:
                result = await special.stampede_one_process(
                    contender,
                    probe,
                    f"one-{repeat}-{lock}",
                    special.STAMPEDE_REQUESTS,
                    lock=lock,
                )
                if result is not None:
                    out.setdefault(one, {}).setdefault(label, []).append(result)
            except Exception as exc:  # a peer's failure is a result, not the end of the run
                failures[f"stampede, {one}, {label}"] = f"{type(exc).__name__}: {exc}"
                log(f"stampede {label}: failed: {exc!r}")
            finally:
                await contender.close()
    loader_times = special.LOADER_SECONDS[:1] if quick else special.LOADER_SECONDS
    many = [v for v in variants if v[2]][: 1 if quick else None]
    for seconds in loader_times:
        setting = f"{processes} processes, {_seconds(seconds)} loader"
        for repeat in range(1 if quick else repeats):
            shift = repeat % len(many)
            for label, cls, lock in many[shift:] + many[:shift]:
                try:
                    result = await special.stampede_processes(
                        cls, probe, url, port, f"many-{repeat}-{seconds}", processes,
                        special.STAMPEDE_REQUESTS,
                        lock=lock, seconds=seconds,
                    )  # fmt: skip
                    out.setdefault(setting, {}).setdefault(label, []).append(result)
                except Exception as exc:
                    failures[f"stampede, {setting}, {label}"] = f"{type(exc).__name__}: {exc}"
                    log(f"stampede {label} {setting}: failed: {exc!r}")
        log(f"stampede {setting} done")
    return out


async def run_tags(
    url: str, port: int, probe: ServerProbe, repeats: int, sizes: list[int]
) -> dict[int, dict[str, special.TagResult]]:
    """Median of the repeats (at least 5) per keyspace size."""
    repeats = max(repeats, 5)
    contenders: list[Contender] = [Cachewright(url, port), Cashews(url, port)]
    for contender in contenders:
        await contender.open()
    out: dict[int, dict[str, special.TagResult]] = {}
    have = 0
    try:
        for size in sizes:
            await special.fill_background(probe, size, have)
            have = size
            found: dict[str, list[special.TagResult]] = {}
            for repeat in range(repeats):
                for contender in contenders[repeat % 2 :] + contenders[: repeat % 2]:
                    found.setdefault(contender.name, []).append(
                        await special.tag_invalidation(
                            contender, probe, f"inv{repeat}", special.TAGGED_ENTRIES
                        )
                    )
            out[size] = {
                name: special.TagResult(
                    ms=_median([r.ms for r in rs]),
                    commands=_median([r.commands for r in rs]),
                    round_trips=_median([r.round_trips for r in rs]),
                )
                for name, rs in found.items()
            }
            log(
                f"tag invalidation with {size:,} keys: "
                + "  ".join(f"{k}={v.ms:.1f}ms" for k, v in out[size].items())
            )
    finally:
        for contender in contenders:
            await contender.close()
    return out


def _median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
