"""Loads that may outlive the call waiting on them: ``soft_timeout`` and ``hard_timeout``.

Usage (what ``CacheAside`` does)::

    loads = BackgroundLoads[Entry[User]]()
    task = loads.start("user:1", load_and_fill)      # or join the one running for the key
    if await loads.wait(task, 0.2):                  # False: still running after 0.2 s
        entry = task.result()
    await loads.close()                              # cancels what is still running

One load per cache key at a time: a caller arriving while a load for its key runs
(the caller before it gave up waiting) joins it rather than calling the loader again.
The load is a task of its own, so a caller that stops waiting (its timeout ran out, or
it was cancelled) leaves it running: it ends by filling the cache. ``close()`` cancels
the loads still running, like the background refreshes (their lease expires by itself).

Loader timeouts (G8): with ``soft_timeout`` (needs ``stale_ttl``), a read that
finds a stale entry waits up to ``soft_timeout`` for the refresh, then returns the
stale value; without it, the stale value is returned at once (the default). With
``hard_timeout``, a read that has no stale value to fall back on waits up to
``hard_timeout`` for its whole miss (lease, lock wait, load, fill), then raises
:class:`~cachewright.errors.LoaderTimeout`; ``get_many`` (its batch load) and
``refresh`` likewise. Either way the load goes on in the background (one per key
for ``get``; later readers join it) and fills the cache when it ends; ``close()``
cancels the loads still running. Warm-up takes neither (see ``_many``). A refresh
that fails while a stale value exists serves that value (fail-safe).

A load that is not a key's (a ``get_many`` batch, a ``refresh()``) runs with
:meth:`spawn`: nobody joins it, ``close()`` still cancels it.

``background_fill`` is emitted only for a fill that was written after its caller
stopped waiting: the load reports each fill with :meth:`TimedLoads.landed` (from
inside its own task), and a refused fill (a newer write, a lost lease) or a value
not cached (``Cached.skip``, a None without ``cache_none``) emits nothing.

Read-your-writes: like the single flight, the loads watch the cache's writes
(``cache.watch_writes``). A write to a key detaches its running load: a caller arriving
after the write returned starts a load of its own instead of joining one that may have
read the value from before it (the detached load still ends, and its fill loses to the
write, G10).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Generic, TypeVar

from cachewright.cache import Entry
from cachewright.errors import ConfigurationError, LoaderTimeout
from cachewright.events import EventKind
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["BackgroundLoads", "TimedLoads"]

log = logging.getLogger("cachewright.patterns")

T = TypeVar("T")
R = TypeVar("R")


class BackgroundLoads(Generic[T]):
    __slots__ = ("__weakref__", "_all", "_closed", "_tasks")

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[T]] = {}
        # Every running load, including those a write detached from their key.
        self._all: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def running(self, key: str) -> asyncio.Task[T] | None:
        return self._tasks.get(key)

    def start(self, key: str, job: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """The load running for ``key``, or a new one running ``job()``."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(job())
            if self._closed:
                task.cancel()  # closed: never left running without an owner
            self._tasks[key] = task
            self._all.add(task)
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, job: Callable[[], Awaitable[R]]) -> asyncio.Task[R]:
        """Run ``job()`` as a load of no key (nobody joins it); ``close()`` cancels it."""
        task = asyncio.ensure_future(job())
        if self._closed:
            task.cancel()
        self._all.add(task)
        task.add_done_callback(self._spawned_done)
        return task

    def _spawned_done(self, task: asyncio.Task[Any]) -> None:
        self._all.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("background load failed: %r", task.exception())

    def written(self, keys: Collection[str] | None) -> None:
        """A write to ``keys`` (None: any key) returned: later callers start afresh."""
        if not self._tasks:  # the common case on a write
            return
        if keys is None:
            self._tasks.clear()
            return
        for key in keys:
            self._tasks.pop(key, None)

    @staticmethod
    async def wait(task: asyncio.Task[Any], seconds: float) -> bool:
        """Wait up to ``seconds``; True if ``task`` ended. Never cancels it."""
        done, _ = await asyncio.wait({task}, timeout=seconds)
        return bool(done)

    async def close(self) -> None:
        """Cancel the loads still running and wait for them to end. Idempotent."""
        self._closed = True
        tasks = list(self._all)
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        self._all.discard(task)
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here: the caller that gave up waiting never will.
            log.debug("background load of %r failed: %r", key, task.exception())


class TimedLoads(BackgroundLoads[T]):
    """A CacheAside's ``soft_timeout`` and ``hard_timeout`` over its background loads."""

    __slots__ = ("_counters", "_late", "_signals", "hard", "soft")

    def __init__(
        self,
        counters: AsideCounters,
        signals: Signals,
        *,
        soft: float | None,
        hard: float | None,
    ) -> None:
        super().__init__()
        if soft is not None and hard is not None and soft >= hard:
            raise ConfigurationError("soft_timeout must be shorter than hard_timeout")
        self._counters = counters
        self._signals = signals
        # Loads whose caller stopped waiting: their fills are background fills.
        self._late: dict[asyncio.Task[Any], str] = {}
        self.soft = soft
        self.hard = hard

    async def stale(
        self, cache_key: str, entry: Entry[Any], reload: Callable[[], Awaitable[T]]
    ) -> T | Entry[Any]:
        """The refreshed entry if ``reload()`` ends within ``soft``, else the stale
        ``entry`` (the reload goes on and fills the cache). A reload that fails in time
        also serves ``entry`` (fail-safe: the reload counts and signals it)."""
        assert self.soft is not None
        task = self.running(cache_key)
        if task is None:
            self._counters.refreshes += 1
            task = self.start(cache_key, reload)
        if await self.wait(task, self.soft):
            if not task.cancelled() and task.exception() is None:
                return task.result()
        else:
            self._timed_out(cache_key, task, f"soft_timeout {self.soft}s")
        self._counters.stale_served += 1
        self._signals.emit(EventKind.STALE, cache_key)
        return entry

    async def bounded(self, key: object, cache_key: str, task: asyncio.Task[T]) -> T:
        """What ``task`` returns or raises if it ends within ``hard``; else
        :class:`~cachewright.errors.LoaderTimeout` (the task goes on and fills)."""
        assert self.hard is not None
        if await self.wait(task, self.hard):
            return task.result()  # or the loader's own exception, unchanged
        self._timed_out(cache_key, task, f"hard_timeout {self.hard}s")
        raise LoaderTimeout(
            f"the loader of key {key!r} (cache key {cache_key!r}) took longer than "
            f"hard_timeout={self.hard}s; it goes on in the background and fills the cache",
            key=cache_key,
            timeout=self.hard,
        )

    async def bounded_batch(
        self, cache_keys: Collection[str], task: asyncio.Task[R], what: str
    ) -> R:
        """What a load of several keys (or of no key) returns if it ends within
        ``hard``; else :class:`~cachewright.errors.LoaderTimeout` (it goes on)."""
        assert self.hard is not None
        if await self.wait(task, self.hard):
            return task.result()
        for cache_key in cache_keys:
            self._timed_out(cache_key, task, f"hard_timeout {self.hard}s")
        raise LoaderTimeout(
            f"{what} took longer than hard_timeout={self.hard}s; it goes on in the "
            "background and fills the cache",
            key=next(iter(cache_keys), ""),
            timeout=self.hard,
        )

    def landed(self, cache_key: str, stored: bool) -> None:
        """A load's fill of ``cache_key`` ended (``stored``: written). Called from the
        load's task: if its caller stopped waiting, a written fill is a background fill."""
        if not stored or not self._late:
            return
        task = asyncio.current_task()
        detail = self._late.get(task) if task is not None else None
        if detail is not None:
            self._signals.emit(EventKind.BACKGROUND_FILL, cache_key, detail)

    def _timed_out(self, cache_key: str, task: asyncio.Task[Any], detail: str) -> None:
        self._counters.loader_timeouts += 1
        self._signals.emit(EventKind.LOADER_TIMEOUT, cache_key, detail)
        if task not in self._late:
            self._late[task] = detail
            task.add_done_callback(self._late_done)

    def _late_done(self, task: asyncio.Task[Any]) -> None:
        self._late.pop(task, None)
