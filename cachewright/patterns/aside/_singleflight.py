"""In-process request coalescing: concurrent calls for one key share one execution.

Usage::

    flights = SingleFlight[User]()
    user = await flights.run("user:1", lambda: load_user(1))   # 1,000 callers, one load
    flights.forget("user:1")     # the next caller starts a new execution (after a write)
    cache.watch_writes(flights)  # ... done for every write through the cache
    await flights.close()        # wait for executions still running

The shared execution runs in its own task, and every caller awaits a future of its
own that the task's end settles: a caller that is cancelled (a client went away, a
timeout fired) cancels only its future and leaves the execution running for the
others, and its result still reaches the cache. (A future per caller, not
``asyncio.shield`` per caller: waking 250 callers of one flight costs one callback
each instead of three, the wake-up of a stampede's waiters.) Every caller receives the
same result object, as with ``shield``. A failure is shared with every caller waiting
at that moment; the slot is released as soon as the execution ends, so the next caller
retries instead of receiving a cached error.

Read-your-writes: an execution that began before a write to its key may return the
value from before it. Once the write has returned, a new caller must not be handed
that value, so every write (this pattern's, another pattern's, ``Cache.set`` or
``delete``) detaches the running execution from its key (``written``): callers already
waiting keep it, callers arriving afterwards start one that sees the write.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Collection
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Flight(Generic[T]):
    """One running execution and the futures of the callers waiting for it."""

    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task
        self.waiters: list[asyncio.Future[T]] = []

    def settle(self, task: asyncio.Task[T]) -> None:
        """Hand the execution's outcome to every caller still waiting."""
        waiters, self.waiters = self.waiters, []
        if task.cancelled():
            for future in waiters:
                future.cancel()
            return
        # Marks the exception as retrieved: when every caller was cancelled nobody
        # awaits the task, and asyncio would log "exception was never retrieved".
        exc = task.exception()
        if exc is not None:
            for future in waiters:
                if not future.done():
                    future.set_exception(exc)
            return
        result = task.result()
        for future in waiters:
            if not future.done():  # a cancelled caller
                future.set_result(result)


class SingleFlight(Generic[T]):
    """A map of key -> running execution, one per key at a time."""

    __slots__ = ("__weakref__", "_flights", "_tasks")

    def __init__(self) -> None:
        self._flights: dict[str, _Flight[T]] = {}
        # Every running task, including those forget() detached from their key.
        self._tasks: set[asyncio.Task[T]] = set()

    def __len__(self) -> int:
        return len(self._flights)

    def running(self, key: str) -> bool:
        return key in self._flights

    async def run(self, key: str, start: Callable[[], Awaitable[T]]) -> T:
        """Join the execution running for ``key``, or start one with ``start()``."""
        flight = self._flights.get(key)
        if flight is None:
            task = asyncio.ensure_future(start())
            flight = self._flights[key] = _Flight(task)
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._finished, key, flight))
        # A future of our own: cancelling this caller cancels nobody else.
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flight.waiters.append(future)
        return await future

    def waiting(self, key: str) -> int:
        """How many callers wait for the execution running for ``key`` (-1: none)."""
        flight = self._flights.get(key)
        return -1 if flight is None else sum(not future.done() for future in flight.waiters)

    def forget(self, key: str) -> None:
        """Let the next caller for ``key`` start afresh; current callers keep theirs.

        Called after a write or an invalidation: a load that began before it may return
        an older value, and callers arriving afterwards must not join it.
        """
        self._flights.pop(key, None)

    def written(self, keys: Collection[str] | None) -> None:
        """A write to ``keys`` (None: to any key) returned: forget their executions."""
        flights = self._flights
        if not flights:  # nothing in flight: the common case on a write
            return
        if keys is None:
            flights.clear()
            return
        if len(keys) > len(flights):  # a big set_many against a few loads in flight
            wanted = keys if isinstance(keys, set | frozenset) else set(keys)
            for key in [key for key in flights if key in wanted]:
                del flights[key]
            return
        for key in keys:
            flights.pop(key, None)

    async def close(self) -> None:
        """Wait for the executions still running (their callers are awaiting them)."""
        tasks = list(self._tasks)
        self._flights.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, key: str, flight: _Flight[T], task: asyncio.Task[T]) -> None:
        self._tasks.discard(task)
        # Only remove our own slot: forget() may have made room for a newer execution.
        if self._flights.get(key) is flight:
            del self._flights[key]
        flight.settle(task)
