"""The one lease-then-compare-and-set fill, shared by CacheAside, WriteThrough and WriteBehind.

Usage (inside a pattern)::

    fill = LeaseFill(cache, FillPolicy(type=Order, ttl=600, tags=("orders",)))
    lease = await fill.lease(cache_key)                  # before reading the source
    value = await load(key)
    await fill.fill(cache_key, value, lease.version)     # only if nobody wrote since

    reads = ReadThrough(fill)                            # the write patterns' reads
    hits, misses, cache_keys = await reads.split(keys, keymapper)   # one round trip

Expiry: every entry a pattern writes lives ``ttl`` seconds, slides by ``sliding`` on
each read (capped by ``ttl`` and ``expires_at``, G4) and ends by ``expires_at`` at the
latest: a datetime, or a function returning one, asked at each write (``lambda:
next_midnight()``). Once that deadline has passed, writes drop the entry and fills are
skipped: nothing is cached past it.

A fill goes through a lease (G10): a write, delete or tag invalidation that lands
after the lease makes the fill a no-op, so a read never puts back an older value.
``LeaseFill`` raises what the cache raises; each pattern decides what a failed fill
means to its reader (CacheAside counts it, the write patterns' ``ReadThrough`` serves
from the store without filling, as a cache that is down never fails a read).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from cachewright.cache import Cache, Lease
from cachewright.errors import CacheError, ConfigurationError
from cachewright.patterns._keys import KeyMapper

__all__ = ["ExpiresAt", "FillPolicy", "LeaseFill", "ReadThrough", "expiry_options"]

log = logging.getLogger("cachewright.patterns")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


#: an absolute end for a pattern's entries: a datetime (naive means UTC), or a
#: function returning one, asked at each write
ExpiresAt = datetime | Callable[[], datetime]

# A deadline closer than this is treated as passed: the entry would die on arrival.
_MARGIN = timedelta(milliseconds=10)


def expiry_options(
    sliding: float | int | timedelta | None,
    expires_at: ExpiresAt | None,
    *,
    stale_ttl: float | None = None,
) -> tuple[float | None, ExpiresAt | None]:
    """Check a pattern's ``sliding`` and ``expires_at`` the way ``Cache.set`` does, once,
    at construction; returns ``sliding`` in seconds and ``expires_at`` as given."""
    window: float | None = None
    if sliding is not None:
        if isinstance(sliding, bool) or not isinstance(sliding, int | float | timedelta):
            raise ConfigurationError(f"sliding must be seconds or a timedelta, not {sliding!r}")
        window = sliding.total_seconds() if isinstance(sliding, timedelta) else float(sliding)
        if not 0 < window < float("inf"):
            raise ConfigurationError(
                f"sliding must be a positive number of seconds, got {sliding!r}"
            )
        if stale_ttl is not None:
            raise ConfigurationError("sliding and stale_ttl cannot be combined")
    if expires_at is not None:
        if isinstance(expires_at, datetime):
            if _aware(expires_at) <= datetime.now(UTC):
                raise ConfigurationError("expires_at is in the past")
        elif not callable(expires_at):
            raise ConfigurationError(
                f"expires_at must be a datetime or a function returning one, not {expires_at!r}"
            )
    return window, expires_at


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@dataclass(frozen=True, slots=True)
class FillPolicy:
    """What every entry a pattern fills is written with (seconds; None: no expiry).

    ``lock_ttl`` is the lease's life: how long a fill may take before another reader
    may lease the key again. ``sliding`` and ``expires_at``: see the module doc
    (checked by :func:`expiry_options`). ``notify``: fills wake the processes waiting
    on the lease (``CacheAside(lock=True)``, see ``Cache.fills``).
    """

    type: Any
    ttl: float | None
    tags: tuple[str, ...]
    lock_ttl: float = 10.0
    stale_ttl: float | None = None
    cache_none: bool = False
    none_ttl: float | None = None
    sliding: float | None = None
    expires_at: ExpiresAt | None = None
    notify: bool = False

    def deadline(self) -> datetime | None:
        """The absolute end of an entry written now (None: none). Raises
        ``ConfigurationError`` if an ``expires_at`` function returns no datetime."""
        at = self.expires_at
        if at is None:
            return None
        if not isinstance(at, datetime):
            at = at()
            if not isinstance(at, datetime):
                raise ConfigurationError(f"the expires_at function returned {at!r}, not a datetime")
        return _aware(at)

    @staticmethod
    def passed(deadline: datetime | None) -> bool:
        """Whether an entry ending at ``deadline`` would be dead on arrival."""
        return deadline is not None and deadline <= datetime.now(UTC) + _MARGIN


class LeaseFill(Generic[V]):
    """Lease a missing key, then write a loaded value only if the lease still holds."""

    __slots__ = ("_cache", "policy")

    def __init__(self, cache: Cache, policy: FillPolicy) -> None:
        self._cache = cache
        self.policy = policy

    async def lease(self, cache_key: str) -> Lease | None:
        """A lease on a missing key (tagged, so tag invalidations kill it too), or None."""
        policy = self.policy
        return await self._cache.try_lease(cache_key, policy.lock_ttl, tags=policy.tags)

    async def fill(self, cache_key: str, value: V | None, version: bytes) -> bool:
        """Write ``value`` if the key still holds ``version``; True if it was stored.

        ``None`` is written with ``none_ttl`` (the caller decides whether it caches None).
        """
        policy = self.policy
        deadline = policy.deadline()
        if policy.passed(deadline):
            await self._cache.delete(cache_key)  # past expires_at: free the lease, cache nothing
            return False
        if value is None:
            return await self._cache.set_if_version(
                cache_key,
                None,
                version,
                policy.none_ttl,
                expires_at=deadline,
                tags=policy.tags,
                notify=policy.notify,
            )
        return await self._cache.set_if_version(
            cache_key,
            value,
            version,
            policy.ttl,
            sliding=policy.sliding,
            expires_at=deadline,
            stale_ttl=policy.stale_ttl,
            tags=policy.tags,
            type=policy.type,
            notify=policy.notify,
        )


class ReadThrough(Generic[K, V]):
    """The write patterns' reads: a cache-first split, and fills that never fail a read."""

    __slots__ = ("_cache", "_fill", "_type")

    def __init__(self, cache: Cache, policy: FillPolicy) -> None:
        self._cache = cache
        self._type = policy.type
        self._fill: LeaseFill[V] = LeaseFill(cache, policy)

    async def lease(self, cache_key: str) -> bytes | None:
        """A lease on a missing key, or None (held elsewhere, or the cache is down)."""
        try:
            lease = await self._fill.lease(cache_key)
        except CacheError:
            return None  # cache down: serve from the store without filling
        return None if lease is None else lease.version

    async def fill(self, cache_key: str, value: V, lease: bytes) -> bool:
        """Cache ``value`` only if the lease still holds; True if it was stored."""
        try:
            return await self._fill.fill(cache_key, value, lease)
        except CacheError as exc:
            log.debug("read-through fill skipped: %s", exc)
            return False

    async def split(
        self, keys: Sequence[K], mapper: KeyMapper[K]
    ) -> tuple[dict[K, V], list[K], dict[K, str]]:
        """Fresh cache hits, the keys that missed (in order), and every key's cache key."""
        unique = list(dict.fromkeys(keys))
        cache_keys = {k: mapper.cache_key(k) for k in unique}
        entries = await self._cache.get_many_entries(list(cache_keys.values()), self._type)
        hits: dict[K, V] = {}
        misses: list[K] = []
        for k in unique:
            entry = entries.get(cache_keys[k])
            if entry is not None and not entry.stale:
                hits[k] = entry.value
            else:
                misses.append(k)
        return hits, misses, cache_keys
