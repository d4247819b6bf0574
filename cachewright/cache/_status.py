"""A Cache's health probe and stats snapshot, read off its parts.

Usage::

    health = await ping(parts, timeout=None)        # what Cache.ping returns
    stats = await stats(parts, server=True)         # what Cache.stats returns
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachewright.cache._setup import Parts
from cachewright.cache._stats import CacheStats
from cachewright.cache.health import Health, probe

__all__ = ["ping", "stats"]


async def ping(parts: Parts, timeout: float | None) -> Health:  # noqa: ASYNC109
    """See :meth:`Cache.ping`."""
    if timeout is None:
        timeout = parts.settings.connect_timeout + parts.settings.read_timeout
    coherence = parts.coherence
    if coherence is not None:
        # As a read would: a cache used without ``async with`` subscribes now, so
        # the channel reads "down" only until the subscription is confirmed.
        coherence.ensure_started()
    return await probe(
        parts.backend,
        timeout=timeout,
        breaker=parts.guard.breakers.state.value,
        label=parts.url,
        channel=None if coherence is None else coherence.channel.state,
    )


async def stats(parts: Parts, server: bool) -> CacheStats:
    """See :meth:`Cache.stats`."""
    info: Mapping[str, Any] = {}
    if server:
        info = await parts.guard.read({}, parts.backend.info)
    breakers = parts.guard.breakers
    coherence = parts.coherence
    return parts.counters.snapshot(
        circuit_state=breakers.state.value,
        circuit_opens=breakers.opens,
        circuit_nodes=breakers.states(),
        backend=parts.url,
        namespace=parts.keys.namespace,
        server=info,
        local=None if coherence is None else coherence.stats(),
        recovery=parts.recovery.stats(),
    )
