"""The source behind a CacheAside: an async function of the key, or a ``DataStore``.

Usage::

    loader = Loader(repo.get_user, max_concurrency=32)      # async def get_user(id) -> User | None
    loader = Loader(SQLStore(url, "users", type=User), max_concurrency=32)
    user = await loader.one(42)                                   # raises what the source raised
    loaded, failed = await loader.many([1, 2, 3])                 # {1: u1, 2: None, 3: u3}, {}

A data store is recognised by having ``get`` and ``get_many``: ``many`` then costs one
``get_many`` call, and keys it does not return load as None (not found). A function is
called once per key, at most ``max_concurrency`` at a time. Errors are kept per key, so
one bad key never hides the others' values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar, cast

from cachewright.errors import ConfigurationError
from cachewright.patterns.aside._adaptive import Loaded

__all__ = ["BatchSource", "Loader", "LoaderSource", "bounded_each", "is_store"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
R = TypeVar("R")
V_co = TypeVar("V_co", covariant=True)


class BatchSource(Protocol[K, V_co]):
    """The read half of ``DataStore``: all a loader needs (any data store has it)."""

    async def get(self, key: K, /) -> V_co | None: ...

    async def get_many(self, keys: Sequence[K], /) -> Mapping[K, V_co]: ...


#: what CacheAside accepts as ``loader``: an async function of the key, or a data store
#: (it may wrap a value in ``Cached`` to choose its ttl and tags, see ``_adaptive``)
LoaderSource = Callable[[K], Awaitable[Loaded[V]]] | BatchSource[K, V]


async def bounded_each(
    fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int
) -> list[R | BaseException]:
    """``fn(item)`` for every item, ``limit`` at a time; results (or errors) in order.

    ``limit`` workers pull from one iterator, so 10,000 items cost ``limit`` tasks.
    An ``Exception`` is returned in its item's slot; cancellation propagates.
    """
    results: list[R | BaseException] = [None] * len(items)  # type: ignore[list-item]
    pending = iter(enumerate(items))

    async def worker() -> None:
        # Sharing one iterator is safe: next() never yields to the event loop.
        for index, item in pending:
            try:
                results[index] = await fn(item)
            except Exception as exc:
                results[index] = exc

    async with asyncio.TaskGroup() as group:
        for _ in range(min(max(1, limit), len(items))):
            group.create_task(worker())
    return results


def is_store(source: object) -> bool:
    return callable(getattr(source, "get", None)) and callable(getattr(source, "get_many", None))


class Loader(Generic[K, V]):
    """Single and batched loads over a function or a data store."""

    __slots__ = ("_get", "_get_many", "_limit", "source")

    def __init__(self, source: LoaderSource[K, V], *, max_concurrency: int) -> None:
        self.source = source
        self._limit = max_concurrency
        if is_store(source):
            store = cast(BatchSource[K, V], source)
            self._get: Callable[[K], Awaitable[Loaded[V]]] = store.get
            self._get_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]] | None = (
                store.get_many
            )
        elif callable(source):
            self._get = source
            self._get_many = None
        else:
            raise ConfigurationError(
                f"loader must be an async function of the key or a DataStore, not {source!r}"
            )

    @property
    def batched(self) -> bool:
        """Whether ``many`` is one call to the source (a data store's ``get_many``)."""
        return self._get_many is not None

    async def one(self, key: K) -> Loaded[V]:
        return await self._get(key)

    async def many(
        self, keys: Sequence[K], *, limit: int | None = None
    ) -> tuple[dict[K, Loaded[V]], dict[K, Exception]]:
        """Load every key: ({key: value or None}, {key: error}).

        With a data store, a ``get_many`` that fails on its data is retried key by key,
        so only the keys that really fail (a row that no longer validates, say) are
        reported; an unreachable store fails every key at once.
        """
        if not keys:
            return {}, {}
        if self._get_many is not None:
            try:
                hits = await self._get_many(keys)
            except (ConnectionError, TimeoutError) as exc:
                # The store is unreachable (StoreUnavailable is a ConnectionError): asking
                # again key by key would only multiply the load on a struggling server.
                return {}, dict.fromkeys(keys, exc)
            except Exception:
                pass  # a bad row, say: isolate the failing keys below, one ``get`` each
            else:
                return {key: hits.get(key) for key in keys}, {}
        results = await bounded_each(self._get, keys, limit or self._limit)
        loaded: dict[K, Loaded[V]] = {}
        failed: dict[K, Exception] = {}
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, Exception):
                failed[key] = result
            else:
                loaded[key] = cast(Loaded[V], result)
        return loaded, failed
