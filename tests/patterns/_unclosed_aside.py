"""A program that leaves a CacheAside unclosed with refreshes in flight (see
``test_cache_aside_cleanup``): ``python -m tests.patterns._unclosed_aside URL MODE``.

It fills 10 keys, lets them go stale, reads them again (refreshes start, their loader
blocked for good), and returns without closing the CacheAside. ``MODE`` is ``run``
(``asyncio.run``) or ``loop`` (``run_until_complete`` then ``close``, as some
frameworks do). Prints how many refreshes were running when it returned.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from cachewright import Cache, CacheAside, Settings

KEYS = range(10)


async def main(url: str) -> None:
    blocked = asyncio.Event()  # never set: refreshes stay in flight
    refreshing = asyncio.Event()

    async def loader(key: int) -> int:
        if refreshing.is_set():
            await blocked.wait()
        return key

    async with Cache.from_url(url, settings=Settings(namespace=uuid.uuid4().hex)) as cache:
        aside = CacheAside(
            cache, loader=loader, key="n:{}", type=int, ttl=0.05, stale_ttl=60, max_concurrency=4
        )
        for key in KEYS:
            await aside.get(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not all([(await cache.get_entry(f"n:{key}", int)).stale for key in KEYS]):  # type: ignore[union-attr]
            assert loop.time() < deadline, "entries never went stale"
            await asyncio.sleep(0.01)  # a poll with a deadline: waiting for time to pass
        refreshing.set()
        for key in KEYS:
            assert (await aside.get_entry(key)).stale
        print(f"refreshing {(await aside.stats()).refreshes}", flush=True)
        # Returns without aside.close().


if __name__ == "__main__":
    target, mode = sys.argv[1], sys.argv[2]
    if mode == "run":
        asyncio.run(main(target))
    else:
        event_loop = asyncio.new_event_loop()
        event_loop.run_until_complete(main(target))
        event_loop.close()
