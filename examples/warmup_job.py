"""A scheduled warm-up: keep the current best sellers cached before anyone asks.

Run it::

    python examples/warmup_job.py                                  # memory cache
    CACHEWRIGHT_URL=redis://127.0.0.1:6379/0 python examples/warmup_job.py

A shop's product pages are read through ``CacheAside``. Every ``interval`` seconds a
``Warmup`` job asks which products sell best *now* and reloads them, so their entries
are replaced before they expire and the first visitor after a deploy or a price change
never waits for the database. Here the interval is short (0.2 s) so the script ends
quickly; in production it is minutes, and the job runs inside the app (start it in
the lifespan) or on its own (``cachewright warmup`` from cron does a one-off run).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from cachewright import Cache, CacheAside, Settings
from cachewright.patterns.aside.warmup import Warmup, WarmupReport
from cachewright.stores import BaseStore, MemoryStore

#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-warmup")


class Product(BaseModel):
    id: int
    name: str
    price: float


class Catalogue(BaseStore[int, Product]):
    """The shop's database: a data store that counts the queries it serves."""

    def __init__(self, size: int) -> None:
        self._rows = MemoryStore[int, Product](
            {i: Product(id=i, name=f"product {i}", price=5 + i * 0.75) for i in range(size)}
        )
        self._sales = random.Random(7)
        self.queries = 0
        self.top: list[int] = []

    async def get(self, key: int) -> Product | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: Sequence[int]) -> Mapping[int, Product]:
        self.queries += 1
        await asyncio.sleep(0.01)  # one round trip to the database, however many keys
        return await self._rows.get_many(keys)

    async def set(self, key: int, value: Product) -> None:
        await self._rows.set(key, value)

    async def delete(self, key: int) -> None:
        await self._rows.delete(key)

    async def best_sellers(self) -> list[int]:
        """Today's top 50: it shifts from one run to the next."""
        self.top = self._sales.sample(range(1000), 50)
        return self.top


async def main() -> None:
    db = Catalogue(size=1000)
    reports: list[WarmupReport] = []
    two_runs = asyncio.Event()

    def on_report(report: WarmupReport) -> None:
        reports.append(report)
        if len(reports) == 2:
            two_runs.set()

    async with Cache.from_settings(Settings(namespace=NAMESPACE)) as cache:
        # A data store as the loader: a warm-up chunk costs one get_many.
        products: CacheAside[int, Product] = CacheAside(
            # Its own key prefix too: even in one namespace, asgi_app.py's product:1
            # (its seeded row) is not this catalogue's product 1.
            cache,
            loader=db,
            key="bestseller:{}",
            type=Product,
            ttl=600,
        )
        job = Warmup(products, keys=db.best_sellers, interval=0.2, on_report=on_report)
        async with products, job:
            await two_runs.wait()  # in an app the job simply runs until shutdown
        for number, report in enumerate(reports[:2], start=1):
            print(
                f"warm-up run {number}: loaded {report.loaded}, missing {report.missing}, "
                f"failed {len(report.failed)} in {report.duration * 1000:.0f} ms"
            )
        assert all(report.ok and report.loaded == 50 for report in reports)

        # Visitors now find the current best sellers cached: not one database query.
        before = db.queries
        served = await products.get_many(db.top)
        assert len(served) == 50, served
        assert db.queries == before, db.queries - before
        print(f"{len(served)} best sellers served from the cache, {db.queries - before} queries")


if __name__ == "__main__":
    asyncio.run(main())
