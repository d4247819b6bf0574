"""A Flask app on the synchronous API: a SQLAlchemy (sync engine) repository behind
cache-aside reads and write-through writes, and a Celery-style warm-up task.

Run it::

    python examples/sync_flask_app.py              # a self-check: requests in-process
    flask --app examples.sync_flask_app:create_app run   # serve it (CACHEWRIGHT_URL for Redis)

Nothing here is async: the views are plain functions, the repository uses SQLAlchemy's
synchronous engine, and ``warm_products`` is a plain function the way a Celery task
(``@app.task``) would wrap it. ``cachewright.sync`` runs the async engine on a thread
of its own, so a threaded server (or gunicorn's pre-fork workers: each child builds
its own connections) gets the same guarantees: 50 threads asking for a cold product
cost one query. ``PRODUCTS_SYNC_DB`` names the SQLAlchemy URL (default: a SQLite file
in the temporary directory).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, abort, request
from pydantic import BaseModel, ValidationError

from cachewright.settings import Settings
from cachewright.sync import Cache, CacheAside, WriteThrough

#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-flask")


class Product(BaseModel):
    id: int
    name: str
    price: float


SEED = [Product(id=n, name=f"product {n}", price=n * 1.5) for n in range(1, 101)]

products_table = sa.Table(
    "products",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
)


class ProductRepository:
    """A synchronous repository over SQLAlchemy's sync engine; counts its queries."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.queries = 0
        self._count = threading.Lock()
        products_table.create(engine, checkfirst=True)

    def _counted(self) -> None:
        with self._count:
            self.queries += 1

    def get(self, key: int) -> Product | None:
        self._counted()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(products_table).where(products_table.c.id == key))
            found = row.mappings().first()
        return None if found is None else Product.model_validate(dict(found))

    def get_many(self, keys: Sequence[int]) -> Mapping[int, Product]:
        self._counted()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(products_table).where(products_table.c.id.in_(keys)))
            return {row["id"]: Product.model_validate(dict(row)) for row in rows.mappings()}

    def set(self, key: int, value: Product) -> None:
        self._counted()
        with self.engine.begin() as conn:  # an idempotent upsert
            conn.execute(sa.delete(products_table).where(products_table.c.id == key))
            conn.execute(sa.insert(products_table).values(**value.model_dump()))

    def delete(self, key: int) -> None:
        self._counted()
        with self.engine.begin() as conn:
            conn.execute(sa.delete(products_table).where(products_table.c.id == key))


def default_db() -> str:
    return f"sqlite:///{Path(tempfile.gettempdir()) / 'cachewright-sync-example.db'}"


class Shop:
    """What the views and the tasks share: the cache, the repository, the patterns."""

    def __init__(self, db_url: str | None = None, cache: Cache | None = None) -> None:
        url = db_url or os.environ.get("PRODUCTS_SYNC_DB") or default_db()
        self.cache = cache or Cache.from_settings(Settings(namespace=NAMESPACE))
        self.repo = ProductRepository(sa.create_engine(url))
        self.reads: CacheAside[int, Product] = CacheAside(
            self.cache, loader=self.repo, key="catalog:{}", type=Product, ttl=300
        )
        self.writes: WriteThrough[int, Product] = WriteThrough(
            self.cache, self.repo, key="catalog:{}", type=Product, ttl=300
        )

    def close(self) -> None:
        self.reads.close()
        self.cache.close()
        self.repo.engine.dispose()


def warm_products(shop: Shop, ids: Sequence[int]) -> str:
    """A Celery-style task: a plain function that loads ``ids`` into the cache."""
    report = shop.reads.warmup(ids, concurrency=4)
    return f"warmed {report.loaded}, skipped {report.skipped}, failed {len(report.failed)}"


def create_app(shop: Shop | None = None) -> Flask:
    """The app; the shop connects on first use."""
    app = Flask(__name__)
    the_shop = shop or Shop()
    app.extensions["shop"] = the_shop

    @app.get("/products/<int:product_id>")
    def show(product_id: int) -> dict[str, object]:
        product = the_shop.reads.get(product_id)
        if product is None:
            abort(404)
        return product.model_dump()

    @app.put("/products/<int:product_id>")
    def update(product_id: int) -> dict[str, object]:
        try:
            product = Product.model_validate({**(request.get_json() or {}), "id": product_id})
        except ValidationError:
            abort(422)
        the_shop.writes.set(product_id, product)  # the database, then the cache
        return product.model_dump()

    return app


def main() -> None:
    shop = Shop()
    shop.writes.set_many({p.id: p for p in SEED})
    # Start cold: the seed went through the cache too. Only this app's keys: the
    # namespace may be shared (CACHEWRIGHT_NAMESPACE).
    shop.cache.delete_many([shop.reads.cache_key(p.id) for p in SEED])
    client = create_app(shop).test_client()
    before = shop.repo.queries

    def fetch(_: int) -> int:
        return client.get("/products/1").status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(fetch, range(50)))
    loads = shop.repo.queries - before
    print(f"50 threaded GET /products/1 -> {set(codes)}, {loads} store load")

    client.put("/products/1", json={"name": "renamed", "price": 2.0})
    shown = client.get("/products/1").get_json()
    print(f"PUT then GET /products/1 -> {shown['name']!r} (written through)")

    print(f"warm-up task: {warm_products(shop, range(1, 101))}")
    before = shop.repo.queries
    for n in range(1, 101):
        client.get(f"/products/{n}")
    print(f"100 products served after the warm-up with {shop.repo.queries - before} queries")
    shop.close()


if __name__ == "__main__":
    main()
