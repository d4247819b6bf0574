"""The local tier's public configuration (:class:`LocalTier`) and the seam it is kept
coherent over (:class:`Channel`, :class:`ChannelListener`).

Usage::

    tier = LocalTier(max_entries=10_000, ttl=5.0)     # Cache.from_url(url, local=tier)
    tier = LocalTier.from_settings(settings)          # None unless local_max_entries is set

What the tier does, and how it stays coherent, is told once, in the package's
docstring (:mod:`cachewright.cache.local`) and in ``docs/local-tier.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from cachewright.errors import ConfigurationError

__all__ = ["Channel", "ChannelListener", "LocalTier"]


@dataclass(frozen=True, slots=True)
class LocalTier:
    """Bounds and behaviour of the in-process tier of a two-level cache.

    - ``max_entries``: LRU bound on the number of keys kept locally.
    - ``ttl``: the longest a local copy is trusted, in seconds; never longer than the
      entry's own life in Redis, and at most a quarter of a sliding entry's window.
    - ``max_bytes``: optional LRU bound on the sum of kept entry sizes (encoded bytes).
    - ``share_values``: hits return one shared decoded object (fast; values must be
      treated as immutable) or, when False, a freshly decoded one per hit.
    - ``ping_interval``: seconds of silence after which the channel is pinged; a
      channel silent for twice this is reconnected.
    - ``max_backoff``: the longest pause between reconnection attempts.
    """

    max_entries: int = 10_000
    ttl: float = 5.0
    max_bytes: int | None = None
    share_values: bool = True
    ping_interval: float = 1.0
    max_backoff: float = 2.0

    def __post_init__(self) -> None:
        if isinstance(self.max_entries, bool) or not isinstance(self.max_entries, int):
            raise ConfigurationError("LocalTier.max_entries must be an int")
        if self.max_entries < 1:
            raise ConfigurationError("LocalTier.max_entries must be at least 1")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ConfigurationError("LocalTier.max_bytes must be at least 1 (or None)")
        for name in ("ttl", "ping_interval", "max_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"LocalTier.{name} must be a number of seconds")
            if not (value > 0 and math.isfinite(value)):
                raise ConfigurationError(f"LocalTier.{name} must be positive and finite")

    @classmethod
    def from_settings(cls, settings: object) -> LocalTier | None:
        """The tier ``local_max_entries`` / ``local_ttl`` / ``local_max_bytes`` ask for.

        None when ``local_max_entries`` is unset: the local tier is opt-in.
        """
        max_entries = getattr(settings, "local_max_entries", None)
        if not max_entries:
            return None
        ttl = getattr(settings, "local_ttl", None)
        return cls(
            max_entries=max_entries,
            ttl=5.0 if ttl is None else ttl,
            max_bytes=getattr(settings, "local_max_bytes", None),
        )


class ChannelListener(Protocol):
    """What a channel calls back; all three run on the event loop, never raise."""

    def on_message(self, data: bytes) -> None: ...

    def on_up(self) -> None: ...

    def on_down(self) -> None: ...


class Channel(Protocol):
    """A broadcast channel for invalidation messages: ``Cache(..., channel=...)``.

    The default is Redis pub/sub on the cache's URL. ``start`` begins listening and
    calls ``on_up`` once messages are sure to arrive, ``on_down`` when they may be
    lost; ``state`` is ``up``, ``down`` or ``in-process``; ``reconnects`` counts the
    times it was lost. ``publish`` raises CacheError when a message cannot be sent.
    """

    @property
    def state(self) -> str: ...

    @property
    def reconnects(self) -> int: ...

    def start(self, listener: ChannelListener) -> None: ...

    async def wait_up(self, seconds: float) -> bool: ...

    async def publish(self, data: bytes) -> None: ...

    async def close(self) -> None: ...
