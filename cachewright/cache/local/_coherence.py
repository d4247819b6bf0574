"""Keeping local tiers coherent: what a write announces, what a receiver drops.

Usage (what :class:`~cachewright.cache.Cache` does)::

    coherence = Coherence(store, channel_for(url, backend, settings, "shop~inv", tier))
    await coherence.start(wait=1.0)                   # subscribed: the tier is trusted
    await coherence.announce(Notice(keys=("user:1",)))   # after a write that succeeded
    coherence.forget(Notice(keys=("user:1",)))          # after one that failed: local only

Messages are small JSON objects with the sender's id and what changed, never values::

    {"s": "9f3c...", "k": ["user:1", "user:2"]}    keys
    {"s": "9f3c...", "t": ["users"]}               tags
    {"s": "9f3c...", "p": "temp:*"}                a glob, relative to the namespace
    {"s": "9f3c...", "c": true}                    everything

A receiver ignores its own messages (it dropped those entries before publishing) and
reads anything it cannot parse as "clear": a wasted local tier, never a stale read.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core

from cachewright._logs import Throttle
from cachewright._redis.url import ConnectionSettings
from cachewright.cache._glob import glob_to_regex
from cachewright.cache._stats import LocalStats
from cachewright.cache.local._store import LocalStore
from cachewright.cache.local.tier import Channel, ChannelListener, LocalTier
from cachewright.errors import CacheError, ConfigurationError

__all__ = ["Coherence", "InProcessChannel", "Notice", "channel_for"]

log = logging.getLogger("cachewright.cache")

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+", "rediss+", "unix://", "valkey://")


@dataclass(frozen=True, slots=True)
class Notice:
    """What one write changed, for the local tiers.

    ``publish=False``: only this process can hold a copy worth dropping (counters,
    leases). ``only_if_changed``: announce only if the write reports it changed
    something (a compare-and-set that lost changed nothing).
    """

    keys: Sequence[str] = ()
    tags: Sequence[str] = ()
    pattern: str | None = None
    clear: bool = False
    publish: bool = True
    only_if_changed: bool = False


class InProcessChannel:
    """For a backend no other process shares (``memory://``): nobody else to tell."""

    __slots__ = ()

    @property
    def state(self) -> str:
        return "in-process"

    @property
    def reconnects(self) -> int:
        return 0

    def start(self, listener: ChannelListener) -> None:
        listener.on_up()

    async def wait_up(self, seconds: float) -> bool:
        return True

    async def publish(self, data: bytes) -> None:
        return None

    async def close(self) -> None:
        return None


def channel_for(
    url: str, backend: object, settings: ConnectionSettings, name: str, tier: LocalTier
) -> Channel:
    """The channel a local tier over ``backend`` (reached at ``url``) needs."""
    from cachewright.cache.backends.memory import MemoryBackend

    if isinstance(backend, MemoryBackend):
        return InProcessChannel()
    if url.startswith(_REDIS_SCHEMES):
        from cachewright.cache.local._redis_channel import RedisChannel

        return RedisChannel(
            url,
            name,
            settings,
            ping_interval=tier.ping_interval,
            max_backoff=tier.max_backoff,
        )
    raise ConfigurationError(
        "a local tier needs an invalidation channel: build the cache with a Redis URL "
        "(Cache.from_url or url=...) or pass channel=..."
    )


class Coherence:
    """Applies notices to this process's tier and broadcasts them to the others."""

    __slots__ = (
        "_channel",
        "_log",
        "_sender",
        "_started",
        "messages_received",
        "messages_sent",
        "publish_errors",
        "store",
    )

    def __init__(self, store: LocalStore, channel: Channel) -> None:
        self.store = store
        self._channel = channel
        self._sender = secrets.token_hex(8)
        self._log = Throttle(log)
        self._started = False
        self.messages_received = 0
        self.messages_sent = 0
        self.publish_errors = 0

    @property
    def channel(self) -> Channel:
        return self._channel

    def ensure_started(self) -> None:
        """Start listening (once); the tier is bypassed until the channel is up."""
        if not self._started:
            self._started = True
            self._channel.start(self)

    async def start(self, wait: float) -> bool:
        """Start listening and wait up to ``wait`` seconds for the subscription."""
        self.ensure_started()
        return await self._channel.wait_up(wait)

    async def close(self) -> None:
        await self._channel.close()

    def stats(self) -> LocalStats:
        store = self.store
        return LocalStats(
            entries=len(store),
            bytes=store.bytes,
            hits=store.hits,
            misses=store.misses,
            bypassed=store.bypassed,
            fills=store.fills,
            evictions=store.evictions,
            expirations=store.expirations,
            invalidated=store.invalidated,
            messages_sent=self.messages_sent,
            messages_received=self.messages_received,
            publish_errors=self.publish_errors,
            channel=self._channel.state,
            reconnects=self._channel.reconnects,
        )

    # -- the writing side ------------------------------------------------------------

    def forget(self, notice: Notice) -> None:
        """Drop what ``notice`` names from this process's tier only."""
        store = self.store
        if notice.clear:
            store.clear()
            return
        if notice.keys:
            store.drop(notice.keys)
        if notice.tags:
            store.drop_tags(notice.tags)
        if notice.pattern is not None:
            store.drop_matching(glob_to_regex(notice.pattern))

    async def announce(self, notice: Notice, result: object = True) -> None:
        """After a write reached Redis: drop locally, then tell the other processes."""
        if notice.only_if_changed and not result:
            return
        self.forget(notice)
        if not notice.publish:
            return
        try:
            await self._channel.publish(self._message(notice))
        except CacheError as exc:
            # The write itself succeeded: it is not undone. Other processes keep
            # their copies at most LocalTier.ttl (or until their channel drops).
            self.publish_errors += 1
            self._log.warning("invalidation not published; peers may read it stale: %s", exc)
        else:
            self.messages_sent += 1

    def _message(self, notice: Notice) -> bytes:
        body: dict[str, Any] = {"s": self._sender}
        if notice.clear:
            body["c"] = True
        if notice.keys:
            body["k"] = list(notice.keys)
        if notice.tags:
            body["t"] = list(notice.tags)
        if notice.pattern is not None:
            body["p"] = notice.pattern
        return pydantic_core.to_json(body)

    # -- the receiving side (ChannelListener) ---------------------------------------

    def on_message(self, data: bytes) -> None:
        try:
            body = pydantic_core.from_json(data)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("s") == self._sender:
            return
        self.messages_received += 1
        notice = _notice(body) if isinstance(body, dict) else None
        if notice is None:
            log.warning("unreadable invalidation message; local tier cleared")
            self.store.clear()
            return
        self.forget(notice)

    def on_up(self) -> None:
        self.store.trust()

    def on_down(self) -> None:
        self.store.distrust()


def _strings(value: object) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _notice(body: dict[str, Any]) -> Notice | None:
    if body.get("c") is True:
        return Notice(clear=True)
    keys = _strings(body.get("k", []))
    tags = _strings(body.get("t", []))
    pattern = body.get("p")
    if keys is None or tags is None or not (pattern is None or isinstance(pattern, str)):
        return None
    if not (keys or tags or pattern is not None):
        return None
    return Notice(keys=keys, tags=tags, pattern=pattern)
