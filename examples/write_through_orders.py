"""An order service whose cache never disagrees with its database: write-through.

Run it::

    python examples/write_through_orders.py                                  # memory cache
    CACHEWRIGHT_URL=redis://127.0.0.1:6379/0 python examples/write_through_orders.py

Orders live in SQLite (a file in a temporary directory; ``ORDERS_DB`` names another
SQLAlchemy URL). Every ``place``/``ship``/``cancel`` writes the database first, then
the cache, in the same ``await``: a reader that hits the cache right after sees the
new status. If the database refuses a write, the cache is left untouched and the
error reaches the caller.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from cachewright import Cache, Settings, WriteThrough
from cachewright.stores import SQLStore

#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-orders")


class Order(BaseModel):
    id: int
    customer: str
    items: dict[str, int]
    status: Literal["placed", "shipped"] = "placed"
    updated_at: datetime


class OrderService:
    """The application's view of orders; the cache is an implementation detail."""

    def __init__(self, orders: WriteThrough[int, Order]) -> None:
        self._orders = orders

    async def place(self, order_id: int, customer: str, items: dict[str, int]) -> Order:
        order = Order(id=order_id, customer=customer, items=items, updated_at=_now())
        await self._orders.set(order_id, order)
        return order

    async def ship(self, order_id: int) -> Order:
        order = await self._orders.get(order_id)
        if order is None:
            raise LookupError(f"no order {order_id}")
        shipped = order.model_copy(update={"status": "shipped", "updated_at": _now()})
        await self._orders.set(order_id, shipped)
        return shipped

    async def find(self, order_id: int) -> Order | None:
        return await self._orders.get(order_id)

    async def cancel(self, order_id: int) -> None:
        await self._orders.delete(order_id)


def _now() -> datetime:
    return datetime.now(UTC)


async def main(db_url: str) -> None:
    async with (
        Cache.from_settings(Settings(namespace=NAMESPACE)) as cache,
        SQLStore(db_url, "orders", type=Order, key_type=int) as store,
    ):
        service = OrderService(WriteThrough(cache, store, key="order:{}", type=Order, ttl=3600))

        await service.place(1001, "ada", {"moka pot": 1, "coffee 250g": 2})
        shipped = await service.ship(1001)

        # Both sides agree, right after the write: that is the point of write-through.
        in_db = await store.get(1001)
        in_cache = await cache.get("order:1001", Order)
        assert in_db == in_cache == shipped, (in_db, in_cache, shipped)
        print(f"order 1001 {shipped.status}: cache and store agree")

        await service.cancel(1001)
        assert await store.get(1001) is None
        assert await cache.get("order:1001") is None
        assert await service.find(1001) is None
        print("order 1001 cancelled: gone from cache and store")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        default_db = f"sqlite+aiosqlite:///{Path(tmp) / 'orders.sqlite3'}"
        asyncio.run(main(os.environ.get("ORDERS_DB", default_db)))
