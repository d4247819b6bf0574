"""The longer commands: ``demo``, ``warmup`` and ``dead-letters`` (``worker`` runs in
``tests/test_examples.py``, against the write-behind example's queue)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from typer.testing import CliRunner

from cachewright import Cache
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from cachewright.patterns.write_behind.queues import SET
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


# -- demo -------------------------------------------------------------------------------


def test_demo_on_the_embedded_default() -> None:
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "get(1)  miss, loaded from the store" in out
    assert "100 callers served by 1 loader call" in out
    assert "store has it: True, cache has it: True" in out
    assert "queue: 3 keys pending (297 writes coalesced)" in out
    assert "flush(): 3 store writes" in out
    assert "invalidate_tags('catalog') removed 2 entries" in out
    assert "hit ratio" in out
    assert "demo complete" in out
    assert "✗" not in out


@pytest.mark.redis
def test_demo_on_redis_leaves_nothing_behind(redis_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cachewright.cli", "--url", redis_url, "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "through the durable Redis queue" in proc.stdout
    assert "demo complete" in proc.stdout
    namespace = proc.stdout.split("(namespace ", 1)[1].split(")", 1)[0]
    assert namespace.startswith("demo-")

    async def leftovers() -> list[bytes]:
        client = Redis.from_url(redis_url)
        try:
            return [key async for key in client.scan_iter(match=f"*{namespace}*")]
        finally:
            await client.aclose()

    assert asyncio.run(leftovers()) == []


# -- warmup -----------------------------------------------------------------------------

STORE_MODULE = """
from cachewright.stores import BaseStore

class Flaky(BaseStore[int, dict]):
    '''Products 1..20; a batch holding key 13 fails, as a broken row would.'''

    async def get(self, key):
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys):
        if 13 in keys:
            raise RuntimeError("row 13 is corrupt")
        return {k: {"id": k, "name": f"product {k}"} for k in keys if 1 <= k <= 20}

    async def set(self, key, value): ...

    async def delete(self, key): ...

def products():
    return Flaky()

async def async_products():
    return Flaky()

not_a_store = 42
"""


@pytest.fixture
def store_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module defining data stores, importable from the working directory (its name)."""
    module = f"cw_warm_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(STORE_MODULE))
    (tmp_path / "keys.txt").write_text("# hot products\n1\n2\n3\n\n4\n99\n")
    (tmp_path / "bad_keys.txt").write_text("\n".join(str(i) for i in range(10, 21)))
    monkeypatch.chdir(tmp_path)  # --store imports from the working directory
    yield module
    sys.modules.pop(module, None)


@pytest.mark.redis
def test_warmup_loads_keys_into_redis(store_module: str, redis_url: str, namespace: str) -> None:
    name = store_module
    base = ["--url", redis_url, "--namespace", namespace, "warmup"]
    args = ["--keys", "keys.txt", "--key", "product:{}", "--key-type", "int", "--ttl", "60"]
    result = invoke(*base, "--store", f"{name}:products", *args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["loaded"], report["missing"], report["failed"]) == (4, 1, {})

    again = invoke(*base, "--store", f"{name}:async_products", *args)
    assert again.exit_code == 0, again.output
    assert "loaded 0, skipped 4 (already cached), missing 1" in again.stdout

    async def cached() -> Any:
        async with Cache.from_url(redis_url, namespace=namespace) as cache:
            return await cache.get("product:3")

    assert asyncio.run(cached()) == {"id": 3, "name": "product 3"}


def test_warmup_reports_failed_keys_with_exit_1(store_module: str) -> None:
    name = store_module
    result = invoke(
        "warmup",
        "--store",
        f"{name}:products",
        "--keys",
        "bad_keys.txt",
        "--key-type",
        "int",
        "--batch-size",
        "4",
    )
    assert result.exit_code == ExitCode.FAILURE, result.output
    # keys 10..20 in chunks of 4: the chunk holding 13 fails; CacheAside isolates the key
    assert "loaded 10, skipped 0 (already cached), missing 0 (not in the store), failed 1" in (
        result.stdout
    )
    assert "row 13 is corrupt" in result.stdout


@pytest.mark.parametrize(
    ("store", "keys", "message"),
    [
        ("no_such_module:factory", "keys.txt", "no module named 'no_such_module'"),
        ("{module}:missing", "keys.txt", "has no 'missing'"),
        ("{module}:not_a_store", "keys.txt", "not a data store"),
        ("{module}", "keys.txt", "must look like 'module:name'"),
        ("{module}:products", "absent.txt", "cannot read absent.txt"),
    ],
)
def test_warmup_configuration_errors_exit_2(
    store_module: str, store: str, keys: str, message: str
) -> None:
    name = store_module
    result = invoke(
        "warmup", "--store", store.format(module=name), "--keys", keys, "--key-type", "int"
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


# -- dead letters -----------------------------------------------------------------------


async def _dead_letters(url: str, namespace: str, count: int) -> list[str]:
    """Put ``count`` writes in the queue and dead-letter them, as a rejecting store would."""
    async with RedisWriteQueue.from_url(url, namespace=namespace, name="profiles") as queue:
        for user in range(count):
            await queue.put(json.dumps(user), SET, b'{"id": %d}' % user, timeout=1)
        batch = await queue.claim(count, wait=1)
        return [
            await queue.dead_letter(batch, op, ValueError(f"bad row {op.key}")) for op in batch.ops
        ]


@pytest.mark.redis
def test_dead_letters_list_replay_drop(redis_url: str, namespace: str) -> None:
    ids = asyncio.run(_dead_letters(redis_url, namespace, 3))
    base = ["--url", redis_url, "--namespace", namespace, "dead-letters"]

    stats = invoke("--url", redis_url, "--namespace", namespace, "stats", "--queue", "profiles")
    assert "write-behind queue 'profiles'" in stats.stdout
    stats = invoke(
        "--url", redis_url, "--namespace", namespace, "stats", "--queue", "profiles", "--json"
    )
    assert json.loads(stats.stdout)["queues"]["profiles"]["dead_letters"] == 3

    listed = invoke(*base, "list", "--queue", "profiles", "--json")
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.stdout)
    assert sorted(d["id"] for d in letters) == sorted(ids)
    assert {d["key"] for d in letters} == {0, 1, 2}
    assert all(d["error"].startswith("ValueError: bad row") for d in letters)

    text = invoke(*base, "list", "--queue", "profiles")
    assert "error: ValueError: bad row" in text.stdout

    replayed = invoke(*base, "replay", "--queue", "profiles", ids[0], "--json")
    assert json.loads(replayed.stdout) == {"requeued": [ids[0]], "superseded": [], "missing": []}

    dropped = invoke(*base, "drop", "--queue", "profiles", ids[1])
    assert dropped.exit_code == 0
    assert "dropped 1 dead letter" in dropped.stdout

    rest = invoke(*base, "replay", "--queue", "profiles", "--all", "--json")
    assert json.loads(rest.stdout)["requeued"] == [ids[2]]
    empty = invoke(*base, "list", "--queue", "profiles")
    assert "no dead letters in queue 'profiles'" in empty.stdout

    missing = invoke(*base, "drop", "--queue", "profiles", ids[1])
    assert missing.exit_code == ExitCode.FAILURE


def test_stats_of_a_queue_needs_redis() -> None:
    result = invoke("stats", "--queue", "profiles")
    assert result.exit_code == ExitCode.USAGE
    assert "--queue needs the durable queue in Redis" in result.stderr


def test_dead_letters_need_the_redis_queue() -> None:
    result = invoke("dead-letters", "list")
    assert result.exit_code == ExitCode.USAGE
    assert "durable queue in Redis" in result.stderr


def test_dead_letters_replay_needs_ids_or_all() -> None:
    result = invoke("--url", "redis://127.0.0.1:1/0", "dead-letters", "replay")
    assert result.exit_code == ExitCode.USAGE
    assert "give dead letter IDs or --all" in result.stderr


def test_dead_letters_unreachable_redis_exit_3() -> None:
    result = invoke("--url", "redis://u:secret@127.0.0.1:1/0", "dead-letters", "list")
    assert result.exit_code == ExitCode.UNAVAILABLE, result.output
    assert "127.0.0.1:1" in result.stderr
    assert "secret" not in result.output


def test_worker_needs_the_redis_queue() -> None:
    result = invoke("worker", "--store", "x:y")
    assert result.exit_code == ExitCode.USAGE
    assert "durable queue in Redis" in result.stderr


def test_worker_unreachable_redis_exit_3(store_module: str) -> None:
    name = store_module
    result = invoke("--url", "redis://127.0.0.1:1/0", "worker", "--store", f"{name}:products")
    assert result.exit_code == ExitCode.UNAVAILABLE, result.output
    assert "cannot reach the cache at 127.0.0.1:1" in result.stderr
