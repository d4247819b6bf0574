"""Figures from the raw results: ratios with their spread, the floor, the targets.

Usage::

    spread = ratio(data, "get", "sequential", CW, floor_of(data, "get", "sequential"))
    spread.text                          # "1.43x (1.38-1.51)"
    for target, figure, met in targets(data): ...

A ratio is taken per repeat (both contenders ran interleaved in that repeat), then
summarised as the median and the min-max over the repeats.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks._contenders import FLOOR_PREFIX
from benchmarks._write_behind import BATCH_SIZE

__all__ = [
    "AIOCACHE",
    "CASHEWS",
    "CONC",
    "CW",
    "SEQ",
    "Spread",
    "best_of",
    "floor_of",
    "ops",
    "ratio",
    "spread",
    "targets",
]

CW, CASHEWS, AIOCACHE = "cachewright", "cashews", "aiocache"
SEQ, CONC = "sequential", "64 tasks"
UNTAGGED = ", untagged"


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    unit: str = "x"

    @property
    def text(self) -> str:
        if self.unit == "x":
            return f"{self.median:.2f}x ({self.low:.2f}-{self.high:.2f})"
        return f"{self.median:,.0f} ({self.low:,.0f}-{self.high:,.0f})"


def spread(values: Sequence[float], unit: str = "x") -> Spread | None:
    if not values:
        return None
    return Spread(float(statistics.median(values)), min(values), max(values), unit)


def _samples(data: dict[str, Any], key: str, mode: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = data.get("workloads", {}).get(key, {}).get("modes", {})
    return dict(found.get(mode, {}))


def ops(data: dict[str, Any], key: str, mode: str, who: str) -> Spread | None:
    return spread([s.ops_per_s for s in _samples(data, key, mode).get(who, [])], unit="/s")


def floor_of(data: dict[str, Any], key: str, mode: str) -> str | None:
    """The faster floor variant in this run (by median ops/s), or None."""
    found = _samples(data, key, mode)
    floors = [w for w in found if w.startswith(FLOOR_PREFIX) and not w.endswith(UNTAGGED)]
    if not floors:
        return None
    return max(floors, key=lambda w: statistics.median(s.ops_per_s for s in found[w]))


def best_of(data: dict[str, Any], key: str, mode: str, peer: str) -> str | None:
    """The faster setting of a peer (``cashews``, ``aiocache``) in this run."""
    found = _samples(data, key, mode)
    names = [w for w in found if w.split(",")[0] == peer and not w.endswith(UNTAGGED)]
    if not names:
        return None
    return max(names, key=lambda w: statistics.median(s.ops_per_s for s in found[w]))


def ratio(data: dict[str, Any], key: str, mode: str, a: str | None, b: str | None) -> Spread | None:
    """ops/s of ``a`` over ``b``, per repeat, summarised."""
    found = _samples(data, key, mode)
    if a not in found or b not in found:
        return None
    return spread([x.ops_per_s / y.ops_per_s for x, y in zip(found[a], found[b], strict=False)])


Target = tuple[str, str, bool | None]


def _judge(s: Spread | None, at_least: float) -> bool | None:
    return None if s is None else s.median >= at_least


def _text(s: Spread | None) -> str:
    return "not measured" if s is None else s.text


def targets(data: dict[str, Any]) -> list[Target]:
    """(target of issue 16, figure reached in this run, met) for targets 1-5."""
    out: list[Target] = []
    for mode in (SEQ, CONC):
        vs_floor = ratio(data, "get_many", mode, CW, floor_of(data, "get_many", mode))
        vs_aio = ratio(data, "get_many", mode, CW, best_of(data, "get_many", mode, AIOCACHE))
        out.append((f"1. get_many(100) into a model, {mode}: >= 1.0x the floor",
                    _text(vs_floor), _judge(vs_floor, 1.0)))  # fmt: skip
        out.append((f"1. get_many(100) into a model, {mode}: >= 1.5x aiocache (its faster "
                    "setting)", _text(vs_aio), _judge(vs_aio, 1.5)))  # fmt: skip
    for mode, at_least in ((SEQ, 0.95), (CONC, 3.0)):
        r = ratio(data, "aside", mode, CW, floor_of(data, "aside", mode))
        out.append((f"2. CacheAside.get hit, {mode}: >= {at_least}x the floor", _text(r),
                    _judge(r, at_least)))  # fmt: skip
    for mode in (SEQ, CONC):
        r = ratio(data, "tagged", mode, CW, CW + UNTAGGED)
        out.append((f"3. tagged set, {mode}: >= 0.8x a plain set", _text(r), _judge(r, 0.8)))
    for setting, found in data.get("stampede", {}).items():
        if setting.startswith("one process"):
            continue
        runs = found.get("cachewright CacheAside(lock=True)", [])
        if not runs:
            continue
        commands = spread([float(r.commands) for r in runs], unit="")
        loads = max(r.loader_calls for r in runs)
        late = spread([r.after_fill_max_ms for r in runs], unit="ms")
        if commands is None or late is None:
            continue
        out.append((f"4. stampede, {setting}: 1 load, <= 8 commands in all",
                    f"{loads} load(s) (worst repeat); commands {commands.median:.0f} "
                    f"({commands.low:.0f}-{commands.high:.0f})",
                    loads == 1 and commands.high <= 8))  # fmt: skip
        woken = spread([r.woken_max_ms for r in runs], unit="ms")
        told = ""
        if woken is not None:
            told = f"; last process woken {woken.median:.1f} ms ({woken.low:.1f}-{woken.high:.1f})"
        cpu = spread([r.cpu_max_ms for r in runs], unit="ms")
        if cpu is not None:
            told += f"; busiest process CPU {cpu.median:.1f} ms ({cpu.low:.1f}-{cpu.high:.1f})"
        out.append((f"4. stampede, {setting}: the slowest waiter returns <= 5 ms after the "
                    "loader", f"{late.median:.1f} ms ({late.low:.1f}-{late.high:.1f}){told}",
                    late.median <= 5))  # fmt: skip
    for label, rates in data.get("write-behind flush", {}).items():
        s = spread(rates, unit="/s")
        out.append((f"5. write-behind flush into PostgreSQL, batch {BATCH_SIZE:,}, {label}: "
                    ">= 50,000 rows/s", _text(s), _judge(s, 50_000)))  # fmt: skip
    accept = data.get("write-behind accept", {})
    for mode, found in accept.items():
        wb, raw = found.get("WriteBehind.set (Redis queue)"), found.get("redis-py SET PX")
        if wb and raw:
            r = spread([a.ops_per_s / b.ops_per_s for a, b in zip(wb, raw, strict=False)])
            out.append((f"5. Redis queue accepts, {mode}: >= 0.8x raw SETs", _text(r),
                        _judge(r, 0.8)))  # fmt: skip
    return out
