"""The Cache's write path: encode, write through the guard, keep the local tier coherent.

Usage (what :class:`~cachewright.cache.Cache` does)::

    writes = WritePath(keys, backend, serializer, guard, counters, default_ttl)
    await writes.set("user:1", user, 300, tags=["users"])
    lease = await writes.try_lease("user:2", 10)              # a fill's lease (G10)
    await writes.set_if_version("user:2", user, lease.version, 300)

Every write goes through :meth:`~cachewright.cache._guarded.GuardedWrites.guarded`
(the breaker, fail-open, fences and the local tier: :mod:`._guarded`). Leases, fills
and ``touch`` change no value a reader could have loaded, so they fence nothing. The
tags of a write are worked out once per tag set (:mod:`._tagging`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cachewright._redis.ahead import Ahead
from cachewright.cache._expiry import Ttl, now_ms, plan_expiry, to_ms
from cachewright.cache._guard import Guard
from cachewright.cache._guarded import GuardedWrites
from cachewright.cache._serializer import Lease, Serializer
from cachewright.cache._stats import Counters
from cachewright.cache._tagging import Tagging
from cachewright.cache.backends.base import Backend, DropsAfter, FillNotices, SetItem
from cachewright.cache.envelope import LEASE, entry_tags, pack
from cachewright.cache.keys import KeyBuilder
from cachewright.cache.local import Notice
from cachewright.errors import ConfigurationError, InvalidKey

__all__ = ["DEFAULT", "WritePath"]


class _Default:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


#: "the cache's default ttl" (``settings.default_ttl``), told apart from None (no expiry)
DEFAULT: Any = _Default()


class WritePath(GuardedWrites):
    """The Cache's writes: what each one encodes and sends (settled by GuardedWrites)."""

    __slots__ = (
        "_backend",
        "_counters",
        "_default_ttl",
        "_drops_after",
        "_keys",
        "_serializer",
        "_tagging",
    )

    def __init__(
        self,
        keys: KeyBuilder,
        backend: Backend,
        serializer: Serializer,
        guard: Guard,
        counters: Counters,
        default_ttl: Ttl,
    ) -> None:
        super().__init__(guard)
        self._keys = keys
        self._tagging = Tagging(keys)
        self._backend = backend
        self._serializer = serializer
        self._counters = counters
        self._default_ttl = default_ttl
        # Checked once: a runtime Protocol check costs microseconds per call.
        self._drops_after = backend if isinstance(backend, DropsAfter) else None

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
        tag_keys, names = self._tagging.of(tags)
        expiry = plan_expiry(
            self._ttl(ttl), sliding=sliding, expires_at=expires_at, stale_ttl=stale_ttl
        )
        data = self._serializer.encode(value, expiry, names, type)
        await self.guarded(
            None,
            self._backend.set,
            physical,
            data,
            expiry.ttl_ms,
            tag_keys,
            notice=Notice(keys=(key,)),
            at=physical,
        )
        self._counters.sets += 1

    async def set_many(
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
        if not isinstance(items, Mapping):
            raise InvalidKey("set_many takes a mapping of key -> value")
        tag_keys, names = self._tagging.of(tags)
        expiry = plan_expiry(self._ttl(ttl), sliding=sliding, expires_at=expires_at)
        encode = self._serializer.encode
        entry = self._keys.entry
        batch = [
            (entry(k), encode(v, expiry, names, type), expiry.ttl_ms) for k, v in items.items()
        ]
        if not batch:
            return
        await self.guarded_many(
            None,
            self._backend.set_many,
            batch,
            _first,
            tag_keys,
            notice=Notice(keys=list(items)),
            combine=_nothing,
        )
        self._counters.sets += len(batch)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        # Announced even when nothing was there: a peer may still hold a copy of an
        # entry Redis evicted, and a delete must remove it everywhere.
        physical = self._keys.entry(key)
        removed = await self.guarded(
            False, self._backend.delete, physical, notice=Notice(keys=(key,)), at=physical
        )
        self._counters.deletes += 1
        return removed

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key; the number that existed. One round trip per node."""
        user_keys = self._keys.unique(keys)
        physical = self._keys.entries(user_keys)
        if not physical:
            return 0
        removed = await self.guarded_many(
            0,
            self._backend.delete_many,
            physical,
            _itself,
            notice=Notice(keys=user_keys),
            combine=sum,
        )
        self._counters.deletes += len(physical)
        return removed

    async def delete_after(self, keys: Iterable[str], ahead: Ahead) -> int | None:
        """``delete_many`` sent behind ``ahead`` on the backend's lane; None when the
        backend cannot (``ahead`` then unsent) or the cache was unavailable."""
        backend = self._drops_after
        if backend is None:
            return None
        user_keys = self._keys.unique(keys)
        physical = self._keys.entries(user_keys)
        if not physical:
            return None
        removed = await self.guarded(
            None,
            backend.delete_after,
            physical,
            ahead,
            notice=Notice(keys=user_keys),
            at=physical[0],
        )
        if removed is not None:
            self._counters.deletes += len(physical)
        return removed

    async def delete_matching(self, glob: str) -> int:
        """Remove the entries matching ``glob``, a full physical glob (namespace
        included, built by ``KeyBuilder``); the number removed. SCAN + UNLINK."""
        # Peers match the glob against their local keys, which carry no namespace.
        local_glob = glob[len(self._keys.namespace) + 1 :]
        return await self.guarded(
            0, self._backend.delete_pattern, glob, notice=Notice(pattern=local_glob), bulk=True
        )

    async def clear(self) -> int:
        """Remove every entry of this namespace and its bookkeeping (tag indexes);
        the number of entries removed."""
        removed = await self.guarded(
            0,
            self._backend.delete_pattern,
            self._keys.namespace_pattern(),
            notice=Notice(clear=True),
            bulk=True,
        )
        await self.guarded(
            0, self._backend.delete_pattern, self._keys.internal_pattern(), bulk=True
        )
        return removed

    async def invalidate_tags(self, tags: Iterable[str] | str) -> int:
        """Remove every entry carrying any of ``tags``; the number removed (G3)."""
        tag_keys, names = self._tagging.of(tags)
        if not tag_keys:
            return 0
        return await self.guarded(
            0, self._backend.invalidate_tags, tag_keys, notice=Notice(tags=names), bulk=True
        )

    async def touch(self, key: str, ttl: Ttl) -> bool:
        """Give ``key`` a new life of ``ttl`` (None: no expiry); False if it is missing."""
        ttl_ms = None if ttl is None else to_ms(ttl)
        physical = self._keys.entry(key)
        # A tagged entry's index deadlines must move with its life, or trimming would
        # orphan it (G3): read its tags first (touch is rare; reads are cheap).
        raw = await self._guard.read(None, self._backend.get, physical, at=physical)
        tag_keys = self._tagging.of(entry_tags(raw))[0] if raw else ()
        # A new life may be shorter than what a local copy was given: drop the copies.
        return await self.guarded(
            False,
            self._backend.expire,
            physical,
            ttl_ms,
            tag_keys,
            notice=Notice(keys=(key,), only_if_changed=True),
            fence=False,
            at=physical,
        )

    async def incr(self, key: str, amount: int | float = 1) -> int | float:
        """Add ``amount`` to the counter at ``key`` (created at 0); the new value."""
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ConfigurationError(f"incr amount must be an int or float, not {amount!r}")
        # Counters are never kept locally (see LocalStore.fill), so peers hold nothing
        # to drop; only this process may hold an envelope the INCR is about to fail on.
        physical = self._keys.entry(key)
        return await self.guarded(
            amount,
            self._backend.incr,
            physical,
            amount,
            notice=Notice(keys=(key,), publish=False),
            at=physical,
        )

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
        added = await self.guarded(
            False,
            self._backend.add,
            physical,
            data,
            ttl_ms,
            self._tagging.of(tags)[0],
            notice=Notice(keys=(key,), publish=False, only_if_changed=True),
            fence=False,
            at=physical,
        )
        return Lease(data, now + ttl_ms) if added else None

    async def set_if_version(
        self,
        key: str,
        value: object,
        version: bytes,
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        stale_ttl: float | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
        notify: str | None = None,
    ) -> bool:
        """Store ``value`` only if the entry is still the one ``version`` names; with
        ``notify`` (a channel), tell the key's lock waiters the outcome (FillNotices)."""
        physical = self._keys.entry(key)
        expiry = plan_expiry(
            self._ttl(ttl), sliding=sliding, expires_at=expires_at, stale_ttl=stale_ttl
        )
        tag_keys, names = self._tagging.of(tags)
        data = self._serializer.encode(value, expiry, names, type)
        backend = self._backend
        extra: tuple[str, ...] = ()
        write: Callable[..., Awaitable[bool]] = backend.compare_and_set
        if notify is not None and isinstance(backend, FillNotices):
            write, extra = backend.fill_notify, (notify,)
        stored = await self.guarded(
            False,
            write,
            physical,
            version,
            data,
            expiry.ttl_ms,
            tag_keys,
            *extra,
            notice=Notice(keys=(key,), only_if_changed=True),
            fence=False,
            at=physical,
        )
        if stored:
            self._counters.sets += 1
        return stored


def _first(item: SetItem) -> str:
    return item[0]


def _itself(key: str) -> str:
    return key


def _nothing(results: list[None]) -> None:
    return None
