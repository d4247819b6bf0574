"""Telling in-process readers that a write to a key has returned (read-your-writes).

Usage (what :class:`~cachewright.cache.Cache` and ``CacheAside`` do)::

    fences = WriteFences()
    fences.watch(flights)          # anything with ``written(keys)``; held weakly
    fences.written(["user:1"])     # after a write to user:1 returned (or failed)
    fences.written(None)           # a tag invalidation, a glob delete, a clear: any key

A read that starts after a write to a key has returned must never be handed a value
loaded before that write. Readers that share work in flight (CacheAside's single
flight) watch the cache's writes and stop letting new callers join a load that began
before one: those callers start a load of their own, which sees the write.

Watchers are held through weak references: a pattern that is dropped stops being told
without having to unregister.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from typing import Protocol

__all__ = ["WriteFences", "WriteWatcher"]


class WriteWatcher(Protocol):
    """What :meth:`Cache.watch_writes` accepts (it must support weak references)."""

    def written(self, keys: Collection[str] | None) -> None:
        """``keys`` were written, deleted or invalidated in this process (None: any key).

        Called synchronously on the event loop, right after the backend answered (or
        failed) and before the writer's call returns; it must not block.
        """


class WriteFences:
    """The watchers of one cache's writes."""

    __slots__ = ("_refs",)

    def __init__(self) -> None:
        # Plain weak references (not a WeakSet): this runs on every write, and a
        # WeakSet's iteration guard costs more than the watchers' own work.
        self._refs: dict[int, weakref.ReferenceType[WriteWatcher]] = {}

    def watch(self, watcher: WriteWatcher) -> None:
        key = id(watcher)
        refs = self._refs

        def gone(ref: weakref.ReferenceType[WriteWatcher]) -> None:
            if refs.get(key) is ref:
                del refs[key]

        refs[key] = weakref.ref(watcher, gone)

    def written(self, keys: Collection[str] | None) -> None:
        if not self._refs:  # the common case: no CacheAside reads through this cache
            return
        for ref in list(self._refs.values()):
            watcher = ref()
            if watcher is not None:
                watcher.written(keys)
