"""Wrap the async functions of an existing repository into a ``DataStore``, no subclass.

Usage::

    from cachewright.stores import store_from_functions

    store = store_from_functions(
        get=repo.find_user,                # async (key) -> User | None
        set=repo.save_user,                # async (key, value) -> anything (ignored)
        delete=repo.remove_user,           # async (key) -> anything (ignored)
        get_many=repo.find_users,          # optional: async (keys) -> {key: user}
    )
    users = CacheAside(cache, loader=store.get, key="user:{}", type=User)

Missing batch functions fall back to the ``BaseStore`` defaults (bounded concurrent
single-key calls); a missing ``exists`` falls back to ``get(key) is not None``, so pass
``exists`` when the repository can store ``None``. An exception raised by a wrapped
function is re-raised as ``StoreError`` with the original chained, except cachewright's
own errors (``CachewrightError`` subclasses), which pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from cachewright._redact import redact
from cachewright.errors import CachewrightError, StoreError
from cachewright.stores.base import BaseStore

__all__ = ["FunctionStore", "store_from_functions"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@contextmanager
def _user_errors(operation: str, fn: Callable[..., object]) -> Iterator[None]:
    """Map an error of the wrapped ``fn`` to ``StoreError`` (cachewright errors pass)."""
    try:
        yield
    except CachewrightError:
        raise
    except Exception as exc:
        name = getattr(fn, "__qualname__", repr(fn))
        detail = redact(str(exc))[:300]
        raise StoreError(f"{operation} ({name}) failed: {type(exc).__name__}: {detail}") from exc


class FunctionStore(BaseStore[K, V], Generic[K, V]):
    """A ``DataStore`` over plain async functions; see the module docstring.

    Usage::

        store = FunctionStore(get=repo.get, set=repo.put, delete=repo.remove)
    """

    __slots__ = ("_delete", "_delete_many", "_exists", "_get", "_get_many", "_set", "_set_many")

    def __init__(
        self,
        *,
        get: Callable[[K], Awaitable[V | None]],
        set: Callable[[K, V], Awaitable[object]],
        delete: Callable[[K], Awaitable[object]],
        exists: Callable[[K], Awaitable[bool]] | None = None,
        get_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]] | None = None,
        set_many: Callable[[Mapping[K, V]], Awaitable[object]] | None = None,
        delete_many: Callable[[Sequence[K]], Awaitable[object]] | None = None,
    ) -> None:
        self._get = get
        self._set = set
        self._delete = delete
        self._exists = exists
        self._get_many = get_many
        self._set_many = set_many
        self._delete_many = delete_many

    def __repr__(self) -> str:
        return f"FunctionStore(get={getattr(self._get, '__qualname__', self._get)!r})"

    async def get(self, key: K) -> V | None:
        with _user_errors("get", self._get):
            return await self._get(key)

    async def set(self, key: K, value: V) -> None:
        with _user_errors("set", self._set):
            await self._set(key, value)

    async def delete(self, key: K) -> None:
        with _user_errors("delete", self._delete):
            await self._delete(key)

    async def exists(self, key: K) -> bool:
        if self._exists is None:
            return await super().exists(key)
        with _user_errors("exists", self._exists):
            return bool(await self._exists(key))

    async def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        if self._get_many is None:
            return await super().get_many(keys)
        if not keys:
            return {}
        with _user_errors("get_many", self._get_many):
            return await self._get_many(keys)

    async def set_many(self, items: Mapping[K, V]) -> None:
        if self._set_many is None:
            await super().set_many(items)
            return
        if items:
            with _user_errors("set_many", self._set_many):
                await self._set_many(items)

    async def delete_many(self, keys: Sequence[K]) -> None:
        if self._delete_many is None:
            await super().delete_many(keys)
            return
        if keys:
            with _user_errors("delete_many", self._delete_many):
                await self._delete_many(keys)


def store_from_functions(
    *,
    get: Callable[[K], Awaitable[V | None]],
    set: Callable[[K, V], Awaitable[object]],
    delete: Callable[[K], Awaitable[object]],
    exists: Callable[[K], Awaitable[bool]] | None = None,
    get_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]] | None = None,
    set_many: Callable[[Mapping[K, V]], Awaitable[object]] | None = None,
    delete_many: Callable[[Sequence[K]], Awaitable[object]] | None = None,
) -> FunctionStore[K, V]:
    """Build a ``FunctionStore``; the functional spelling of its constructor.

    Usage::

        store = store_from_functions(get=repo.get, set=repo.put, delete=repo.remove)
    """
    return FunctionStore(
        get=get,
        set=set,
        delete=delete,
        exists=exists,
        get_many=get_many,
        set_many=set_many,
        delete_many=delete_many,
    )
