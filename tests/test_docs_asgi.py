"""The web-app guide's snippet runs as written (docs/guides/asgi.md).

The first ``python`` block of the page is written to a module and served through
its lifespan (as a server runs it) over httpx's ASGI transport: on memory, and on a
private Redis with the local tier turned on from settings
(``CACHEWRIGHT_LOCAL_MAX_ENTRIES``), as the page says.
A write through the page's ``PUT`` is read back at once by the next ``GET``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests._servers import RedisServer

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "asgi.md"


def snippet() -> str:
    match = re.search(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert match is not None, "the guide has no python block"
    return match.group(1)


def load(tmp_path: Path, name: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(snippet())
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.mark.parametrize("kind", ["memory", "redis+local"])
async def test_the_asgi_guide_snippet_runs_as_written(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    for variable in [v for v in os.environ if v.startswith("CACHEWRIGHT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("DB_URL", f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("CACHEWRIGHT_NAMESPACE", f"asgi{kind.replace('+', '')}{tmp_path.name[-6:]}")
    if kind != "memory":
        server: RedisServer = request.getfixturevalue("redis_server")
        if server.process is None or server.process.poll() is not None:
            server.start()
        monkeypatch.setenv("CACHEWRIGHT_URL", server.url)
        monkeypatch.setenv("CACHEWRIGHT_LOCAL_MAX_ENTRIES", "1000")
    module = load(tmp_path, f"asgi_guide_{kind.replace('+', '_')}")

    app = module.app
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            assert (await client.get("/products/1")).status_code == 404
            cup = {"id": 1, "name": "espresso cup", "price": 9.5}
            assert (await client.put("/products", json=cup)).json() == cup
            assert (await client.get("/products/1")).json() == cup  # loaded, then cached
            assert (await client.get("/products/1")).json() == cup  # a hit
            dearer = {**cup, "price": 11.0}
            await client.put("/products", json=dearer)
            assert (await client.get("/products/1")).json() == dearer  # read back at once
            cache = app.state.products.cache
            assert cache.local is (kind != "memory")  # the tier came from the settings
            await cache.clear()
