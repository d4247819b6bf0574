"""Concurrent reads of one key share the cache read in progress, with no task.

Usage::

    reads = SharedRead[Entry[User] | Lease | None]()
    found, own = await reads.run("user:1", cache.lookup, "user:1", User)
    reads.forget("user:1")   # after a write: callers arriving later read afresh

The first caller for a key reads in its own task (``own`` is True for it). Callers
arriving while that read is in flight wait for its result instead of sending their
own, each on a future of its own (a waiter that is cancelled leaves the read and the
other waiters alone); a lone read creates no future at all. A failure reaches the
waiters of that moment; if the reading caller is cancelled, its waiters read for
themselves. Nothing is kept once the read ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Generic, TypeVar, cast

__all__ = ["SharedRead"]

T = TypeVar("T")

_RETRY = object()  # the reading caller was cancelled: read again


class SharedRead(Generic[T]):
    """A map of key -> the callers waiting for the read in flight for it."""

    __slots__ = ("__weakref__", "_reads")

    def __init__(self) -> None:
        self._reads: dict[str, list[asyncio.Future[Any]]] = {}

    async def run(self, key: str, read: Callable[..., Awaitable[T]], *args: Any) -> tuple[T, bool]:
        """The result of ``read(*args)`` or of the read in flight for ``key``, and
        whether this call made the read itself."""
        while (waiting := self._reads.get(key)) is not None:
            # Each waiter awaits a future of its own: cancelling one cancels nobody else.
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            waiting.append(future)
            result = await future
            if result is not _RETRY:
                return cast(T, result), False
        waiters: list[asyncio.Future[Any]] = []  # a list, no future: a lone read costs none
        self._reads[key] = waiters
        try:
            value = await read(*args)
        except BaseException as exc:
            self._release(key, waiters)
            for future in waiters:
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:  # cancelled (or the loop stopping): the waiters read for themselves
                    future.set_result(_RETRY)
            raise
        self._release(key, waiters)
        for future in waiters:
            if not future.done():
                future.set_result(value)
        return value, True

    def waiting(self, key: str) -> int:
        """How many callers wait for the read in flight for ``key`` (-1: none in flight)."""
        waiters = self._reads.get(key)
        return -1 if waiters is None else sum(not future.done() for future in waiters)

    def forget(self, key: str) -> None:
        """Callers arriving from now on read afresh; current waiters keep theirs."""
        self._reads.pop(key, None)

    def written(self, keys: Collection[str] | None) -> None:
        """A write to ``keys`` (None: to any key) returned: callers arriving from now on
        read afresh instead of joining a read that began before it (read-your-writes)."""
        reads = self._reads
        if not reads:  # nothing in flight: the common case on a write
            return
        if keys is None:
            reads.clear()
            return
        for key in keys:
            reads.pop(key, None)

    def _release(self, key: str, waiters: list[asyncio.Future[Any]]) -> None:
        if self._reads.get(key) is waiters:  # forget() may have made room for a newer read
            del self._reads[key]
