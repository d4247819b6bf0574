"""Cache traffic through a primary failover, and what it looked like to the caller.

Usage::

    traffic = Traffic(cache, keys, victim_keys)
    runner = asyncio.create_task(traffic.run())
    killed_at = cluster.kill(victim)
    promoted_at = await promoted(cluster, victim)         # the harness' poll, off-loop
    await traffic.until_recovered(promoted_at)            # poll, with a deadline
    figures = traffic.figures(killed_at, promoted_at)

Every ``set`` and ``get`` is recorded with its time, whether its key lives on the
killed primary, and its outcome: ``ok``, a cachewright error's class name, or
``raw:<type>`` for anything else that reached the caller. A ``get`` that returns
``None`` for a key that was written counts as ``miss`` (fail-open read).

Also what every failover test module shares: the clients' short timeouts
(``SETTINGS``), the marks for the clients redis-py leaks at a failover
(``LEAKED_CLIENTS``), and polls of the local tier's channel.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from cachewright import Cache, LocalStats, Settings
from cachewright.errors import CachewrightError
from tests._servers import wait_until_async

__all__ = [
    "LEAKED_CLIENTS",
    "SETTINGS",
    "Figures",
    "Traffic",
    "local_channel",
    "local_stats",
    "reconnected",
    "summary",
]

#: short timeouts, so a dead primary fails calls fast
SETTINGS = Settings(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)

# redis-py's cluster client drops ClusterNode and Connection objects unclosed when it
# rebuilds its topology after a failover; their finalizers warn at garbage collection.
# The fixture collects them before the test ends, so they warn there, under this
# filter, and not in whichever later test the collector happens to run.
LEAKED_CLIENTS = [
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <(socket\\.socket|function (_SelectorTransport"
        "|StreamWriter|AbstractConnection|ClusterNode)\\.__del__)"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
    pytest.mark.usefixtures("collect_leaked_clients"),
]


@dataclass
class Event:
    at: float
    victim: bool
    op: str
    outcome: str


@dataclass
class Figures:
    """One failover as the caller saw it (seconds, from ``time.monotonic()``)."""

    promotion_after_kill: float
    #: first to last failure of an op on a key of a primary that stayed up
    healthy_dark: float
    #: last failure of an op on the killed primary's keys, after the promotion
    victim_dark_after_promotion: float
    outcomes: dict[str, int] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)


class Traffic:
    """``tasks`` loops of ``set`` then ``get`` over ``keys``, recorded until stopped."""

    def __init__(
        self, cache: Cache, keys: Sequence[str], victim_keys: set[str], tasks: int = 8
    ) -> None:
        self.cache = cache
        self.keys = list(keys)
        self.victim_keys = victim_keys
        self.tasks = tasks
        self.events: list[Event] = []
        self.raw: list[BaseException] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(t) for t in range(self.tasks)))

    def stop(self) -> None:
        self._stop.set()

    async def _loop(self, task: int) -> None:
        n = 0
        while not self._stop.is_set():
            key = self.keys[(task + n * self.tasks) % len(self.keys)]
            n += 1
            await self._op("set", key, self.cache.set(key, n, ttl=300))
            await self._op("get", key, self.cache.get(key, int))

    async def _op(self, op: str, key: str, call: object) -> None:
        assert asyncio.iscoroutine(call)
        try:
            result = await call
        except CachewrightError as exc:
            outcome = type(exc).__name__
        except Exception as exc:  # what must never reach a caller: recorded, not raised
            self.raw.append(exc)
            outcome = f"raw:{type(exc).__name__}"
        else:
            outcome = "miss" if op == "get" and result is None else "ok"
        self.events.append(Event(time.monotonic(), key in self.victim_keys, op, outcome))
        # A refused call returns at once: pause a little so a dark cache does not
        # spin the event loop (and the shared machine) at 20k calls a second.
        await asyncio.sleep(0 if outcome in ("ok", "miss") else 0.005)

    async def until_recovered(self, key: str, within: float = 30.0) -> float:
        """Poll a set+get of ``key`` (on the killed primary) until both work; the time."""

        async def works() -> bool:
            try:
                await self.cache.set(key, -1, ttl=300)
            except CachewrightError:
                return False
            return await self.cache.get(key, int) == -1

        await wait_until_async(works, timeout=within, interval=0.01)
        return time.monotonic()

    def figures(self, killed_at: float, promoted_at: float) -> Figures:
        after = [e for e in self.events if e.at >= killed_at]
        healthy_bad = [e.at for e in after if not e.victim and e.outcome != "ok"]
        victim_bad = [e.at for e in after if e.victim and e.outcome != "ok"]
        return Figures(
            promotion_after_kill=promoted_at - killed_at,
            healthy_dark=(max(healthy_bad) - min(healthy_bad)) if healthy_bad else 0.0,
            victim_dark_after_promotion=max(0.0, max(victim_bad, default=0.0) - promoted_at),
            outcomes=dict(Counter(f"{e.op}:{e.outcome}" for e in after)),
            raw=[f"{type(exc).__name__}: {exc}" for exc in self.raw],
        )


def summary(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.2f}s max {max(values):.2f}s n={len(values)}"


async def local_stats(cache: Cache) -> LocalStats:
    local = (await cache.stats(server=False)).local
    assert local is not None
    return local


async def local_channel(cache: Cache) -> str:
    """The local tier's channel state (``"up"``, ...): a poll probe."""
    channel: str = (await local_stats(cache)).channel
    return channel


async def reconnected(cache: Cache) -> bool:
    """The local tier's channel reconnected at least once and is up (a poll probe)."""
    local = await local_stats(cache)
    return local.reconnects >= 1 and local.channel == "up"
