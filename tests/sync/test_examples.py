"""``examples/sync_flask_app.py``: run as a user runs it, and driven in-process.

The Flask views use ``CacheAside`` and ``WriteThrough`` over a repository on
SQLAlchemy's sync engine; ``warm_products`` is the Celery-style warm-up task.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cachewright import Settings
from cachewright.sync import Cache

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sync_flask_app.py"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    env["PRODUCTS_SYNC_DB"] = f"sqlite:///{tmp_path / 'products.db'}"
    return {**env, **extra}


def _run(env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def _check(out: str) -> None:
    assert "50 threaded GET /products/1 -> {200}, 1 store load" in out
    assert "'renamed' (written through)" in out
    assert "warmed 99, skipped 1, failed 0" in out
    assert "100 products served after the warm-up with 0 queries" in out


def test_example_script_on_memory(tmp_path: Path) -> None:
    _check(_run(_env(tmp_path)))


@pytest.mark.redis
def test_example_script_on_redis(tmp_path: Path, redis_url: str, namespace: str) -> None:
    _check(_run(_env(tmp_path, CACHEWRIGHT_URL=redis_url, CACHEWRIGHT_NAMESPACE=namespace)))


@pytest.fixture
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_flask_app", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sync_flask_app"] = module  # pydantic resolves the models' module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shop(example: ModuleType, tmp_path: Path, redis_url: str, namespace: str) -> Iterator[Any]:
    cache = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    shop = example.Shop(f"sqlite:///{tmp_path / 'shop.db'}", cache=cache)
    shop.writes.set_many({p.id: p for p in example.SEED[:10]})
    cache.clear()
    yield shop
    shop.close()


@pytest.mark.redis
def test_flask_views_read_aside_and_write_through(example: ModuleType, shop: Any) -> None:
    client = example.create_app(shop).test_client()
    before = shop.repo.queries

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda _: client.get("/products/3").status_code, range(32)))

    assert codes == [200] * 32
    assert shop.repo.queries - before == 1
    assert client.get("/products/999").status_code == 404
    assert client.put("/products/3", json={"name": "x", "price": "bad"}).status_code == 422
    assert client.put("/products/3", json={"name": "new", "price": 1}).status_code == 200
    assert shop.repo.get(3).name == "new"  # the database first
    assert shop.cache.get(shop.reads.cache_key(3))["name"] == "new"  # then the cache
    assert client.get("/products/3").get_json()["name"] == "new"


@pytest.mark.redis
def test_warm_up_task_fills_the_cache(example: ModuleType, shop: Any) -> None:
    assert example.warm_products(shop, range(1, 12)) == "warmed 10, skipped 0, failed 0"
    assert example.warm_products(shop, range(1, 12)) == "warmed 0, skipped 10, failed 0"
    before = shop.repo.queries
    assert shop.reads.get_many(range(1, 11)).keys() == set(range(1, 11))
    assert shop.repo.queries == before
