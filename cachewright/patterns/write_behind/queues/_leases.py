"""Lease renewal: keep a live flusher's claimed entries from looking abandoned.

Usage::

    leases = Leases(renew=touch_entries, interval=claim_idle / 3)
    leases.hold(partition, ["1700000000000-0", ...])    # after a claim (starts the task)
    leases.drop(partition, ["1700000000000-0"])         # on complete/release/dead letter
    await leases.stop()                                 # on close

Another flusher takes over entries idle longer than ``claim_idle`` (XAUTOCLAIM). A
batch can take longer than that (a slow store, retries with backoff), so while this
process holds entries it resets their idle time every ``interval`` seconds; only a
flusher that stopped running (a crash, a frozen process) lets them age and lose them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from cachewright._logs import Throttle
from cachewright._tasks import cancel_and_wait
from cachewright.errors import CachewrightError

__all__ = ["Leases"]

log = logging.getLogger("cachewright.write_behind")
# Repeats (an outage fails every call) are logged once a minute, with a count.
throttled = Throttle(log)


class Leases:
    """The entries this process holds, per partition, renewed in the background."""

    __slots__ = ("_held", "_interval", "_renew", "_task")

    def __init__(
        self, renew: Callable[[int, list[str]], Awaitable[object]], interval: float
    ) -> None:
        self._renew = renew
        self._interval = interval
        self._held: dict[int, set[str]] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._held.values())

    def hold(self, partition: int, entries: Iterable[str]) -> None:
        self._held.setdefault(partition, set()).update(entries)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="cachewright-queue-leases"
            )

    def drop(self, partition: int, entries: Iterable[str]) -> None:
        held = self._held.get(partition)
        if held is not None:
            held.difference_update(entries)
            if not held:
                del self._held[partition]

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            # A timer on a fixed cadence (start to start), not synchronisation: the
            # renewals' own round trips, slow on a busy server, do not stretch the gap.
            await asyncio.sleep(max(0.0, started + self._interval - loop.time()))
            started = loop.time()
            held = {partition: sorted(entries) for partition, entries in self._held.items()}
            results = await asyncio.gather(
                *(self._renew(partition, entries) for partition, entries in held.items()),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, CachewrightError):
                    # Redis is down: nobody can take the entries over meanwhile either.
                    log.debug("could not renew write-queue leases: %s", result)
                elif isinstance(result, Exception):
                    throttled.error("renewing write-queue leases failed", exc_info=result)
