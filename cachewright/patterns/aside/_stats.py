"""Counters of one CacheAside: what its loads, fills and locks did.

Usage::

    stats = await users.stats()
    stats.loads, stats.load_errors, stats.stale_served, stats.fills_refused
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AsideCounters", "CacheAsideStats"]


@dataclass(frozen=True, slots=True)
class CacheAsideStats:
    """A snapshot of a CacheAside's counters (this process only).

    - ``loads``: keys loaded (a batch counts each of its keys); ``load_errors``: keys
      whose load raised.
    - ``stale_served``: stale entries returned while a refresh ran in the background.
    - ``refreshes``: background refreshes started (stale entries and early refreshes).
    - ``fills``: entries written; ``fills_refused``: fills dropped because a write, a
      delete or an invalidation reached the key while loading (G10); ``fills_failed``:
      fills the cache could not take (unreachable), the loaded value was still returned.
    - ``lock_waits``: waits on another process's fill; ``lock_timeouts``: waits given up.
    - ``extended``: stale entries a conditional refresh kept (``NotModified``);
      ``loader_timeouts``: keys whose caller stopped waiting for their load (soft or
      hard timeout; a ``get_many`` counts each missing key);
      ``fail_safe``: stale entries kept in service because their reload failed
      (served to the reader, or left in place by a warm-up).
    """

    loads: int
    load_errors: int
    stale_served: int
    refreshes: int
    fills: int
    fills_refused: int
    fills_failed: int
    lock_waits: int
    lock_timeouts: int
    extended: int = 0
    loader_timeouts: int = 0
    fail_safe: int = 0


class AsideCounters:
    __slots__ = (
        "extended",
        "fail_safe",
        "fills",
        "fills_failed",
        "fills_refused",
        "load_errors",
        "loader_timeouts",
        "loads",
        "lock_timeouts",
        "lock_waits",
        "refreshes",
        "stale_served",
    )

    def __init__(self) -> None:
        self.loads = 0
        self.load_errors = 0
        self.stale_served = 0
        self.refreshes = 0
        self.fills = 0
        self.fills_refused = 0
        self.fills_failed = 0
        self.lock_waits = 0
        self.lock_timeouts = 0
        self.extended = 0
        self.loader_timeouts = 0
        self.fail_safe = 0

    def snapshot(self) -> CacheAsideStats:
        return CacheAsideStats(
            loads=self.loads,
            load_errors=self.load_errors,
            stale_served=self.stale_served,
            refreshes=self.refreshes,
            fills=self.fills,
            fills_refused=self.fills_refused,
            fills_failed=self.fills_failed,
            lock_waits=self.lock_waits,
            lock_timeouts=self.lock_timeouts,
            extended=self.extended,
            loader_timeouts=self.loader_timeouts,
            fail_safe=self.fail_safe,
        )
