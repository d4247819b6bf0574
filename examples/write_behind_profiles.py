"""Profile visit counters written behind: the request pays for the cache, not the database.

Run it::

    python examples/write_behind_profiles.py          # memory cache, in-process flusher

    # On Redis, with the durable queue and a separate flush worker:
    export CACHEWRIGHT_URL=redis://127.0.0.1:6379/0
    python examples/write_behind_worker.py &          # or: cachewright worker ...
    python examples/write_behind_profiles.py

Every page view bumps the visitor's profile (``visits``, ``last_seen``). Written
through, that is one database write per request; written behind, the writes land in
the cache at once and reach the database in batches, coalesced: a user seen 30 times
in a second costs one row update. On memory the flusher runs inside this process and
``close()`` flushes the rest. On Redis the queue is durable and shared: this process
only enqueues (``flusher=False``), and the worker process writes the store, so a
crash of either loses nothing.

``PROFILES_DB`` names the SQLAlchemy URL of the table (default: a SQLite file in the
temporary directory, shared with the worker).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from cachewright import Cache, Settings, WriteBehind
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import SQLStore

USERS = 10
VIEWS = 300
QUEUE_NAME = "profiles"
#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
#: (the worker imports it: both must use the same namespace)
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-profiles")


class Profile(BaseModel):
    id: int
    visits: int = 0
    last_seen: datetime | None = None


def db_url() -> str:
    default = Path(tempfile.gettempdir()) / "cachewright-profiles-example.db"
    return os.environ.get("PROFILES_DB", f"sqlite+aiosqlite:///{default}")


def profile_store() -> SQLStore[int, Profile]:
    """The store factory the worker uses too (``--store write_behind_profiles:profile_store``)."""
    return SQLStore(db_url(), "profiles", type=Profile, key_type=int)


async def record_visit(profiles: WriteBehind[int, Profile], user_id: int) -> None:
    """What a request handler does: read (pending writes included), bump, write behind."""
    profile = await profiles.get(user_id) or Profile(id=user_id)
    visits = profile.visits + 1
    await profiles.set(user_id, profile.model_copy(update={"visits": visits, "last_seen": _now()}))


def _now() -> datetime:
    return datetime.now(UTC)


async def _total_visits(store: SQLStore[int, Profile]) -> int:
    return sum(p.visits for p in (await store.get_many(list(range(USERS)))).values())


async def main() -> None:
    async with (
        Cache.from_settings(Settings(namespace=NAMESPACE)) as cache,
        profile_store() as store,
    ):
        on_redis = not cache.settings.url.startswith("memory://")
        queue = RedisWriteQueue.for_cache(cache, name=QUEUE_NAME) if on_redis else None
        profiles = WriteBehind(
            cache,
            store,
            key="profile:{}",
            type=Profile,
            key_type=int,
            flush_interval=0.2,
            queue=queue,
            flusher=not on_redis,  # on Redis, the worker process flushes
        )
        before = await _total_visits(store)
        async with profiles:
            start = time.perf_counter()
            for view in range(VIEWS):
                await record_visit(profiles, view % USERS)
            took = time.perf_counter() - start
            print(f"{VIEWS} page views recorded in {took * 1000:.0f} ms")
            if on_redis:
                await _wait_for_worker(profiles)
        # Leaving the block flushed what the in-process flusher had not written yet.
        stats = await profiles.stats()
        if queue is not None:
            await queue.close()
        total = await _total_visits(store)
        assert total == before + VIEWS, (before, total)
        batches = f"{stats.batches} batch{'es' if stats.batches != 1 else ''}"
        writes = "by the worker" if on_redis else f"in {batches}"
        print(f"store: {USERS} profiles, {total - before} visits written {writes}")


async def _wait_for_worker(profiles: WriteBehind[int, Profile]) -> None:
    """Poll the shared queue until the worker has written everything (30 s at most)."""
    try:
        async with asyncio.timeout(30):
            # The worker is another process: there is no event to wait on, only Redis.
            while (await profiles.stats()).pending:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise SystemExit(
            "writes still pending: is examples/write_behind_worker.py running?"
        ) from None


if __name__ == "__main__":
    asyncio.run(main())
