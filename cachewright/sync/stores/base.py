"""The synchronous data-store contract: ``DataStore`` (a protocol) and ``BaseStore``.

Usage::

    from cachewright.sync.stores import BaseStore

    class OrderRepository(BaseStore[int, Order]):      # or any object with these methods
        def get(self, key: int) -> Order | None:
            return session.get(OrderRow, key)...
        def set(self, key: int, value: Order) -> None:
            ...                                         # an idempotent upsert
        def delete(self, key: int) -> None:
            ...                                         # a missing key is not an error

    orders = WriteThrough(cache, OrderRepository(), key="order:{}", type=Order)

The sync patterns take any object with ``get``, ``set`` and ``delete`` (a loader needs
only ``get``); ``exists``, ``get_many``, ``set_many`` and ``delete_many`` are used when
present (one worker-thread call per batch), else composed from the single-key methods.
The methods run in the engine's worker threads, never on its loop, so they may block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar, cast, runtime_checkable

__all__ = ["BaseStore", "DataStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@runtime_checkable
class DataStore(Protocol[K, V]):
    """The synchronous twin of :class:`cachewright.stores.DataStore`."""

    def get(self, key: K) -> V | None: ...

    def set(self, key: K, value: V) -> None: ...

    def delete(self, key: K) -> None: ...

    def exists(self, key: K) -> bool: ...

    def get_many(self, keys: Sequence[K]) -> Mapping[K, V]: ...

    def set_many(self, items: Mapping[K, V]) -> None: ...

    def delete_many(self, keys: Sequence[K]) -> None: ...


class BaseStore(ABC, Generic[K, V]):
    """A synchronous ``DataStore`` built from ``get``, ``set`` and ``delete``.

    The batch defaults call the single-key methods one after the other (no
    atomicity: writes are idempotent upserts, so retrying a batch is safe).
    ``exists`` defaults to ``get(key) is not None``. ``with`` calls ``close()``.
    """

    __slots__ = ()

    @abstractmethod
    def get(self, key: K) -> V | None:
        """Return the value stored under ``key``, or ``None`` for a miss."""

    @abstractmethod
    def set(self, key: K, value: V) -> None:
        """Insert or replace the value under ``key`` (an idempotent upsert)."""

    @abstractmethod
    def delete(self, key: K) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def exists(self, key: K) -> bool:
        """Whether ``key`` is stored (a stored ``None`` reads as absent unless overridden)."""
        return self.get(key) is not None

    def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        """Return ``{key: value}`` for the keys that are stored (hits only)."""
        hits: dict[K, V] = {}
        for key in dict.fromkeys(keys):
            value = self.get(key)
            if value is not None or self.exists(key):
                hits[key] = cast(V, value)
        return hits

    def set_many(self, items: Mapping[K, V]) -> None:
        """Upsert every item, one after the other."""
        for key, value in items.items():
            self.set(key, value)

    def delete_many(self, keys: Sequence[K]) -> None:
        """Delete every key, one after the other."""
        for key in dict.fromkeys(keys):
            self.delete(key)

    def close(self) -> None:
        """Release resources; idempotent. The default has nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
