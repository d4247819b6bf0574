"""The data-store contract: ``DataStore`` (a protocol) and ``BaseStore`` (batch defaults).

Usage::

    from cachewright.stores import BaseStore

    class OrderStore(BaseStore[int, Order]):
        async def get(self, key: int) -> Order | None:
            return await db.fetch_order(key)

        async def set(self, key: int, value: Order) -> None:
            await db.upsert_order(key, value)      # must be an idempotent upsert

        async def delete(self, key: int) -> None:
            await db.delete_order(key)             # deleting a missing key is not an error

    store = OrderStore()
    await store.set_many({1: a, 2: b})             # batch methods come from BaseStore
    hits = await store.get_many([1, 2, 3])         # {1: a, 2: b}: hits only

Any object with the seven methods of ``DataStore`` is a data store; ``BaseStore`` is a
convenience, not a requirement. The patterns call ``set``/``set_many`` at least once
per accepted write (write-behind retries), so writes must be idempotent upserts.

``get`` returns ``None`` for a miss. A store that can hold ``None`` as a value tells it
apart from a miss through ``exists`` and ``get_many`` (a stored ``None`` is a hit).

A store that knows what it can keep declares it with two more methods (``CheckedStore``):
``check_key(key)`` and ``check_item(key, value)`` raise the typed error ``set`` or
``delete`` would raise (``InvalidKey``, ``TypeMismatch``, ``SerializationError``), and
write nothing. Write-behind and write-through call them at the caller's ``set`` and
``delete``, before acknowledging the write (G15)::

    class OrderStore(BaseStore[int, Order]):
        async def check_key(self, key: int) -> None:
            if not isinstance(key, int) or key <= 0:
                raise InvalidKey(f"order ids are positive ints, got {key!r}")

        async def check_item(self, key: int, value: Order) -> None:
            await self.check_key(key)
            if not isinstance(value, Order):
                raise TypeMismatch(f"expected an Order, got {type(value).__name__}")
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from types import TracebackType
from typing import ClassVar, Generic, Protocol, Self, TypeVar, cast, runtime_checkable

from cachewright.stores._concurrency import bounded_map

__all__ = ["BaseStore", "CheckedStore", "DataStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)
V_contra = TypeVar("V_contra", contravariant=True)


@runtime_checkable
class DataStore(Protocol[K, V]):
    """The source of truth behind a cache pattern (the design card's ``IDataStore``).

    Usage::

        async def load(store: DataStore[int, User], user_id: int) -> User | None:
            return await store.get(user_id)

    ``get_many`` returns hits only; ``set_many`` and ``delete_many`` of an empty batch
    do nothing; deleting a missing key is not an error.
    """

    async def get(self, key: K) -> V | None: ...

    async def set(self, key: K, value: V) -> None: ...

    async def delete(self, key: K) -> None: ...

    async def exists(self, key: K) -> bool: ...

    async def get_many(self, keys: Sequence[K]) -> Mapping[K, V]: ...

    async def set_many(self, items: Mapping[K, V]) -> None: ...

    async def delete_many(self, keys: Sequence[K]) -> None: ...


@runtime_checkable
class CheckedStore(Protocol[K_contra, V_contra]):
    """A data store that declares which keys and values it can keep (see module doc).

    Usage::

        if isinstance(store, CheckedStore):
            await store.check_item(7, order)     # InvalidKey / TypeMismatch, nothing written

    Checks are cheap (no write; a round trip at most once, to learn a table's key type)
    and must refuse exactly what the store's ``set``/``delete`` would refuse for the
    key's or value's own sake. Failures nobody can know in advance (the store down, a
    constraint between rows) are not theirs to report.
    """

    async def check_key(self, key: K_contra) -> None: ...

    async def check_item(self, key: K_contra, value: V_contra) -> None: ...


class BaseStore(ABC, Generic[K, V]):
    """A ``DataStore`` built from ``get``, ``set`` and ``delete``.

    Usage: subclass it and implement the three abstract methods (see the module
    docstring). ``exists`` defaults to a ``get``; override it when the store has a
    cheaper check, or when it can hold ``None`` as a value.

    The batch defaults run the single-key methods concurrently, at most
    ``batch_concurrency`` at a time (16; set it to 1 on a subclass for sequential
    calls). They give no atomicity: when one call fails, the batch may be partially
    applied and the first error is raised. Writes are idempotent upserts, so retrying
    the whole batch is safe. Stores with a real batch API (``SQLStore``) override them.

    Every store supports ``async with`` and an idempotent ``close()``; the default
    ``close()`` does nothing.
    """

    __slots__ = ()

    batch_concurrency: ClassVar[int] = 16

    @abstractmethod
    async def get(self, key: K) -> V | None:
        """Return the value stored under ``key``, or ``None`` for a miss."""

    @abstractmethod
    async def set(self, key: K, value: V) -> None:
        """Insert or replace the value under ``key`` (an idempotent upsert)."""

    @abstractmethod
    async def delete(self, key: K) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    async def exists(self, key: K) -> bool:
        """Whether ``key`` is stored. The default calls ``get``: a stored ``None`` reads
        as absent unless the subclass overrides this method."""
        return (await self.get(key)) is not None

    async def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        """Return ``{key: value}`` for the keys that are stored (hits only)."""
        unique = list(dict.fromkeys(keys))
        values = await bounded_map(self.get, unique, self.batch_concurrency)
        hits: dict[K, V] = {}
        maybe_none: list[K] = []
        for key, value in zip(unique, values, strict=True):
            if value is None:
                maybe_none.append(key)
            else:
                hits[key] = value
        # A None from get() is a miss or a stored None; only exists() can tell. Asking
        # costs one more call per None, and misses are what a None usually is.
        present = await bounded_map(self.exists, maybe_none, self.batch_concurrency)
        for key, stored in zip(maybe_none, present, strict=True):
            if stored:
                hits[key] = cast(V, None)  # a stored None: V admits None in this store
        return hits

    async def set_many(self, items: Mapping[K, V]) -> None:
        """Upsert every item (concurrently, bounded; not atomic)."""

        async def set_item(item: tuple[K, V]) -> None:
            await self.set(*item)

        await bounded_map(set_item, list(items.items()), self.batch_concurrency)

    async def delete_many(self, keys: Sequence[K]) -> None:
        """Delete every key (concurrently, bounded; not atomic)."""
        await bounded_map(self.delete, list(dict.fromkeys(keys)), self.batch_concurrency)

    async def close(self) -> None:
        """Release resources; idempotent. The default has nothing to release."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
