"""The Cache: typed reads and writes, many-ops, tags, counters and stats over a backend.

Usage::

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")  # or "memory://"
    async with cache:
        await cache.set("user:1", user, ttl=300, tags=["users"])
        user = await cache.get("user:1", User)          # User | None (None: a miss)
        entry = await cache.get_entry("user:1", User)   # Entry[User] | None
        await cache.invalidate_tags("users")

Reads fail open: an unreachable server reads as a miss, counted. Writes raise
:class:`~cachewright.errors.CacheUnavailable` unless ``fail_open_writes`` is set.
A circuit breaker stops calls to a dead server and probes it back (G6).

Two levels: ``Cache.from_url(url, local=LocalTier(max_entries=10_000, ttl=5.0))``
keeps hot entries in process memory and keeps them coherent across processes over
Redis pub/sub (see :mod:`cachewright.cache.local` and ``docs/local-tier.md``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from cachewright._metrics import NOOP, Metrics, otel_metrics
from cachewright._redact import redact_url
from cachewright.cache._breaker import CircuitBreaker
from cachewright.cache._expiry import Ttl, now_ms, plan_expiry, to_ms
from cachewright.cache._guard import Guard
from cachewright.cache._serializer import Corrupt, Lease, Serializer, sliding_life
from cachewright.cache._stats import CacheStats, Counters
from cachewright.cache.backends.base import Backend, SharesClient
from cachewright.cache.codecs import Codec, JsonCodec, PickleCodec
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import HEADER_SIZE, LEASE, entry_tags, pack
from cachewright.cache.keys import KeyBuilder
from cachewright.cache.local import (
    Channel,
    Coherence,
    LocalStore,
    LocalTier,
    Notice,
    channel_for,
)
from cachewright.errors import (
    CacheUnavailable,
    ConfigurationError,
    InvalidKey,
    TypeMismatch,
)
from cachewright.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["Cache"]

log = logging.getLogger("cachewright.cache")


T = TypeVar("T")
R = TypeVar("R")


class _Default:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


def _codec_from(settings: Settings) -> Codec:
    if not settings.allow_pickle:
        return JsonCodec()
    if settings.pickle_key is None:
        raise ConfigurationError("allow_pickle needs pickle_key (an HMAC key) to sign entries")
    return PickleCodec(settings.pickle_key.get_secret_value())


class Cache:
    """A namespaced cache over a :class:`~cachewright.cache.backends.base.Backend`.

    ``local=LocalTier(...)`` puts an in-process tier in front of the backend; its
    invalidation channel is built from ``url`` (Redis pub/sub) or given as ``channel``.
    Without ``local``, the settings' ``local_max_entries`` (when set) enables it.
    """

    __slots__ = (
        "_backend",
        "_closed",
        "_coherence",
        "_counters",
        "_default_ttl",
        "_guard",
        "_keys",
        "_local",
        "_mattrs",
        "_metrics",
        "_serializer",
        "_settings",
        "_url",
    )

    def __init__(
        self,
        backend: Backend,
        *,
        namespace: str | None = None,
        settings: Settings | None = None,
        codec: Codec | None = None,
        url: str = "",
        local: LocalTier | None = None,
        channel: Channel | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        settings = settings or Settings()
        self._settings = settings
        self._backend = backend
        self._keys = KeyBuilder(
            settings.namespace if namespace is None else namespace,
            max_length=settings.max_key_length,
        )
        self._serializer = Serializer(
            codec or _codec_from(settings),
            compress_threshold=settings.compress_threshold,
            max_bytes=settings.max_value_bytes,
            on_type_mismatch=settings.on_type_mismatch,
        )
        self._counters = Counters()
        self._default_ttl = settings.default_ttl
        self._closed = False
        self._url = redact_url(url) if url else type(backend).__name__
        if metrics is None and settings.otel:
            metrics = otel_metrics()
        self._metrics: Metrics = metrics or NOOP
        self._mattrs = self._metrics.attributes(namespace=self._keys.namespace)
        self._guard = Guard(
            CircuitBreaker(settings.breaker_threshold, settings.breaker_reset),
            self._counters,
            self._metrics,
            self._mattrs,
            fail_open_writes=settings.fail_open_writes,
        )
        # The local tier (None: one level). ``_local`` is the store the read path
        # consults; ``_coherence`` tells the other processes what writes changed.
        self._local: LocalStore | None = None
        self._coherence: Coherence | None = None
        local = local or LocalTier.from_settings(settings)
        if local is not None:
            self._local = LocalStore(local, self._decode_local)
            self._coherence = Coherence(
                self._local,
                channel or channel_for(url, backend, settings, self._keys.internal("inv"), local),
            )

    # -- construction and lifecycle ---------------------------------------------------

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
        or ``redis+cluster://`` (user and password in the URL for ACL and TLS);
        ``local=LocalTier(...)`` adds the in-process tier in front of it;
        ``metrics=otel_metrics()`` records OpenTelemetry instruments."""
        settings = settings or Settings()
        if url.startswith("memory://"):
            from cachewright.cache.backends.memory import MemoryBackend

            backend: Backend = MemoryBackend(max_entries=settings.memory_max_entries)
        elif url.startswith(("redis://", "rediss://", "redis+", "unix://", "valkey://")):
            from cachewright.cache.backends.redis import RedisBackend

            backend = RedisBackend.from_url(url, settings=settings)
        else:
            raise ConfigurationError(f"unsupported cache URL scheme: {redact_url(url)!r}")
        return cls(
            backend,
            namespace=namespace,
            settings=settings,
            codec=codec,
            url=url,
            local=local,
            metrics=metrics,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Cache:
        """A cache configured from ``CACHEWRIGHT_*`` variables (default: ``memory://``)."""
        settings = settings or Settings()
        return cls.from_url(settings.url, settings=settings)

    async def __aenter__(self) -> Self:
        if self._coherence is not None:
            # Subscribe now so the first reads can use the tier; if Redis is not there
            # yet, carry on: reads bypass the tier until the channel comes up.
            await self._coherence.start(wait=self._settings.connect_timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the backend's connections (and the invalidation channel). Idempotent."""
        if not self._closed:
            self._closed = True
            if self._coherence is not None:
                await self._coherence.close()
            await self._backend.close()

    def __repr__(self) -> str:
        return f"Cache({self._url!r}, namespace={self.namespace!r})"

    @property
    def metrics(self) -> Metrics:
        """The instruments this cache records to (patterns record to them too)."""
        return self._metrics

    @property
    def namespace(self) -> str:
        return self._keys.namespace

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def shared_client(self) -> Redis | RedisCluster | None:
        """The backend's Redis client when it offers one to share (``SharesClient``), else None.

        The write-behind pattern builds its durable queue on it; the cache closes it.
        """
        backend = self._backend
        return backend.shared_client() if isinstance(backend, SharesClient) else None

    @property
    def keys(self) -> KeyBuilder:
        """The key builder: physical names of entries, tags and internal keys."""
        return self._keys

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def local(self) -> bool:
        """Whether this cache has a local tier in front of its backend."""
        return self._local is not None

    # -- guarded calls -----------------------------------------------------------------

    async def _write(
        self,
        default: R,
        op: Callable[..., Awaitable[R]],
        *args: Any,
        notice: Notice | None = None,
    ) -> R:
        try:
            result = await self._guard.write(op, *args)
        except CacheUnavailable as exc:
            self._forget(notice)
            return self._guard.write_failed(default, exc)
        except BaseException:
            self._forget(notice)  # failed or cancelled midway
            raise
        if notice is not None and self._coherence is not None:
            # Drop locally only now that Redis has the write: a read that started
            # before this point is fenced off and cannot refill the old value.
            await self._coherence.announce(notice, result)
        return result

    def _forget(self, notice: Notice | None) -> None:
        # A write that failed midway may or may not be in Redis: this process's copy
        # goes. Peers are not told: the server (which carries the message) is the
        # likely cause, and their own channel drops their tier if it is down.
        if notice is not None and self._coherence is not None:
            self._coherence.forget(notice)

    # -- reads -------------------------------------------------------------------------

    @overload
    async def get(self, key: str) -> Any: ...
    @overload
    async def get(self, key: str, type: type[T]) -> T | None: ...
    @overload
    async def get(self, key: str, type: Any) -> Any: ...
    async def get(self, key: str, type: Any = None) -> Any:
        """The fresh value at ``key`` validated as ``type``, or None for a miss.

        A cached None also reads as None: use :meth:`get_entry` to tell them apart.
        """
        found = await self.lookup(key, type)
        if isinstance(found, Entry) and not found.stale:
            return found.value
        return None

    @overload
    async def get_entry(self, key: str) -> Entry[Any] | None: ...
    @overload
    async def get_entry(self, key: str, type: type[T]) -> Entry[T] | None: ...
    @overload
    async def get_entry(self, key: str, type: Any) -> Entry[Any] | None: ...
    async def get_entry(self, key: str, type: Any = None) -> Entry[Any] | None:
        """The entry at ``key`` with its metadata (stale ones included), or None (G1)."""
        found = await self.lookup(key, type)
        return found if isinstance(found, Entry) else None

    async def lookup(self, key: str, type: Any = None) -> Entry[Any] | Lease | None:
        """Like :meth:`get_entry`, but a lease placeholder comes back as a :class:`Lease`.

        Patterns use it to tell "someone is filling this key" from "nobody has it".
        With a local tier, a local hit answers first; leases are never kept locally.
        """
        local = self._local
        ticket = 0
        if local is not None:
            hit = local.get(key, type)
            if hit is not None:
                self._counters.hits += 1
                self._metrics.hit(self._mattrs)
                self._counters.local_hits += 1
                return hit
            ticket = self._remote_ticket(local)
        physical = self._keys.entry(key)
        raw = await self._guard.read(None, self._backend.get, physical)
        if raw is None:
            self._counters.misses += 1
            self._metrics.miss(self._mattrs)
            return None
        found = await self._found(physical, raw, type, now_ms())
        if local is not None and isinstance(found, Entry):
            local.fill(key, raw, type, found, ticket)
        return found

    def _remote_ticket(self, local: LocalStore) -> int:
        # The first read that reaches Redis also starts the invalidation listener
        # (for caches used without ``async with``).
        if self._coherence is not None:
            self._coherence.ensure_started()
        return local.ticket()

    def _decode_local(self, raw: bytes, tp: Any) -> Entry[Any] | None:
        """Decode a locally kept entry as another type (no I/O)."""
        try:
            result = self._serializer.decode(raw, tp, now_ms())
        except TypeMismatch:
            self._counters.type_mismatches += 1
            raise
        return result if isinstance(result, Entry) else None

    async def _found(
        self, physical: str, raw: bytes, tp: Any, now: int
    ) -> Entry[Any] | Lease | None:
        result = self._classify(physical, raw, tp, now)
        if isinstance(result, Entry):
            life = sliding_life(raw, now)
            if life:
                await self._slide(physical, raw, result, life)
        return result

    def _classify(self, physical: str, raw: bytes, tp: Any, now: int) -> Entry[Any] | Lease | None:
        """Decode stored bytes and count the outcome: an entry, a lease, or None."""
        try:
            result = self._serializer.decode(raw, tp, now)
        except TypeMismatch:
            self._counters.type_mismatches += 1
            raise
        if isinstance(result, Corrupt):
            self._counters.corrupt += 1
            self._counters.misses += 1
            self._metrics.miss(self._mattrs)
            log.warning("unreadable entry at %r read as a miss", physical)
            return None
        if isinstance(result, Lease):
            self._counters.misses += 1
            self._metrics.miss(self._mattrs)
            return result
        if result.stale:
            self._counters.stale_hits += 1
        else:
            self._counters.hits += 1
            self._metrics.hit(self._mattrs)
        return result

    async def _slide(self, physical: str, raw: bytes, entry: Entry[Any], life: int) -> None:
        # Sliding expiry (G4): extend on read by ``life`` (never past the absolute
        # deadline: sliding_life caps it), and only if the entry is still the one we read
        # (a newer write keeps its own life). The tag indexes move with it, or trimming
        # would orphan a live entry (G3).
        tag_keys = self._keys.tags(entry.tags) if entry.tags else ()
        await self._guard.read(
            False, self._backend.touch_if, physical, raw[:HEADER_SIZE], life, tag_keys
        )

    @overload
    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]: ...
    @overload
    async def get_many(self, keys: Iterable[str], type: type[T]) -> dict[str, T]: ...
    @overload
    async def get_many(self, keys: Iterable[str], type: Any) -> dict[str, Any]: ...
    async def get_many(self, keys: Iterable[str], type: Any = None) -> dict[str, Any]:
        """The fresh hits among ``keys`` (misses are absent); one round trip per node (G2)."""
        entries = await self.get_many_entries(keys, type)
        return {key: entry.value for key, entry in entries.items() if not entry.stale}

    async def get_many_entries(
        self, keys: Iterable[str], type: Any = None
    ) -> dict[str, Entry[Any]]:
        """Entries (stale ones included) for the hits among ``keys``."""
        user_keys = self._keys.unique(keys)
        hits: dict[str, Entry[Any]] = {}
        local = self._local
        remote = user_keys
        ticket = 0
        if local is not None:
            remote = []
            for key in user_keys:
                hit = local.get(key, type)
                if hit is None:
                    remote.append(key)
                else:
                    hits[key] = hit
            self._counters.hits += len(hits)
            self._metrics.hit(self._mattrs, len(hits))
            self._counters.local_hits += len(hits)
            if not remote:
                return hits
            ticket = self._remote_ticket(local)
        physical = self._keys.prefixed(remote)  # checked by unique() above
        if not physical:
            return {}
        misses: list[bytes | None] = [None] * len(physical)
        raws = await self._guard.read(misses, self._backend.get_many, physical)
        now = now_ms()
        sliding: list[tuple[str, bytes, Entry[Any], int]] = []
        for user_key, key, raw in zip(remote, physical, raws, strict=True):
            if raw is None:
                self._counters.misses += 1
                self._metrics.miss(self._mattrs)
                continue
            found = self._classify(key, raw, type, now)
            if isinstance(found, Entry):
                hits[user_key] = found
                life = sliding_life(raw, now)
                if life:
                    sliding.append((key, raw, found, life))
                if local is not None:
                    local.fill(user_key, raw, type, found, ticket)
        if sliding:  # rare: only sliding entries cost a second round trip
            await asyncio.gather(*(self._slide(*touch) for touch in sliding))
        if local is not None and len(hits) > 1:
            return {key: hits[key] for key in user_keys if key in hits}  # the asked order
        return hits

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an entry (fails open to False)."""
        return await self._guard.read(False, self._backend.exists, self._keys.entry(key))

    async def ttl(self, key: str) -> float | None:
        """Seconds left; ``math.inf`` for no expiry; None for a missing key."""
        left = await self._guard.read(None, self._backend.pttl, self._keys.entry(key))
        if left is None:
            return None
        return math.inf if left < 0 else left / 1000

    # -- writes ------------------------------------------------------------------------

    def _ttl(self, ttl: Ttl) -> Ttl:
        return self._default_ttl if ttl is DEFAULT else ttl

    async def set(
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
        """Store ``value`` (encoded as ``type`` when given).

        ``ttl`` in seconds or a timedelta (default: settings.default_ttl; None: no
        expiry); ``sliding`` extends the life on each read, capped by ``ttl`` or
        ``expires_at`` (G4); ``stale_ttl`` keeps the entry that much longer, read as
        stale; ``tags`` index it for :meth:`invalidate_tags`.
        """
        physical = self._keys.entry(key)
        tag_keys = self._keys.tags(tags)
        expiry = plan_expiry(
            self._ttl(ttl), sliding=sliding, expires_at=expires_at, stale_ttl=stale_ttl
        )
        data = self._serializer.encode(value, expiry, _tag_names(tags), type)
        await self._write(
            None,
            self._backend.set,
            physical,
            data,
            expiry.ttl_ms,
            tag_keys,
            notice=Notice(keys=(key,)),
        )
        self._counters.sets += 1

    async def set_many(
        self,
        items: Mapping[str, object],
        ttl: Ttl = DEFAULT,
        *,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> None:
        """Store every item with one ttl and tag set; one round trip per node (G2)."""
        if not isinstance(items, Mapping):
            raise InvalidKey("set_many takes a mapping of key -> value")
        tag_keys = self._keys.tags(tags)
        names = _tag_names(tags)
        expiry = plan_expiry(self._ttl(ttl))
        encode = self._serializer.encode
        entry = self._keys.entry
        batch = [
            (entry(k), encode(v, expiry, names, type), expiry.ttl_ms) for k, v in items.items()
        ]
        if not batch:
            return
        await self._write(
            None, self._backend.set_many, batch, tag_keys, notice=Notice(keys=list(items))
        )
        self._counters.sets += len(batch)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        # Announced even when nothing was there: a peer may still hold a copy of an
        # entry Redis evicted, and a delete must remove it everywhere.
        removed = await self._write(
            False, self._backend.delete, self._keys.entry(key), notice=Notice(keys=(key,))
        )
        self._counters.deletes += 1
        return removed

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key; the number that existed. One round trip per node."""
        user_keys = self._keys.unique(keys)
        physical = self._keys.entries(user_keys)
        if not physical:
            return 0
        removed = await self._write(
            0, self._backend.delete_many, physical, notice=Notice(keys=user_keys)
        )
        self._counters.deletes += len(physical)
        return removed

    async def delete_pattern(self, pattern: str, *, raw: bool = False) -> int:
        """Remove this namespace's keys matching ``pattern``; the number removed.

        ``*``, ``?`` and ``[`` in ``pattern`` match only themselves unless ``raw=True``
        asks for a glob. Incremental (SCAN + UNLINK), never KEYS.
        """
        glob = self._keys.pattern(pattern, raw=raw)
        # Peers match the glob against their local keys, which carry no namespace.
        local_glob = glob[len(self.namespace) + 1 :]
        return await self._write(
            0, self._backend.delete_pattern, glob, notice=Notice(pattern=local_glob)
        )

    async def clear(self) -> int:
        """Remove every entry of this namespace and its bookkeeping (tag indexes);
        the number of entries removed."""
        removed = await self._write(
            0,
            self._backend.delete_pattern,
            self._keys.namespace_pattern(),
            notice=Notice(clear=True),
        )
        await self._write(0, self._backend.delete_pattern, self._keys.internal_pattern())
        return removed

    async def invalidate_tags(self, tags: Iterable[str] | str) -> int:
        """Remove every entry carrying any of ``tags``; the number removed (G3)."""
        tag_keys = self._keys.tags(tags)
        if not tag_keys:
            return 0
        names = _tag_names(tags)
        return await self._write(
            0, self._backend.invalidate_tags, tag_keys, notice=Notice(tags=names)
        )

    async def touch(self, key: str, ttl: Ttl) -> bool:
        """Give ``key`` a new life of ``ttl`` (None: no expiry); False if it is missing."""
        ttl_ms = None if ttl is None else to_ms(ttl)
        physical = self._keys.entry(key)
        # A tagged entry's index deadlines must move with its life, or trimming would
        # orphan it (G3): read its tags first (touch is rare; reads are cheap).
        raw = await self._guard.read(None, self._backend.get, physical)
        tag_keys = self._keys.tags(entry_tags(raw)) if raw else []
        # A new life may be shorter than what a local copy was given: drop the copies.
        return await self._write(
            False,
            self._backend.expire,
            physical,
            ttl_ms,
            tag_keys,
            notice=Notice(keys=(key,), only_if_changed=True),
        )

    @overload
    async def incr(self, key: str, amount: int = 1) -> int: ...
    @overload
    async def incr(self, key: str, amount: float) -> float: ...
    async def incr(self, key: str, amount: int | float = 1) -> int | float:
        """Add ``amount`` to the counter at ``key`` (created at 0); the new value."""
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ConfigurationError(f"incr amount must be an int or float, not {amount!r}")
        # Counters are never kept locally (see LocalStore.fill), so peers hold nothing
        # to drop; only this process may hold an envelope the INCR is about to fail on.
        return await self._write(
            amount,
            self._backend.incr,
            self._keys.entry(key),
            amount,
            notice=Notice(keys=(key,), publish=False),
        )

    # -- leases: fills that never overwrite a newer write (G10) -----------------------

    async def try_lease(
        self, key: str, ttl: Ttl, *, tags: Iterable[str] | str | None = None
    ) -> Lease | None:
        """Put a lease placeholder on a missing key; None if the key holds anything.

        A later :meth:`set_if_version` with the lease's version succeeds only if no
        write, delete or tag invalidation touched the key meanwhile.
        """
        physical = self._keys.entry(key)
        ttl_ms = to_ms(ttl if ttl is not None else 30)
        now = now_ms()
        data = pack(
            secrets.token_bytes(12), flags=LEASE, written_at_ms=now, expires_at_ms=now + ttl_ms
        )
        added = await self._write(
            False,
            self._backend.add,
            physical,
            data,
            ttl_ms,
            self._keys.tags(tags),
            notice=Notice(keys=(key,), publish=False, only_if_changed=True),
        )
        return Lease(data, now + ttl_ms) if added else None

    async def set_if_version(
        self,
        key: str,
        value: object,
        version: bytes,
        ttl: Ttl = DEFAULT,
        *,
        stale_ttl: float | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> bool:
        """Store ``value`` only if the entry is still the one ``version`` names."""
        physical = self._keys.entry(key)
        expiry = plan_expiry(self._ttl(ttl), stale_ttl=stale_ttl)
        data = self._serializer.encode(value, expiry, _tag_names(tags), type)
        stored = await self._write(
            False,
            self._backend.compare_and_set,
            physical,
            version,
            data,
            expiry.ttl_ms,
            self._keys.tags(tags),
            notice=Notice(keys=(key,), only_if_changed=True),
        )
        if stored:
            self._counters.sets += 1
        return stored

    # -- stats -------------------------------------------------------------------------

    async def stats(self, *, server: bool = True) -> CacheStats:
        """Counters of this cache and, with ``server``, the backend's own facts."""
        info: Mapping[str, Any] = {}
        if server:
            info = await self._guard.read({}, self._backend.info)
        c = self._counters
        reads = c.hits + c.misses
        return CacheStats(
            hits=c.hits,
            misses=c.misses,
            hit_ratio=c.hits / reads if reads else None,
            stale_hits=c.stale_hits,
            sets=c.sets,
            deletes=c.deletes,
            errors=c.errors,
            fail_open_reads=c.fail_open_reads,
            fail_open_writes=c.fail_open_writes,
            corrupt=c.corrupt,
            type_mismatches=c.type_mismatches,
            circuit_state=self._guard.breaker.state.value,
            circuit_opens=self._guard.breaker.opens,
            backend=self._url,
            server=info,
            local_hits=c.local_hits,
            local=None if self._coherence is None else self._coherence.stats(),
        )


def _tag_names(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(dict.fromkeys(tags))
