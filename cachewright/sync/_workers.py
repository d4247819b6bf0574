"""Worker threads that run a user's synchronous code (loaders, repositories) for the engine.

Usage (on the engine's loop)::

    workers = Workers(limit=32)
    user = await workers.run(repo.get, 42)     # repo.get runs in a worker thread

The engine's loop must never block on a user's database call, so every synchronous
loader and store method runs here. Exceptions come back unchanged (the same object).

Why not ``loop.run_in_executor``: ``concurrent.futures`` refuses new work once the
interpreter has begun to exit, and the write-behind flush that runs at exit (see
``_runtime``) must still reach a synchronous store then. These threads are daemons
started on demand, reused while idle, at most ``limit`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Workers"]

R = TypeVar("R")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled: nobody wants the result
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Workers:
    """A bounded set of daemon threads serving jobs from one queue."""

    __slots__ = ("_idle", "_jobs", "_limit", "_lock", "_threads")

    def __init__(self, limit: int = 32) -> None:
        self._limit = limit
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # counts threads waiting for a job
        self._lock = threading.Lock()
        self._threads = 0

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in a worker thread; its result, or its exception unchanged."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        context = contextvars.copy_context()
        self._jobs.put((loop, future, lambda: context.run(fn, *args)))
        if not self._idle.acquire(blocking=False):
            self._spawn()
        return await future

    def _spawn(self) -> None:
        with self._lock:
            if self._threads >= self._limit:
                return  # the job waits for the next thread that frees up
            self._threads += 1
        threading.Thread(target=self._work, name="cachewright-sync-worker", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, call = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting task, as it was
                error = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: the process is ending
                loop.call_soon_threadsafe(_settle, future, result, error)
            del job, call, result, error  # drop references while idle
            self._idle.release()

    def stop(self) -> None:
        """Let every thread finish its job and end (they are daemons: nothing waits)."""
        with self._lock:
            count = self._threads
            self._threads = 0
        for _ in range(count):
            self._jobs.put(None)
