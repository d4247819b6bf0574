"""The workloads: what each contender does per operation, and how it is prepared.

Usage::

    for workload in workloads(scale=1.0):
        await workload.prepare(contender)
        op = workload.op(contender)      # op(i) -> awaitable, or None: not offered

Each workload runs sequentially (one task) and under 64 tasks; ``family`` groups
them for the charts of the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks._contenders import Contender, user_dict

__all__ = ["BATCH", "FAMILIES", "KEYS", "Workload", "plain_set", "workloads"]

KEYS = 1000  # distinct keys a single-key workload cycles through
BATCH = 100  # keys per get_many / set_many

VALUES = [user_dict(i) for i in range(KEYS)]
BATCHES = [
    {f"b{j}": VALUES[j] for j in range(start, start + BATCH)} for start in range(0, KEYS, BATCH)
]
BATCH_KEYS = [list(batch) for batch in BATCHES]

#: family -> title of its chart and section
FAMILIES = {
    "reads": "Reads",
    "aside": "Cache-aside hits",
    "writes": "Writes",
}

Op = Callable[[int], Awaitable[Any]]


@dataclass(frozen=True)
class Workload:
    key: str
    name: str
    family: str
    n: int  # operations per sample (sequential); batch workloads count batches
    make: Callable[[Contender], Op]
    prepare: Callable[[Contender], Awaitable[None]] | None = None
    tags_only: bool = False
    #: also time each contender's plain set, interleaved (for "tagged vs plain")
    with_plain_set: bool = False

    def op(self, contender: Contender) -> Op | None:
        if self.tags_only and not contender.supports_tags:
            return None
        if contender.only is not None and self.key not in contender.only:
            return None
        try:
            return self.make(contender)
        except NotImplementedError:
            return None


async def _fill_hits(c: Contender) -> None:
    for start in range(0, KEYS, BATCH):
        await c.set_many({f"h{i}": VALUES[i] for i in range(start, start + BATCH)})


async def _fill_batches(c: Contender) -> None:
    for batch in BATCHES:
        await c.set_many(batch)


def _supported(c: Contender, method: str) -> None:
    if getattr(type(c), method) is getattr(Contender, method):
        raise NotImplementedError(method)


def plain_set(c: Contender) -> Op:
    return _set(c)


def _set(c: Contender) -> Op:
    _supported(c, "set")
    return lambda i: c.set(f"s{i % KEYS}", VALUES[i % KEYS])


def _get_hit(c: Contender) -> Op:
    _supported(c, "get")
    return lambda i: c.get(f"h{i % KEYS}")


def _get_many(c: Contender) -> Op:
    _supported(c, "get_many_models")
    return lambda i: c.get_many_models(BATCH_KEYS[i % len(BATCH_KEYS)])


def _set_many(c: Contender) -> Op:
    _supported(c, "set_many")
    return lambda i: c.set_many(BATCHES[i % len(BATCHES)])


def _tagged_set(c: Contender) -> Op:
    _supported(c, "tagged_set")
    return lambda i: c.tagged_set(f"t{i % KEYS}", VALUES[i % KEYS], "bench")


async def _load(i: int) -> dict[str, Any]:
    await asyncio.sleep(0)  # a loader that never runs during the measurement
    return VALUES[i % KEYS]


_ASIDES: dict[int, Op] = {}


def _aside(c: Contender) -> Op:
    """The contender's cache-aside getter, built once per contender, hits only."""
    if id(c) not in _ASIDES:
        get = c.aside(_load)
        _ASIDES[id(c)] = lambda i: get(i % KEYS)
    return _ASIDES[id(c)]


async def _fill_aside(c: Contender, count: int = KEYS) -> None:
    """Load the first ``count`` keys (the ones a sample of ``count`` ops reads)."""
    get = _aside(c)
    for start in range(0, count, BATCH):  # misses of distinct keys, a batch at a time
        await asyncio.gather(*(get(i) for i in range(start, min(count, start + BATCH))))


def workloads(scale: float) -> list[Workload]:
    def n(count: int) -> int:
        return max(64, int(count * scale))

    return [
        Workload("get", "get hit", "reads", n(2000), _get_hit, _fill_hits),
        Workload(
            "get_many", f"get_many {BATCH} into a model", "reads", n(300), _get_many, _fill_batches
        ),
        Workload(
            "aside",
            "CacheAside.get hit",
            "aside",
            n(2000),
            _aside,
            partial(_fill_aside, count=min(KEYS, n(2000))),
        ),
        Workload("set", "set", "writes", n(2000), _set),
        Workload(
            "tagged",
            "tagged set",
            "writes",
            n(2000),
            _tagged_set,
            tags_only=True,
            with_plain_set=True,
        ),
        Workload("set_many", f"set_many {BATCH} (ttl)", "writes", n(300), _set_many),
    ]
