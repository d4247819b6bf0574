"""A private Sentinel group for failover tests: one primary, one replica, three
sentinels (quorum 2, down-after 1 s, failover-timeout 3 s).

Usage::

    with SentinelGroup().start() as group:
        url = group.url          # redis+sentinel://the three sentinels/mymaster/0
        old = group.primary.port
        group.kill(group.primary)            # SIGKILL, by the PID started here
        promoted = group.wait_promotion(old) # once every sentinel names the replica
        with group.frozen(promoted): ...     # SIGSTOP ... SIGCONT
        group.restart(group.primary)         # back as a replica of the new primary

Only the processes started here are ever signalled, by their own PID.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from tests._servers import RedisServer, free_port, wait_until
from tests._topology import alive, cli, frozen_node, kill_node

__all__ = ["SERVICE", "SentinelGroup"]

SERVICE = "mymaster"


class SentinelGroup:
    """One primary, one replica and three sentinels (quorum 2, down-after 1 s)."""

    def __init__(self, sentinels: int = 3, down_after_ms: int = 1000) -> None:
        self.primary = RedisServer()
        self.replica = RedisServer(extra_args=["--replicaof", "127.0.0.1", str(self.primary.port)])
        self.servers = [self.primary, self.replica]
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.down_after_ms = down_after_ms
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self._dirs: list[Path] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def master_port(self) -> int | None:
        """The primary's port as the first sentinel that answers names it."""
        for port, proc in zip(self.sentinel_ports, self.sentinels, strict=True):
            if proc.poll() is not None:
                continue
            out = cli(port, "sentinel", "get-master-addr-by-name", SERVICE).split()
            if len(out) == 2:
                return int(out[1])
        return None

    def server(self, port: int) -> RedisServer:
        for server in self.servers:
            if server.port == port:
                return server
        raise LookupError(f"no server of this group listens on {port}")

    def start(self) -> Self:
        try:
            self.primary.start()
            self.replica.start()
            wait_until(self._replica_synced, timeout=30, interval=0.05)
            for port in self.sentinel_ports:
                self._start_sentinel(port)
            wait_until(self._sentinels_ready, timeout=30, interval=0.1)
        except BaseException:
            self.cleanup()
            raise
        return self

    def _start_sentinel(self, port: int) -> None:
        binary = self.primary.binary
        folder = Path(tempfile.mkdtemp(prefix="cw-sentinel-"))
        self._dirs.append(folder)
        conf = folder / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\nlogfile {folder / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.sentinels.append(
            subprocess.Popen(
                [binary, str(conf), "--sentinel"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def _replica_synced(self) -> bool:
        return "master_link_status:up" in cli(self.replica.port, "info", "replication")

    def _sentinels_ready(self) -> bool:
        """Every sentinel knows the replica and the other sentinels."""
        want = len(self.sentinel_ports) - 1
        for port in self.sentinel_ports:
            fields = cli(port, "sentinel", "master", SERVICE).split()
            info = dict(zip(fields[::2], fields[1::2], strict=False))
            if info.get("num-slaves") != "1" or info.get("num-other-sentinels") != str(want):
                return False
        return True

    def healthy(self) -> bool:
        """Both servers up, the replica in sync with the primary every sentinel names."""
        master = self.master_port()
        if master is None or not all(alive(server) for server in self.servers):
            return False
        others = [server for server in self.servers if server.port != master]
        if len(others) != 1 or "master_link_status:up" not in cli(
            others[0].port, "info", "replication"
        ):
            return False
        return self._sentinels_ready()

    def kill(self, server: RedisServer) -> float:
        """SIGKILL ``server``; returns ``time.monotonic()`` at the kill."""
        return kill_node(server)

    def frozen(self, server: RedisServer) -> contextlib.AbstractContextManager[RedisServer]:
        return frozen_node(server)

    def wait_promotion(self, old_port: int, timeout: float = 30.0) -> RedisServer:
        """Poll until every live sentinel names a primary other than ``old_port`` and
        that server says ``role:master``; returns it."""

        def promoted() -> bool:
            ports = set()
            for port, proc in zip(self.sentinel_ports, self.sentinels, strict=True):
                if proc.poll() is None:
                    out = cli(port, "sentinel", "get-master-addr-by-name", SERVICE).split()
                    ports.add(int(out[1]) if len(out) == 2 else None)
            if len(ports) != 1 or old_port in ports or None in ports:
                return False
            return "role:master" in cli(ports.pop(), "info", "replication")  # type: ignore[arg-type]

        wait_until(promoted, timeout=timeout, interval=0.02)
        master = self.master_port()
        assert master is not None
        return self.server(master)

    def restart(self, server: RedisServer) -> RedisServer:
        """Start a killed server again as a replica of the current primary (as the
        sentinels would make it, only sooner); waits until the group is healthy."""
        assert not alive(server)
        master = self.master_port()
        assert master is not None
        assert master != server.port
        server.extra_args = ["--replicaof", "127.0.0.1", str(master)]
        server.start()
        wait_until(self.healthy, timeout=60, interval=0.1)
        return server

    def cleanup(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        for server in self.servers:
            if server.process is not None and server.process.poll() is None:
                server.process.send_signal(signal.SIGCONT)
            server.cleanup()
        for folder in self._dirs:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
