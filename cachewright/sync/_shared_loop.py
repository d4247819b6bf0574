"""One event loop shared by every thread of a process: callers drive it themselves.

Usage::

    shared = SharedLoop()
    value = shared.call(cache.get("user:1"))   # from any thread with no running loop
    shared.stop()

A thread that calls while nobody drives the loop runs it itself
(``run_until_complete``), with no thread hand-off: the common case of a request
thread reading the cache costs what the async call costs. A thread that calls while
another one drives is a *follower*: it hands its coroutine to the loop
(``call_soon_threadsafe``) and blocks until the driver's loop has run it. When a
driver's own call ends while work remains (followers' calls, a write-behind flusher,
background refreshes, a local tier's listener), it wakes the background thread,
which drives the loop until no task and no follower is left.

Only one thread drives at a time (``_drive``); the counter of followers is raised
before a follower looks at ``_drive`` and read by a driver after releasing it, so a
follower either takes the loop itself or is seen by the driver that had it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["CALL_TASK", "SharedLoop"]

R = TypeVar("R")

#: the name of the task that runs one blocking call on the loop
CALL_TASK = "cachewright-sync-call"

#: how often the background driver checks whether it can stop driving (seconds)
_IDLE_CHECK = 0.01


class _Call:
    """One follower's call: it blocks on ``done`` until the loop sets the outcome."""

    __slots__ = ("done", "error", "result", "waiter")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None  # set when the follower drives

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
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SharedLoop:
    """An event loop driven by its callers, and by a daemon thread when work remains."""

    __slots__ = (
        "_background",
        "_count",
        "_drive",
        "_driven",
        "_followers",
        "_loop",
        "_stopped",
        "_wake",
    )

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._drive = threading.Lock()  # held by the one thread running the loop
        self._count = threading.Lock()  # guards _followers
        self._followers = 0
        self._driven: asyncio.Task[Any] | None = None  # the task of the thread driving
        self._wake = threading.Event()
        self._stopped = False
        self._background = threading.Thread(
            target=self._drive_in_background, name="cachewright-sync-loop", daemon=True
        )
        self._background.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def call(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run ``coro`` on the loop and block until it ends; its result or its exception."""
        running = _running_loop()
        if running is self._loop:
            coro.close()
            raise RuntimeError("the synchronous API was called from its own engine loop")
        if self._stopped:
            coro.close()
            raise RuntimeError("the synchronous API's engine has stopped")
        if running is None and self._drive.acquire(blocking=False):
            return self._run_driving(coro)
        return self._follow(coro, can_drive=running is None)

    def _run_driving(self, coro: Coroutine[Any, Any, R]) -> R:
        """Drive the loop until ``coro`` ends (``_drive`` is held on entry).

        ``run_until_complete`` stops the loop from the task's done callback, one loop
        iteration (a poll of the selector) after the task ends; here the task stops
        the loop itself, in the iteration that ends it. Only the task being driven
        does: one left behind by an interrupted driver (a KeyboardInterrupt) ends
        later under another driver without stopping it.
        """
        loop = self._loop
        try:
            task = loop.create_task(self._stopping(coro), name=CALL_TASK)
            self._driven = task
            try:
                loop.run_forever()
            except BaseException:
                if task.done() and not task.cancelled():
                    task.exception()  # raised here: not logged again as never retrieved
                raise
            if not task.done():  # pragma: no cover - nothing else stops this loop
                raise RuntimeError("the engine loop stopped before the call ended")
            return task.result()
        finally:
            self._driven = None
            self._leave()

    async def _stopping(self, coro: Coroutine[Any, Any, R]) -> R:
        try:
            return await coro
        finally:
            if asyncio.current_task() is self._driven:
                self._loop.stop()

    def _leave(self) -> None:
        """Release the loop; hand it to the background thread if work remains."""
        busy = any(not task.done() for task in asyncio.all_tasks(self._loop))
        self._drive.release()
        if busy or self._followers:
            self._wake.set()

    def _follow(self, coro: Coroutine[Any, Any, R], *, can_drive: bool) -> R:
        call = _Call()
        with self._count:
            self._followers += 1
        try:
            self._loop.call_soon_threadsafe(self._start, coro, call)
            if can_drive and self._drive.acquire(blocking=False):
                # The driver left between our first look and now: drive until our call
                # ends (it may have ended already: ``finished`` ran under that driver).
                try:
                    if call.done.locked():
                        call.waiter = self._loop.create_future()
                        self._loop.run_until_complete(call.waiter)
                finally:
                    self._leave()
            elif not can_drive:
                self._wake.set()  # a thread running another loop cannot drive this one
            call.done.acquire()
        finally:
            with self._count:
                self._followers -= 1
        if call.error is not None:
            error, call.error = call.error, None  # no reference cycle through the traceback
            raise error
        result: R = call.result
        return result

    def _start(self, coro: Coroutine[Any, Any, Any], call: _Call) -> None:
        self._loop.create_task(coro, name=CALL_TASK).add_done_callback(call.finished)

    # -- the background driver -------------------------------------------------------

    def _drive_in_background(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopped:
                return
            with self._drive:
                self._loop.call_soon(self._stop_when_idle)
                self._loop.run_forever()
            if self._stopped:
                return

    def _stop_when_idle(self) -> None:
        busy = any(not task.done() for task in asyncio.all_tasks(self._loop))
        if self._stopped or (not busy and not self._followers):
            self._loop.stop()
        else:
            self._loop.call_later(_IDLE_CHECK, self._stop_when_idle)

    def stop(self, timeout: float) -> None:
        """Stop the background driver and close the loop (when nobody drives it).
        Idempotent."""
        if self._loop.is_closed():
            return
        self._stopped = True
        self._wake.set()
        with contextlib.suppress(RuntimeError):  # closed meanwhile by another stop()
            self._loop.call_soon_threadsafe(lambda: None)  # wake a driver out of its poll
        self._background.join(timeout)
        if self._drive.acquire(timeout=timeout):
            try:
                self._loop.close()
            finally:
                self._drive.release()
