"""Turning ttl, sliding, expires_at and stale_ttl arguments into one write plan."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cachewright.errors import ConfigurationError

__all__ = ["Expiry", "Ttl", "now_ms", "plan_expiry", "to_ms"]

Ttl = float | int | timedelta | None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(value: float | int | timedelta, what: str = "ttl") -> int:
    if isinstance(value, bool):
        raise ConfigurationError(f"{what} must be seconds or a timedelta, not a bool")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"{what} must be a finite number of seconds, got {value!r}")
    if isinstance(value, timedelta):
        ms = int(value.total_seconds() * 1000)
    elif isinstance(value, int | float):
        ms = int(value * 1000)
    else:
        raise ConfigurationError(
            f"{what} must be seconds or a timedelta, not {type(value).__name__}"
        )
    if ms <= 0:
        raise ConfigurationError(f"{what} must be positive, got {value!r}")
    return ms


@dataclass(frozen=True, slots=True)
class Expiry:
    """How long the server keeps the entry, and what its envelope records."""

    ttl_ms: int | None  # server-side life; None: no expiry
    expires_at_ms: int  # absolute end of the entry (wall ms), 0: none
    sliding_ms: int
    fresh_until_ms: int
    written_at_ms: int


def plan_expiry(
    ttl: Ttl,
    *,
    sliding: float | int | timedelta | None = None,
    expires_at: datetime | None = None,
    stale_ttl: float | int | timedelta | None = None,
) -> Expiry:
    """Combine the expiry options of one write.

    - ``ttl``: life in seconds or a timedelta; with ``sliding`` it is the absolute cap.
    - ``expires_at``: an absolute deadline (aware datetime; naive means UTC).
    - ``sliding``: each read extends the life by this window, never past the cap (G4).
    - ``stale_ttl``: the entry outlives its ``ttl`` by this grace, read as stale (G8).
    """
    written = now_ms()
    deadline = 0
    if ttl is not None:
        deadline = written + to_ms(ttl)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        absolute = int(expires_at.timestamp() * 1000)
        if absolute <= written:
            raise ConfigurationError("expires_at is in the past")
        deadline = min(deadline, absolute) if deadline else absolute
    if sliding is not None:
        if stale_ttl is not None:
            raise ConfigurationError("sliding and stale_ttl cannot be combined")
        window = to_ms(sliding, "sliding")
        life = window if not deadline else min(window, deadline - written)
        return Expiry(life, deadline, window, 0, written)
    if stale_ttl is not None:
        if not deadline:
            raise ConfigurationError("stale_ttl needs a ttl or expires_at")
        end = deadline + to_ms(stale_ttl, "stale_ttl")
        return Expiry(end - written, end, 0, deadline, written)
    return Expiry(deadline - written if deadline else None, deadline, 0, 0, written)
