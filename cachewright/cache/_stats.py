"""Counters kept by a Cache, and the snapshot ``Cache.stats()`` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CacheStats", "Counters"]


class Counters:
    """Plain integer counters: cheap to bump on the hot path."""

    __slots__ = (
        "corrupt",
        "deletes",
        "errors",
        "fail_open_reads",
        "fail_open_writes",
        "hits",
        "misses",
        "sets",
        "stale_hits",
        "type_mismatches",
    )

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.stale_hits = 0
        self.sets = 0
        self.deletes = 0
        self.errors = 0
        self.fail_open_reads = 0
        self.fail_open_writes = 0
        self.corrupt = 0
        self.type_mismatches = 0


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a cache's counters and, where available, its server's facts."""

    hits: int
    misses: int
    hit_ratio: float | None
    stale_hits: int
    sets: int
    deletes: int
    errors: int
    fail_open_reads: int
    fail_open_writes: int
    corrupt: int
    type_mismatches: int
    circuit_state: str
    circuit_opens: int
    backend: str
    server: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["server"] = dict(self.server)
        return data
