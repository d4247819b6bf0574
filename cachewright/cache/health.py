"""Health of a cache, for readiness probes and dashboards: ``await cache.ping()``.

Usage::

    health = await cache.ping()            # never raises for an unreachable server
    health.healthy                         # reachable, breaker not open, channel not down
    health.reachable, health.rtt           # True, 0.00031 (seconds of one PING round trip)
    health.breaker, health.server_version  # 'closed', '7.0.15'
    health.channel                         # 'up' / 'down' / 'in-process'; None: no local tier
    health.as_dict()                       # JSON-ready, with "healthy"

``ping`` asks the server itself, past the circuit breaker, and leaves the breaker
alone: it reports what the breaker decided (``open`` means this process treats the
server as down and serves reads as misses), it does not change it. The whole probe is
bounded by ``timeout`` (default: the connect plus the read timeout).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

from cachewright.cache.backends.base import Backend
from cachewright.errors import CacheError

__all__ = ["Health", "probe"]


@dataclass(frozen=True, slots=True)
class Health:
    """What one ``Cache.ping()`` found.

    - ``reachable``: the server answered a PING within the timeout;
    - ``rtt``: seconds one PING took on an open connection (None when unreachable);
    - ``breaker``: this cache's circuit breaker, ``closed``, ``open`` or ``half_open``;
    - ``server_version``: the Redis (or Valkey) version; None on memory or unreachable;
    - ``backend``: the URL, password redacted;
    - ``channel``: the local tier's invalidation channel (``up``, ``down``,
      ``in-process``); None without a local tier;
    - ``error``: why the server is unreachable (redacted), else None.
    """

    reachable: bool
    rtt: float | None
    breaker: str
    server_version: str | None
    backend: str
    channel: str | None = None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        """Reachable, the breaker not open and, with a local tier, its channel not down.

        ``half_open`` counts as healthy: the breaker is letting a probe through.
        """
        return self.reachable and self.breaker != "open" and self.channel != "down"

    def as_dict(self) -> dict[str, Any]:
        """The fields plus ``healthy``, ready for JSON."""
        return {"healthy": self.healthy, **asdict(self)}


async def probe(
    backend: Backend,
    *,
    timeout: float,  # noqa: ASYNC109 - the probe's own bound, documented
    breaker: str,
    label: str,
    channel: str | None,
) -> Health:
    """PING ``backend`` (the second PING timed), then read its version, within
    ``timeout`` seconds."""
    rtt: float | None = None
    version: str | None = None
    error: str | None = None
    deadline = time.monotonic() + timeout
    try:
        async with asyncio.timeout(timeout):
            # The first PING may have to connect (a fresh process, a dropped pooled
            # connection): time the second, a round trip on an open connection.
            await backend.ping()
            started = time.perf_counter()
            await backend.ping()
            rtt = time.perf_counter() - started
    except TimeoutError:
        error = f"no answer to PING within {timeout:g} s"
    except CacheError as exc:
        error = f"{type(exc).__name__}: {exc}"
    if rtt is not None:
        version = await _version(backend, deadline)
    return Health(
        reachable=rtt is not None,
        rtt=rtt,
        breaker=breaker,
        server_version=version,
        backend=label,
        channel=channel,
        error=error,
    )


async def _version(backend: Backend, deadline: float) -> str | None:
    """The server's version from its facts; None if it has none or they are late."""
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            info = await backend.info()
    except (TimeoutError, CacheError):
        return None  # it answered PING: reachable still, the version unknown
    version = info.get("redis_version")
    return str(version) if version else None
