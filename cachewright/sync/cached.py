"""The synchronous ``@cached``: cache-aside for a plain function or method.

Usage::

    from cachewright.sync import Cache, cached

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")

    @cached(cache, ttl=60, tags=["products"])
    def load_product(product_id: int) -> Product: ...

    product = load_product(42)          # Product, decoded from the annotation
    load_product.invalidate(42)         # same arguments, same key
    load_product.refresh(42)            # call it now and cache the result
    load_product.key(42)                # 'app.catalog.load_product:[42]'

    class ProductRepo:
        @cached(cache, ttl=60, key="product:{product_id}")
        def get(self, product_id: int) -> Product | None: ...

Options, keys and guarantees are those of the async :func:`cachewright.cached` (the
same key for the same function and arguments, so sync and async code share entries):
concurrent calls with the same arguments, from any threads, run the function once.
The function runs in a worker thread of the engine; its failure raises its own
exception, unchanged (a ``KeyError`` stays a ``KeyError``), as in the async API.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from cachewright import ConfigurationError
from cachewright import cached as async_cached
from cachewright.sync._adapt import ready
from cachewright.sync._threads import in_thread
from cachewright.sync._twin import PATTERN, Twin
from cachewright.sync.cache import Cache

if TYPE_CHECKING:
    from cachewright.patterns import CachedFunction as AsyncCachedFunction

__all__ = ["CachedFunction", "cached"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
S = TypeVar("S")

Seconds = float | int | timedelta


class CachedFunction(Generic[P, R]):
    """A plain function whose results are cached; see the module docstring.

    Accessed through an instance it binds like a method (``repo.get.invalidate(42)``).
    """

    def __init__(
        self, twin: Twin[AsyncCachedFunction[Any, R]], instance: object = None, bound: bool = False
    ) -> None:
        self._twin = twin
        self._instance = instance
        self._bound = bound

    def _args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (self._instance, *args) if self._bound else args

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        full = self._args(args)
        return self._twin.run(lambda f: f(*full, **kwargs))

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the entry of this call; True if it was cached."""
        full = self._args(args)
        return self._twin.run(lambda f: f.invalidate(*full, **kwargs))

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function now and cache its result (never over a newer write)."""
        full = self._args(args)
        return self._twin.run(lambda f: f.refresh(*full, **kwargs))

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key of this call."""
        full = self._args(args)
        return self._twin.run(lambda f: ready(f.key(*full, **kwargs)))

    def close(self) -> None:
        """Stop background refreshes (needed with ``stale_ttl`` or ``early_refresh``)."""
        self._twin.close()

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(
        self: CachedFunction[Concatenate[S, P2], R],
        instance: S,
        owner: type[Any] | None = None,
    ) -> CachedFunction[P2, R]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        if instance is None or self._bound:
            return self
        return CachedFunction(self._twin, instance, bound=True)

    def __repr__(self) -> str:
        return f"<sync cached {getattr(self, '__qualname__', '?')}>"


async def _close(function: AsyncCachedFunction[Any, Any]) -> None:
    await function.close()


def cached(
    cache: Cache,
    *,
    ttl: Seconds | None = 600,
    sliding: Seconds | None = None,
    expires_at: datetime | Callable[[], datetime] | None = None,
    tags: Iterable[str] | str | None = None,
    key: str | Callable[..., str] | None = None,
    type: Any = None,
    stale_ttl: Seconds | None = None,
    lock: bool = False,
    lock_ttl: Seconds = 10,
    lock_wait: Seconds | None = None,
    cache_none: bool = True,
    none_ttl: Seconds | None = None,
    early_refresh: float | None = None,
    prefix: str | None = None,
    soft_timeout: Seconds | None = None,
    hard_timeout: Seconds | None = None,
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]:
    """Cache a plain function's results; the options of :func:`cachewright.cached`."""
    tags = list(tags) if tags is not None and not isinstance(tags, str) else tags

    def decorate(fn: Callable[P, R]) -> CachedFunction[P, R]:
        if isinstance(fn, classmethod | staticmethod):
            raise ConfigurationError("put @cached below @classmethod / @staticmethod")
        if inspect.iscoroutinefunction(fn) or not callable(fn):
            raise ConfigurationError(
                f"sync @cached needs a plain function, not {fn!r} (use cachewright.cached)"
            )

        @functools.wraps(fn)
        async def in_worker(*args: Any, **kwargs: Any) -> R:
            return await in_thread(fn, *args, **kwargs)

        def build() -> AsyncCachedFunction[Any, R]:
            decorator = async_cached(
                cache.engine(),
                ttl=ttl,
                sliding=sliding,
                expires_at=expires_at,
                tags=tags,
                key=key,
                type=type,
                stale_ttl=stale_ttl,
                lock=lock,
                lock_ttl=lock_ttl,
                lock_wait=lock_wait,
                cache_none=cache_none,
                none_ttl=none_ttl,
                early_refresh=early_refresh,
                prefix=prefix,
                soft_timeout=soft_timeout,
                hard_timeout=hard_timeout,
            )
            return decorator(in_worker)

        wrapper: CachedFunction[P, R] = CachedFunction(Twin(build, close=_close, order=PATTERN))
        functools.update_wrapper(wrapper, fn)
        return wrapper

    return decorate
