"""A user repository on SQLite, read through the cache: ``CacheAside`` and ``@cached``.

Run it::

    python examples/cache_aside_repository.py                                  # memory cache
    CACHEWRIGHT_URL=redis://127.0.0.1:6379/0 python examples/cache_aside_repository.py

The repository is ordinary application code: SQLAlchemy queries on a SQLite file (in
a temporary directory; ``USERS_DB`` names another SQLAlchemy URL), counting the
queries it runs. The script then shows, with the query count after each step:

- a miss loads once and fills the cache; the next read is a hit;
- 500 concurrent reads of a cold user cost one query (G7);
- ``get_many`` costs one query for all the misses (the repository has ``get_many``,
  so ``CacheAside`` uses it as a batch loader);
- an update writes the database, then invalidates the entry; a load racing that
  update does not put the old row back (G10);
- ``@cached`` on a repository method (a count per email domain), keyed by its
  arguments, with ``.invalidate``;
- a warm-up of every user, with its report.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cachewright import Cache, CacheAside, Settings, cached

#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-users")

USERS = sa.Table(
    "users",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String, nullable=False),
)


class User(BaseModel):
    id: int
    name: str
    email: str


class UserRepository:
    """Plain data access, written before anyone thought of caching."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.queries = 0
        # Hooks for the demo: act while a read is between its SELECT and its return.
        self.row_read = asyncio.Event()
        self.resume: asyncio.Event | None = None

    async def create(self, users: Sequence[User]) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(USERS.metadata.create_all)
            await conn.execute(USERS.insert(), [user.model_dump() for user in users])

    async def get(self, user_id: int) -> User | None:
        self.queries += 1
        async with self.engine.connect() as conn:
            row = (await conn.execute(USERS.select().where(USERS.c.id == user_id))).first()
        self.row_read.set()
        if self.resume is not None:
            await self.resume.wait()
        await asyncio.sleep(0.02)  # a database across the network is slower than a file
        return None if row is None else User.model_validate(row._asdict())

    async def get_many(self, user_ids: Sequence[int]) -> Mapping[int, User]:
        self.queries += 1
        async with self.engine.connect() as conn:
            rows = await conn.execute(USERS.select().where(USERS.c.id.in_(list(user_ids))))
            return {row.id: User.model_validate(row._asdict()) for row in rows}

    async def rename(self, user_id: int, name: str) -> None:
        self.queries += 1
        async with self.engine.begin() as conn:
            await conn.execute(USERS.update().where(USERS.c.id == user_id).values(name=name))

    async def count_by_domain(self, domain: str) -> int:
        self.queries += 1
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(USERS.c.email.endswith("@" + domain))
            return int((await conn.execute(query)).scalar_one())


def say(repo: UserRepository, what: str) -> None:
    print(f"[{repo.queries:>2} queries] {what}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("USERS_DB") or f"sqlite+aiosqlite:///{Path(tmp) / 'users.db'}"
        engine = create_async_engine(url)
        repo = UserRepository(engine)
        await repo.create(
            [
                User(id=i, name=f"user {i}", email=f"u{i}@{'example.org' if i % 2 else 'corp.io'}")
                for i in range(1, 101)
            ]
        )
        # CACHEWRIGHT_URL picks the backend (default memory://).
        cache = Cache.from_settings(Settings(namespace=NAMESPACE))
        try:
            await run(repo, cache)
        finally:
            # Only this example's entries (all tagged "users"): never the namespace,
            # which CACHEWRIGHT_NAMESPACE may make shared.
            await cache.invalidate_tags("users")
            await cache.close()
            await engine.dispose()


async def run(repo: UserRepository, cache: Cache) -> None:
    print(f"cache: {cache!r}")
    users: CacheAside[int, User] = CacheAside(
        cache, loader=repo, key="user:{}", type=User, ttl=600, tags="users"
    )
    async with users:
        user = await users.get(1)
        say(repo, f"get(1) -> {user.name if user else None}: a miss, loaded and cached")
        await users.get(1)
        say(repo, "get(1) again: a hit, no query")

        cold = await asyncio.gather(*(users.get(2) for _ in range(500)))
        assert len({u.name for u in cold if u}) == 1
        say(repo, "500 concurrent get(2) on a cold key: one query")

        batch = await users.get_many(range(1, 21))
        say(repo, f"get_many(1..20) -> {len(batch)} users: one query for the 18 misses")

        # A load that read the row before the update must not cache the old name.
        repo.row_read.clear()
        repo.resume = asyncio.Event()
        racing = asyncio.create_task(users.refresh(3))
        await repo.row_read.wait()  # the reload has read "user 3" and is on its way back
        await repo.rename(3, "Ada")  # the database first ...
        await users.invalidate(3)  # ... then the cache
        repo.resume.set()
        repo.resume = None
        loaded = await racing
        cached_now = await cache.get("user:3", User)
        assert cached_now is None, "the old row came back"
        renamed = await users.get(3)
        assert renamed is not None
        assert renamed.name == "Ada"
        say(
            repo,
            f"rename(3) during a reload that read {loaded.name if loaded else None!r}: "
            f"the cache kept no old row, get(3) -> {renamed.name!r}",
        )

        @cached(cache, ttl=60, tags="users")
        async def count_by_domain(domain: str) -> int:
            return await repo.count_by_domain(domain)

        first = await count_by_domain("corp.io")
        again = await count_by_domain(domain="corp.io")
        say(repo, f"count_by_domain('corp.io') -> {first} twice: one query")
        print(f"           its key: {count_by_domain.key('corp.io')}")
        await count_by_domain.invalidate("corp.io")
        assert await count_by_domain("corp.io") == again
        say(repo, "after .invalidate('corp.io'): queried again")

        report = await users.warmup(range(1, 121), concurrency=4, batch_size=25)
        say(
            repo,
            f"warm-up of 120 ids: loaded {report.loaded}, skipped {report.skipped} cached, "
            f"missing {report.missing}, failed {len(report.failed)}",
        )
        stats = await users.stats()
        print(
            f"cache-aside stats: {stats.loads} keys loaded, {stats.fills} fills, "
            f"{stats.fills_refused} refused (a newer write won)"
        )
    print("done: every read after the first came from the cache")


if __name__ == "__main__":
    asyncio.run(main())
