"""The engine of the synchronous API: one event loop on a daemon thread per process.

Usage::

    rt = runtime()                             # built on first use, in this process
    value = rt.call(cache.get("user:1"))       # blocks this thread until the loop answers
    rt.register(write_behind.close)            # closed at exit if the user did not

Every sync object sends its work to the same loop, so the async engine's guarantees
(one loader call for N concurrent misses, per-key write order) hold across threads.

Fork safety: after ``os.fork()`` the child forgets its parent's runtime without touching
it (its loop, sockets and pools stay referenced and unused, so no finalizer of the
child's copy can write to a connection the parent still uses) and builds a fresh one
on first use. Exit: an ``atexit`` hook closes what was registered (write-behind first,
so pending writes are flushed within their ``close_timeout``), then stops the loop.

The bridge is a task created by ``call_soon_threadsafe`` and a lock the caller blocks
on: leaner than ``asyncio.run_coroutine_threadsafe`` (no chained
``concurrent.futures.Future``) and than anyio's blocking portal, which
``benchmarks/sync_api.py`` measures side by side.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from cachewright.sync._workers import Workers

__all__ = ["CALL_TASK", "Runtime", "current_runtime", "inherit", "runtime", "shutdown"]

log = logging.getLogger("cachewright.sync")

R = TypeVar("R")

#: the name of the task that runs one blocking call on the loop
CALL_TASK = "cachewright-sync-call"

#: how long the exit hook waits for the loop thread after closing everything
_STOP_TIMEOUT = 5.0


class _Call:
    """One blocking call: the caller waits on ``done`` until the loop sets the outcome."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None

    def finished(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self.error = asyncio.CancelledError()
        else:
            error = task.exception()
            if error is None:
                self.result = task.result()
            else:
                self.error = error
        self.done.release()


class Runtime:
    """An event loop running on a daemon thread, and the worker threads it uses."""

    __slots__ = ("_closers", "_closing", "_loop", "_thread", "pid", "workers")

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.workers = Workers()
        self._loop = asyncio.new_event_loop()
        # id -> (the thing, kept alive so its id stays unique; close order; its close)
        self._closers: dict[int, tuple[object, int, Callable[[], Awaitable[object]]]] = {}
        self._closing = False
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="cachewright-sync-loop", daemon=True
        )
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def call(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run ``coro`` on the loop and block until it ends; its result or its exception."""
        if threading.get_ident() == self._thread.ident:
            coro.close()
            raise RuntimeError("the synchronous API was called from its own engine loop")
        call = _Call()
        try:
            self._loop.call_soon_threadsafe(self._start, coro, call)
        except RuntimeError:
            coro.close()
            raise RuntimeError("the synchronous API's engine has stopped") from None
        call.done.acquire()
        if call.error is not None:
            error, call.error = call.error, None  # no reference cycle through the traceback
            raise error
        result: R = call.result
        return result

    def _start(self, coro: Coroutine[Any, Any, Any], call: _Call) -> None:
        self._loop.create_task(coro, name=CALL_TASK).add_done_callback(call.finished)

    def register(self, thing: object, close: Callable[[], Awaitable[object]], order: int) -> None:
        """Close ``thing`` with ``close()`` at exit unless it is unregistered first.

        Lower ``order`` closes first: write-behind (0) before patterns (1), caches (2)
        and stores (3), so pending writes still find their cache and store open.
        Called on the loop thread only (as ``unregister`` is), so it needs no lock.
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
        if self._closing or not self._thread.is_alive():
            return
        self._closing = True
        try:
            if self._closers:
                self.call(self._close_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_STOP_TIMEOUT)
            self.workers.stop()
            if not self._thread.is_alive():
                self._loop.close()  # a late caller now gets an error instead of waiting


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
