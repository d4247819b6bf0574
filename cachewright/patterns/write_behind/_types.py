"""What write-behind reports: stats, flush and close reports, typed dead letters.

Usage::

    stats = await profiles.stats()          # WriteBehindStats
    report = await profiles.flush()         # FlushReport(written=..., dead_lettered=...)
    report = await profiles.close()         # CloseReport(..., pending=0)
    for failed in await profiles.dead_letters():
        print(failed.key, failed.error)     # FailedWrite[int, Profile]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from cachewright.patterns.write_behind.queues.base import OpKind

__all__ = ["CloseReport", "FailedWrite", "FlushReport", "WriteBehindCounters", "WriteBehindStats"]

K = TypeVar("K")
V = TypeVar("V")


class WriteBehindCounters:
    """Plain counters bumped by the writer and the flusher (cheap on the hot path)."""

    __slots__ = ("batches", "cache_errors", "dead_lettered", "flushed", "released", "retries")

    def __init__(self) -> None:
        self.flushed = 0
        self.batches = 0
        self.retries = 0
        self.dead_lettered = 0
        self.released = 0
        self.cache_errors = 0


@dataclass(frozen=True, slots=True)
class WriteBehindStats:
    """A snapshot of one ``WriteBehind``.

    From the queue (shared by every process on a Redis queue): ``pending`` keys waiting
    or in flight, ``in_flight``, ``oldest_pending_age`` in seconds, ``coalesced`` puts
    that replaced a pending op, ``dead_letters`` held now. From this process:
    ``flushed`` ops written to the store, ``batches`` claimed, ``retries`` of store
    calls, ``dead_lettered`` ops, ``released`` ops handed back while the store was
    down, ``cache_errors`` cache writes that failed after the write was queued.
    """

    pending: int
    in_flight: int
    oldest_pending_age: float
    coalesced: int
    dead_letters: int
    flushed: int
    batches: int
    retries: int
    dead_lettered: int
    released: int
    cache_errors: int
    flusher_running: bool


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one ``flush()`` did: ops written, dead-lettered, and handed back unwritten."""

    written: int = 0
    dead_lettered: int = 0
    released: int = 0
    batches: int = 0

    def __add__(self, other: FlushReport) -> FlushReport:
        return FlushReport(
            self.written + other.written,
            self.dead_lettered + other.dead_lettered,
            self.released + other.released,
            self.batches + other.batches,
        )


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What ``close()`` left behind.

    ``pending`` writes are still in the queue, not lost (a Redis queue keeps them for
    another worker; a memory queue keeps them until the process exits, readable through
    ``stats``). ``error`` says why the final flush stopped early, if it did. ``pending``
    and ``dead_letters`` are None when the queue could not be asked (its server down).
    """

    flushed: FlushReport
    pending: int | None
    dead_letters: int | None
    timed_out: bool = False
    error: str | None = None

    @property
    def complete(self) -> bool:
        """True when every accepted write reached the store or the dead letters."""
        return self.pending == 0


@dataclass(frozen=True, slots=True)
class FailedWrite(Generic[K, V]):
    """A dead letter, decoded: the domain key, the value that was not written (``None``
    for a delete, or if it no longer decodes: ``raw`` keeps the bytes), the error."""

    id: str
    key: K | str
    op: OpKind
    value: V | None
    error: str
    failed_at: datetime
    raw: bytes | None = None
