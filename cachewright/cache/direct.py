"""Direct reads: ``Cache.get`` served in a calling thread, on a sync connection of its own.

The seam the synchronous API (:mod:`cachewright.sync`) reads through: a module of the
cache package it may import, not part of the user API (nothing here is re-exported).

Usage (what ``cachewright.sync.Cache.get`` does)::

    direct = DirectReads.of(engine)           # None: this configuration reads on the loop
    reader = direct.reader()                  # one per thread: its connection, its counters
    found = reader.get("user:1", User)        # the value, None, or a Handoff
    if isinstance(found, Handoff):            # the loop finishes it: no I/O is repeated
        found = runtime.call(direct.finish(found, User))
    reader.close()

Why this is ``Cache.get`` itself, not a copy of it. ``Cache.get`` is ``ReadPath.lookup``
then "a fresh entry's value, else None"; ``lookup`` without a local tier is one GET
under ``Guard.read``, then ``found`` (``classify``: decode and count; then slide a
sliding entry). It fires no event. A direct read is offered only where each step can
run in another thread with the same effect:

- the configuration (checked once, by :meth:`DirectReads.of`): no local tier (its
  store is not thread-safe, and its hits answer before Redis); a standalone Redis
  server read through the backend's client (no Sentinel: the primary moves; no
  Cluster: slots move; no replica reads), whose pool the backend can copy
  (:meth:`RedisBackend.sync_connection`); metrics that are thread-safe (none, or
  OpenTelemetry's).
- the guard (checked on each read, by :meth:`Guard.ready`): the server's capabilities
  are checked, and the breaker of its node is closed with no failure counted, so that
  ``Guard.read`` would admit the call and a success would change nothing. The breaker
  is only read from the thread, never changed. A deadline of ``read_timeout`` bounds
  ``Guard.read``; the connection has it as its socket timeout.
- the GET itself: the backend's error map turns redis-py errors into the same typed
  errors. A failed GET is handed to the loop with its error (:meth:`finish`):
  ``Guard.read_failed`` judges it as ``Guard.read`` would (breaker, counters, logs:
  fail-open), then it counts as the miss ``lookup`` counts. Nothing is sent again,
  so no call waits twice. If the breaker counted a failure while the GET was out,
  the loop hears of the success too (``Guard.read_succeeded``), as ``read`` resets it.
- the decode: the engine's own ``ReadPath.classify``, with this thread's counters (a
  shard of the cache's: exact across threads, summed by ``stats()``). A sliding entry
  (G4) is handed to the loop with the bytes read: ``ReadPath.found`` classifies it
  there and extends its life, as ``lookup`` does. Any other outcome needs nothing
  more from ``Cache.get`` once ``classify`` has counted it, so the thread answers it:
  a fresh hit (its value), a stale entry (None, a stale hit), a lease or a corrupt
  entry (None, a miss), a type mismatch (raised, or a miss, as configured).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

import redis

from cachewright._metrics import NOOP, OtelMetrics
from cachewright.cache._expiry import now_ms
from cachewright.cache._reads import ReadPath
from cachewright.cache._serializer import sliding_life
from cachewright.cache._stats import Counters
from cachewright.cache.backends.redis import RedisBackend
from cachewright.cache.entry import Entry
from cachewright.errors import CachewrightError

if TYPE_CHECKING:
    from cachewright.cache._cache import Cache
    from cachewright.cache._setup import Parts

__all__ = ["DirectReads", "Handoff", "ThreadReader"]

log = logging.getLogger("cachewright.cache")


class Handoff:
    """A direct read the loop finishes: a failure to judge, or bytes to finish reading."""

    __slots__ = ("error", "judge", "now", "physical", "raw")

    def __init__(
        self,
        physical: str,
        raw: bytes | None,
        now: int,
        *,
        error: Exception | None = None,
        judge: bool = False,
    ) -> None:
        self.physical = physical
        self.raw = raw
        self.now = now
        self.error = error
        self.judge = judge


#: what :meth:`ThreadReader.get` returns when the read must go through the loop whole
NOT_DIRECT: Any = Handoff("", None, 0)


class DirectReads:
    """What a cache's direct reads share: its parts, and the readers of its threads."""

    __slots__ = ("_backend", "_free", "_parts", "_timeout")

    def __init__(self, parts: Parts, backend: RedisBackend, timeout: float) -> None:
        self._parts = parts
        self._backend = backend
        self._timeout = timeout
        # the counters' shards of readers gone with their threads, for the next ones
        self._free: list[Counters] = []

    @classmethod
    def of(cls, cache: Cache) -> DirectReads | None:
        """Direct reads for ``cache``, or None where they would not be ``Cache.get``
        (see the module doc)."""
        parts: Parts = cache._parts  # noqa: SLF001  # the cache package's own parts
        backend = parts.backend
        if not isinstance(backend, RedisBackend) or parts.read_from is not backend:
            return None
        if parts.local is not None or parts.coherence is not None:
            return None
        if parts.metrics is not NOOP and not isinstance(parts.metrics, OtelMetrics):
            return None  # a Metrics of the user's: maybe not thread-safe
        timeout = parts.settings.read_timeout
        probe = backend.sync_connection(timeout)
        if probe is None:
            return None
        return cls(parts, backend, timeout)

    def reader(self) -> ThreadReader | None:
        """A reader for the calling thread (its own connection, not yet connected).

        One caller at a time (the sync side holds a lock). When the reader is
        collected (its thread ended), its connection is closed and its counters'
        shard, whose counts stay in the totals, goes to the next reader made."""
        conn = self._backend.sync_connection(self._timeout)
        if conn is None:
            return None
        parts = self._parts
        if self._free:
            counters = self._free.pop()
        else:
            counters = Counters()
            parts.counters.add_shard(counters)
        reads = ReadPath(
            parts.keys, parts.backend, parts.serializer, parts.guard, counters,
            parts.metrics, parts.mattrs,
        )  # fmt: skip
        reader = ThreadReader(self, conn, reads)
        weakref.finalize(reader, _retire, conn, counters, self._free).atexit = False
        return reader

    async def finish(self, handoff: Handoff, tp: Any) -> Any:
        """On the loop: what ``Cache.get`` does after its GET, for a handed-off read."""
        parts = self._parts
        physical, raw = handoff.physical, handoff.raw
        if handoff.error is not None:
            parts.guard.read_failed(None, handoff.error, physical)
            raw = None
        elif handoff.judge:
            parts.guard.read_succeeded(physical)
        if raw is None:
            parts.reads.missed()
            return None
        found = await parts.reads.found(physical, raw, tp, handoff.now)
        return found.value if isinstance(found, Entry) and not found.stale else None


def _retire(
    conn: redis.Connection | redis.UnixDomainSocketConnection,
    counters: Counters,
    free: list[Counters],
) -> None:
    conn.disconnect()  # type: ignore[no-untyped-call]  # in another process than its own, redis-py only drops the socket
    free.append(counters)


class ThreadReader:
    """One thread's direct reads: its connection and its counters' shard."""

    __slots__ = (
        "__weakref__", "_conn", "_errors", "_guard", "_keys", "_mattrs", "_metrics", "_reads",
        "direct",
    )  # fmt: skip

    def __init__(
        self,
        direct: DirectReads,
        conn: redis.Connection | redis.UnixDomainSocketConnection,
        reads: ReadPath,
    ) -> None:
        parts = direct._parts  # noqa: SLF001
        self.direct = direct
        self._conn: redis.Connection | redis.UnixDomainSocketConnection | None = conn
        self._reads = reads
        self._keys = parts.keys
        self._guard = parts.guard
        self._metrics = parts.metrics
        self._mattrs = parts.mattrs
        self._errors = direct._backend.errors  # noqa: SLF001

    def get(self, key: str, tp: Any) -> Any:
        """The value ``Cache.get`` returns, or a :class:`Handoff` for the loop
        (``NOT_DIRECT``: the whole call)."""
        physical = self._keys.entry(key)  # InvalidKey, as Cache.get raises it
        guard = self._guard
        conn = self._conn
        if conn is None or not guard.ready(physical):
            return NOT_DIRECT
        try:  # GET packed here as redis-py packs it (UTF-8, RESP): a fifth of the call
            name = physical.encode()
        except UnicodeEncodeError:  # redis-py's own failure to map: the engine's
            return NOT_DIRECT
        command = b"*2\r\n$3\r\nGET\r\n$%d\r\n%b\r\n" % (len(name), name)
        metrics = self._metrics
        started = metrics.clock()
        try:
            with self._errors:
                conn.send_packed_command([command])  # type: ignore[no-untyped-call]
                raw = conn.read_response()
        except CachewrightError as exc:
            return Handoff(physical, None, 0, error=exc)
        metrics.operation(started, self._mattrs)
        now = now_ms()
        if not guard.ready(physical):  # a failure counted meanwhile: the loop resets it
            return Handoff(physical, raw, now, judge=True)
        reads = self._reads
        if raw is None:
            reads.missed()
            return None
        if sliding_life(raw, now):
            return Handoff(physical, raw, now)
        found = reads.classify(physical, raw, tp, now)
        return found.value if isinstance(found, Entry) and not found.stale else None

    def close(self) -> None:
        """Close the connection (from any thread of the process that opened it); later
        reads go through the loop."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.disconnect()  # type: ignore[no-untyped-call]
