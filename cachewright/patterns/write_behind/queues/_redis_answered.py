"""Ending a flight again once Redis answers (a failover, a restart).

Usage (what ``RedisWriteQueue.complete`` and ``release`` do)::

    await until_answered(end_partition, within=claim_idle, closing=closing)

``complete`` and ``release`` are idempotent (each ends a flight only while its
``version:entry`` marker is still there), so a call whose server was unreachable, or
whose reply was lost, is simply made again: with short, growing pauses, until it
succeeds, the queue closes, or ``within`` seconds have passed (then other flushers
reclaim the entries anyway, after ``claim_idle``). Without it, the ops of a batch
written to the store during a failover would stay in flight for ``claim_idle`` and
be written again by whoever reclaims them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cachewright.errors import QueueUnavailable

__all__ = ["until_answered"]

_PAUSES = (0.05, 0.5)  # the first and the longest pause between two tries


async def until_answered(
    call: Callable[[], Awaitable[object]], *, within: float, closing: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pause = _PAUSES[0]
    while True:
        try:
            await call()
            return
        except QueueUnavailable:
            if closing.is_set() or loop.time() + pause >= deadline:
                raise
        try:
            async with asyncio.timeout(pause):
                await closing.wait()  # a closing queue stops trying at once
        except TimeoutError:
            pass
        pause = min(pause * 2, _PAUSES[1])
