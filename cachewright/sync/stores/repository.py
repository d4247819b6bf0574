"""``RepositoryStore``: a user's synchronous repository as an async ``DataStore``.

Usage::

    from cachewright.sync.stores import RepositoryStore

    store = RepositoryStore(UserRepository(engine))   # get/set/delete (+ optional batch)
    user = await store.get(42)                         # repo.get(42) in a worker thread

The sync patterns wrap a repository this way by themselves (``WriteThrough(cache,
UserRepository(engine), ...)``); build one directly to hand a synchronous repository
to the async API. Each call is one worker-thread call (a batch too: the repository's
own ``get_many``/``set_many``/``delete_many`` when it has them, else its single-key
methods in a loop inside that one call), so the engine's loop never blocks on it.
Exceptions are raised unchanged: the pattern on top decides what they become.

A repository that declares what it can keep, with ``check_key(key)`` and
``check_item(key, value)`` (raising ``InvalidKey``, ``TypeMismatch``, ...), gets a
``CheckedRepositoryStore`` from ``repository_store``: write-behind and write-through
then refuse such writes at ``set``, before acknowledging them (G15), as they do for
any ``cachewright.stores.CheckedStore``.

Repositories built on SQLAlchemy's synchronous ``Engine`` fit as they are; after a
fork, follow SQLAlchemy's advice for pools (``engine.dispose(close=False)`` in the
child), since the repository is the user's object and cachewright cannot rebuild it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from cachewright.errors import ConfigurationError
from cachewright.stores import BaseStore
from cachewright.sync._threads import in_thread

__all__ = ["CheckedRepositoryStore", "RepositoryStore", "is_async", "repository_store"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def is_async(fn: object) -> bool:
    """Whether ``fn`` is a coroutine function (also behind ``functools.partial``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    call = None if inspect.isroutine(fn) else type(fn).__dict__.get("__call__")
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _method(repository: object, name: str) -> Callable[..., Any] | None:
    method: Callable[..., Any] | None = getattr(repository, name, None)
    if method is None:
        return None
    if not callable(method):
        raise ConfigurationError(f"{repository!r}.{name} is not callable")
    if is_async(method):
        raise ConfigurationError(
            f"{repository!r}.{name} is async: the sync API takes synchronous repositories "
            "(use the async API, cachewright.CacheAside/WriteThrough/WriteBehind, for async ones)"
        )
    return method


class RepositoryStore(BaseStore[K, V], Generic[K, V]):
    """An async ``DataStore`` whose calls run a synchronous repository's methods in threads."""

    __slots__ = (
        "_delete",
        "_delete_many",
        "_exists",
        "_get",
        "_get_many",
        "_repository",
        "_set",
        "_set_many",
    )

    def __init__(self, repository: object, *, writes: bool = True) -> None:
        get = _method(repository, "get")
        if get is None:
            raise ConfigurationError(f"{repository!r} has no get(key) method")
        self._repository = repository
        self._get: Callable[[K], V | None] = get
        self._set = _method(repository, "set")
        self._delete = _method(repository, "delete")
        if writes and (self._set is None or self._delete is None):
            raise ConfigurationError(f"{repository!r} needs set(key, value) and delete(key)")
        self._exists = _method(repository, "exists")
        self._get_many = _method(repository, "get_many")
        self._set_many = _method(repository, "set_many")
        self._delete_many = _method(repository, "delete_many")

    def __repr__(self) -> str:
        return f"RepositoryStore({self._repository!r})"

    @property
    def repository(self) -> object:
        return self._repository

    async def get(self, key: K) -> V | None:
        return await in_thread(self._get, key)

    async def set(self, key: K, value: V) -> None:
        await in_thread(self._writer("set"), key, value)

    async def delete(self, key: K) -> None:
        await in_thread(self._writer("delete"), key)

    async def exists(self, key: K) -> bool:
        return await in_thread(self._exists_now, key)

    async def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        keys = list(keys)
        if self._get_many is not None:
            return dict(await in_thread(self._get_many, keys))
        return await in_thread(self._get_each, keys)

    async def set_many(self, items: Mapping[K, V]) -> None:
        if not items:
            return
        if self._set_many is not None:
            await in_thread(self._set_many, dict(items))
        else:
            await in_thread(self._set_each, dict(items))

    async def delete_many(self, keys: Sequence[K]) -> None:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return
        if self._delete_many is not None:
            await in_thread(self._delete_many, keys)
        else:
            await in_thread(self._delete_each, keys)

    # -- the composed methods, each run inside one worker-thread call ---------------

    def _writer(self, name: str) -> Callable[..., Any]:
        method = self._set if name == "set" else self._delete
        if method is None:
            raise ConfigurationError(f"{self._repository!r} has no {name} method")
        return method

    def _exists_now(self, key: K) -> bool:
        if self._exists is not None:
            return bool(self._exists(key))
        return self._get(key) is not None

    def _get_each(self, keys: list[K]) -> dict[K, V]:
        hits: dict[K, V] = {}
        for key in dict.fromkeys(keys):
            value = self._get(key)
            if value is not None:
                hits[key] = value
            elif self._exists is not None and self._exists(key):
                hits[key] = value  # type: ignore[assignment]  # a stored None: a hit
        return hits

    def _set_each(self, items: dict[K, V]) -> None:
        setter = self._writer("set")
        for key, value in items.items():
            setter(key, value)

    def _delete_each(self, keys: list[K]) -> None:
        deleter = self._writer("delete")
        for key in keys:
            deleter(key)


class CheckedRepositoryStore(RepositoryStore[K, V]):
    """A ``RepositoryStore`` whose repository has ``check_key`` and ``check_item``: a
    ``cachewright.stores.CheckedStore``, its checks run in a worker thread."""

    __slots__ = ("_check_item", "_check_key")

    def __init__(self, repository: object, *, writes: bool = True) -> None:
        super().__init__(repository, writes=writes)
        check_key, check_item = _checks(repository)
        if check_key is None or check_item is None:
            raise ConfigurationError(f"{repository!r} needs check_key and check_item")
        self._check_key = check_key
        self._check_item = check_item

    async def check_key(self, key: K) -> None:
        await in_thread(self._check_key, key)

    async def check_item(self, key: K, value: V) -> None:
        await in_thread(self._check_item, key, value)


def _checks(repository: object) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    return _method(repository, "check_key"), _method(repository, "check_item")


def repository_store(repository: object, *, writes: bool = True) -> RepositoryStore[Any, Any]:
    """A ``CheckedRepositoryStore`` when ``repository`` declares its checks, else a
    ``RepositoryStore``."""
    if all(check is not None for check in _checks(repository)):
        return CheckedRepositoryStore(repository, writes=writes)
    return RepositoryStore(repository, writes=writes)
