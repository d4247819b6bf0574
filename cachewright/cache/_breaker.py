"""A circuit breaker: stop hammering a dead server, probe it back (G6, G14).

Usage::

    breaker = CircuitBreaker(threshold=5, reset_after=2.0)
    ticket = breaker.admit()
    if ticket is None:
        ...                      # refused: the circuit is open
    try:
        ...                      # the call
    except CacheUnavailable as exc:
        breaker.failure(exc)
    else:
        breaker.success()
    finally:
        breaker.release(ticket)  # frees a probe nobody judged (cancelled, a bug)

Closed: calls pass. After ``threshold`` consecutive failures it opens (``trip`` opens
it at once: a wrong password does not get better with retries): calls are refused for
``reset_after`` seconds. Then it half-opens: one probe call is let through; success
closes it, failure opens it again for another period. Whatever ends the probe, the
``finally`` releases its slot, so a probe that was cancelled or raised something
unexpected never leaves the breaker half-open for good (G14): the next call probes.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from cachewright._logs import Throttle

__all__ = ["BreakerState", "CircuitBreaker", "Ticket"]

log = logging.getLogger("cachewright.cache")

#: what ``admit`` hands out: 0 for a call of a closed circuit, else the probe's number
Ticket = int


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    __slots__ = (
        "_failures",
        "_log",
        "_opened_at",
        "_probe",
        "_probes",
        "_state",
        "opens",
        "reason",
        "reset_after",
        "threshold",
    )

    def __init__(self, threshold: int = 5, reset_after: float = 2.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0  # probes handed out so far (ticket numbers)
        self._probe = 0  # the probe in flight, 0 when none
        self._log = Throttle(log)
        self.opens = 0
        #: why the circuit last opened (a redacted message), for CircuitOpen
        self.reason = ""

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._cooled():
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def healthy(self) -> bool:
        """Closed with no failure counted: a success would change nothing."""
        return self._state is BreakerState.CLOSED and not self._failures

    def _cooled(self) -> bool:
        return time.monotonic() - self._opened_at >= self.reset_after

    def admit(self) -> Ticket | None:
        """None: refused. Otherwise a ticket to hand to :meth:`release` when done."""
        if self._state is BreakerState.CLOSED:
            return 0
        if self._state is BreakerState.OPEN and self._cooled():
            self._state = BreakerState.HALF_OPEN
            self._probe = 0
        if self._state is BreakerState.HALF_OPEN and not self._probe:
            self._probes += 1
            self._probe = self._probes
            return self._probe
        return None

    def allow(self) -> bool:
        """Whether a call may go now; prefer :meth:`admit` with :meth:`release`."""
        return self.admit() is not None

    def release(self, ticket: Ticket | None) -> None:
        """The call of ``ticket`` is over: a probe still unjudged frees its slot."""
        if ticket and ticket == self._probe:
            self._probe = 0

    def success(self) -> None:
        if self._state is not BreakerState.CLOSED:
            log.info("cache server answered again; circuit closed")
            self._state = BreakerState.CLOSED
            self._probe = 0
        self._failures = 0

    def failure(self, reason: object = "") -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            self._open(reason)

    def trip(self, reason: object) -> None:
        """Open now, whatever the count: a failure no retry will cure."""
        self._failures += 1
        self._open(reason)

    def _open(self, reason: object) -> None:
        if reason:
            self.reason = str(reason)
        if self._state is not BreakerState.OPEN:
            self.opens += 1
            self._log.warning(
                "cache circuit open for %.1fs after %d failure(s): %s",
                self.reset_after,
                self._failures,
                self.reason or "unreachable",
            )
        self._state = BreakerState.OPEN
        self._opened_at = time.monotonic()
        self._probe = 0
