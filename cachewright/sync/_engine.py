"""The sync stores that wrap an async store of the engine: MemoryStore and SQLStore.

Usage::

    class MemoryStore(EngineStore[K, V]):
        def __init__(self, items=None, **options):
            super().__init__(lambda: stores.MemoryStore(items, **options))

    store.get(1)           # from any thread: the async store's get, run by the engine
    store.engine()         # the async store of this process (for the sync patterns)

A sync pattern given one of these uses its async store directly (no worker thread).
The async store is built on first use in each process, so a forked child opens its
own database connections; a ``MemoryStore`` starts the child with its initial items.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from types import TracebackType
from typing import Generic, Self, TypeVar

from cachewright.stores import DataStore as AsyncDataStore
from cachewright.sync._twin import STORE, Twin

__all__ = ["EngineStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def _close(store: AsyncDataStore[K, V]) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        await close()


class EngineStore(Generic[K, V]):
    """A synchronous data store over an async one built by ``build`` (see module doc)."""

    __slots__ = ("_twin",)

    def __init__(self, build: Callable[[], AsyncDataStore[K, V]]) -> None:
        self._twin: Twin[AsyncDataStore[K, V]] = Twin(build, close=_close, order=STORE)

    def engine(self) -> AsyncDataStore[K, V]:
        """The async store of this process (on the engine's loop only)."""
        return self._twin.current()

    def get(self, key: K) -> V | None:
        return self._twin.run(lambda s: s.get(key))

    def set(self, key: K, value: V) -> None:
        self._twin.run(lambda s: s.set(key, value))

    def delete(self, key: K) -> None:
        self._twin.run(lambda s: s.delete(key))

    def exists(self, key: K) -> bool:
        return self._twin.run(lambda s: s.exists(key))

    def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        keys = list(keys)
        return self._twin.run(lambda s: s.get_many(keys))

    def set_many(self, items: Mapping[K, V]) -> None:
        self._twin.run(lambda s: s.set_many(items))

    def delete_many(self, keys: Sequence[K]) -> None:
        keys = list(keys)
        self._twin.run(lambda s: s.delete_many(keys))

    def close(self) -> None:
        """Release the store's connections (an engine it was given stays open). Idempotent."""
        self._twin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
