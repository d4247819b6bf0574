"""``cachewright health``: exit 0 when the cache is usable, 3 when not (container probes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from tests._servers import RedisServer

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    return {**env, **extra}


@pytest.mark.redis
def test_health_exits_0_when_up_and_3_when_killed(fresh_redis: RedisServer, namespace: str) -> None:
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
