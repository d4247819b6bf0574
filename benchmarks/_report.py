"""Turning the raw results into docs/benchmarks.md and its charts.

Usage::

    text, charts = write_report(data, assets_url="assets/benchmarks")
    # charts: {file name: SVG text}, written by the caller beside the page

Every number on the page comes from ``data``, the run that writes it. The prose of
``benchmarks/NOTES.md`` (explanations, no figures) is appended as is.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from benchmarks import _sections as sections
from benchmarks._contenders import FLOOR_WAYS
from benchmarks._figures import targets
from benchmarks._workloads import FAMILIES, KEYS

__all__ = ["write_report"]

NOTES = Path(__file__).resolve().parent / "NOTES.md"


def _load_lines(data: dict[str, Any]) -> list[str]:
    cpus = int(data.get("machine", {}).get("cpus", "1") or 1)
    loads: dict[str, tuple[str, str]] = data.get("load", {})
    steal: dict[str, float | None] = data.get("steal", {})
    lines = [
        "| part | load average before (1, 5, 15 min) | after | CPU stolen by the host |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {part} | {a} | {b} | {_share(steal.get(part))} |" for part, (a, b) in loads.items()
    ]
    ones = [float(x.split()[0]) for pair in loads.values() for x in pair]
    if ones:
        low, high = min(ones), max(ones)
        busy = high > cpus
        lines += [
            "",
            f"One-minute load average over the run: {low:.2f} to {high:.2f} on {cpus} CPUs. "
            + (
                "**The machine was loaded during this run** (load above its CPU count: other "
                "jobs shared the cores), so absolute figures are depressed and noisy. "
                "Contenders take turns slice by slice and so share that noise; read the "
                "ratios and their spread, not the ops/s."
                if busy
                else "The machine was not saturated during this run."
            ),
        ]
    stolen = [x for x in steal.values() if x is not None]
    if stolen and max(stolen) >= STEAL_NOTED:
        lines += [
            "",
            f"**The host took {min(stolen):.0%} to {max(stolen):.0%} of this virtual "
            "machine's CPU time** (steal, from /proc/stat), which the load average does "
            "not show: every process here ran slower than on an idle host, round trips "
            "included (see redis-benchmark below), so absolute figures are low and are not "
            "comparable with runs on an idle host. Contenders take turns slice by slice "
            "and share that slowdown; read the ratios and their spread.",
        ]
    return lines


#: the steal share from which the page says the host was busy
STEAL_NOTED = 0.05


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def write_report(data: dict[str, Any], assets_url: str) -> tuple[str, dict[str, str]]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    charts: dict[str, str] = {}
    quick = bool(data.get("quick"))
    lines = [
        "# Benchmarks",
        "",
        "cachewright against the floor (raw redis-py with hiredis and orjson, written by",
        "hand) and against cashews and aiocache, each at its defaults and at its best",
        "documented setting, on the same private Redis in the same run. **Ratios are what",
        "to read**: absolute figures depend on the machine and its load. Every number and",
        "chart on this page is written by the run described here.",
        "",
        "Reproduce (from the repository root; starts and stops its own `redis-server`,",
        "uses the PostgreSQL on 127.0.0.1:5432 for the write-behind part):",
        "",
        "```",
        str(data.get("command", "python -m benchmarks")),
        "```",
        "",
        f"Generated {now}; {'**quick (smoke) run**' if quick else 'full run'}, "
        f"{data.get('repeats')} repeats of every workload; {data.get('seconds', 0):.0f} s "
        "in all.",
        "",
        "## Machine and load",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in data.get("machine", {}).items()]
    lines += ["", *_load_lines(data), ""]
    lines += [
        "## How it measures",
        "",
        "- Each sample runs N operations per contender after a warm-up (pools filled,",
        "  scripts loaded): one task (*sequential*) or 64 tasks started together",
        "  (*64 tasks*). The N operations are cut into slices and the contenders take",
        "  turns slice by slice, in an order rotated at each repeat, so a burst of load",
        "  from elsewhere hits them all alike.",
        "- A ratio is cachewright's ops/s over the other's **in the same repeat**; the",
        "  tables and charts give its median and, in brackets and as whiskers, its",
        "  min-max over the repeats.",
        "- ops/s = N / wall time; p50 and p99 of per-call latency (`perf_counter_ns`",
        "  around each await; under 64 tasks this includes waiting for the event loop);",
        "  client CPU = `time.process_time()` over the run / N (event loop included).",
        "- commands/op and round trips/op come from the server (`INFO` deltas:",
        "  `total_commands_processed`, handshakes excluded, commands run by Lua scripts",
        "  included; `total_writes_processed`, one per reply batch).",
        f"- Values: a five-field JSON object, {KEYS:,} distinct keys, with a ttl.",
        "",
        "**The floor** is the fastest code a user writes by hand: `redis.asyncio` with",
        "hiredis, values through `orjson`, typed reads validated per value by pydantic.",
        "Where there are two natural ways, both run and the faster one in the run is the",
        "floor (named in each table):",
        "",
    ]
    lines += [f"- `{key}`, {who}: {way}" for (key, who), way in FLOOR_WAYS.items()]
    lines += [
        "",
        '**Peers**: `cashews` (defaults: pickle), `cashews, json` (`pickle_type="json"`),',
        "`aiocache` (defaults: `JsonSerializer`), `aiocache, pickle` (`PickleSerializer`);",
        "typed reads validate each value with `model_validate`. Target ratios against a",
        "peer use its faster setting in the run.",
        "",
        "## Targets (issue 16)",
        "",
        "Median over the repeats, min-max in brackets.",
        "",
        "| target | reached in this run | met |",
        "|---|---|---|",
    ]
    for target, figure, met in targets(data):
        mark = "n/a" if met is None else ("**yes**" if met else "**no**")
        lines.append(f"| {target} | {figure} | {mark} |")
    lines.append("")
    for family, title in FAMILIES.items():
        found = sections.family(data, family, title, assets_url)
        if found is not None:
            section, name, svg = found
            lines += section
            charts[name] = svg
    for build in (sections.stampede, sections.write_behind):
        found = build(data, assets_url)
        if found is not None:
            section, name, svg = found
            lines += section
            charts[name] = svg
    lines += sections.others(data)
    if data.get("sync"):
        # The synchronous API's part: benchmarks/sync_api.py's own tables, run by this run.
        lines += [str(data["sync"]).strip(), ""]
    failures = data.get("failures")
    if failures:
        lines += ["## Parts that failed in this run", ""]
        lines += [f"- {key}: `{error}`" for key, error in failures.items()]
        lines.append("")
    if NOTES.exists():
        lines += [NOTES.read_text().strip(), ""]
    return "\n".join(lines), charts
