"""Which write-behind queue the command means, and the worker's store and types (issue 15).

``stats``, ``dead-letters`` and ``worker`` name the queue as ``WriteBehind`` does (from
its key format); an unknown queue is an error; ``--store`` may be an instance;
``run_worker`` takes type names as the command does. Against the private Redis and
SQLite files, in-process (``CliRunner``) and as a real worker process.
"""

from __future__ import annotations

import asyncio
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

from cachewright import Cache, WriteBehind
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from cachewright.patterns.worker import run_worker
from cachewright.stores import MemoryStore, SQLStore
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
