"""What the sync patterns hand to the async ones: stores and loaders, made async.

Usage (at a sync pattern's construction; the returned recipes run on the loop)::

    store = store_recipe(UserRepository(engine))    # () -> async DataStore
    loader = loader_recipe(repo.get)                # () -> async function of the key

A sync ``MemoryStore``/``SQLStore`` gives its engine's async store (no thread hop); a
user's repository or function runs in worker threads (``RepositoryStore``,
``in_thread``). Checks run here, at construction: a missing method or an ``async def``
raises ``ConfigurationError`` before any call is made.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar, cast

from cachewright.errors import ConfigurationError
from cachewright.stores import DataStore as AsyncDataStore
from cachewright.sync._engine import EngineStore
from cachewright.sync._threads import in_thread
from cachewright.sync.stores.repository import RepositoryStore, is_async, repository_store

__all__ = ["loader_recipe", "ready", "store_recipe", "threaded"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def store_recipe(store: object) -> Callable[[], AsyncDataStore[Any, Any]]:
    """A function giving the async store behind ``store`` in the running process."""
    if isinstance(store, EngineStore):
        return store.engine
    adapted: AsyncDataStore[Any, Any] = repository_store(store)
    return lambda: adapted


def loader_recipe(loader: object) -> Callable[[], Any]:
    """A function giving what async ``CacheAside`` takes as ``loader``: the engine store
    of a sync store, a ``RepositoryStore`` over a repository with ``get`` and
    ``get_many``, or an async function running a plain function in a worker thread."""
    if isinstance(loader, EngineStore):
        return loader.engine
    if callable(getattr(loader, "get", None)) and callable(getattr(loader, "get_many", None)):
        source: object = RepositoryStore(loader, writes=False)
        return lambda: source
    if not callable(loader):
        raise ConfigurationError(
            f"loader must be a function of the key or a repository, not {loader!r}"
        )
    if is_async(loader):
        raise ConfigurationError(
            f"{loader!r} is async: the sync CacheAside takes a plain function "
            "(use cachewright.CacheAside for async loaders)"
        )
    function = cast(Callable[[Any], Any], loader)

    async def load(key: Any) -> Any:
        return await in_thread(function, key)

    load.__qualname__ = getattr(loader, "__qualname__", load.__qualname__)
    return lambda: load


def threaded(function: Callable[..., Any], what: str) -> Callable[..., Any]:
    """An async function running the plain ``function`` in a worker thread."""
    if is_async(function):
        raise ConfigurationError(f"{what} {function!r} is async: the sync API takes a plain one")

    async def call(*args: Any) -> Any:
        return await in_thread(function, *args)

    call.__qualname__ = getattr(function, "__qualname__", call.__qualname__)
    return call


def ready(value: V) -> Coroutine[Any, Any, V]:
    """An awaitable of ``value``: for reading a pattern's plain attributes on the loop."""

    async def done() -> V:
        return value

    return done()
