"""The synchronous Cache: the async :class:`cachewright.Cache`, callable from threads.

Usage::

    from cachewright.sync import Cache

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")  # or "memory://"
    with cache:
        cache.set("user:1", user, ttl=300, tags=["users"])
        user = cache.get("user:1", User)            # User | None (None: a miss)
        entry = cache.get_entry("user:1", User)     # Entry[User] | None
        hits = cache.get_many(["user:1", "user:2"], User)
        cache.invalidate_tags("users")
        views = cache.incr("views", 5)

Same names, arguments, results and errors as the async ``Cache`` (G1-G6 hold as they
are: the same engine runs underneath, on one event loop per process). Any thread may
call it; no event loop is needed. The async cache is built on first use, so a bad URL
raises then, and a process forked after that first use builds its own (its parent's
connections are never reused). ``memory://`` holds per-process memory: a forked child
starts with an empty cache.
"""

from __future__ import annotations

import os
from asyncio import _get_running_loop  # C speed; asyncio.get_running_loop() raises
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from cachewright import Cache as AsyncCache
from cachewright import (
    CacheStats,
    ConfigurationError,
    Entry,
    Health,
    LocalTier,
    Metrics,
    Settings,
)
from cachewright.cache._direct import NOT_DIRECT, Handoff
from cachewright.events import Events
from cachewright.sync._direct import Direct, started
from cachewright.sync._runtime import runtime
from cachewright.sync._twin import CACHE, Twin

if TYPE_CHECKING:
    from cachewright.cache import Backend, Channel, Codec

__all__ = ["Cache"]

T = TypeVar("T")

Ttl = float | int | timedelta | None


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


#: "not given": the cache's default ttl applies (``None`` means no expiry)
DEFAULT: Any = _Unset()


def _ttl(ttl: Any) -> dict[str, Any]:
    return {} if ttl is DEFAULT else {"ttl": ttl}


class Cache:
    """A namespaced cache for synchronous code; see the module docstring.

    ``Cache(backend, ...)`` takes the async ``Cache``'s arguments. ``backend`` (and
    ``channel``) may also be a class or function that builds one, which a forked child
    calls again for its own. An instance cannot cross a fork: used in another process
    than the one that made this object, it raises ``ConfigurationError``.
    ``Cache.from_url`` and ``Cache.from_settings`` are fork-safe as they are.
    """

    __slots__ = ("_direct", "_namespace", "_twin")

    def __init__(
        self,
        backend: Backend | Callable[[], Backend],
        *,
        namespace: str | None = None,
        settings: Settings | None = None,
        codec: Codec | None = None,
        url: str = "",
        local: LocalTier | None = None,
        channel: Channel | Callable[[], Channel] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        settings = settings or Settings()
        pid = os.getpid()

        def build() -> AsyncCache:
            return AsyncCache(
                _made(backend, pid),
                namespace=namespace,
                settings=settings,
                codec=codec,
                url=url,
                local=local,
                channel=None if channel is None else _made(channel, pid),
                metrics=metrics,
            )

        self._init(build, settings.namespace if namespace is None else namespace)

    def _init(self, build: Callable[[], AsyncCache], namespace: str) -> None:
        self._twin: Twin[AsyncCache] = Twin(build, close=AsyncCache.close, order=CACHE)
        self._namespace = namespace
        self._direct: Direct | None = None

    @classmethod
    def from_url(
        cls,
        url: str = "memory://",
        *,
        namespace: str | None = None,
        settings: Settings | None = None,
        codec: Codec | None = None,
        local: LocalTier | None = None,
        metrics: Metrics | None = None,
    ) -> Cache:
        """A cache on ``memory://``, ``redis://``, ``rediss://``, ``redis+sentinel://``
        or ``redis+cluster://``, as :meth:`cachewright.Cache.from_url`."""
        settings = settings or Settings()

        def build() -> AsyncCache:
            return AsyncCache.from_url(
                url,
                namespace=namespace,
                settings=settings,
                codec=codec,
                local=local,
                metrics=metrics,
            )

        made = cls.__new__(cls)
        cls._init(made, build, settings.namespace if namespace is None else namespace)
        return made

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Cache:
        """A cache configured from ``CACHEWRIGHT_*`` variables (default: ``memory://``)."""
        settings = settings or Settings()
        return cls.from_url(settings.url, settings=settings)

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._twin.run(AsyncCache.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections (and the invalidation channel). Idempotent."""
        direct = self._direct
        if direct is not None and direct.pid == os.getpid():
            direct.close()  # every thread's direct-read connection
        self._twin.close()

    def __repr__(self) -> str:
        return f"sync.Cache(namespace={self._namespace!r})"

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def events(self) -> Events:
        """The events of this process's engine cache (``cachewright.events``); the
        callbacks run on the engine's event loop thread: keep them short."""
        return self.engine().events

    def engine(self) -> AsyncCache:
        """The async ``Cache`` of this process (building it if needed), for code that
        runs on the engine's loop; elsewhere use this object's methods."""
        return self._twin.current()

    def _current_direct(self) -> Direct | None:
        return self._direct

    def _keep_direct(self, direct: Direct) -> None:
        self._direct = direct

    def _built(self) -> AsyncCache:
        """The async ``Cache`` of this process, built on the loop if needed (any thread)."""
        return self._twin.run(_itself)

    # -- reads -------------------------------------------------------------------------

    @overload
    def get(self, key: str) -> Any: ...
    @overload
    def get(self, key: str, type: type[T]) -> T | None: ...
    @overload
    def get(self, key: str, type: Any) -> Any: ...
    def get(self, key: str, type: Any = None) -> Any:
        """The fresh value at ``key`` validated as ``type``, or None for a miss.

        On a standalone Redis without a local tier, read in this thread on a
        connection of its own (a direct read: see ``cachewright.cache._direct``)."""
        # A thread running an event loop (the engine's own, or an async caller's) goes
        # through the engine, which refuses it or blocks it as it always has.
        if _get_running_loop() is None:
            direct = self._direct
            if direct is None or direct.runtime is not runtime():
                direct = started(self._current_direct, self._keep_direct, self._built)
            reader = direct.reader()
            if reader is not None:
                found = reader.get(key, type)
                if found.__class__ is not Handoff:
                    return found
                if found is not NOT_DIRECT:  # the loop finishes it (a failure, sliding)
                    reads = reader.direct
                    return self._twin.run(lambda c: reads.finish(found, type))
        return self._twin.run(lambda c: c.get(key, type))

    @overload
    def get_entry(self, key: str) -> Entry[Any] | None: ...
    @overload
    def get_entry(self, key: str, type: type[T]) -> Entry[T] | None: ...
    @overload
    def get_entry(self, key: str, type: Any) -> Entry[Any] | None: ...
    def get_entry(self, key: str, type: Any = None) -> Entry[Any] | None:
        """The entry at ``key`` with its metadata (stale ones included), or None (G1)."""
        return self._twin.run(lambda c: c.get_entry(key, type))

    @overload
    def get_many(self, keys: Iterable[str]) -> dict[str, Any]: ...
    @overload
    def get_many(self, keys: Iterable[str], type: type[T]) -> dict[str, T]: ...
    @overload
    def get_many(self, keys: Iterable[str], type: Any) -> dict[str, Any]: ...
    def get_many(self, keys: Iterable[str], type: Any = None) -> dict[str, Any]:
        """The fresh hits among ``keys`` (misses are absent); one round trip per node."""
        keys = list(keys)  # an iterator must not be consumed on another thread
        return self._twin.run(lambda c: c.get_many(keys, type))

    def get_many_entries(self, keys: Iterable[str], type: Any = None) -> dict[str, Entry[Any]]:
        """Entries (stale ones included) for the hits among ``keys``."""
        keys = list(keys)
        return self._twin.run(lambda c: c.get_many_entries(keys, type))

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds an entry (fails open to False)."""
        return self._twin.run(lambda c: c.exists(key))

    def ttl(self, key: str) -> float | None:
        """Seconds left; ``math.inf`` for no expiry; None for a missing key."""
        return self._twin.run(lambda c: c.ttl(key))

    def stats(self, *, server: bool = True) -> CacheStats:
        """Counters of this cache in this process and, with ``server``, the backend's."""
        return self._twin.run(lambda c: c.stats(server=server))

    def ping(self, *, timeout: float | None = None) -> Health:
        """Reachability, round trip, breaker, server version and local channel state
        (see :meth:`cachewright.Cache.ping`); never raises for an unreachable server."""
        return self._twin.run(lambda c: c.ping(timeout=timeout))

    # -- writes ------------------------------------------------------------------------

    def set(
        self,
        key: str,
        value: object,
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        stale_ttl: float | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> None:
        """Store ``value`` (encoded as ``type`` when given); see ``cachewright.Cache.set``."""
        options = _ttl(ttl)
        tags = _listed(tags)
        self._twin.run(
            lambda c: c.set(
                key,
                value,
                sliding=sliding,
                expires_at=expires_at,
                stale_ttl=stale_ttl,
                tags=tags,
                type=type,
                **options,
            )
        )

    def set_many(
        self,
        items: Mapping[str, object],
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> None:
        """Store every item with one expiry and tag set; one round trip per node (G2)."""
        options = _ttl(ttl)
        tags = _listed(tags)
        self._twin.run(
            lambda c: c.set_many(
                items, sliding=sliding, expires_at=expires_at, tags=tags, type=type, **options
            )
        )

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        return self._twin.run(lambda c: c.delete(key))

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key; the number that existed. One round trip per node."""
        keys = list(keys)
        return self._twin.run(lambda c: c.delete_many(keys))

    def delete_pattern(self, glob: str) -> int:
        """Remove this namespace's keys matching the Redis glob ``glob``, as written;
        user text goes in through ``cachewright.escape_glob``."""
        return self._twin.run(lambda c: c.delete_pattern(glob))

    def delete_prefix(self, prefix: str) -> int:
        """Remove this namespace's keys starting with ``prefix``, taken literally."""
        return self._twin.run(lambda c: c.delete_prefix(prefix))

    def clear(self) -> int:
        """Remove every entry of this namespace and its bookkeeping; the number removed."""
        return self._twin.run(AsyncCache.clear)

    def invalidate_tags(self, tags: Iterable[str] | str) -> int:
        """Remove every entry carrying any of ``tags``; the number removed (G3)."""
        names = _listed(tags)
        return self._twin.run(lambda c: c.invalidate_tags(names or ()))

    def touch(self, key: str, ttl: Ttl) -> bool:
        """Give ``key`` a new life of ``ttl`` (None: no expiry); False if it is missing."""
        return self._twin.run(lambda c: c.touch(key, ttl))

    @overload
    def incr(self, key: str, amount: int = 1) -> int: ...
    @overload
    def incr(self, key: str, amount: float) -> float: ...
    def incr(self, key: str, amount: int | float = 1) -> int | float:
        """Add ``amount`` to the counter at ``key`` (created at 0); the new value."""
        return self._twin.run(lambda c: c.incr(key, amount))


async def _itself(cache: AsyncCache) -> AsyncCache:
    return cache


def _made(thing: Any, pid: int) -> Any:
    """What ``thing`` builds when it is a factory (a class, or a callable without
    ``close``), else ``thing`` itself, refused in a process it was not made for."""
    if isinstance(thing, type) or (callable(thing) and not hasattr(thing, "close")):
        return thing()
    if os.getpid() != pid:
        raise ConfigurationError(
            f"{thing!r} was made in process {pid} and cannot be used after a fork: "
            "pass a function that builds it, or use Cache.from_url"
        )
    return thing


def _listed(tags: Iterable[str] | str | None) -> list[str] | str | None:
    """Tags as given, an iterator made a list (it must not be consumed on another thread)."""
    if tags is None or isinstance(tags, str):
        return tags
    return list(tags)
