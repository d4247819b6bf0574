"""Auto-recovery: invalidations that could not reach Redis are replayed when it returns.

Usage (what :class:`~cachewright.cache.Cache` does)::

    recovery = Recovery(replay_keys=writes.delete_many, replay_tags=writes.invalidate_tags,
                        replay_pattern=..., replay_clear=writes.clear,
                        interval=settings.breaker_reset, on_recovered=emit,
                        limit=settings.recovery_max_keys)
    recovery.remember(Notice(keys=("user:1",)))    # a write or delete that did not land
    recovery.stats()                               # pending, remembered, replayed, dropped
    await recovery.close()

What is remembered: every write the cache could not deliver (``set``, ``set_many``,
``delete``, ``delete_many``, ``delete_pattern``, ``delete_prefix``, ``invalidate_tags``,
``clear``), whether it raised ``CacheUnavailable`` or was dropped by
``fail_open_writes``. Compare-and-set fills, leases, counters and ``touch`` are not: a
fill that did not land changed nothing, and a lost ``touch`` changed no value (the
entry keeps the life it had, in Redis and in local copies, and the caller was told:
``CacheUnavailable``, or False with fail-open writes); replaying it later would give
the entry a life counted from the replay, not from the call.

What is replayed: never the value. A key whose write or delete was lost is *deleted*
when Redis answers again, and a tag, pattern or clear is replayed as it was; each
replay goes through the normal write path, so it is also announced on the
invalidation channel and the local tiers of the other processes drop their copies.
Deleting is what converges whatever happened meanwhile: the next read loads the
source's current value (a replayed value could be older than one another process
wrote since). The cost is one miss per key.

Bounds: at most ``recovery_max_keys`` keys, and as many tags and as many globs (a
setting, 10,000 by default). When a journal is full, remembering one more drops its
oldest item (counted in ``dropped``: those converge only by their ttl, as before).
The figures are in ``(await cache.stats()).recovery``. A replay is
tried every ``interval`` seconds (the breaker's reset period) while anything is
pending, once the server answers a PING (sent outside the breaker, so a replay never
takes a half-open probe from a server that is still down). Staleness bound: once Redis
answers again, Redis and every subscribed local tier drop what the lost writes changed
within ``interval`` + 2 x ``write_timeout`` (the PING, then the replay). While Redis is
down, a peer whose own channel dropped bypasses its local tier (see local tiers).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from cachewright._tasks import cancel_and_wait
from cachewright.cache._stats import RecoveryStats
from cachewright.cache.backends.base import Backend
from cachewright.cache.local import Notice
from cachewright.errors import CacheError

__all__ = ["MAX_REMEMBERED", "Recovery", "RecoveryStats", "pinger"]

log = logging.getLogger("cachewright.cache")

#: the default of ``Settings.recovery_max_keys``
MAX_REMEMBERED = 10_000


class Recovery:
    __slots__ = (
        "_clear",
        "_closed",
        "_interval",
        "_keys",
        "_limit",
        "_on_recovered",
        "_patterns",
        "_reachable",
        "_replay_clear",
        "_replay_keys",
        "_replay_pattern",
        "_replay_tags",
        "_tags",
        "_task",
        "dropped",
        "recoveries",
        "remembered",
        "replayed",
    )

    def __init__(
        self,
        *,
        replay_keys: Callable[[Sequence[str]], Awaitable[object]],
        replay_tags: Callable[[Sequence[str]], Awaitable[object]],
        replay_pattern: Callable[[str], Awaitable[object]],
        replay_clear: Callable[[], Awaitable[object]],
        interval: float,
        on_recovered: Callable[[str], None],
        reachable: Callable[[], Awaitable[bool]] | None = None,
        limit: int = MAX_REMEMBERED,
    ) -> None:
        self._limit = limit
        self._reachable = reachable
        self._replay_keys = replay_keys
        self._replay_tags = replay_tags
        self._replay_pattern = replay_pattern
        self._replay_clear = replay_clear
        self._interval = interval
        self._on_recovered = on_recovered
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._tags: OrderedDict[str, None] = OrderedDict()
        self._patterns: OrderedDict[str, None] = OrderedDict()
        self._clear = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.remembered = 0
        self.replayed = 0
        self.dropped = 0
        self.recoveries = 0

    @property
    def pending(self) -> int:
        return len(self._keys) + len(self._tags) + len(self._patterns) + int(self._clear)

    def stats(self) -> RecoveryStats:
        return RecoveryStats(
            pending=self.pending,
            remembered=self.remembered,
            replayed=self.replayed,
            dropped=self.dropped,
            recoveries=self.recoveries,
        )

    def remember(self, notice: Notice) -> None:
        """Record a write that did not reach Redis; replay it once Redis answers."""
        if self._closed or not notice.publish or notice.only_if_changed:
            return  # leases, counters, compare-and-set fills: nothing to converge
        self.remembered += 1
        if notice.clear:
            self._clear = True
        for key in notice.keys:
            _add(self._keys, key)
        for tag in notice.tags:
            _add(self._tags, tag)
        if notice.pattern is not None:
            _add(self._patterns, notice.pattern)
        for journal in (self._keys, self._tags, self._patterns):
            while len(journal) > self._limit:
                journal.popitem(last=False)
                self.dropped += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="cachewright recovery"
            )

    async def close(self) -> None:
        """Stop replaying (what is pending is given up). Idempotent."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    async def _run(self) -> None:
        while self.pending and not self._closed:
            await asyncio.sleep(self._interval)
            # Asked outside the breaker: a replay never takes the probe of a server
            # that is still down from the callers that need it.
            if self._reachable is None or await self._reachable():
                await self.replay()

    async def replay(self) -> bool:
        """Replay what is pending now; True if it all reached Redis.

        A replay that fails records itself again through the write path (both when
        writes raise and when they fail open), so nothing pending is lost.
        """
        keys, tags, patterns, clear = (
            list(self._keys),
            list(self._tags),
            list(self._patterns),
            self._clear,
        )
        self._keys, self._tags, self._patterns = OrderedDict(), OrderedDict(), OrderedDict()
        self._clear = False
        before = self.remembered
        try:
            if clear:
                await self._replay_clear()
            if keys:
                await self._replay_keys(keys)
            if tags:
                await self._replay_tags(tags)
            for pattern in patterns:
                await self._replay_pattern(pattern)
        except CacheError as exc:
            log.debug("recovery replay failed, retried later: %s", exc)
            self._restore(keys, tags, patterns, clear)
            return False
        if self.remembered != before:
            return False  # a failing replay under fail-open writes recorded itself again
        done = len(keys) + len(tags) + len(patterns) + int(clear)
        self.replayed += done
        self.recoveries += 1
        log.info("cache reachable again: replayed %d lost invalidations", done)
        self._on_recovered(f"replayed {len(keys)} keys, {len(tags)} tags, {len(patterns)} globs")
        return True

    def _restore(self, keys: list[str], tags: list[str], patterns: list[str], clear: bool) -> None:
        self._clear = self._clear or clear
        for journal, items in ((self._keys, keys), (self._tags, tags), (self._patterns, patterns)):
            for item in items:
                _add(journal, item)


def pinger(backend: Backend, seconds: float) -> Callable[[], Awaitable[bool]]:
    """Whether the server answers a PING within ``seconds`` (outside the breaker)."""

    async def reachable() -> bool:
        try:
            async with asyncio.timeout(seconds):
                await backend.ping()
        except (CacheError, OSError, TimeoutError):
            return False
        return True

    return reachable


def _add(journal: OrderedDict[str, None], item: str) -> None:
    journal[item] = None
    journal.move_to_end(item)
