"""The engine of the synchronous API: one event loop per process, shared by its threads.

Usage::

    rt = runtime()                             # built on first use, in this process
    value = rt.call(cache.get("user:1"))       # blocks this thread until the loop answers
    rt.register(thing, thing.close, order)     # closed at exit if the user did not

Every sync object sends its work to the same loop (see ``_shared_loop``: a caller
drives it itself when nobody else does, else hands its call to the driver), so the
async engine's guarantees (one loader call for N concurrent misses, per-key write
order) hold across threads.

Fork safety: after ``os.fork()`` the child forgets its parent's runtime without touching
it (its loop, sockets and pools stay referenced and unused, so no finalizer of the
child's copy can write to a connection the parent still uses) and builds a fresh one
on first use. Exit: an ``atexit`` hook closes what was registered (write-behind first,
so pending writes are flushed within their ``close_timeout``), then stops the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from cachewright.sync._shared_loop import CALL_TASK, SharedLoop
from cachewright.sync._workers import Workers

__all__ = ["CALL_TASK", "Runtime", "current_runtime", "inherit", "runtime", "shutdown"]

log = logging.getLogger("cachewright.sync")

R = TypeVar("R")

#: how long stopping waits for the loop's driver after closing everything
_STOP_TIMEOUT = 5.0


class Runtime:
    """This process's shared event loop, its worker threads, and what to close at exit."""

    __slots__ = ("_closers", "_closing", "_shared", "pid", "workers")

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.workers = Workers()
        self._shared = SharedLoop()
        # id -> (the thing, kept alive so its id stays unique; close order; its close)
        self._closers: dict[int, tuple[object, int, Callable[[], Awaitable[object]]]] = {}
        self._closing = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._shared.loop

    def call(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run ``coro`` on the loop and block until it ends; its result or its exception."""
        return self._shared.call(coro)

    def register(self, thing: object, close: Callable[[], Awaitable[object]], order: int) -> None:
        """Close ``thing`` with ``close()`` at exit unless it is unregistered first.

        Lower ``order`` closes first: write-behind (0) before patterns (1), caches (2)
        and stores (3), so pending writes still find their cache and store open.
        Called on the loop only (as ``unregister`` is): one thread at a time, no lock.
        """
        self._closers[id(thing)] = (thing, order, close)

    def unregister(self, thing: object) -> None:
        self._closers.pop(id(thing), None)

    async def _close_all(self) -> None:
        for order in sorted({order for _, order, _ in self._closers.values()}):
            closers = [close for _, o, close in self._closers.values() if o == order]
            results = await asyncio.gather(*(c() for c in closers), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    log.error("closing at exit failed", exc_info=result)
        self._closers.clear()

    def stop(self) -> None:
        """Close what is registered, then stop the loop and the workers. Idempotent."""
        if self._closing:
            return
        self._closing = True
        try:
            if self._closers:
                self.call(self._close_all())
        finally:
            self._shared.stop(_STOP_TIMEOUT)
            self.workers.stop()


_lock = threading.Lock()
_current: Runtime | None = None
# Runtimes (and what they built) inherited from a parent process: kept referenced and
# never used, so the child neither reuses nor finalizes its parent's connections.
_inherited: list[object] = []


def runtime() -> Runtime:
    """This process's runtime, started on first use."""
    current = _current
    if current is not None:
        return current
    return _start()


def current_runtime() -> Runtime | None:
    """This process's runtime if one is running (never starts one)."""
    current = _current
    return current if current is not None and current.pid == os.getpid() else None


def _start() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = Runtime()
        return _current


def inherit(thing: object) -> None:
    """Keep ``thing`` (built by a parent's runtime) alive and untouched in this child."""
    _inherited.append(thing)


def _after_fork_in_child() -> None:
    global _current, _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _current is not None:
        _inherited.append(_current)
        _current = None


def shutdown() -> None:
    """Close every registered sync object and stop the engine (runs at exit too).

    Call it when no other thread is using the sync API; a later call of the API
    starts a new engine.
    """
    global _current
    current = _current
    if current is None or current.pid != os.getpid():
        return
    # Still the current runtime while it closes: what it closes (a write-behind's last
    # flush to a synchronous repository) runs in its worker threads.
    current.stop()
    with _lock:
        if _current is current:
            _current = None


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(shutdown)
