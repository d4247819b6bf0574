"""The sections of the benchmark page: a chart above a table per workload family.

Usage: called by :func:`benchmarks._report.write_report`; each builder returns
``(markdown lines, chart file name, SVG)`` or None when the run has no such part.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks._chart import Bar, bar_chart
from benchmarks._contenders import FLOOR_WAYS
from benchmarks._figures import CW, UNTAGGED, Spread, floor_of, ops, ratio, spread
from benchmarks._measure import median_sample
from benchmarks._peers import PEERS
from benchmarks._special import STAMPEDE_REQUESTS, TAGGED_ENTRIES
from benchmarks._write_behind import BATCH_SIZE

__all__ = ["family", "others", "stampede", "write_behind"]

Section = tuple[list[str], str, str]
PEER_NAMES = [cls.name for cls in PEERS]
LEGEND = ("cachewright vs the floor", "cachewright vs a peer", "tagged / plain set")


def _cell(s: Spread | None) -> str:
    return "n/a" if s is None else s.text


def _bar(label: str, s: Spread | None, group: int) -> list[Bar]:
    return [] if s is None else [Bar(label, s.median, s.low, s.high, group)]


def family(data: dict[str, Any], name: str, title: str, assets: str) -> Section | None:
    found = {k: w for k, w in data.get("workloads", {}).items() if w["family"] == name}
    if not found:
        return None
    bars: list[Bar] = []
    table = [
        "| workload | mode | cachewright ops/s | floor | vs floor | "
        + " | ".join(f"vs {p}" for p in PEER_NAMES)
        + " |",
        "|---|---|---:|---|---:|" + "---:|" * len(PEER_NAMES),
    ]
    details: list[str] = []
    for key, workload in found.items():
        for mode, samples in workload["modes"].items():
            label = f"{workload['name']}, {mode}"
            if key == "tagged":
                own = ratio(data, key, mode, CW, CW + UNTAGGED)
                cs = ratio(data, key, mode, "cashews", "cashews" + UNTAGGED)
                vs = ratio(data, key, mode, CW, "cashews")
                bars += _bar(f"{label}: cachewright tagged/plain", own, 2)
                bars += _bar(f"{label}: cashews tagged/plain", cs, 2)
                bars += _bar(f"{label}: vs cashews (both tagged)", vs, 1)
                table.append(
                    f"| {workload['name']} | {mode} | {_cell(ops(data, key, mode, CW))} "
                    f"| tagged/plain set: cachewright {_cell(own)}, cashews {_cell(cs)} | "
                    + " | ".join(_cell(ratio(data, key, mode, CW, p)) for p in ["", *PEER_NAMES])
                    + " |"
                )
            else:
                floor = floor_of(data, key, mode)
                vs_floor = ratio(data, key, mode, CW, floor)
                way = FLOOR_WAYS.get((key, floor or ""), "")
                bars += _bar(f"{label}: vs floor", vs_floor, 0)
                peers = [ratio(data, key, mode, CW, p) for p in PEER_NAMES]
                for peer, r in zip(PEER_NAMES, peers, strict=True):
                    bars += _bar(f"{label}: vs {peer}", r, 1)
                table.append(
                    f"| {workload['name']} | {mode} | {_cell(ops(data, key, mode, CW))} "
                    f"| {floor}{f' ({way})' if way else ''} | {_cell(vs_floor)} | "
                    + " | ".join(_cell(r) for r in peers)
                    + " |"
                )
            details += _detail(workload["name"], mode, samples)
    chart = f"{name}.svg"
    svg = bar_chart(
        f"{title}: cachewright's ops/s over the other's (median, min-max whiskers)",
        bars,
        lines=[(1.0, "1x")],
        legend=LEGEND,
    )
    lines = [
        f"## {title}",
        "",
        f"![{title}: ratios with their spread]({assets}/{chart})",
        "",
        "Ratios are cachewright's ops/s over the other's; median (min-max).",
        "",
        *table,
        "",
        '??? note "Per-contender detail (median of the repeats)"',
        "",
        *(f"    {line}" if line else "" for line in details),
        "",
    ]
    return lines, chart, svg


def _detail(name: str, mode: str, samples: dict[str, list[Any]]) -> list[str]:
    lines = [
        f"**{name}, {mode}**",
        "",
        "| client | ops/s | p50 µs | p99 µs | client CPU µs/op | server CPU µs/op "
        "| commands/op | round trips/op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for who, found in samples.items():
        s = median_sample(found)
        lines.append(
            f"| {who} | {s.ops_per_s:,.0f} | {s.p50_us:,.0f} | {s.p99_us:,.0f} "
            f"| {s.cpu_us:,.1f} | {s.server_cpu_us:,.1f} | {s.commands:.2f} "
            f"| {s.round_trips:.2f} |"
        )
    return [*lines, ""]


def stampede(data: dict[str, Any], assets: str) -> Section | None:
    found: dict[str, dict[str, list[Any]]] = data.get("stampede", {})
    if not found:
        return None
    bars: list[Bar] = []
    table = [
        "| setting | client | loader runs (worst) | commands | handshakes | new connections "
        "| slowest waiter after the loader, ms | median waiter, ms "
        "| last process woken, ms | busiest process CPU, ms | wall ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    seen: list[str] = []
    for setting, results in found.items():
        for who, runs in results.items():
            commands = spread([float(r.commands) for r in runs], unit="")
            assert commands is not None
            group = 0 if who.startswith(CW) else 1
            bars.append(Bar(f"{setting}: {who}", commands.median, commands.low, commands.high,
                            group))  # fmt: skip

            def med(field: str, runs: list[Any] = runs) -> float:
                return float(statistics.median(getattr(r, field) for r in runs))

            table.append(
                f"| {setting} | {who} | {max(r.loader_calls for r in runs)} "
                f"| {commands.median:,.0f} ({commands.low:,.0f}-{commands.high:,.0f}) "
                f"| {med('handshakes'):,.0f} | {med('connections'):,.0f} "
                f"| {med('after_fill_max_ms'):,.1f} | {med('after_fill_p50_ms'):,.1f} "
                f"| {med('woken_max_ms'):,.1f} | {med('cpu_max_ms'):,.1f} "
                f"| {med('wall_ms'):,.0f} |"
            )
            worst = max(runs, key=lambda r: r.commands)
            calls = ", ".join(f"{k} {v}" for k, v in sorted(worst.calls.items()))
            seen.append(f"- {setting}, {who}: {calls}")
    chart = "stampede.svg"
    svg = bar_chart(
        f"Stampede: Redis commands for {STAMPEDE_REQUESTS:,} concurrent misses (log scale; "
        "fewer is better)",
        bars,
        lines=[(8, "target: 8 across processes")],
        log=True,
        unit="",
        legend=("cachewright", "peers"),
    )
    lines = [
        "## Stampede",
        "",
        f"![Stampede: commands per variant]({assets}/stampede.svg)",
        "",
        f"{STAMPEDE_REQUESTS:,} concurrent requests for one missing key. Across processes",
        "they are split evenly and released together once every process has a pooled",
        "connection.",
        "Commands are `INFO commandstats` deltas on the private server, connection",
        "handshakes shown apart. *After the loader*: from the first loader return (the",
        "value exists) to each caller's return, one clock for all processes. *Last",
        "process woken*: to the first caller return of the process that learnt of the",
        "value last (a waiting process learns it from the fill's notice); the rest of",
        "the slowest waiter's delay is that process handing the value to its other",
        "callers. *Busiest process CPU*: the most CPU time (`process_time`) one process",
        "spent from the start of its misses to its last caller's return; a sleeping",
        "loader costs none, so on a loaded machine the delays above exceed it by the",
        "time the processes waited for a CPU.",
        "",
        *table,
        "",
        "Commands seen (repeat with the most):",
        "",
        *seen,
        "",
    ]
    return lines, chart, svg


def write_behind(data: dict[str, Any], assets: str) -> Section | None:
    accept: dict[str, dict[str, list[Any]]] = data.get("write-behind accept", {})
    flush: dict[str, list[float]] = data.get("write-behind flush", {})
    if not accept and not flush:
        return None
    bars: list[Bar] = []
    lines = [
        "## Write-behind",
        "",
        f"![Write-behind: accept rate over raw SETs]({assets}/write-behind.svg)",
        "",
        "*Accept*: `WriteBehind.set` on a cache on Redis (the durable Redis queue, flusher",
        "off) against a raw redis-py `SET PX` of the same orjson-encoded value,",
        "interleaved. *Flush*: one `flush()` of a filled queue into PostgreSQL",
        f"(`SQLStore`, a table made for the run) at `batch_size={BATCH_SIZE}`.",
        "",
        "| accept | WriteBehind.set ops/s | raw SET ops/s | ratio |",
        "|---|---:|---:|---:|",
    ]
    for mode, found in accept.items():
        wb, raw = found.get("WriteBehind.set (Redis queue)", []), found.get("redis-py SET PX", [])
        r = spread([a.ops_per_s / b.ops_per_s for a, b in zip(wb, raw, strict=False)])
        bars += _bar(f"accept, {mode}: vs raw SET", r, 0)
        a, b = spread([s.ops_per_s for s in wb], "/s"), spread([s.ops_per_s for s in raw], "/s")
        lines.append(f"| {mode} | {_cell(a)} | {_cell(b)} | {_cell(r)} |")
    lines += ["", f"| flush, batch {BATCH_SIZE:,} | rows/s |", "|---|---:|"]
    lines += [f"| {label} | {_cell(spread(rates, '/s'))} |" for label, rates in flush.items()]
    svg = bar_chart(
        "Write-behind: accepted writes/s over raw SETs/s (median, min-max)",
        bars,
        lines=[(1.0, "1x"), (0.8, "target 0.8x")],
    )
    return [*lines, ""], "write-behind.svg", svg


def others(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    rb = data.get("redis-benchmark")
    if rb:
        lines += [
            "## The physical limit: redis-benchmark (C client, -P 1)",
            "",
            "| clients | SET req/s | SET p50 µs | GET req/s | GET p50 µs |",
            "|---:|---:|---:|---:|---:|",
        ]
        for clients, found in rb.items():
            s, g = found.get("SET", (0, 0)), found.get("GET", (0, 0))
            lines.append(f"| {clients} | {s[0]:,.0f} | {s[1]:.0f} | {g[0]:,.0f} | {g[1]:.0f} |")
        lines.append("")
    local = data.get("local")
    if local:
        lines += [
            "## Local tier",
            "",
            "`Cache.from_url(url, local=LocalTier(...))`, sequential hits, against the same",
            "cache reading Redis (median of the repeats). The rows *no per-call clock* time",
            "the loop alone (p50 = mean there), since a local hit costs about as much as",
            "reading the clock.",
            "",
            "| read | ops/s | p50 µs | p99 µs | client CPU µs/op |",
            "|---|---:|---:|---:|---:|",
        ]
        for who, s in local.items():
            lines.append(f"| {who} | {s.ops_per_s:,.0f} | {s.p50_us:,.2f} | {s.p99_us:,.2f} "
                         f"| {s.cpu_us:,.2f} |")  # fmt: skip
        lines.append("")
    tags = data.get("tags")
    if tags:
        lines += [
            "## Tag invalidation",
            "",
            f"{TAGGED_ENTRIES:,} entries under one tag; the keyspace also holds N untagged keys. "
            "One call",
            "(`invalidate_tags` / cashews `delete_tags`), median of the repeats.",
            "",
            "| keys present | client | ms | commands | round trips |",
            "|---:|---|---:|---:|---:|",
        ]
        for size, results in tags.items():
            for who, r in results.items():
                lines.append(f"| {int(size):,} | {who} | {r.ms:.1f} | {r.commands:.0f} "
                             f"| {r.round_trips:.0f} |")  # fmt: skip
        lines.append("")
    return lines
