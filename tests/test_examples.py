"""Every script in ``examples/`` runs as a user would run it, and says what it did.

Each runs as a subprocess (``python examples/X.py``) on the embedded default and
on the private Redis (``CACHEWRIGHT_URL``); the write-behind example also runs with
its flush worker in a separate process, both as the example script and as
``cachewright worker``. The ASGI app is also driven through Starlette's TestClient.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests._servers import IN_CI, RedisServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> a line its output must contain (a regular expression)
KEY_LINES = {
    "cache_aside_repository.py": r"done: every read after the first came from the cache",
    "write_through_orders.py": r"order 1001 shipped: cache and store agree",
    "write_behind_profiles.py": r"store: 10 profiles, 300 visits written",
    "warmup_job.py": r"50 best sellers served from the cache, 0 queries",
    "asgi_app.py": r"50 concurrent GET /products/1 -> 200, 1 store load",
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    env["PROFILES_DB"] = f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}"
    env["ORDERS_DB"] = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    env["PRODUCTS_DB"] = f"sqlite+aiosqlite:///{tmp_path / 'products.db'}"
    return {**env, **extra}


def _script(name: str) -> Path:
    path = EXAMPLES / name
    if not path.exists():
        message = f"examples/{name} is missing"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_example(name: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, str(_script(name))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert re.search(KEY_LINES[name], proc.stdout), proc.stdout
    return proc.stdout


@pytest.mark.parametrize("name", sorted(KEY_LINES))
def test_example_on_memory(name: str, tmp_path: Path) -> None:
    run_example(name, _env(tmp_path))


@pytest.mark.redis
@pytest.mark.parametrize(
    "name", sorted(set(KEY_LINES) - {"write_behind_profiles.py"})
)  # that one needs its worker: see below
def test_example_on_redis(name: str, tmp_path: Path, redis_url: str, namespace: str) -> None:
    run_example(name, _env(tmp_path, CACHEWRIGHT_URL=redis_url, CACHEWRIGHT_NAMESPACE=namespace))


@pytest.fixture
def worker_env(tmp_path: Path, redis_url: str, namespace: str) -> dict[str, str]:
    return _env(tmp_path, CACHEWRIGHT_URL=redis_url, CACHEWRIGHT_NAMESPACE=namespace)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; whatever is still running at the end is killed by PID."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


@pytest.mark.redis
def test_write_behind_with_worker_script(
    worker_env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    worker = subprocess.Popen(
        [sys.executable, str(_script("write_behind_worker.py"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env,
    )
    started.append(worker)
    out = run_example("write_behind_profiles.py", worker_env)
    assert "written by the worker" in out
    code, log = _stop(worker)
    assert code == 0, log
    assert re.search(r"worker stopped: \d+ writes flushed", log), log


@pytest.mark.redis
def test_write_behind_with_cli_worker(
    worker_env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cachewright.cli",
            "worker",
            "--store",
            "write_behind_profiles:profile_store",
            "--type",
            "write_behind_profiles:Profile",
            "--key-type",
            "int",
            "--queue",
            "profiles",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env,
        cwd=EXAMPLES,  # --store modules are imported from the working directory
    )
    started.append(worker)
    out = run_example("write_behind_profiles.py", worker_env)
    assert "written by the worker" in out
    code, log = _stop(worker)
    assert code == 0, log
    assert "flush worker: queue 'profiles'" in log
    assert re.search(r"stopped after [\d.]+ s: \d+ written", log), log


# One after another on one Redis, as a user trying them all would run them: each in
# its own namespace (the default), then all in one namespace (CACHEWRIGHT_NAMESPACE),
# where their distinct key prefixes keep them apart. warmup_job.py caches products
# that asgi_app.py's self-check must not see.
SEQUENCE = [
    "warmup_job.py",
    "asgi_app.py",
    "cache_aside_repository.py",
    "write_through_orders.py",
    "write_behind_profiles.py",  # with its worker, started below
    "sync_flask_app.py",
    "warmup_job.py",
    "asgi_app.py",
]
SYNC_FLASK_LINE = r"50 threaded GET /products/1 -> \{200\}, 1 store load"


@pytest.mark.redis
@pytest.mark.parametrize("shared", [False, True], ids=["own-namespaces", "one-namespace"])
def test_examples_one_after_another_on_one_redis(
    shared: bool,
    fresh_redis: RedisServer,
    tmp_path: Path,
    started: list[subprocess.Popen[str]],
) -> None:
    extra = {"CACHEWRIGHT_NAMESPACE": "shared"} if shared else {}
    env = _env(
        tmp_path,
        CACHEWRIGHT_URL=fresh_redis.url,
        PRODUCTS_SYNC_DB=f"sqlite:///{tmp_path / 'products-sync.db'}",
        **extra,
    )
    for name in SEQUENCE:
        if name == "write_behind_profiles.py":
            worker = subprocess.Popen(
                [sys.executable, str(_script("write_behind_worker.py"))],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            started.append(worker)
            assert "written by the worker" in run_example(name, env)
            code, log = _stop(worker)
            assert code == 0, log
        elif name == "sync_flask_app.py":
            proc = subprocess.run(
                [sys.executable, str(_script(name))],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env=env,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert re.search(SYNC_FLASK_LINE, proc.stdout), proc.stdout
        else:
            run_example(name, env)


def _load_asgi_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asgi_app_example", _script("asgi_app.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_asgi_app_through_its_lifespan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    for name in list(os.environ):
        if name.startswith("CACHEWRIGHT_"):
            monkeypatch.delenv(name)
    example = _load_asgi_example()
    app = example.create_app(f"sqlite+aiosqlite:///{tmp_path / 'products.db'}")
    # The lifespan, as a server runs it: cache and store opened once, closed at the end.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
            first = await http.get("/products/2")
            assert first.json() == {"id": 2, "name": "moka pot", "price": 34.0}
            assert (await http.get("/products/2")).status_code == 200
            assert (await http.get("/stats")).json()["loads"] == 1  # the second read hit
            put = await http.put("/products/2", json={"name": "moka pot", "price": 30})
            assert put.status_code == 200
            assert (await http.get("/products/2")).json()["price"] == 30.0  # no stale read
            bad = await http.put("/products/2", json={"price": "free"})
            assert bad.status_code == 422
            assert (await http.get("/products/404")).status_code == 404
            assert (await http.delete("/cache/tags/products")).json() == {"removed": 1}
