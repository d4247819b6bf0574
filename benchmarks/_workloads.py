"""The workloads: what each contender does per operation, and how it is prepared.

Usage::

    for workload in WORKLOADS:
        await workload.prepare(contender)
        op = workload.op(contender)      # op(i) -> awaitable, or None: not offered
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks._contenders import Contender, user_dict

__all__ = ["BATCH", "KEYS", "WORKLOADS", "Workload"]

KEYS = 1000  # distinct keys a single-key workload cycles through
BATCH = 100  # keys per get_many / set_many

VALUES = [user_dict(i) for i in range(KEYS)]
BATCHES = [
    {f"b{j}": VALUES[j] for j in range(start, start + BATCH)} for start in range(0, KEYS, BATCH)
]
BATCH_KEYS = [list(batch) for batch in BATCHES]

Op = Callable[[int], Awaitable[Any]]


@dataclass(frozen=True)
class Workload:
    name: str
    n: int  # operations per sample (sequential); batch workloads count batches
    make: Callable[[Contender], Op]
    prepare: Callable[[Contender], Awaitable[None]] | None = None
    tags_only: bool = False
    #: also time each contender's plain set, interleaved (for "tagged vs plain")
    with_plain_set: bool = False

    def op(self, contender: Contender) -> Op | None:
        if self.tags_only and not contender.supports_tags:
            return None
        try:
            op = self.make(contender)
        except NotImplementedError:
            return None
        return op


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
    return lambda i: c.set(f"s{i % KEYS}", VALUES[i % KEYS])


def _get_hit(c: Contender) -> Op:
    return lambda i: c.get(f"h{i % KEYS}")


def _get_miss(c: Contender) -> Op:
    return lambda i: c.get(f"absent{i}")


def _get_model(c: Contender) -> Op:
    return lambda i: c.get_model(f"h{i % KEYS}")


def _get_many(c: Contender) -> Op:
    return lambda i: c.get_many_models(BATCH_KEYS[i % len(BATCH_KEYS)])


def _set_many(c: Contender) -> Op:
    return lambda i: c.set_many(BATCHES[i % len(BATCHES)])


def _incr(c: Contender) -> Op:
    return lambda i: c.incr(f"n{i % 100}")


def _tagged_set(c: Contender) -> Op:
    _supported(c, "tagged_set")
    return lambda i: c.tagged_set(f"t{i % KEYS}", VALUES[i % KEYS], "bench")


def workloads(scale: float) -> list[Workload]:
    def n(count: int) -> int:
        return max(64, int(count * scale))

    return [
        Workload("get hit", n(3000), _get_hit, _fill_hits),
        Workload("get miss", n(3000), _get_miss),
        Workload("set", n(3000), _set),
        Workload("incr", n(3000), _incr),
        Workload("get model (pydantic)", n(3000), _get_model, _fill_hits),
        Workload(f"get_many {BATCH} (pydantic)", n(400), _get_many, _fill_batches),
        Workload(f"set_many {BATCH} (ttl)", n(400), _set_many),
        Workload("tagged set", n(3000), _tagged_set, tags_only=True, with_plain_set=True),
    ]


WORKLOADS = workloads(1.0)
