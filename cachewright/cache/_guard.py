"""Calls to a backend under the circuit breaker, timed out, counted and timed (G6, G14).

Usage (what ``Cache`` does)::

    guard = Guard(breakers, counters, metrics, attributes, fail_open_writes=False,
                  read_timeout=0.5, write_timeout=1.0)
    raw = await guard.read(None, backend.get, key, at=key)   # an outage reads as ``None``
    await guard.write(backend.set, key, data, ttl_ms, at=key)   # an outage raises, counted
    await guard.write(backend.delete_pattern, glob, bulk=True)   # no whole-call deadline
    raws = await guard.read_many(keys, backend.get_many)     # per node: misses where down
    await guard.write_many(backend.set_many, items, first, tags)   # names the nodes down
    guard.write_failed(None, exc)                       # raise, or drop if fail-open

Breakers: ``at`` names the key whose node's breaker (:mod:`._breakers`) guards the
call; calls spanning every node (``at`` omitted) have a breaker of their own. A batch
is split by node, one call per node, concurrently: a dead node fails only its keys.
A refused call asks for the topology to be looked up again (rate limited), so keys
follow a failover to the promoted node. ``CacheUnavailable.answered`` errors (a live
node refusing while its cluster fails over) fail the call without counting against
that node's breaker.

Reads fail open: an unreachable or failing server gives the caller's default, counted
as a fail-open read. Writes raise :class:`~cachewright.errors.CacheUnavailable` (or
:class:`~cachewright.errors.CircuitOpen` while the breaker is open) unless the cache
is configured to drop them.

Deadlines: a read gets ``read_timeout`` and a write ``write_timeout`` for the whole
call (waiting for a pooled connection, connecting, sending and the reply); past it the
call is cancelled (redis-py drops a connection cancelled mid-reply) and counts as an
outage (one timer for every call in flight, at most 10 ms late:
:mod:`cachewright._deadlines`).
Bulk calls (pattern deletes, tag invalidation) cost in proportion to what they
remove, so only each of their round trips is bounded, by the client's socket timeout.

A refused password or permission (:class:`~cachewright.errors.AccessDenied`), or a
server without a command we need (:class:`~cachewright.errors.ConfigurationError`),
opens the breaker at once: it is logged once a minute, not once per call. Whatever
ends a call (a reply, an error, a cancellation, a bug) releases its breaker ticket,
so a half-open probe can never be lost (G14).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cachewright._deadlines import Deadlines
from cachewright._logs import Throttle
from cachewright._metrics import Attributes, Metrics
from cachewright.cache._breaker import CircuitBreaker
from cachewright.cache._breakers import ALL_NODES, Breakers
from cachewright.cache._stats import Counters
from cachewright.errors import (
    AccessDenied,
    CacheError,
    CacheUnavailable,
    CircuitOpen,
    ConfigurationError,
)

__all__ = ["Guard"]

log = logging.getLogger("cachewright.cache")

R = TypeVar("R")
T = TypeVar("T")


class Guard:
    __slots__ = (
        "_attrs",
        "_check",
        "_check_lock",
        "_counters",
        "_deadlines",
        "_fail_open_writes",
        "_log",
        "_metrics",
        "_read_timeout",
        "_refused",
        "_write_timeout",
        "breakers",
    )

    def __init__(
        self,
        breakers: Breakers,
        counters: Counters,
        metrics: Metrics,
        attributes: Attributes,
        *,
        fail_open_writes: bool,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        check: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.breakers = breakers
        self._counters = counters
        self._metrics = metrics
        self._attrs = attributes
        self._fail_open_writes = fail_open_writes
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._deadlines = Deadlines()
        self._log = Throttle(log)
        # The server's capabilities, checked before the first call that reaches it
        # (then never again); a refusal is remembered.
        self._check = check
        self._check_lock = asyncio.Lock()
        self._refused: ConfigurationError | None = None

    async def read(
        self, default: R, op: Callable[..., Awaitable[R]], *args: Any, at: str | None = None
    ) -> R:
        """``op(*args)``, or ``default`` when the server fails or the breaker of the node
        serving ``at`` is open."""
        breaker = self.breakers.at(at)
        ticket = breaker.admit()
        if ticket is None:
            self.breakers.refused()
            self._counters.fail_open_reads += 1
            return default
        started = self._metrics.clock()
        try:
            if self._check is not None:
                await self._within(self._read_timeout, "read_timeout", self._checked, ())
            timeout = self._read_timeout
            if timeout is None:
                result = await op(*args)
            else:  # _within's work, without its frame: this runs for every read
                try:
                    result = await self._deadlines.run(timeout, op, args)
                except TimeoutError:
                    raise _timed_out(timeout, "read_timeout") from None
        except (AccessDenied, CacheUnavailable, CacheError, ConfigurationError) as exc:
            return self._judge_read(breaker, exc, default)
        else:
            self._metrics.operation(started, self._attrs)
            breaker.success()
            return result
        finally:
            if ticket:  # a probe's (0: no probe, nothing to release)
                breaker.release(ticket)

    def _judge_read(self, breaker: CircuitBreaker, exc: Exception, default: R) -> R:
        """What a failed read does to the breaker and counters; ``default`` then."""
        if isinstance(exc, AccessDenied):  # no retry helps: open now, say it (once a minute)
            breaker.trip(exc)
            self._failed_read()
            self._log.error("cache read failed, treated as a miss: %s", exc)
        elif isinstance(exc, CacheUnavailable):
            if not exc.answered:
                breaker.failure(exc)
                self.breakers.opened(breaker)
            self._failed_read()
            log.debug("cache read failed open: %s", exc)
        elif isinstance(exc, CacheError):
            breaker.success()  # the server answered, with an error: it is up
            self._failed_read()
            self._log.warning("cache read failed, treated as a miss: %s", exc)
        else:  # ConfigurationError: a refused password, a missing command
            breaker.trip(exc)
            self._failed_read()
            self._log.error("cache read failed, treated as a miss: %s", exc)
        return default

    # -- reads made outside the loop (the sync API's direct reads) ---------------------

    def ready(self, at: str) -> bool:
        """Whether a read of ``at`` made elsewhere (a thread's own connection) would be
        judged as this guard judges it with nothing to do: the server's capabilities
        are checked and the breaker of its node is closed with no failure counted (so
        a success would change nothing). Reads state only: safe from any thread."""
        return self._check is None and self.breakers.healthy(at)

    def read_failed(self, default: R, exc: Exception, at: str) -> R:
        """Judge a read of ``at`` that failed elsewhere with ``exc`` (a cachewright
        error) exactly as :meth:`read` judges its own: breaker, counters, logs, then
        ``default``. Any other exception is raised again. On the loop only."""
        if not isinstance(exc, (AccessDenied, CacheUnavailable, CacheError, ConfigurationError)):
            raise exc
        return self._judge_read(self.breakers.at(at), exc, default)

    def read_succeeded(self, at: str) -> None:
        """A read of ``at`` made elsewhere succeeded: what :meth:`read` does then with
        the breaker (resets a failure counted meanwhile). On the loop only."""
        self.breakers.at(at).success()

    async def write(
        self,
        op: Callable[..., Awaitable[R]],
        *args: Any,
        bulk: bool = False,
        at: str | None = None,
    ) -> R:
        """``op(*args)``; CacheUnavailable (CircuitOpen while the breaker of the node
        serving ``at`` is open, AccessDenied), CacheError and ConfigurationError are
        raised: the caller decides between :meth:`write_failed` and cleaning up.
        ``bulk``: no deadline on the whole call."""
        breaker = self.breakers.at(at)
        ticket = breaker.admit()
        if ticket is None:
            self.breakers.refused()
            reason = f": {breaker.reason}" if breaker.reason else ""
            node = self.breakers.node_of(at)
            where = "" if node == ALL_NODES else f" for {node}"
            raise CircuitOpen(f"cache circuit is open{where}{reason}")
        started = self._metrics.clock()
        try:
            if self._check is not None:
                await self._within(self._write_timeout, "write_timeout", self._checked, ())
            timeout = None if bulk else self._write_timeout
            result = await self._within(timeout, "write_timeout", op, args)
        except AccessDenied as exc:
            breaker.trip(exc)
            self._log.error("cache write failed: %s", exc)
            raise
        except CacheUnavailable as exc:
            if not exc.answered:
                breaker.failure(exc)
                self.breakers.opened(breaker)
            raise
        except CacheError:
            breaker.success()  # the server answered, with an error: it is up
            self._error()
            raise
        except ConfigurationError as exc:
            breaker.trip(exc)
            self._error()
            self._log.error("cache write failed: %s", exc)
            raise
        else:
            self._metrics.operation(started, self._attrs)
            breaker.success()
            return result
        finally:
            breaker.release(ticket)

    async def read_many(
        self, keys: Sequence[str], op: Callable[[Sequence[str]], Awaitable[list[bytes | None]]]
    ) -> list[bytes | None]:
        """``op(keys)`` per node, concurrently: the keys of a node that fails (or whose
        breaker is open) read as misses, the others are served."""
        groups = self.breakers.group(keys)
        misses: list[bytes | None] = [None] * len(keys)
        if len(groups) <= 1:
            return await self.read(misses, op, keys, at=keys[0] if keys else None)
        values = list(misses)

        async def one(positions: list[int]) -> None:
            part = [keys[i] for i in positions]
            none: list[bytes | None] = [None] * len(part)
            found = await self.read(none, op, part, at=part[0])
            for i, value in zip(positions, found, strict=True):
                values[i] = value

        await asyncio.gather(*(one(positions) for positions in groups.values()))
        return values

    async def write_many(
        self,
        op: Callable[..., Awaitable[R]],
        items: Sequence[T],
        key_of: Callable[[T], str],
        *args: Any,
    ) -> list[R]:
        """``op(items_of_a_node, *args)`` per node, concurrently; each node's result.

        If some nodes fail, the others' writes stand and ``CacheUnavailable`` names the
        nodes that failed (any other error is raised as it came)."""
        groups = self.breakers.group([key_of(item) for item in items])
        if len(groups) <= 1:
            at = key_of(items[0]) if items else None
            return [await self.write(op, items, *args, at=at)]

        async def one(positions: list[int]) -> R:
            part = [items[i] for i in positions]
            return await self.write(op, part, *args, at=key_of(part[0]))

        outcomes = await asyncio.gather(
            *(one(positions) for positions in groups.values()), return_exceptions=True
        )
        failed = {
            n: e for n, e in zip(groups, outcomes, strict=True) if isinstance(e, BaseException)
        }
        for exc in failed.values():
            if not isinstance(exc, CacheUnavailable):
                raise exc  # a server error, a refusal, a cancellation: as it came
        if failed:
            first = next(iter(failed.values()))
            error = CacheUnavailable(
                f"cache write failed on {len(failed)} of {len(groups)} nodes"
                f" ({', '.join(sorted(failed))}); the other nodes' items are written: {first}"
            )
            raise error from first
        return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]

    def write_failed(self, default: R, exc: CacheUnavailable) -> R:
        """Count an unreachable server on a write; return ``default`` if writes fail
        open, else raise ``exc``."""
        self._error()
        if self._fail_open_writes:
            self._counters.fail_open_writes += 1
            log.debug("cache write dropped (fail-open): %s", exc)
            return default
        raise exc

    async def _checked(self) -> None:
        """Run the capability check once; a refusal is raised again, fresh, each time."""
        async with self._check_lock:
            if self._refused is not None:
                raise ConfigurationError(str(self._refused))
            check = self._check
            if check is None:
                return
            try:
                await check()
            except ConfigurationError as exc:
                self._refused = exc
                raise
            self._check = None

    async def _within(
        self, seconds: float | None, name: str, op: Callable[..., Awaitable[R]], args: Any
    ) -> R:
        """``op(*args)`` within ``seconds`` (None: no deadline); past it, CacheUnavailable."""
        if seconds is None:
            return await op(*args)
        try:
            return await self._deadlines.run(seconds, op, args)
        except TimeoutError:
            raise _timed_out(seconds, name) from None

    def _failed_read(self) -> None:
        self._error()
        self._counters.fail_open_reads += 1

    def _error(self) -> None:
        self._counters.errors += 1
        self._metrics.error(self._attrs)


def _timed_out(seconds: float, name: str) -> CacheUnavailable:
    return CacheUnavailable(f"no answer from the cache server within {name} ({seconds:g} s)")
