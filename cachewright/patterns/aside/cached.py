"""``@cached``: cache-aside for an async function or method, keyed by its arguments.

Usage::

    @cached(cache, ttl=60, tags=["products"])
    async def load_product(product_id: int) -> Product: ...

    product = await load_product(42)            # Product, decoded from the annotation
    await load_product.invalidate(42)           # same arguments, same key
    await load_product.refresh(42)              # reload now
    load_product.key(42)                        # 'shop.catalog.load_product:[42]'

    class ProductRepo:
        @cached(cache, ttl=60, key="product:{product_id}", stale_ttl=600, lock=True)
        async def get(self, product_id: int) -> Product | None: ...

    await repo.get(42); await repo.get.invalidate(42)

The decorated function keeps its signature for type checkers and ``inspect``. Keys
are the function's qualified name plus its bound arguments (defaults applied; a
leading ``self``/``cls`` left out, so every instance shares the entries), encoded
deterministically: see ``cachewright.patterns.aside._callkey``. Arguments that have
no stable encoding (dicts, lists, mutable objects) are refused with ``InvalidKey``
unless ``key=`` gives a template (``"product:{product_id}"``) or a function of the
arguments. Values are validated as ``type``, or as the return annotation when
``type`` is not given.

It is a :class:`~cachewright.CacheAside` underneath, with the same guarantees (one
execution per key for concurrent callers, ``lock`` across processes, stale-on-error,
fills that never overwrite a newer write) and the same errors: a failing call raises
the function's own exception, unchanged (a ``KeyError`` stays a ``KeyError``), with a
note naming the cache key.
``soft_timeout`` and ``hard_timeout`` bound how long a call waits for the function
(see ``CacheAside``); a function may return ``Cached(value, ttl=...)`` or
``Cached.skip(value)`` to choose one result's life (annotate it ``-> Product`` or
``-> Cached[Product]``: the value type is read from inside ``Cached``).
Unlike ``CacheAside``, ``cache_none`` defaults to True: a function that returned None
is not called again until the entry expires. With ``stale_ttl`` or
``early_refresh``, ``await fn.close()`` stops the background refreshes.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, cast, overload

from cachewright.cache import Cache
from cachewright.errors import ConfigurationError
from cachewright.patterns._fill import ExpiresAt
from cachewright.patterns.aside._adaptive import Cached, value_type
from cachewright.patterns.aside._callkey import CallKey
from cachewright.patterns.aside.cache_aside import CacheAside

__all__ = ["CachedFunction", "cached"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
S = TypeVar("S")

Seconds = float | int | timedelta


class _Call:
    """One call's arguments: the domain key of the function's CacheAside."""

    __slots__ = ("args", "key", "kwargs")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any], key: str) -> None:
        self.args = args
        self.kwargs = kwargs
        self.key = key

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Call) and other.key == self.key

    def __repr__(self) -> str:
        return self.key


def _call_key(call: _Call) -> str:
    return call.key


class _Core(Generic[R]):
    """What every binding of one decorated function shares: its keys and its aside."""

    __slots__ = ("_aside", "_keys", "_options", "_type", "cache", "fn")

    def __init__(
        self,
        fn: Callable[..., Awaitable[R]],
        cache: Cache,
        keys: CallKey,
        type: Any,
        options: dict[str, Any],
    ) -> None:
        self.fn = fn
        self.cache = cache
        self._keys = keys
        self._type = type
        self._options = options
        self._aside: CacheAside[_Call, R] | None = None

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
        return _Call(args, kwargs, self._keys.key(args, kwargs))

    def aside(self) -> CacheAside[_Call, R]:
        # Built on first use: the return annotation may name classes defined after
        # the decorated function (or under TYPE_CHECKING) until the module is loaded.
        if self._aside is None:
            self._aside = CacheAside(
                self.cache,
                loader=self._invoke,
                key=_call_key,
                type=self._value_type(),
                **self._options,
            )
        return self._aside

    async def _invoke(self, call: _Call) -> R | None:
        return await self.fn(*call.args, **call.kwargs)

    def _value_type(self) -> Any:
        if self._type is not None:
            return self._type
        try:
            hints = typing.get_type_hints(self.fn)
        except (NameError, TypeError) as exc:
            raise ConfigurationError(
                f"cannot resolve the return annotation of {self.fn.__qualname__} ({exc}); "
                "pass type= to @cached"
            ) from exc
        annotation = hints.get("return")
        return None if annotation is Any else value_type(annotation)


class CachedFunction(Generic[P, R]):
    """An async function whose results are cached; see the module docstring.

    Calling it returns what the function returns; ``invalidate``, ``refresh`` and
    ``key`` take the same arguments. Accessed through an instance, it binds like a
    method (``repo.get.invalidate(42)``).
    """

    def __init__(self, core: _Core[R], instance: object = None, bound: bool = False) -> None:
        self._core = core
        self._instance = instance
        self._bound = bound

    def _args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (self._instance, *args) if self._bound else args

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        call = self._core.call(self._args(args), kwargs)
        return cast(R, await self._core.aside().get(call))

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the entry of this call; True if it was cached."""
        call = self._core.call(self._args(args), kwargs)
        return await self._core.aside().invalidate(call)

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function now and cache its result (never over a newer write)."""
        call = self._core.call(self._args(args), kwargs)
        return cast(R, await self._core.aside().refresh(call))

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key of this call."""
        return self._core.call(self._args(args), kwargs).key

    @property
    def aside(self) -> CacheAside[Any, R]:
        """The CacheAside underneath (stats, warm-up, get_many of calls)."""
        return self._core.aside()

    async def close(self) -> None:
        """Stop background refreshes (needed with ``stale_ttl`` or ``early_refresh``)."""
        await self._core.aside().close()

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
        return CachedFunction(self._core, instance, bound=True)

    def __repr__(self) -> str:
        return f"<cached {self._core.fn.__qualname__}>"


class Decorator(Protocol):
    """What ``cached(...)`` returns: a function returning ``Cached[X]`` caches ``X``."""

    @overload
    def __call__(self, fn: Callable[P, Awaitable[Cached[R]]], /) -> CachedFunction[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, Awaitable[R | Cached[R]]], /) -> CachedFunction[P, R]: ...
    @overload
    def __call__(
        self, fn: Callable[P, Awaitable[R | Cached[R] | None]], /
    ) -> CachedFunction[P, R | None]: ...


def cached(
    cache: Cache,
    *,
    ttl: Seconds | None = 600,
    sliding: Seconds | None = None,
    expires_at: ExpiresAt | None = None,
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
) -> Decorator:
    """Cache an async function's results; see the module docstring.

    ``key``: a template over the parameter names (``"product:{product_id}"``) or a
    function called with the arguments as keywords; by default
    ``<prefix>:<encoded arguments>`` with ``prefix`` the function's qualified name.
    ``none_ttl`` defaults to ``ttl``. The other options (``sliding`` and ``expires_at``
    included) are CacheAside's.
    """

    def decorate(fn: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
        if isinstance(fn, classmethod | staticmethod):
            raise ConfigurationError("put @cached below @classmethod / @staticmethod")
        if not inspect.iscoroutinefunction(fn):
            raise ConfigurationError(f"@cached needs an async function, not {fn!r}")
        options: dict[str, Any] = {
            "ttl": ttl,
            "sliding": sliding,
            "expires_at": expires_at,
            "tags": tags,
            "stale_ttl": stale_ttl,
            "lock": lock,
            "lock_ttl": lock_ttl,
            "lock_wait": lock_wait,
            "cache_none": cache_none,
            "none_ttl": none_ttl if none_ttl is not None else ttl,
            "early_refresh": early_refresh,
            "soft_timeout": soft_timeout,
            "hard_timeout": hard_timeout,
        }
        keys = CallKey(fn, prefix=prefix, key=key)
        wrapper: CachedFunction[P, R] = CachedFunction(_Core(fn, cache, keys, type, options))
        functools.update_wrapper(wrapper, fn)
        return wrapper

    return cast(Decorator, decorate)
