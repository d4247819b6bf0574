"""A circuit breaker: stop hammering a dead server, probe it back (G6).

Usage::

    breaker = CircuitBreaker(threshold=5, reset_after=2.0)
    if breaker.allow():
        try:
            ...            # the call
        except CacheUnavailable:
            breaker.failure()
        else:
            breaker.success()

Closed: calls pass. After ``threshold`` consecutive failures it opens: calls are
refused at once for ``reset_after`` seconds. Then it half-opens: one probe call is let
through; success closes it, failure opens it again for another period.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]

log = logging.getLogger("cachewright.cache")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    __slots__ = (
        "_failures",
        "_opened_at",
        "_probing",
        "_state",
        "opens",
        "reset_after",
        "threshold",
    )

    def __init__(self, threshold: int = 5, reset_after: float = 2.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.opens = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._cooled():
            return BreakerState.HALF_OPEN
        return self._state

    def _cooled(self) -> bool:
        return time.monotonic() - self._opened_at >= self.reset_after

    def allow(self) -> bool:
        """Whether a call may go to the server now."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN and self._cooled():
            self._state = BreakerState.HALF_OPEN
            self._probing = False
        if self._state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        if self._state is not BreakerState.CLOSED:
            log.info("cache server answered again; circuit closed")
            self._state = BreakerState.CLOSED
            self._probing = False
        self._failures = 0

    def failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            if self._state is not BreakerState.OPEN:
                self.opens += 1
                log.warning(
                    "cache server unreachable after %d failure(s); circuit open for %.1fs",
                    self._failures,
                    self.reset_after,
                )
            self._state = BreakerState.OPEN
            self._opened_at = time.monotonic()
            self._probing = False
