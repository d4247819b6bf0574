"""cachewright benchmarks: one command, a private Redis, every contender in one run.

Usage::

    python -m benchmarks                  # full run (about 10 minutes), writes docs/benchmarks.md
    python -m benchmarks --quick          # a smoke run (about a minute), fewer ops and parts
    python benchmarks/run.py --repeats 5 --out /tmp/bench.md --json /tmp/bench.json

Contenders (:mod:`benchmarks._contenders`, :mod:`benchmarks._peers`) run in the same
process against the same private ``redis-server`` (no persistence, loopback),
alternating: each repeat runs every contender once per workload, in a rotated order.
Every repeat is kept, so the page shows each ratio's median and its spread (min-max
over the repeats), and the charts are drawn from the same figures. Machine load is
read before and after each part. Numbers are printed and written, never asserted.
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
from benchmarks import _write_behind as wbench
from benchmarks._contenders import Cachewright, Contender, RawRedis, RawRedisVariant
from benchmarks._measure import Sample, measure_interleaved, median_sample
from benchmarks._parts import run_local_tier, run_stampede, run_tags
from benchmarks._peers import PEERS
from benchmarks._report import write_report
from benchmarks._server import ServerProbe, private_redis
from benchmarks._workloads import plain_set, workloads

CONTENDERS: tuple[type[Contender], ...] = (Cachewright, RawRedis, RawRedisVariant, *PEERS)

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
CHUNKS = 10  # slices per sample, contenders taking turns slice by slice


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_workloads(
    url: str,
    port: int,
    probe: ServerProbe,
    scale: float,
    repeats: int,
    only: set[str] | None,
    chunks: int = CHUNKS,
) -> dict[str, dict[str, Any]]:
    """{workload key: {name, family, modes: {mode: {contender: [sample per repeat]}}}}."""
    contenders: list[Contender] = [cls(url, port) for cls in CONTENDERS]
    for contender in contenders:
        await contender.open()
    results: dict[str, dict[str, Any]] = {}
    try:
        for workload in workloads(scale):
            if only and workload.key not in only:
                continue
            begun = time.time()
            for contender in contenders:
                if workload.prepare is not None and workload.op(contender) is not None:
                    await workload.prepare(contender)
            log(f"{workload.name}: prepared in {time.time() - begun:.1f} s")
            modes: dict[str, dict[str, list[Sample]]] = {}
            results[workload.key] = {
                "name": workload.name, "family": workload.family, "modes": modes,
            }  # fmt: skip
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
                        ops, n=workload.n, concurrency=concurrency, probe=probe, chunks=chunks
                    )
                    for name, sample in found.items():
                        samples.setdefault(name, []).append(sample)
                modes[mode] = samples
                medians = {name: median_sample(s) for name, s in samples.items()}
                log(
                    f"{workload.name:28} {mode:11} "
                    + "  ".join(f"{name}={m.ops_per_s:,.0f}/s" for name, m in medians.items())
                )
    finally:
        for contender in contenders:
            await contender.close()
    return results


def load_now() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine so far, from /proc/stat (0, 0 elsewhere).

    Steal is the time the hypervisor gave this VM's CPUs to others: a load average
    near zero can hide a host that runs this machine at two-thirds speed."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of CPU time stolen by the host between two :func:`cpu_ticks`."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else None


def machine() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

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
    for package in ("cachewright", "redis", "hiredis", "orjson", "pydantic", "cashews",
                    "aiocache", "asyncpg", "sqlalchemy"):  # fmt: skip
        try:
            versions["redis-py" if package == "redis" else package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "python": platform.python_version(),
        **versions,
        "redis-server": server,
        "os": platform.platform(),
    }


async def main(options: argparse.Namespace) -> dict[str, Any]:
    quick = options.quick
    scale = 0.05 if quick else 1.0
    repeats = options.repeats
    started = time.time()
    loads: dict[str, tuple[str, str]] = {}
    steal: dict[str, float | None] = {}
    data: dict[str, Any] = {
        "machine": machine(), "command": options.command, "load": loads, "steal": steal,
        "failures": {}, "quick": quick, "repeats": repeats, "processes": options.processes,
    }  # fmt: skip
    failures: dict[str, str] = data["failures"]
    only = set(options.only.split(",")) if options.only else None
    with private_redis() as server:
        probe = ServerProbe(server.port)
        url, port = server.url, server.port
        modes = {"sequential": 1, f"{CONCURRENCY} tasks": CONCURRENCY}
        parts: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("redis-benchmark", lambda: _redis_benchmark(port, quick)),
            ("workloads", lambda: run_workloads(
                url, port, probe, scale, repeats, only, 3 if quick else CHUNKS)),
            ("stampede", lambda: run_stampede(
                url, port, probe, repeats, options.processes, quick, failures)),
            ("write-behind accept", lambda: wbench.accept_rates(
                url, probe, max(200, int(2000 * scale)), repeats, modes)),
            ("write-behind flush", lambda: wbench.flush_rates(
                url, options.pg, 1_000 if quick else 20_000, repeats)),
            ("local", lambda: run_local_tier(url, port, probe, scale, repeats)),
            ("sync", lambda: _sync_api(quick)),
            ("tags", lambda: run_tags(
                url, port, probe, repeats, [10_000] if quick else [100_000, 1_000_000])),
        ]  # fmt: skip
        try:
            for key, part in parts:
                if key in options.skip or (only and key not in only and key != "workloads"):
                    continue
                if quick and key == "tags" and not (only and key in only):
                    continue  # filling keyspaces is slow: a quick run leaves it out
                await probe.client.flushall()
                before, begun, ticks = load_now(), time.time(), cpu_ticks()
                try:
                    data[key] = await part()
                except Exception as exc:  # one broken part must not lose the others
                    log(f"{key}: failed: {exc!r}")
                    failures[key] = f"{type(exc).__name__}: {exc}"
                loads[key] = (before, load_now())
                steal[key] = steal_share(ticks, cpu_ticks())
                stolen = "n/a" if steal[key] is None else f"{steal[key]:.0%}"
                log(f"{key}: {time.time() - begun:.0f} s, load average {loads[key][0]} -> "
                    f"{loads[key][1]}, CPU stolen by the host {stolen}")  # fmt: skip
            await probe.client.flushall()
        finally:
            await probe.close()
    data["seconds"] = time.time() - started
    return data


async def _sync_api(quick: bool) -> str:
    """The synchronous API's tables: benchmarks/sync_api.py in a process of its own
    (it drives its own event loop and threads, and starts its own redis-server)."""
    ops, rounds = ("300", "3") if quick else ("2000", "5")
    script = Path(__file__).with_name("sync_api.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "--markdown", "--ops", ops, "--rounds", rounds,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"sync_api.py exited {proc.returncode}")
    return out.decode()


async def _redis_benchmark(port: int, quick: bool) -> dict[int, dict[str, tuple[float, float]]]:
    requests = 5_000 if quick else 20_000
    return {clients: special.redis_benchmark(port, clients, requests) for clients in (1, 50)}


def load_results(path: Path) -> dict[str, Any]:
    """Results saved with ``--json``, with their dataclasses rebuilt."""
    data: dict[str, Any] = json.loads(path.read_text())
    for found in data.get("workloads", {}).values():
        found["modes"] = {
            mode: {who: [Sample(**s) for s in samples] for who, samples in c.items()}
            for mode, c in found["modes"].items()
        }
    if "write-behind accept" in data:
        data["write-behind accept"] = {
            mode: {who: [Sample(**s) for s in samples] for who, samples in c.items()}
            for mode, c in data["write-behind accept"].items()
        }
    if "local" in data:
        data["local"] = {who: Sample(**s) for who, s in data["local"].items()}
    if "stampede" in data:
        data["stampede"] = {
            setting: {who: [special.StampedeResult(**r) for r in rs] for who, rs in found.items()}
            for setting, found in data["stampede"].items()
        }
    if "tags" in data:
        data["tags"] = {
            int(size): {who: special.TagResult(**r) for who, r in results.items()}
            for size, results in data["tags"].items()
        }
    if "redis-benchmark" in data:
        data["redis-benchmark"] = {int(k): v for k, v in data["redis-benchmark"].items()}
    return data


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


PARTS = ("redis-benchmark", "stampede", "write-behind accept", "write-behind flush", "local",
         "sync", "tags")  # fmt: skip


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true",
        help="a smoke run: fewer ops, coarser slices, one loader time, no tag invalidation",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="repeats per workload (>= 3)")
    parser.add_argument("--processes", type=int, default=4, help="stampede processes")
    parser.add_argument(
        "--only", help="comma-separated workload keys and parts: get, get_many, aside, set, "
        "tagged, set_many; " + ", ".join(PARTS)
    )  # fmt: skip
    parser.add_argument(
        "--skip", default="", type=lambda text: set(text.split(",")) if text else set(),
        help="comma-separated parts to leave out: " + ", ".join(PARTS),
    )  # fmt: skip
    parser.add_argument("--pg", default=wbench.PG_URL, help="PostgreSQL URL (127.0.0.1 only)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--assets", help="where the charts go (default: beside --out, "
                        "assets/benchmarks/)")  # fmt: skip
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument(
        "--from-json", help="no run: rewrite the page from results saved with --json"
    )
    options = parser.parse_args(argv)
    if options.repeats < 3 and not options.from_json:
        parser.error("--repeats must be at least 3: the page shows each ratio's spread")
    out = Path(options.out)
    assets = Path(options.assets) if options.assets else out.parent / "assets" / "benchmarks"
    if options.from_json:
        data = load_results(Path(options.from_json))
    else:
        shown = sys.argv[1:] if argv is None else argv
        options.command = " ".join(["python -m benchmarks", *shown])
        data = asyncio.run(main(options))
        if options.json:
            Path(options.json).write_text(json.dumps(data, default=_jsonable, indent=1))
    assets.mkdir(parents=True, exist_ok=True)
    text, charts = write_report(data, assets_url=os.path.relpath(assets, out.parent))
    for name, svg in charts.items():
        (assets / name).write_text(svg)
    out.write_text(text)
    log(f"wrote {out} and {len(charts)} charts in {assets} ({data.get('seconds', 0):.0f}s run)")


if __name__ == "__main__":
    cli()
