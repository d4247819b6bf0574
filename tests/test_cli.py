"""The ``cachewright`` command: exit codes, JSON output, errors a person can act on.

Commands run through typer's ``CliRunner`` (fast, in-process) and, where the process
boundary matters (entry point, missing extra, tracebacks), as real subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from cachewright import Cache
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode

UNREACHABLE = "redis://u:secret@127.0.0.1:1/0"

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a fresh interpreter, the real entry point."""
    return subprocess.run(
        [sys.executable, "-m", "cachewright.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


async def _seed(url: str, namespace: str) -> None:
    async with Cache.from_url(url, namespace=namespace) as cache:
        await cache.set("user:1", {"name": "Ada"}, ttl=300, tags=["users"])
        await cache.set("user:2", {"name": "Grace"}, tags=["users"])
        await cache.set("temp:a", 1)
        await cache.set("temp:b", 2)
        await cache.set("temp:*", 3)


@pytest.fixture
def seeded(redis_url: str, namespace: str) -> list[str]:
    asyncio.run(_seed(redis_url, namespace))
    return ["--url", redis_url, "--namespace", namespace]


# -- on memory: no server --------------------------------------------------------------


def test_stats_json_on_memory() -> None:
    result = invoke("stats", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["backend"] == "memory://"
    assert data["namespace"] == "cw"
    assert data["server"]["mode"] == "memory"
    assert "memory:// lives inside one process" in result.stderr


def test_stats_table_on_memory() -> None:
    result = invoke("--namespace", "shop", "stats")
    assert result.exit_code == 0
    assert "all namespaces, not only 'shop'" in result.stdout
    assert "database keys" in result.stdout


def test_get_miss_exits_4() -> None:
    result = invoke("get", "nothing", "--json")
    assert result.exit_code == 4  # ExitCode.NOT_FOUND, documented
    assert json.loads(result.stdout) == {"key": "nothing", "hit": False}


def test_flags_override_environment() -> None:
    result = invoke("--namespace", "flag", "stats", "--json", env={"CACHEWRIGHT_NAMESPACE": "env"})
    assert json.loads(result.stdout)["namespace"] == "flag"
    result = invoke("stats", "--json", env={"CACHEWRIGHT_NAMESPACE": "env"})
    assert json.loads(result.stdout)["namespace"] == "env"


def test_invalid_setting_is_a_usage_error() -> None:
    result = invoke("stats", env={"CACHEWRIGHT_READ_TIMEOUT": "soon"})
    assert result.exit_code == ExitCode.USAGE
    assert "CACHEWRIGHT_READ_TIMEOUT" in result.stderr
    assert "Traceback" not in result.output


def test_bad_url_and_bad_namespace_are_usage_errors() -> None:
    result = invoke("--url", "ftp://x:pw123@host/", "stats")
    assert result.exit_code == ExitCode.USAGE
    assert "unsupported cache URL scheme" in result.stderr
    assert "pw123" not in result.output
    result = invoke("--namespace", "a:b", "stats")
    assert result.exit_code == ExitCode.USAGE
    assert "namespace" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    assert invoke("frobnicate").exit_code == ExitCode.USAGE


# -- unreachable Redis: a message naming the host, never the password ----------------


def test_unreachable_redis_in_process() -> None:
    result = invoke("--url", UNREACHABLE, "get", "user:1")
    assert result.exit_code == 3  # ExitCode.UNAVAILABLE, documented
    assert "cannot reach the cache at 127.0.0.1:1" in result.stderr
    assert "redis://u:***@127.0.0.1:1/0" in result.stderr
    assert "secret" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["stats"], ["delete", "k"], ["invalidate", "t"]])
def test_unreachable_redis_subprocess(command: list[str]) -> None:
    proc = cli("--url", UNREACHABLE, *command)
    assert proc.returncode == 3, proc.stderr
    assert "127.0.0.1:1" in proc.stderr
    assert "check: is Redis running" in proc.stderr
    assert "secret" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_unreachable_redis_from_environment_with_debug_shows_traceback() -> None:
    proc = cli("--debug", "stats", env={"CACHEWRIGHT_URL": UNREACHABLE})
    assert proc.returncode == 3
    assert "Traceback" in proc.stderr
    assert "127.0.0.1:1" in proc.stderr
    assert "secret" not in proc.stderr + proc.stdout


# -- the package without the cli extra ------------------------------------------------


def test_import_cachewright_needs_no_cli_extra() -> None:
    code = (
        "import sys; import cachewright, cachewright.cli; "
        "assert 'typer' not in sys.modules and 'rich' not in sys.modules, 'eager import'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_main_without_typer_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['typer'] = None\n"
        "from cachewright.cli import main\n"
        "main(['stats'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "install cachewright[cli]" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- against the private Redis --------------------------------------------------------


@pytest.mark.redis
def test_get_hit_json(seeded: list[str]) -> None:
    result = invoke(*seeded, "get", "user:1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["hit"] is True
    assert data["value"] == {"name": "Ada"}
    assert data["tags"] == ["users"]
    assert 0 < data["ttl"] <= 300
    assert data["stale"] is False


@pytest.mark.redis
def test_get_hit_text_has_no_memory_note(seeded: list[str]) -> None:
    result = invoke(*seeded, "get", "user:2")
    assert result.exit_code == 0
    assert '"name": "Grace"' in result.stdout
    assert "ttl: no expiry" in result.stdout
    assert result.stderr == ""


@pytest.mark.redis
def test_delete_reports_what_existed(seeded: list[str]) -> None:
    result = invoke(*seeded, "delete", "user:1", "nope", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"removed": 1}
    assert invoke(*seeded, "get", "user:1").exit_code == ExitCode.NOT_FOUND


@pytest.mark.redis
def test_delete_pattern_takes_a_glob_and_prefix_is_literal(seeded: list[str]) -> None:
    literal = invoke(*seeded, "delete-pattern", "temp:*", "--prefix", "--json")
    assert json.loads(literal.stdout) == {"removed": 1}  # only the key named "temp:*"
    assert invoke(*seeded, "get", "temp:a").exit_code == 0
    glob = invoke(*seeded, "delete-pattern", "temp:?", "--json")
    assert json.loads(glob.stdout) == {"removed": 2}  # temp:a, temp:b
    assert invoke(*seeded, "get", "temp:a").exit_code == ExitCode.NOT_FOUND


@pytest.mark.redis
def test_invalidate_tags(seeded: list[str]) -> None:
    result = invoke(*seeded, "invalidate", "users", "absent")
    assert result.exit_code == 0
    assert "removed 2 entries tagged users, absent" in result.stdout
    assert invoke(*seeded, "get", "user:2").exit_code == ExitCode.NOT_FOUND


@pytest.mark.redis
def test_stats_json_on_redis_subprocess(seeded: list[str]) -> None:
    proc = cli(*seeded, "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["backend"].startswith("redis://127.0.0.1:")
    assert data["server"]["mode"] == "standalone"
    assert data["server"]["database_keys"] >= 5
