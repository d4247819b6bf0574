"""Warm-up: fill a cache-aside's keys up front, once or on a schedule.

Usage::

    report = await users.warmup(range(1, 10_001), concurrency=32)   # once
    print(report.loaded, report.skipped, report.missing, report.failed, report.duration)

    # Every five minutes, in the background, until the block ends:
    async with Warmup(users, keys=range(1, 10_001), interval=300,
                      on_report=lambda r: log.info("warm-up: %s", r)) as job:
        ...
        job.last_report, job.runs

    # Keys can be recomputed for each run (the current top sellers, say):
    Warmup(products, keys=repo.top_product_ids, interval=60)

A run reloads every key (``skip_cached=False`` by default) so that hot entries are
replaced before they expire; fills never overwrite a newer write (G10). One failing
key is reported in ``WarmupReport.failed`` without stopping the run, and a run that
fails as a whole (its key function raised, say) is logged and retried next interval.
The job runs on an ``aiojobs`` scheduler owned by the ``Warmup``; ``stop()`` lets the
run in progress finish for up to ``stop_timeout`` seconds, then cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from types import TracebackType
from typing import Generic, Self, TypeVar

import aiojobs

from cachewright.errors import ConfigurationError
from cachewright.patterns.aside._warming import Progress, WarmupReport
from cachewright.patterns.aside.cache_aside import CacheAside

__all__ = ["Warmup", "WarmupReport"]

log = logging.getLogger("cachewright.patterns")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

KeySource = Iterable[K] | Callable[[], Iterable[K] | Awaitable[Iterable[K]]]


class Warmup(Generic[K, V]):
    """A background job that warms ``aside`` with ``keys`` every ``interval`` seconds.

    Usage: see the module docstring. ``start()`` and ``stop()`` may be used instead
    of ``async with``; both are idempotent. ``run_once()`` runs a warm-up now, in the
    caller's task. ``on_report(report)`` is called after every run (sync or async).
    """

    __slots__ = (
        "_aside",
        "_batch_size",
        "_concurrency",
        "_interval",
        "_keys",
        "_last_report",
        "_on_report",
        "_progress",
        "_runs",
        "_scheduler",
        "_skip_cached",
        "_stop",
        "_stop_timeout",
    )

    def __init__(
        self,
        aside: CacheAside[K, V],
        *,
        keys: KeySource[K],
        interval: float,
        concurrency: int | None = None,
        batch_size: int = 500,
        skip_cached: bool = False,
        on_report: Callable[[WarmupReport], object] | None = None,
        progress: Progress | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        if interval <= 0:
            raise ConfigurationError(f"interval must be positive, not {interval!r}")
        self._aside = aside
        self._keys = keys
        self._interval = interval
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._skip_cached = skip_cached
        self._on_report = on_report
        self._progress = progress
        self._stop_timeout = stop_timeout
        self._scheduler: aiojobs.Scheduler | None = None
        self._stop: asyncio.Event | None = None
        self._last_report: WarmupReport | None = None
        self._runs = 0

    @property
    def runs(self) -> int:
        """Runs completed (with or without failed keys)."""
        return self._runs

    @property
    def last_report(self) -> WarmupReport | None:
        return self._last_report

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the periodic job (its first run begins at once)."""
        if self._scheduler is not None:
            return
        self._stop = asyncio.Event()
        self._scheduler = aiojobs.Scheduler(limit=1, close_timeout=self._stop_timeout)
        await self._scheduler.spawn(self._loop(self._stop), name="cachewright warm-up")

    async def stop(self) -> None:
        """Stop after the run in progress (cancelled after ``stop_timeout``)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        assert self._stop is not None
        self._stop.set()
        await scheduler.wait_and_close(timeout=self._stop_timeout)

    async def run_once(self) -> WarmupReport:
        """Warm every key now and report; ``on_report`` is called too."""
        keys = self._keys() if callable(self._keys) else self._keys
        if inspect.isawaitable(keys):
            keys = await keys
        report = await self._aside.warmup(
            keys,
            concurrency=self._concurrency,
            batch_size=self._batch_size,
            skip_cached=self._skip_cached,
            progress=self._progress,
        )
        self._runs += 1
        self._last_report = report
        if report.failed:
            log.warning(
                "warm-up: %d of %d keys failed, e.g. %r",
                len(report.failed),
                report.total,
                next(iter(report.failed.items())),
            )
        if self._on_report is not None:
            outcome = self._on_report(report)
            if inspect.isawaitable(outcome):
                await outcome
        return report

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("warm-up run failed; retrying in %ss", self._interval)
            # The interval is a timer, cut short by stop().
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
