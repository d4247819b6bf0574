"""How a write is settled: the breaker and fail-open policy, fences, the local tier.

Usage (the base of :class:`~cachewright.cache._writes.WritePath`)::

    class WritePath(GuardedWrites):
        async def delete(self, key):
            return await self.guarded(False, backend.delete, physical,
                                      notice=Notice(keys=(key,)), at=physical)

Every write goes through :meth:`GuardedWrites.guarded` (or :meth:`guarded_many` for a
batch split by node): the circuit breaker and fail-open policy (G6), then, once the
backend has it, the notice to the local tier's peers and to this process's readers in
flight (``fences``: read-your-writes). A write that could not reach the server is
handed to recovery (``on_lost``), to be replayed when it answers again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cachewright.cache._fences import WriteFences
from cachewright.cache._guard import Guard
from cachewright.cache.local import Coherence, Notice
from cachewright.errors import CacheUnavailable

__all__ = ["GuardedWrites"]

R = TypeVar("R")
T = TypeVar("T")


class GuardedWrites:
    """Runs writes under the guard and tells fences and the local tier what changed."""

    __slots__ = ("_coherence", "_guard", "_lost", "fences")

    def __init__(self, guard: Guard) -> None:
        self._guard = guard
        self._coherence: Coherence | None = None
        self.fences = WriteFences()
        self._lost: Callable[[Notice], None] | None = None

    def on_lost(self, remember: Callable[[Notice], None]) -> None:
        """Hand every write that could not reach the server to ``remember`` (recovery)."""
        self._lost = remember

    def attach(self, coherence: Coherence) -> None:
        """Tell the local tier (here and in peers) what each write changed."""
        self._coherence = coherence

    async def guarded(
        self,
        default: R,
        op: Callable[..., Awaitable[R]],
        *args: Any,
        notice: Notice | None = None,
        bulk: bool = False,
        fence: bool = True,
        at: str | None = None,
    ) -> R:
        """``op(*args)`` under the breaker of the node serving ``at`` (every node's
        when None); an outage raises or, with fail-open writes, returns ``default``."""
        return await self._settle(
            default, notice, self._guard.write(op, *args, bulk=bulk, at=at), fence
        )

    async def guarded_many(
        self,
        default: R,
        op: Callable[..., Awaitable[R]],
        items: Sequence[T],
        key_of: Callable[[T], str],
        *args: Any,
        notice: Notice,
        combine: Callable[[list[R]], R],
    ) -> R:
        """``op(items, *args)`` split by node (:meth:`Guard.write_many`), the results
        combined; a node that fails raises (or is dropped) after the others wrote."""

        async def split() -> R:
            return combine(await self._guard.write_many(op, items, key_of, *args))

        return await self._settle(default, notice, split(), True)

    async def _settle(
        self, default: R, notice: Notice | None, call: Awaitable[R], fence: bool
    ) -> R:
        try:
            result = await call
        except CacheUnavailable as exc:
            self._forget(notice, fence)
            if notice is not None and self._lost is not None:
                self._lost(notice)  # on any node: replayed when the server answers again
            return self._guard.write_failed(default, exc)
        except BaseException:
            self._forget(notice, fence)  # failed or cancelled midway
            raise
        if fence:
            self._fence(notice)
        if notice is not None and self._coherence is not None:
            # Drop locally only now that Redis has the write: a read that started
            # before this point is fenced off and cannot refill the old value.
            await self._coherence.announce(notice, result)
        return result

    def _forget(self, notice: Notice | None, fence: bool) -> None:
        # A write that failed midway may or may not be in Redis: this process's copy
        # goes. Peers are not told: the server (which carries the message) is the
        # likely cause, and their own channel drops their tier if it is down.
        if notice is not None and self._coherence is not None:
            self._coherence.forget(notice)
        if fence:
            # The store behind the cache may have changed (write-through writes it
            # first): loads that began before this write must not serve later readers.
            self._fence(notice)

    def _fence(self, notice: Notice | None) -> None:
        if notice is None:
            return
        if notice.keys and not (notice.tags or notice.pattern is not None or notice.clear):
            self.fences.written(notice.keys)
        else:
            self.fences.written(None)  # tags, globs, clears: any key may have changed
