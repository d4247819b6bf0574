"""The small world the demo runs in: three models, their stores, a slow loader.

Usage::

    async with DemoWorld.open(tmp_dir) as world:
        product = await world.load_product(1)      # a store read plus simulated latency
        world.loads                                # how many times the loader ran
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cachewright.errors import ConfigurationError
from cachewright.stores import DataStore, MemoryStore

__all__ = ["LATENCY", "DemoWorld", "Order", "Product", "Profile"]

#: added to each loader call, as a database across a network would add it
LATENCY = 0.02


class Product(BaseModel):
    id: int
    name: str
    price: float


class Order(BaseModel):
    id: int
    product_id: int
    quantity: int


class Profile(BaseModel):
    id: int
    name: str
    visits: int = 0


CATALOG = [
    Product(id=1, name="espresso cup", price=9.5),
    Product(id=2, name="moka pot", price=34.0),
    Product(id=7, name="burr grinder", price=129.0),
]


@dataclass
class DemoWorld:
    """Stores for products, orders and profiles, and a counted, slow product loader."""

    products: DataStore[int, Product]
    orders: DataStore[int, Order]
    profiles: DataStore[int, Profile]
    store_label: str
    loads: int = field(default=0)

    async def load_product(self, product_id: int) -> Product | None:
        """The cache-aside loader: one store read, plus :data:`LATENCY`."""
        self.loads += 1
        await asyncio.sleep(LATENCY)
        return await self.products.get(product_id)

    @classmethod
    @asynccontextmanager
    async def open(cls, directory: Path) -> AsyncIterator[DemoWorld]:
        """SQLite stores in ``directory`` (memory stores without the ``sql`` extra)."""
        async with AsyncExitStack() as stack:
            try:
                from cachewright.stores import SQLStore

                url = f"sqlite+aiosqlite:///{directory / 'demo.sqlite3'}"
                stores: list[Any] = [
                    await stack.enter_async_context(SQLStore(url, name, type=tp, key_type=int))
                    for name, tp in (
                        ("products", Product),
                        ("orders", Order),
                        ("profiles", Profile),
                    )
                ]
                label = f"SQLite {directory / 'demo.sqlite3'}"
            except ConfigurationError:  # SQLAlchemy is an extra: the demo still runs
                stores = [MemoryStore[int, Any]() for _ in range(3)]
                label = "MemoryStore (install cachewright[sql] for SQLite)"
            world = cls(stores[0], stores[1], stores[2], label)
            await world.products.set_many({p.id: p for p in CATALOG})
            yield world
