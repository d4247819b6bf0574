"""A private redis-server for the benchmarks, and server-side counters.

Usage::

    with private_redis() as server:               # free loopback port, no persistence
        probe = ServerProbe(server.port)
        before = await probe.snapshot()
        ...                                       # the measured work
        seen = (await probe.snapshot()) - before  # commands, round trips, connections

Round trips are counted by the server (``total_writes_processed``: Redis writes each
client's pending replies once per event-loop turn, so a pipeline or an MGET costs one
write). Commands are ``total_commands_processed``: what clients sent plus what their
Lua scripts ran (Redis counts both), less connection handshakes.
The probe's own INFO costs one command and one write, subtracted.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis

__all__ = ["HANDSHAKE", "Seen", "Server", "ServerProbe", "private_redis"]

#: commands a new connection sends before any work (redis-py: CLIENT SETINFO x2)
HANDSHAKE = frozenset({"client|setinfo", "hello", "select", "auth", "client|setname"})


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[Server]:
    """A redis-server on a free 127.0.0.1 port, no RDB/AOF; stopped (by its PID) at exit."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as workdir:
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--protected-mode",
                "yes",
                "--maxclients",
                "10000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("redis-server did not start")
                time.sleep(0.02)
            yield Server(port, process)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Seen:
    commands: int = 0
    round_trips: int = 0
    connections: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    server_cpu: float = 0.0

    def __sub__(self, other: Seen) -> Seen:
        calls = {k: v - other.calls.get(k, 0) for k, v in self.calls.items()}
        calls = {k: v for k, v in calls.items() if v}
        # the earlier INFO itself: one command, one reply write
        calls["info"] = calls.get("info", 0) - 1
        if calls["info"] <= 0:
            del calls["info"]
        return Seen(
            commands=self.commands - other.commands - 1,
            round_trips=self.round_trips - other.round_trips - 1,
            connections=self.connections - other.connections,
            calls=calls,
            server_cpu=self.server_cpu - other.server_cpu,
        )

    @property
    def handshake(self) -> int:
        return sum(v for k, v in self.calls.items() if k in HANDSHAKE)

    @property
    def work_commands(self) -> int:
        """Commands sent, less connection handshakes."""
        return self.commands - self.handshake


class ServerProbe:
    """One dedicated connection reading INFO before and after the measured work."""

    def __init__(self, port: int) -> None:
        self.client = Redis(host="127.0.0.1", port=port)

    async def snapshot(self) -> Seen:
        info = await self.client.info("everything")
        calls = {
            name[len("cmdstat_") :]: int(value["calls"])
            for name, value in info.items()
            if name.startswith("cmdstat_") and isinstance(value, dict)
        }
        return Seen(
            commands=int(info["total_commands_processed"]),
            round_trips=int(info["total_writes_processed"]),
            connections=int(info["total_connections_received"]),
            calls=calls,
            server_cpu=float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        )

    async def close(self) -> None:
        await self.client.aclose()
