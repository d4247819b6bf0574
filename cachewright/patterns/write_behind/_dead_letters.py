"""Dead letters as WriteBehind shows them: decoded into typed writes, and replayed.

Usage (what ``WriteBehind.dead_letters`` and ``replay_dead_letters`` do)::

    failed = [failed_write(dead, keys, values) for dead in await queue.dead_letters(100)]
    result = await replay(queue, None)        # every dead letter, in rounds of 1000

A dead letter that no longer decodes (its key or value type changed since) keeps its
raw form instead of failing the listing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from cachewright.errors import CachewrightError
from cachewright.patterns._keys import KeyMapper, ValueCodec
from cachewright.patterns.write_behind._types import FailedWrite
from cachewright.patterns.write_behind.queues.base import DeadLetter, ReplayResult, WriteQueue

__all__ = ["failed_write", "replay"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def failed_write(dead: DeadLetter, keys: KeyMapper[K], values: ValueCodec[V]) -> FailedWrite[K, V]:
    """A dead letter with its key and value decoded (raw when they no longer decode)."""
    key: K | str
    try:
        key = keys.domain_key(dead.key)
    except CachewrightError:
        key = dead.key
    value: V | None = None
    raw: bytes | None = None
    if dead.value is not None:
        try:
            value = values.decode(dead.value)
        except CachewrightError:
            raw = dead.value
    failed_at = datetime.fromtimestamp(dead.failed_at, tz=UTC)
    return FailedWrite(dead.id, key, dead.op, value, dead.error, failed_at, raw)


async def replay(queue: WriteQueue, ids: Iterable[str] | None) -> ReplayResult:
    """Queue the dead letters ``ids`` again (None: all of them, in rounds of 1000)."""
    if ids is not None:
        return await queue.replay(ids)
    result = ReplayResult()
    while batch := await queue.dead_letters(1000):
        step = await queue.replay([dead.id for dead in batch])
        result = ReplayResult(
            result.requeued + step.requeued,
            result.superseded + step.superseded,
            result.missing + step.missing,
        )
    return result
