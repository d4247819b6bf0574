"""WriteBehind's pending gauges: the queue's backlog, as of the last look at it.

Usage (what ``WriteBehind.start``, ``flush``, ``stats`` and ``close`` do)::

    gauges = PendingGauges(cache.metrics, attributes)
    gauges.watch()                      # at start; idempotent
    await gauges.observe(queue)         # after a flush round, only while watched
    gauges.show(await queue.stats())    # a stats() call refreshes them too
    gauges.stop()                       # at close

The metrics SDK reads gauges synchronously, so they cannot ask the queue: they show
the pending count and the oldest pending age the pattern last saw.
"""

from __future__ import annotations

from collections.abc import Callable

from cachewright._metrics import Attributes, Metrics
from cachewright.patterns.write_behind.queues.base import QueueStats, WriteQueue

__all__ = ["PendingGauges"]


class PendingGauges:
    __slots__ = ("_attributes", "_last", "_metrics", "_stop")

    def __init__(self, metrics: Metrics, attributes: Attributes) -> None:
        self._metrics = metrics
        self._attributes = attributes
        self._last: tuple[int, float | None] = (0, None)
        self._stop: Callable[[], None] | None = None

    def watch(self) -> None:
        """Register the gauges with the metrics (once)."""
        if self._stop is None:
            self._stop = self._metrics.watch_pending(lambda: self._last, self._attributes)

    def show(self, stats: QueueStats) -> None:
        """What the gauges report until the next look at the queue."""
        self._last = (stats.pending, stats.oldest_pending_age)

    async def observe(self, queue: WriteQueue) -> None:
        """Refresh the gauges from ``queue``; no queue call when nothing watches them."""
        if self._stop is not None:
            self.show(await queue.stats())

    def stop(self) -> None:
        """Unregister the gauges (if they were registered)."""
        if self._stop is not None:
            self._stop()
