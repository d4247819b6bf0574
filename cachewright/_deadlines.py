"""Deadlines for many concurrent calls, on one timer (the guard's read and write
timeouts, the lane's bound on each round trip).

Usage (what :class:`~cachewright.cache._guard.Guard` and
:class:`~cachewright._redis.lane.Lane` do)::

    deadlines = Deadlines()
    value = await deadlines.run(0.5, backend.get, ("shop:user:1",))  # TimeoutError past 0.5 s

``asyncio.timeout`` schedules and cancels a loop timer per call: measured here at as
much as the rest of a cached read's own work. Here a call only registers itself; one
timer sweeps the calls in flight every ``tick`` seconds while there are any, cancels
those past their deadline and turns that cancellation into ``TimeoutError``, as
``asyncio.timeout`` does (a cancellation from anywhere else passes through as is). A
deadline fires at most one tick late.

Nested calls of one task (a write-behind put around the cache's drop around the lane's
round trip, each with its own ``Deadlines``): a call whose deadline falls no earlier
than that of a call of the same task it runs inside is not registered at all. The
enclosing one fires first (or in the same sweep) and its ``TimeoutError`` is what the
caller sees, exactly as when the inner one is registered: the inner one only ever sees
the enclosing cancellation pass through it. A task started inside a call has deadlines
of its own (it outlives the call's cancellation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["Deadlines"]

R = TypeVar("R")


class _Call:
    __slots__ = ("cancelling", "deadline", "expired", "task")

    def __init__(self, deadline: float, task: asyncio.Task[Any]) -> None:
        self.deadline = deadline
        self.task = task
        self.cancelling = task.cancelling()
        self.expired = False


#: the innermost registered call the running task is inside (any ``Deadlines``)
_ENCLOSING: ContextVar[_Call | None] = ContextVar("cachewright_deadline", default=None)


class Deadlines:
    """The calls in flight of one component and the timer that expires them."""

    __slots__ = ("_calls", "_loop", "_timer", "tick")

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self._calls: set[_Call] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def run(
        self, seconds: float, op: Callable[..., Awaitable[R]], args: tuple[Any, ...]
    ) -> R:
        """``op(*args)``, cancelled and turned into ``TimeoutError`` past ``seconds``."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always called from a task
            return await op(*args)
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + seconds
        outer = _ENCLOSING.get()
        if outer is not None and outer.task is task and outer.deadline <= deadline:
            return await op(*args)  # the enclosing deadline ends it first (see above)
        call = _Call(deadline, task)
        self._calls.add(call)
        if self._timer is None or self._loop is not loop:
            self._loop = loop
            self._timer = loop.call_at(now + self.tick, self._sweep)
        token = _ENCLOSING.set(call)
        try:
            return await op(*args)
        except asyncio.CancelledError:
            if call.expired and task.uncancel() <= call.cancelling:
                raise TimeoutError from None
            raise
        finally:
            _ENCLOSING.reset(token)
            self._calls.discard(call)

    def _sweep(self) -> None:
        self._timer = None
        loop = self._loop
        if not self._calls or loop is None or loop.is_closed():
            return
        now = loop.time()
        for call in self._calls:
            if not call.expired and call.deadline <= now:
                call.expired = True
                call.task.cancel()
        self._timer = loop.call_at(now + self.tick, self._sweep)
