"""Bounded concurrency for the default batch methods of ``BaseStore``.

Usage::

    values = await bounded_map(store.get, keys, limit=16)   # same order as ``keys``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["bounded_map"]

T = TypeVar("T")
R = TypeVar("R")


async def bounded_map(fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int) -> list[R]:
    """Await ``fn(item)`` for every item, at most ``limit`` at a time; results in input order.

    ``limit`` workers pull from one shared iterator, so a batch of 10,000 items costs
    ``limit`` tasks, not 10,000. The first failure cancels the other workers and is
    raised as itself (not wrapped in an ``ExceptionGroup``), so callers see the same
    exception a single call would have raised.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    results: dict[int, R] = {}
    pending = iter(enumerate(items))

    async def worker() -> None:
        # Sharing one iterator is safe: next() never yields to the event loop.
        for index, item in pending:
            results[index] = await fn(item)

    failure: BaseException | None = None
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        failure = errors.exceptions[0]
    if failure is not None:
        # Raised outside the except block so the error is not chained to the group.
        raise failure
    return [results[index] for index in range(len(items))]
