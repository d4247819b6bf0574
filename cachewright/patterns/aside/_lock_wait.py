"""Waiting on another process's fill: woken by the fill's notice, or polling.

Usage::

    found = await claim_or_wait(cache, "user:1", User, lease_ttl=10, tags=(), wait=20)
    found = await wait_for_fill(cache, "user:1", User, lease_ttl=10, tags=(), wait=20)
    if isinstance(found, Entry):   # the other filler finished: use its value
        ...
    else:                          # bytes: the other filler died or was invalidated, and
        ...                        # this caller now holds the key: load, then
                                   # cache.set_if_version(key, value, found, ...)

``claim_or_wait`` is what a ``lock=True`` miss does: one command leases the key or
shows what holds it (``SET NX GET``); if another process's lease holds it, the
waiter sleeps until that process's fill publishes its outcome (the value comes with
it: no read), on a channel this process subscribed to once (``cache.fills``). The
waiter is registered before that command is sent, so a fill landing after it cannot
be missed. A notice without the value (a fill refused by a newer write, a lease
released after a failed load) or a lost channel sends it to read the key again at
once; if no notice comes (a filler that died, one that does not notify), it reads
again when the lease expires, and at the latest every quarter of ``lock_ttl`` (at
least a second). Where notices cannot be had (the subscription is down, a backend
without them) it polls, as ``wait_for_fill`` does.

The lease on the key is the distributed lock (G7): ``Cache.try_lease`` is a ``SET NX``
with a timeout and a random token, and the holder replaces it with compare-and-set (a
Lua script on Redis), so a lock that expired or was invalidated is never released or
overwritten by its former holder. ``wait_for_fill`` subscribes to nothing: it reads the
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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tenacity import wait_exponential

from cachewright.cache import Cache, Entry, Lease
from cachewright.errors import LockTimeout
from cachewright.patterns._backoff import Pauses, wait_scaled

__all__ = ["Backoff", "claim_or_wait", "claim_unreadable", "wait_for_fill"]

_MARGIN = 0.05  # s past a lease's expiry before it is read again
_MIN_WAIT = 0.05  # s: the shortest wait for a notice (a lease whose writer's clock is behind)
_MIN_CHECK = 1.0  # s: the shortest interval between a notified waiter's own reads


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


async def claim_or_wait(
    cache: Cache,
    key: str,
    type: Any,
    *,
    lease_ttl: float,
    tags: Iterable[str] | str | None,
    wait: float,
    on_wait: Callable[[], None] | None = None,
) -> Entry[Any] | bytes:
    """Lease the missing ``key`` (its version), or the entry another process fills.

    As :func:`wait_for_fill`, but woken by the fill (see the module docstring);
    ``on_wait`` is called once, when this caller starts waiting on another's lease.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    fills = cache.fills
    physical = fills.physical(key)
    check = max(_MIN_CHECK, lease_ttl / 4)
    while (remaining := deadline - loop.time()) > 0:
        hub = await fills.hub()
        if hub is None:  # no notices: lease, or poll as before
            lease = await cache.try_lease(key, lease_ttl, tags=tags)
            if lease is not None:
                return lease.version
            if on_wait is not None:
                on_wait()
            return await wait_for_fill(
                cache, key, type, lease_ttl=lease_ttl, tags=tags, wait=remaining
            )
        with hub.watch(physical) as watch:  # registered before the read
            mine, found = await fills.lease_or_lookup(key, lease_ttl, tags=tags, type=type)
            if mine is not None:
                return mine.version
            if isinstance(found, Entry):
                return found
            if isinstance(found, Lease):
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                expiry = found.expires_at_ms / 1000 - time.time() + _MARGIN
                timeout = min(deadline - loop.time(), max(_MIN_WAIT, min(expiry, check)))
                notice = await watch.wait(timeout)
                if notice is not None:
                    entry = fills.decode(key, notice, type)
                    if entry is not None:
                        return entry
                continue  # refused, released, lost, or no word in time: read again
        # Unreadable bytes (or the key vanished): replace them, or let another do it.
        version = await claim_unreadable(cache, key, lease_ttl=lease_ttl, tags=tags)
        if version is not None:
            return version
        await asyncio.sleep(min(DEFAULT_BACKOFF.cap, max(0.0, deadline - loop.time())))
    raise LockTimeout(f"the fill of {key!r} by another process took longer than {wait:g}s")
