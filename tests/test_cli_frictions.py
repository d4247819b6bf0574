"""The frictions a first user of the ``cachewright`` command met (issue 15), one test each.

Against the private Redis (and SQLite files): the command in-process through typer's
``CliRunner``, and as a real subprocess where the process matters (imports, signals).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis
from typer.testing import CliRunner

import cachewright
from cachewright import Cache, CacheAside, WriteBehind
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from cachewright._cli.warmup import phases, warm_in_phases
from cachewright.patterns.worker import run_worker
from cachewright.stores import BaseStore, MemoryStore, SQLStore
from tests._servers import wait_until_async

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    return {**env, **extra}


class Profile(BaseModel):
    id: int
    name: str


STORE_MODULE = """
import os

from pydantic import BaseModel

from cachewright.stores import SQLStore


class Profile(BaseModel):
    id: int
    name: str


# An instance, as docs/cli.md shows it: not a factory.
profile_store = SQLStore(os.environ["PROFILES_DB"], "profiles", type=Profile, key_type=int)
"""


@pytest.fixture
def store_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = f"cw_friction_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(STORE_MODULE))
    monkeypatch.chdir(tmp_path)
    yield module
    sys.modules.pop(module, None)


# -- the worker takes a store instance, and finds the queue WriteBehind named ----------


async def _write_profiles(url: str, namespace: str, db: str, count: int) -> None:
    async with (
        Cache.from_url(url, namespace=namespace) as cache,
        SQLStore(db, "profiles", type=Profile, key_type=int) as store,
    ):
        # On Redis, the durable queue, named after the key format ("profile"); this
        # process only enqueues, the worker writes the store.
        profiles = WriteBehind(
            cache, store, key="profile:{}", type=Profile, key_type=int, flusher=False
        )
        async with profiles:
            for i in range(count):
                await profiles.set(i, Profile(id=i, name=f"user {i}"))


async def _rows(db: str, count: int) -> int:
    async with SQLStore(db, "profiles", type=Profile, key_type=int) as store:
        return len(await store.get_many(list(range(count))))


@pytest.mark.redis
def test_worker_takes_a_store_instance_and_the_queue_named_by_the_key_format(
    store_module: str, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}"
    asyncio.run(_write_profiles(redis_url, namespace, db, 5))

    stats = invoke("--url", redis_url, "--namespace", namespace, "stats", "--key", "profile:{}")
    assert stats.exit_code == 0, stats.output
    assert "write-behind queue 'profile'" in stats.stdout

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cachewright.cli",
            "worker",
            "--store",
            f"{store_module}:profile_store",
            "--type",
            f"{store_module}:Profile",
            "--key-type",
            "int",
            "--key",
            "profile:{}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_env(CACHEWRIGHT_URL=redis_url, CACHEWRIGHT_NAMESPACE=namespace, PROFILES_DB=db),
    )
    try:

        async def written() -> int:
            return await _rows(db, 5)

        asyncio.run(wait_until_async(written, expect=5, timeout=60))
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert worker.returncode == 0, out + err
    assert "flush worker: queue 'profile'" in out
    assert "is not callable" not in out + err


@pytest.mark.redis
async def test_run_worker_takes_type_names_as_the_command_does(
    redis_url: str, namespace: str
) -> None:
    store: MemoryStore[int, str] = MemoryStore()
    worker = asyncio.create_task(
        run_worker(
            redis_url,
            store,  # an instance, like the command's --store
            type="str",  # like --type str
            key_type="int",  # like --key-type int
            namespace=namespace,
            key="note:{}",  # the queue WriteBehind(key="note:{}") uses
            wait=0.1,
            handle_signals=False,
        )
    )
    try:
        async with Cache.from_url(redis_url, namespace=namespace) as cache:
            notes = WriteBehind(
                cache, MemoryStore[int, str](), key="note:{}", type=str, key_type=int, flusher=False
            )
            async with notes:
                await notes.set(1, "one")
                await notes.set(2, "two")

        async def stored() -> dict[int, str]:
            return dict(await store.get_many([1, 2]))

        await wait_until_async(stored, expect={1: "one", 2: "two"}, timeout=30)
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker


# -- an unknown queue is an error, and asking creates nothing ---------------------------


@pytest.mark.redis
@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--queue", "nope"],
        ["stats", "--key", "nope:{}"],
        ["dead-letters", "list", "--queue", "nope"],
        ["dead-letters", "list"],  # WriteBehind's default key "{}" names "default"
        ["dead-letters", "replay", "--queue", "nope", "--all"],
        ["dead-letters", "drop", "--queue", "nope", "0/1-0"],
    ],
)
def test_an_unknown_queue_is_an_error(command: list[str], redis_url: str, namespace: str) -> None:
    result = invoke("--url", redis_url, "--namespace", namespace, *command)
    assert result.exit_code == ExitCode.NOT_FOUND, result.output
    assert "no write-behind queue" in result.stderr
    assert "--key" in result.stderr  # the hint: how WriteBehind names its queue

    async def keys() -> list[bytes]:
        client = Redis.from_url(redis_url)
        try:
            return [key async for key in client.scan_iter(match=f"*{namespace}*")]
        finally:
            await client.aclose()

    assert asyncio.run(keys()) == []


@pytest.mark.redis
def test_dead_letters_find_the_queue_by_key_format(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'profiles.db'}"
    asyncio.run(_write_profiles(redis_url, namespace, db, 2))
    base = ["--url", redis_url, "--namespace", namespace, "dead-letters"]
    listed = invoke(*base, "list", "--key", "profile:{}")
    assert listed.exit_code == 0, listed.output
    assert "no dead letters in queue 'profile'" in listed.stdout


@pytest.mark.redis
@pytest.mark.parametrize("ids", [["nonsense"], ["1700000000000-0"], ["0/1-0", "x/y"]])
@pytest.mark.parametrize("action", ["drop", "replay"])
def test_a_malformed_dead_letter_id_is_a_usage_error(
    action: str, ids: list[str], redis_url: str, namespace: str
) -> None:
    result = invoke(
        "--url", redis_url, "--namespace", namespace, "dead-letters", action, "--queue", "q", *ids
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "malformed dead letter id" in result.stderr
    assert "dropped 0" not in result.output


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


# -- health, for container probes ------------------------------------------------------------


@pytest.mark.redis
def test_health_exits_0_when_up_and_3_when_killed(
    fresh_redis: Any, namespace: str, tmp_path: Path
) -> None:
    env = _env(CACHEWRIGHT_URL=fresh_redis.url, CACHEWRIGHT_NAMESPACE=namespace)
    command = [sys.executable, "-m", "cachewright.cli", "health"]
    up = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert up.returncode == 0, up.stdout + up.stderr
    found = json.loads(up.stdout)
    assert found["healthy"] is True
    assert found["reachable"] is True
    assert found["breaker"] == "closed"
    assert found["server_version"]
    assert found["rtt"] > 0
    assert found["channel"] is None

    text = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert text.returncode == 0
    assert "healthy: yes" in text.stdout
    assert f"server version: {found['server_version']}" in text.stdout

    fresh_redis.kill()
    down = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert down.returncode == ExitCode.UNAVAILABLE, down.stdout + down.stderr
    found = json.loads(down.stdout)
    assert found["healthy"] is False
    assert found["reachable"] is False
    assert found["error"]


@pytest.mark.redis
def test_health_shows_the_local_tier_channel(redis_url: str, namespace: str) -> None:
    result = invoke(
        "--url",
        redis_url,
        "--namespace",
        namespace,
        "health",
        env={"CACHEWRIGHT_LOCAL_MAX_ENTRIES": "100"},
    )
    assert result.exit_code == 0, result.output
    assert "local channel: up" in result.stdout


def test_health_on_memory() -> None:
    result = invoke("health", "--json", env={"CACHEWRIGHT_URL": "memory://"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["channel"] is None
