"""Private servers for tests: redis-server processes and a three-primary cluster.

Each server runs in its own temporary directory on a free port; tests may kill and
restart it. Only processes started here are ever signalled, by their own PID.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "RedisCluster",
    "RedisServer",
    "free_port",
    "need",
    "redis_binary",
    "server_version",
    "wait_until",
    "wait_until_async",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(reason: str) -> None:
    """Skip with a visible reason; under CI=true a missing server is a failure."""
    if IN_CI:
        pytest.fail(f"required server missing under CI=true: {reason}")
    pytest.skip(reason)


def free_port(below: int = 65536) -> int:
    """A free TCP port on 127.0.0.1 under ``below``."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < below:
            return port


# CI points this at another server binary (a Redis 6.2, a Valkey) to run the suites on it.
SERVER_ENV = "CACHEWRIGHT_TEST_REDIS_SERVER"


def redis_binary() -> str | None:
    """The server binary tests start: ``$CACHEWRIGHT_TEST_REDIS_SERVER``, else the PATH's.

    A chosen binary that is missing is an error, never a silent fall back to another
    server, so a run meant for Redis 6.2 cannot pass on 7.x by accident.
    """
    chosen = os.environ.get(SERVER_ENV)
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise FileNotFoundError(f"{SERVER_ENV}={chosen} is not an executable file")
        return chosen
    return shutil.which("redis-server") or shutil.which("valkey-server")


def server_version(binary: str) -> str:
    """``binary --version`` as one line, e.g. ``Redis server v=6.2.14 sha=...``."""
    out = subprocess.run([binary, "--version"], capture_output=True, timeout=10, check=True)
    return out.stdout.decode(errors="replace").strip()


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` (a callable returning bool) until true or fail at the deadline."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


async def wait_until_async(
    probe: Callable[[], Awaitable[Any]],
    *,
    expect: Any = True,
    timeout: float = 10.0,  # noqa: ASYNC109 - a poll deadline, not a cancellation scope
    interval: float = 0.02,
) -> None:
    """Await ``probe()`` until it returns ``expect``; fail at the deadline (a poll, not a sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = await probe()
        if last == expect:
            return
        await asyncio.sleep(interval)
    raise TimeoutError(f"expected {expect!r} within {timeout}s, last saw {last!r}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a free port, in a temporary directory."""

    def __init__(
        self,
        *,
        appendonly: bool = False,
        extra_args: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        binary = redis_binary()
        if binary is None:
            raise FileNotFoundError(f"redis-server not found on PATH (nor {SERVER_ENV})")
        self.binary = binary
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cw-redis-"))
        self.appendonly = appendonly
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def args(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always" if self.appendonly else "everysec",
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
            *self.extra_args,
        ]

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.process = subprocess.Popen(
            self.args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: self._ready(), timeout=timeout)
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {(self.dir / 'redis.log').read_text()}")
        try:
            out = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"],
                capture_output=True,
                timeout=2,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return _port_open(self.port)
        return out.stdout.strip() in {b"PONG", b"LOADING"} and b"LOADING" not in out.stdout

    def kill(self) -> None:
        """SIGKILL the server (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> RedisServer:
        self.kill()
        return self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisCluster:
    """Three primaries (no replicas) started from redis-server on free ports."""

    def __init__(self, primaries: int = 3) -> None:
        # A cluster node also listens on its port + 10000 (the cluster bus).
        self.nodes = [
            RedisServer(
                port=free_port(below=55536),
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
            )
            for _ in range(primaries)
        ]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def start(self) -> RedisCluster:
        try:
            for node in self.nodes:
                node.start()
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-yes"],
                capture_output=True,
                timeout=60,
                check=True,
            )
            wait_until(self._ok, timeout=30)
        except BaseException:
            self.cleanup()
            raise
        return self

    def _ok(self) -> bool:
        for node in self.nodes:
            out = subprocess.run(
                ["redis-cli", "-p", str(node.port), "cluster", "info"],
                capture_output=True,
                timeout=2,
                check=False,
            )
            if b"cluster_state:ok" not in out.stdout:
                return False
        return True

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
