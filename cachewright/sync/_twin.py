"""The async object behind a sync one: built from a recipe, once per runtime.

Usage::

    twin = Twin(lambda: Cache.from_url(url, namespace="shop"), order=CACHE)
    user = twin.run(lambda cache: cache.get("user:1", User))   # from any thread

The recipe runs on the engine's loop the first time a runtime needs the object, so
two threads never build two of them, and a forked child (which has a new runtime)
builds its own from the same configuration: it never reuses its parent's connections.
The object the parent built is handed to ``inherit`` and never touched again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from cachewright.sync._runtime import Runtime, current_runtime, inherit, runtime

__all__ = ["CACHE", "PATTERN", "STORE", "WRITE_BEHIND", "Twin"]

T = TypeVar("T")
R = TypeVar("R")

# Close order at exit (see Runtime.register): pending writes first, stores last.
WRITE_BEHIND, PATTERN, CACHE, STORE = 0, 1, 2, 3


class Twin(Generic[T]):
    """One async object per runtime, built by ``build`` on the loop."""

    __slots__ = ("_build", "_close", "_order", "_runtime", "_value")

    def __init__(
        self,
        build: Callable[[], T],
        *,
        close: Callable[..., Awaitable[Any]] | None = None,
        order: int = PATTERN,
    ) -> None:
        self._build = build
        self._close = close
        self._order = order
        self._runtime: Runtime | None = None
        self._value: T | None = None

    def current(self) -> T:
        """The object of the running runtime, built now if needed (on the loop only)."""
        rt = runtime()
        if self._runtime is rt and self._value is not None:
            return self._value
        if self._value is not None and self._runtime is not None and self._runtime.pid != rt.pid:
            inherit(self._value)  # the parent's: keep it, never use or finalize it
        value = self._build()
        self._runtime, self._value = rt, value
        close = self._close
        if close is not None:
            rt.register(value, lambda: close(value), self._order)
        return value

    def run(self, fn: Callable[[T], Coroutine[Any, Any, R]]) -> R:
        """Block this thread on ``fn(object)`` run by the engine; its result or error.

        ``fn`` only creates the coroutine (``lambda cache: cache.get(key)``); it runs on
        the loop. Once the object exists in this runtime, ``fn`` is called right here
        (an attribute read, no extra coroutine): the hot path of every call.
        """
        rt = runtime()
        value = self._value
        if self._runtime is rt and value is not None:
            return rt.call(fn(value))
        return rt.call(self._go(fn))

    async def _go(self, fn: Callable[[T], Coroutine[Any, Any, R]]) -> R:
        return await fn(self.current())

    def close(self, *args: Any) -> Any:
        """``close(object, *args)`` if this runtime built the object; what it returned,
        or None when there was nothing to close (never built in this process)."""
        rt = current_runtime()
        if rt is None or self._runtime is not rt:
            return None
        return rt.call(self._close_now(rt, args))

    async def _close_now(self, rt: Runtime, args: tuple[Any, ...]) -> Any:
        value = self._value
        if value is None or self._runtime is not rt:
            return None
        rt.unregister(value)
        return None if self._close is None else await self._close(value, *args)
