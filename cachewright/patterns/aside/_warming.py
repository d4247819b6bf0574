"""Warm-up orchestration: chunks, bounded concurrency, progress and the report.

Usage (what ``CacheAside.warmup`` does)::

    report = await run_warmup(keys, warm_chunk, batch_size=500, workers=4, progress=cb)
    report.loaded, report.skipped, report.missing, report.failed, report.duration

``warm_chunk`` loads and fills one chunk and says what happened to each key; it is
the CacheAside's business. A chunk that raises marks its keys failed with that error;
the other chunks go on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cachewright.patterns.aside._loader import bounded_each

__all__ = ["ChunkResult", "Progress", "WarmupReport", "run_warmup"]

K = TypeVar("K", bound=Hashable)

#: ``progress(done, total)``, called after each chunk
Progress = Callable[[int, int], object]


@dataclass(frozen=True, slots=True)
class WarmupReport:
    """What a warm-up did.

    Usage::

        report = await users.warmup(range(1, 10_001))
        if not report.ok:
            log.warning("warm-up: %d failed, first: %r", len(report.failed), report.failed)

    ``loaded``: keys read from the loader (and written unless a newer write won);
    ``skipped``: keys already cached and fresh; ``missing``: keys the loader had no
    value for; ``failed``: key -> the exception its load raised (the loader's own
    object, unchanged, with a note naming the key); ``duration``: seconds.
    """

    loaded: int
    skipped: int
    missing: int
    failed: Mapping[Any, Exception]
    duration: float

    @property
    def total(self) -> int:
        return self.loaded + self.skipped + self.missing + len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(slots=True)
class ChunkResult:
    loaded: int = 0
    skipped: int = 0
    missing: int = 0
    failed: dict[Any, Exception] = field(default_factory=dict)


async def run_warmup(
    keys: Sequence[K],
    warm_chunk: Callable[[list[K]], Awaitable[ChunkResult]],
    *,
    batch_size: int,
    workers: int,
    progress: Progress | None = None,
) -> WarmupReport:
    """Run ``warm_chunk`` over ``keys`` in chunks of ``batch_size``, ``workers`` at once."""
    started = time.perf_counter()
    chunks = [list(keys[i : i + batch_size]) for i in range(0, len(keys), batch_size)]
    total = ChunkResult()
    done = 0

    async def one(chunk: list[K]) -> None:
        nonlocal done
        try:
            result = await warm_chunk(chunk)
        except Exception as exc:
            result = ChunkResult(failed=dict.fromkeys(chunk, exc))
        total.loaded += result.loaded
        total.skipped += result.skipped
        total.missing += result.missing
        total.failed.update(result.failed)
        done += len(chunk)
        if progress is not None:
            progress(done, len(keys))

    for outcome in await bounded_each(one, chunks, workers):
        if isinstance(outcome, BaseException):
            raise outcome  # only the progress callback can fail here: the caller's bug
    return WarmupReport(
        loaded=total.loaded,
        skipped=total.skipped,
        missing=total.missing,
        failed=total.failed,
        duration=time.perf_counter() - started,
    )
