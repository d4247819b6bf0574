"""Waiting on another process's fill: poll the key with exponential backoff and jitter.

Usage::

    found = await wait_for_fill(cache, "user:1", User, lease_ttl=10, tags=(), wait=20)
    if isinstance(found, Entry):   # the other filler finished: use its value
        ...
    else:                          # bytes: the other filler died or was invalidated, and
        ...                        # this caller now holds the key: load, then
                                   # cache.set_if_version(key, value, found, ...)

The lease on the key is the distributed lock (G7): ``Cache.try_lease`` is a ``SET NX``
with a timeout and a random token, and the holder replaces it with compare-and-set (a
Lua script on Redis), so a lock that expired or was invalidated is never released or
overwritten by its former holder. Waiters do not subscribe to anything: they read the
key again after 20 ms, 40 ms, 80 ms, then every 100 ms, each delay stretched by up to a
quarter at random so that waiters in different processes drift apart (jitter never
shortens a delay, so it never adds polls). The first delay is a trade: a waiter sees a
load of up to 60 ms after two reads and one of up to 140 ms after three, which keeps a
four-process stampede on a 50 ms load within 20 commands in all; a shorter first
delay would answer a 5 ms load sooner but spend more reads on typical ones. Only
processes that miss while another one is loading ever wait: in-process callers share
the load directly, and a hit never comes here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tenacity import wait_exponential

from cachewright.cache import Cache, Entry, Lease
from cachewright.errors import LockTimeout
from cachewright.patterns._backoff import Pauses, wait_scaled

__all__ = ["Backoff", "claim_unreadable", "wait_for_fill"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between polls: ``initial * factor**n`` capped at ``cap``, then jittered.

    Jitter only lengthens a delay (by up to ``jitter`` of it): waiters spread out
    without polling sooner than the schedule, which keeps the command count bounded.
    """

    initial: float = 0.02
    factor: float = 2.0
    cap: float = 0.1
    jitter: float = 0.25

    def pauses(self) -> Pauses:
        """The delays, from tenacity's ``wait_exponential`` stretched by the jitter."""
        exponential = wait_exponential(multiplier=self.initial, exp_base=self.factor, max=self.cap)
        return Pauses(wait_scaled(exponential, 1.0, 1.0 + self.jitter))


DEFAULT_BACKOFF = Backoff()


async def claim_unreadable(
    cache: Cache, key: str, *, lease_ttl: float, tags: Iterable[str] | str | None
) -> bytes | None:
    """The version to fill ``key`` against when a typed read missed but a lease failed.

    Either another filler leased the key in between (None: leave it to them), or the
    key holds something this reader cannot use: an entry of another type or codec, or
    corrupt bytes (G5 reads them as misses). Without this, such a key could never be
    filled again until it expired, and lock waiters would time out on it.
    """
    found = await cache.lookup(key)  # untyped: any entry of ours decodes
    if isinstance(found, Lease):
        return None
    if isinstance(found, Entry):
        return found.version  # replaced by compare-and-set: a newer write still wins
    # Unreadable bytes (or the key just vanished): removing them is always safe.
    await cache.delete(key)
    lease = await cache.try_lease(key, lease_ttl, tags=tags)
    return None if lease is None else lease.version


async def wait_for_fill(
    cache: Cache,
    key: str,
    type: Any,
    *,
    lease_ttl: float,
    tags: Iterable[str] | str | None,
    wait: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> Entry[Any] | bytes:
    """Poll ``key`` until it holds an entry, or until this caller may fill it.

    Returns the entry another filler wrote, or the version to fill against (with
    ``Cache.set_if_version``) when the key was found empty (the other filler died,
    failed, or an invalidation removed its lease) and this caller leased it. Raises
    :class:`~cachewright.errors.LockTimeout` after ``wait`` seconds, and
    ``CacheUnavailable`` when the lease cannot be taken because the cache is down (the
    caller then loads without filling).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pauses = backoff.pauses()
    while (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(pauses.next(), remaining))
        found = await cache.lookup(key, type)
        if isinstance(found, Entry):
            return found
        if found is None:
            lease = await cache.try_lease(key, lease_ttl, tags=tags)
            if lease is not None:
                return lease.version
            version = await claim_unreadable(cache, key, lease_ttl=lease_ttl, tags=tags)
            if version is not None:
                return version
    raise LockTimeout(f"the fill of {key!r} by another process took longer than {wait:g}s")
