"""Frictions a first user of the ``cachewright`` command met (issue 15), one test each:
spelling, flags, ``--version``, a light ``--help``, and the warm-up's ttl and progress.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cachewright
from cachewright import Cache, CacheAside
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from cachewright._cli.warmup import phases, warm_in_phases
from cachewright.stores import BaseStore

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


# -- words, flags and the version ---------------------------------------------------------


@pytest.mark.redis
def test_counts_are_spelled_right(redis_url: str, namespace: str) -> None:
    result = invoke("--url", redis_url, "--namespace", namespace, "delete-pattern", "none*")
    assert result.exit_code == 0, result.output
    assert "deleted 0 keys" in result.stdout
    assert "keies" not in result.stdout


COMMANDS = [
    [],
    ["stats"],
    ["get"],
    ["delete"],
    ["delete-pattern"],
    ["invalidate"],
    ["demo"],
    ["health"],
    ["warmup"],
    ["worker"],
    ["dead-letters"],
    ["dead-letters", "list"],
    ["dead-letters", "replay"],
    ["dead-letters", "drop"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_shows_boolean_flags_as_flags(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout


def test_a_flag_takes_no_value() -> None:
    assert "--json " in invoke("stats", "--help").stdout
    assert invoke("stats", "--json").exit_code == 0
    result = invoke("stats", "--json", "true")
    assert result.exit_code == ExitCode.USAGE


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cachewright {cachewright.__version__}"


HEAVY = (
    "redis",
    "sqlalchemy",
    "aiojobs",
    "tenacity",
    "pydantic_settings",
    "cachewright.cache",
    "cachewright.patterns",
    "cachewright.settings",
    "cachewright.stores",
)


@pytest.mark.parametrize(
    ("command", "heavy"),
    [
        (["--help"], (*HEAVY, "pydantic")),
        (["--version"], (*HEAVY, "pydantic")),
        # A command's own help: typer builds its parameters with pydantic (typer's
        # choice, not ours); the rest stays out.
        (["worker", "--help"], HEAVY),
        (["dead-letters", "list", "-h"], HEAVY),
    ],
)
def test_help_and_version_load_no_heavy_module(command: list[str], heavy: tuple[str, ...]) -> None:
    """``cachewright --help`` answers without importing Redis, pydantic or the patterns
    (with them it took 1.6-1.9 s)."""
    code = textwrap.dedent(
        f"""
        import runpy, sys
        sys.argv = ["cachewright", *{command!r}]
        try:
            runpy.run_module("cachewright.cli", run_name="__main__")
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        loaded = [m for m in {heavy!r} if m in sys.modules]
        print("HEAVY:" + ",".join(loaded))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY:"


# -- warm-up: CacheAside's ttl, and a progress bar that moves at once ---------------------

KEYS_MODULE = """
from cachewright.stores import BaseStore


class Products(BaseStore[int, dict]):
    async def get(self, key):
        return {"id": key}

    async def get_many(self, keys):
        return {k: {"id": k} for k in keys}

    async def set(self, key, value): ...

    async def delete(self, key): ...
"""


@pytest.fixture
def products_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = f"cw_products_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(KEYS_MODULE))
    (tmp_path / "keys.txt").write_text("1\n2\n3\n")
    monkeypatch.chdir(tmp_path)
    yield module
    sys.modules.pop(module, None)


async def _ttl(url: str, namespace: str, key: str) -> float | None:
    async with Cache.from_url(url, namespace=namespace) as cache:
        return await cache.ttl(key)


@pytest.mark.redis
@pytest.mark.parametrize(
    ("flags", "low", "high"),
    [
        ([], 590.0, 600.0),  # CacheAside's default, as in the application
        (["--ttl", "60"], 50.0, 60.0),
        (["--no-expiry"], float("inf"), float("inf")),
    ],
)
def test_warmup_ttl_defaults_to_cache_asides(
    flags: list[str], low: float, high: float, products_module: str, redis_url: str, namespace: str
) -> None:
    result = invoke(
        "--url",
        redis_url,
        "--namespace",
        namespace,
        "warmup",
        "--store",
        f"{products_module}:Products",  # a class: a factory
        "--keys",
        "keys.txt",
        "--key",
        "product:{}",
        "--key-type",
        "int",
        *flags,
    )
    assert result.exit_code == 0, result.output
    ttl = asyncio.run(_ttl(redis_url, namespace, "product:2"))
    assert ttl is not None
    assert low <= ttl <= high


def test_warmup_ttl_and_no_expiry_exclude_each_other(products_module: str) -> None:
    result = invoke(
        "warmup", "--store", f"{products_module}:Products", "--keys", "keys.txt", "--ttl", "5",
        "--no-expiry",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "--ttl or --no-expiry" in result.stderr


def test_warm_up_phases_start_small() -> None:
    assert phases(1000, 500, 2) == [(0, 2, 1), (2, 18, 8), (18, 146, 64), (146, 1000, 500)]
    assert phases(3, 500, 8) == [(0, 3, 1)]
    assert phases(10, 1, 4) == [(0, 10, 1)]
    covered = [i for start, stop, _ in phases(10_000, 500, 8) for i in range(start, stop)]
    assert covered == list(range(10_000))


class _Recording(BaseStore[int, dict[str, int]]):
    """A store that records the size of every batch read, in order."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def get(self, key: int) -> dict[str, int] | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: Any) -> dict[int, dict[str, int]]:
        self.calls.append(len(keys))
        return {k: {"id": k} for k in keys}

    async def set(self, key: int, value: dict[str, int]) -> None: ...

    async def delete(self, key: int) -> None: ...


async def test_warm_up_progress_moves_before_a_large_chunk_is_read() -> None:
    store = _Recording()
    seen: list[tuple[int, int]] = []  # (keys done, store calls made so far)
    async with (
        Cache.from_url("memory://") as cache,
        CacheAside(cache, loader=store, key="p:{}", type=dict[str, int]) as aside,
    ):
        report = await warm_in_phases(
            aside,
            list(range(5_000)),
            concurrency=8,
            batch_size=500,
            skip_cached=True,
            progress=lambda done: seen.append((done, len(store.calls))),
        )
    assert report.loaded == 5_000
    first_done, calls_then = seen[0]
    assert first_done == 1  # one key in: the bar moved
    assert max(store.calls[:calls_then]) == 1  # before any large read had started
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1][0] == 5_000
    assert max(store.calls) == 500  # then full chunks, as --batch-size says
