"""cachewright benchmarks: one command, a private Redis, every contender in one run.

Usage::

    python -m benchmarks                  # full run (about 10 minutes), writes docs/benchmarks.md
    python -m benchmarks --quick          # fewer ops, no 1,000,000-key case
    python benchmarks/run.py --repeats 5 --out /tmp/bench.md --json /tmp/bench.json

Contenders (see :mod:`benchmarks._contenders`) run in the same process against the
same private ``redis-server`` (no persistence, loopback), alternating: each repeat
runs every contender once per workload, in a rotated order, and the tables show the
median of the repeats. Numbers are printed and written, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _special as special
from benchmarks._contenders import CONTENDERS, Cachewright, Cashews, Contender
from benchmarks._measure import Sample, measure_interleaved, median_sample
from benchmarks._report import write_report
from benchmarks._server import ServerProbe, private_redis
from benchmarks._workloads import plain_set, workloads

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
CHUNKS = 10  # slices per sample, contenders taking turns slice by slice


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_workloads(
    url: str, port: int, probe: ServerProbe, scale: float, repeats: int, only: set[str] | None
) -> dict[str, dict[str, dict[str, Sample]]]:
    """{workload: {mode: {contender: median sample}}}."""
    contenders: list[Contender] = [cls(url, port) for cls in CONTENDERS]
    for contender in contenders:
        await contender.open()
    results: dict[str, dict[str, dict[str, Sample]]] = {}
    try:
        for workload in workloads(scale):
            if only and workload.name not in only:
                continue
            for contender in contenders:
                if workload.prepare is not None and workload.op(contender) is not None:
                    await workload.prepare(contender)
            for mode, concurrency in (("sequential", 1), (f"{CONCURRENCY} tasks", CONCURRENCY)):
                samples: dict[str, list[Sample]] = {}
                for repeat in range(repeats):
                    shift = repeat % len(contenders)
                    ops = {
                        c.name: op
                        for c in contenders[shift:] + contenders[:shift]
                        if (op := workload.op(c)) is not None
                    }
                    if workload.with_plain_set:
                        for c in contenders:
                            if c.name in ops:
                                ops[f"{c.name}, untagged"] = plain_set(c)
                    warm = max(concurrency, workload.n // 10)
                    await measure_interleaved(
                        ops, n=warm, concurrency=concurrency, probe=probe, chunks=1
                    )
                    found = await measure_interleaved(
                        ops, n=workload.n, concurrency=concurrency, probe=probe, chunks=CHUNKS
                    )
                    for name, sample in found.items():
                        samples.setdefault(name, []).append(sample)
                medians = {name: median_sample(s) for name, s in samples.items()}
                results.setdefault(workload.name, {})[mode] = medians
                log(
                    f"{workload.name:28} {mode:11} "
                    + "  ".join(f"{name}={m.ops_per_s:,.0f}/s" for name, m in medians.items())
                )
    finally:
        for contender in contenders:
            await contender.close()
    return results


async def run_local_tier(
    url: str, port: int, probe: ServerProbe, scale: float, repeats: int
) -> dict[str, Sample]:
    from cachewright import Cache
    from cachewright.cache.local import LocalTier

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


async def run_stampede(
    url: str,
    port: int,
    probe: ServerProbe,
    repeats: int,
    processes: int,
    failures: dict[str, str],
) -> dict[str, dict[str, special.StampedeResult]]:
    variants: list[tuple[str, type[Contender], bool]] = [
        ("cachewright CacheAside", Cachewright, False),
        ("cachewright CacheAside(lock=True)", Cachewright, True),
    ]
    variants += [(f"{cls.name} (lock)", cls, True) for cls in CONTENDERS[2:]]
    one: dict[str, list[special.StampedeResult]] = {}
    many: dict[str, list[special.StampedeResult]] = {}
    for repeat in range(repeats):
        for label, cls, lock in (
            variants[repeat % len(variants) :] + variants[: repeat % len(variants)]
        ):
            contender = cls(url, port)
            await contender.open()
            try:
                result = await special.stampede_one_process(
                    contender, probe, f"one-{repeat}-{lock}", 1000, lock=lock
                )
                if result is not None:
                    one.setdefault(label, []).append(result)
            except Exception as exc:  # a peer's failure is a result, not the end of the run
                failures[f"stampede, one process, {label}"] = f"{type(exc).__name__}: {exc}"
                log(f"stampede {label}: failed: {exc!r}")
            finally:
                await contender.close()
            if processes > 1 and (lock or cls is not Cachewright):
                try:
                    many.setdefault(label, []).append(
                        await special.stampede_processes(
                            cls,
                            probe,
                            url,
                            port,
                            f"many-{repeat}-{lock}",
                            processes,
                            1000,
                            lock=lock,
                        )
                    )
                except Exception as exc:
                    failures[f"stampede, {processes} processes, {label}"] = (
                        f"{type(exc).__name__}: {exc}"
                    )
                    log(f"stampede {label} x{processes}: failed: {exc!r}")
    log("stampede done")
    return {
        "one process": {k: special._median_stampede(v) for k, v in one.items()},
        f"{processes} processes": {k: special._median_stampede(v) for k, v in many.items()},
    }


async def run_tags(
    url: str, port: int, probe: ServerProbe, repeats: int, sizes: list[int]
) -> dict[int, dict[str, special.TagResult]]:
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
                        await special.tag_invalidation(contender, probe, f"inv{repeat}", 1000)
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


def metrics_overhead(n: int = 200_000) -> dict[str, float]:
    """Nanoseconds one hook call costs: disabled (no-op) and with the OTel API only."""
    out: dict[str, float] = {}
    try:
        from cachewright import _metrics
    except ImportError:
        return out
    choices: list[tuple[str, Any]] = [("disabled (NOOP)", _metrics.NOOP)]
    choices.append(("OpenTelemetry API, no SDK", _metrics.otel_metrics()))
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        choices.append(("OpenTelemetry SDK, in-memory reader", _metrics.otel_metrics(provider)))
    except ImportError:
        pass
    for label, metrics in choices:
        attrs = metrics.attributes(namespace="bench", operation="get")
        begun = time.perf_counter_ns()
        for _ in range(n):
            started = metrics.clock()
            metrics.hit(attrs)
            metrics.operation(started, attrs)
        out[label] = (time.perf_counter_ns() - begun) / n
    return out


def machine() -> dict[str, str]:
    import redis

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    versions = {}
    for module in ("cashews", "aiocache", "hiredis", "pydantic"):
        try:
            from importlib.metadata import version

            versions[module] = version(module)
        except Exception:
            versions[module] = "?"
    load = os.getloadavg()
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "python": platform.python_version(),
        "redis-py": redis.__version__,
        **versions,
        "redis-server": server,
        "os": platform.platform(),
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def write_behind_report(quick: bool) -> str | None:
    script = ROOT / "benchmarks" / "write_behind.py"
    if not script.exists():
        return None
    args = [sys.executable, str(script)] + (["--quick"] if quick else [])
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT,
                              check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "(timed out)"
    if proc.returncode != 0:
        return f"(failed: exit {proc.returncode})\n\n```\n{proc.stderr[-1500:]}\n```"
    return proc.stdout


async def main(options: argparse.Namespace) -> dict[str, Any]:
    scale = 0.3 if options.quick else 1.0
    repeats = options.repeats
    started = time.time()
    data: dict[str, Any] = {"machine": machine(), "command": options.command}
    with private_redis() as server:
        probe = ServerProbe(server.port)
        try:
            if not options.skip_c:
                requests = 20_000 if options.quick else 100_000
                data["redis-benchmark"] = {
                    clients: special.redis_benchmark(server.port, clients, requests)
                    for clients in (1, 50)
                }
                log(f"redis-benchmark: {data['redis-benchmark']}")
            only = set(options.only.split(",")) if options.only else None
            data["workloads"] = await run_workloads(
                server.url, server.port, probe, scale, repeats, only
            )
            url, port = server.url, server.port
            sizes = [100_000] if options.quick else [100_000, 1_000_000]
            parts: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("local", lambda: run_local_tier(url, port, probe, scale, repeats)),
                (
                    "stampede",
                    lambda: run_stampede(
                        url,
                        port,
                        probe,
                        repeats,
                        options.processes,
                        data.setdefault("failures", {}),
                    ),
                ),
                ("tags", lambda: run_tags(url, port, probe, max(repeats, 5), sizes)),
            ]
            for key, part in parts:
                if only and key not in only:
                    continue
                await probe.client.flushall()
                try:
                    data[key] = await part()
                except Exception as exc:  # one broken part must not lose the others
                    log(f"{key}: failed: {exc!r}")
                    data.setdefault("failures", {})[key] = f"{type(exc).__name__}: {exc}"
            await probe.client.flushall()
        finally:
            await probe.close()
    data["metrics"] = metrics_overhead()
    if not options.only and not options.skip_write_behind:
        log("write-behind (benchmarks/write_behind.py) ...")
        data["write_behind"] = write_behind_report(options.quick)
    data["seconds"] = time.time() - started
    data["quick"] = options.quick
    data["repeats"] = repeats
    return data


def load_results(path: Path) -> dict[str, Any]:
    """Results saved with ``--json``, with their dataclasses rebuilt."""
    data: dict[str, Any] = json.loads(path.read_text())
    data["workloads"] = {
        name: {mode: {who: Sample(**s) for who, s in c.items()} for mode, c in modes.items()}
        for name, modes in data.get("workloads", {}).items()
    }
    if "local" in data:
        data["local"] = {who: Sample(**s) for who, s in data["local"].items()}
    if "stampede" in data:
        data["stampede"] = {
            setting: {who: special.StampedeResult(**r) for who, r in results.items()}
            for setting, results in data["stampede"].items()
        }
    if "tags" in data:
        data["tags"] = {
            int(size): {who: special.TagResult(**r) for who, r in results.items()}
            for size, results in data["tags"].items()
        }
    return data


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer ops, no 1M-key case")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per workload (>= 3)")
    parser.add_argument("--processes", type=int, default=4, help="stampede processes")
    parser.add_argument(
        "--only", help="comma-separated workload or part names (local, stampede, tags)"
    )
    parser.add_argument("--skip-c", action="store_true", help="skip redis-benchmark")
    parser.add_argument("--skip-write-behind", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument(
        "--from-json", help="no run: rewrite the page from results saved with --json"
    )
    options = parser.parse_args(argv)
    if options.from_json:
        data = load_results(Path(options.from_json))
        Path(options.out).write_text(write_report(data))
        log(f"wrote {options.out} from {options.from_json}")
        return
    shown = sys.argv[1:] if argv is None else argv
    options.command = " ".join(["python -m benchmarks", *shown])
    data = asyncio.run(main(options))
    if options.json:
        Path(options.json).write_text(json.dumps(data, default=_jsonable, indent=1))
    Path(options.out).write_text(write_report(data))
    log(f"wrote {options.out} in {data['seconds']:.0f}s")


if __name__ == "__main__":
    cli()
