"""The local tier: hot entries kept in process memory in front of Redis.

Usage::

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop",
                           local=LocalTier(max_entries=10_000, ttl=5.0))
    async with cache:                       # subscribes to the invalidation channel
        user = await cache.get("user:1", User)   # 1st: Redis, then fills the tier
        user = await cache.get("user:1", User)   # now: process memory, no I/O, no JSON
        await cache.set("user:1", changed)        # Redis, then every process drops it

    LocalTier(max_entries=50_000, ttl=2.0, max_bytes=64 * 2**20)   # bound bytes too
    LocalTier(share_values=False)   # each hit decodes a fresh object from the kept bytes

A local hit returns the *same* object to every caller (``share_values=True``, the
default): treat cached values as immutable, as with ``functools.lru_cache``. With
``share_values=False`` each hit decodes its own copy from the kept bytes: no network,
but a JSON decode per hit (see ``docs/local-tier.md`` for the measured costs).

Coherence: every write, delete, tag invalidation, pattern delete and clear goes to
Redis first, drops the local copy, then publishes the affected keys (never values)
on the namespace's pub/sub channel; every other process drops them on receipt. While
that channel is down the tier is bypassed and emptied; it is emptied again once the
subscription is back. ``ttl`` is the hard bound on staleness when a message is lost
(a publisher crashing between its write and its publish).
"""

from cachewright.cache.local._coherence import Coherence as Coherence
from cachewright.cache.local._coherence import Notice as Notice
from cachewright.cache.local._coherence import channel_for as channel_for
from cachewright.cache.local._store import LocalStore as LocalStore
from cachewright.cache.local.tier import Channel, ChannelListener, LocalTier

# Coherence, Notice, channel_for and LocalStore are imported here (not public, not in
# __all__) so the cache layer reaches the tier's machinery without a private path.
__all__ = ["Channel", "ChannelListener", "LocalTier"]
