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
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any, TypeVar

__all__ = ["Deadlines"]

R = TypeVar("R")


#: a call in flight: [deadline (time.monotonic), its task, the task's cancellation
#: count when it began, whether the sweep expired it]; a list, cheaper to make than
#: an object for every read
_DEADLINE, _TASK, _CANCELLING, _EXPIRED = range(4)


class Deadlines:
    """The calls in flight of one component and the timer that expires them."""

    __slots__ = ("_calls", "_loop", "_timer", "tick")

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self._calls: dict[int, list[Any]] = {}  # id of the call -> the call
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def run(
        self, seconds: float, op: Callable[..., Awaitable[R]], args: tuple[Any, ...]
    ) -> R:
        """``op(*args)``, cancelled and turned into ``TimeoutError`` past ``seconds``."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:  # pragma: no cover - always called from a task
            return await op(*args)
        call: list[Any] = [monotonic() + seconds, task, task.cancelling(), False]
        calls = self._calls
        calls[id(call)] = call
        if self._timer is None or self._loop is not loop:
            self._loop = loop
            self._timer = loop.call_later(self.tick, self._sweep)
        try:
            return await op(*args)
        except asyncio.CancelledError:
            if call[_EXPIRED] and task.uncancel() <= call[_CANCELLING]:
                raise TimeoutError from None
            raise
        finally:
            del calls[id(call)]

    def _sweep(self) -> None:
        self._timer = None
        loop = self._loop
        if not self._calls or loop is None or loop.is_closed():
            return
        now = monotonic()
        for call in self._calls.values():
            if not call[_EXPIRED] and call[_DEADLINE] <= now:
                call[_EXPIRED] = True
                call[_TASK].cancel()
        self._timer = loop.call_later(self.tick, self._sweep)
