"""A Starlette app with the cache wired into its lifespan: product pages via cache-aside.

Run it::

    python examples/asgi_app.py                  # a self-check: requests in-process
    uvicorn examples.asgi_app:app --port 8000    # serve it (CACHEWRIGHT_URL for Redis)

The lifespan opens the cache and the store once, when the server starts, and closes
them when it stops; handlers find them on ``app.state``. Reads go through
``CacheAside`` (a thousand concurrent requests for a cold product cost one query);
writes go to the store first, then invalidate the entry, so the next read loads the
new row. ``PRODUCTS_DB`` names the SQLAlchemy URL of the products table (default: a
SQLite file in the temporary directory).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cachewright import Cache, CacheAside, LockTimeout, StoreError
from cachewright.settings import Settings
from cachewright.stores import SQLStore

#: this example's namespace (``CACHEWRIGHT_NAMESPACE`` wins if set): examples that
#: share a Redis never see each other's entries
NAMESPACE = os.environ.get("CACHEWRIGHT_NAMESPACE", "example-asgi")


class Product(BaseModel):
    id: int
    name: str
    price: float


SEED = [Product(id=1, name="espresso cup", price=9.5), Product(id=2, name="moka pot", price=34)]


def default_db() -> str:
    return f"sqlite+aiosqlite:///{Path(tempfile.gettempdir()) / 'cachewright-asgi-example.db'}"


def create_app(db_url: str | None = None) -> Starlette:
    """The app; nothing connects until the lifespan starts."""
    url = db_url or os.environ.get("PRODUCTS_DB") or default_db()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            Cache.from_settings(Settings(namespace=NAMESPACE)) as cache,
            SQLStore(url, "products", type=Product, key_type=int) as store,
        ):
            await store.set_many({p.id: p for p in SEED})
            products: CacheAside[int, Product] = CacheAside(
                cache, loader=store, key="product:{}", type=Product, ttl=300, tags="products"
            )
            async with products:
                app.state.cache, app.state.store, app.state.products = cache, store, products
                yield

    return Starlette(
        routes=[
            Route("/products/{product_id:int}", get_product, methods=["GET"]),
            Route("/products/{product_id:int}", put_product, methods=["PUT"]),
            Route("/cache/tags/{tag}", invalidate_tag, methods=["DELETE"]),
            Route("/stats", stats, methods=["GET"]),
        ],
        exception_handlers={LockTimeout: unavailable, StoreError: unavailable},
        lifespan=lifespan,
    )


async def get_product(request: Request) -> Response:
    product = await request.app.state.products.get(request.path_params["product_id"])
    if product is None:
        return JSONResponse({"error": "no such product"}, status_code=404)
    return JSONResponse(product.model_dump(mode="json"))


async def put_product(request: Request) -> Response:
    product_id: int = request.path_params["product_id"]
    try:
        product = Product.model_validate({**await request.json(), "id": product_id})
    except (ValidationError, ValueError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    await request.app.state.store.set(product_id, product)  # the store first ...
    await request.app.state.products.invalidate(product_id)  # ... then drop the old entry
    return JSONResponse(product.model_dump(mode="json"))


async def invalidate_tag(request: Request) -> Response:
    removed = await request.app.state.cache.invalidate_tags(request.path_params["tag"])
    return JSONResponse({"removed": removed})


async def stats(request: Request) -> Response:
    cache_stats = await request.app.state.cache.stats(server=False)
    aside = await request.app.state.products.stats()
    return JSONResponse(
        {"hits": cache_stats.hits, "misses": cache_stats.misses, "loads": aside.loads}
    )


async def unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "the product database is unavailable"}, status_code=503)


app = create_app()


async def self_check() -> None:
    """Drive the app in-process through its lifespan, as a server would."""
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        checked = create_app(f"sqlite+aiosqlite:///{Path(tmp) / 'products.db'}")
        async with checked.router.lifespan_context(checked):
            transport = httpx.ASGITransport(app=checked)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
                burst = await asyncio.gather(*(http.get("/products/1") for _ in range(50)))
                assert {r.status_code for r in burst} == {200}
                loads = (await http.get("/stats")).json()["loads"]
                print(f"50 concurrent GET /products/1 -> 200, {loads} store load")

                updated = await http.put("/products/1", json={"name": "espresso cup", "price": 11})
                assert updated.status_code == 200
                fresh = (await http.get("/products/1")).json()
                assert fresh["price"] == 11, fresh
                print(f"PUT then GET /products/1 -> price {fresh['price']} (no stale read)")

                assert (await http.get("/products/99")).status_code == 404
                removed = (await http.delete("/cache/tags/products")).json()["removed"]
                print(f"DELETE /cache/tags/products -> removed {removed}")
    print("asgi app ok")


if __name__ == "__main__":
    asyncio.run(self_check())
