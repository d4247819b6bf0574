"""Calls to a backend under the circuit breaker, counted and timed (G6).

Usage (what ``Cache`` does)::

    guard = Guard(breaker, counters, metrics, attributes, fail_open_writes=False)
    raw = await guard.read(None, backend.get, key)      # an outage reads as ``None``
    await guard.write(backend.set, key, data, ttl_ms)   # an outage raises, counted
    guard.write_failed(None, exc)                       # raise, or drop if fail-open

Reads fail open: an unreachable or failing server gives the caller's default, counted
as a fail-open read. Writes raise :class:`~cachewright.errors.CacheUnavailable` (or
:class:`~cachewright.errors.CircuitOpen` while the breaker is open) unless the cache
is configured to drop them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cachewright._metrics import Attributes, Metrics
from cachewright.cache._breaker import CircuitBreaker
from cachewright.cache._stats import Counters
from cachewright.errors import CacheError, CacheUnavailable, CircuitOpen

__all__ = ["Guard"]

log = logging.getLogger("cachewright.cache")

R = TypeVar("R")


class Guard:
    __slots__ = ("_attrs", "_counters", "_fail_open_writes", "_metrics", "breaker")

    def __init__(
        self,
        breaker: CircuitBreaker,
        counters: Counters,
        metrics: Metrics,
        attributes: Attributes,
        *,
        fail_open_writes: bool,
    ) -> None:
        self.breaker = breaker
        self._counters = counters
        self._metrics = metrics
        self._attrs = attributes
        self._fail_open_writes = fail_open_writes

    async def read(self, default: R, op: Callable[..., Awaitable[R]], *args: Any) -> R:
        """``op(*args)``, or ``default`` when the server fails or the breaker is open."""
        if not self.breaker.allow():
            self._counters.fail_open_reads += 1
            return default
        started = self._metrics.clock()
        try:
            result = await op(*args)
        except CacheUnavailable as exc:
            self.breaker.failure()
            self._error()
            self._counters.fail_open_reads += 1
            log.debug("cache read failed open: %s", exc)
            return default
        except CacheError as exc:
            self._error()
            self._counters.fail_open_reads += 1
            log.warning("cache read failed, treated as a miss: %s", exc)
            return default
        self._metrics.operation(started, self._attrs)
        self.breaker.success()
        return result

    async def write(self, op: Callable[..., Awaitable[R]], *args: Any) -> R:
        """``op(*args)``; CacheUnavailable (CircuitOpen while open) and CacheError are
        raised: the caller decides between :meth:`write_failed` and cleaning up."""
        if not self.breaker.allow():
            raise CircuitOpen("cache circuit is open")
        started = self._metrics.clock()
        try:
            result = await op(*args)
        except CacheUnavailable:
            self.breaker.failure()
            raise
        except CacheError:
            self._error()
            raise
        self._metrics.operation(started, self._attrs)
        self.breaker.success()
        return result

    def write_failed(self, default: R, exc: CacheUnavailable) -> R:
        """Count an unreachable server on a write; return ``default`` if writes fail
        open, else raise ``exc``."""
        self._error()
        if self._fail_open_writes:
            self._counters.fail_open_writes += 1
            log.debug("cache write dropped (fail-open): %s", exc)
            return default
        raise exc

    def _error(self) -> None:
        self._counters.errors += 1
        self._metrics.error(self._attrs)
