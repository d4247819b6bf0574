"""Private replicated topologies for failover tests: a Redis Cluster of three primaries
with one replica each, and a Sentinel group (one primary, one replica, three sentinels).

Usage::

    with ReplicatedCluster().start() as cluster:
        url = cluster.url                            # redis+cluster://every node
        victim = cluster.primary_for("{p0}queue")   # the RedisServer serving that slot
        killed_at = cluster.kill(victim)             # SIGKILL, by the PID started here
        promoted = cluster.wait_promotion(victim)    # the replica that took its slots
        with cluster.frozen(cluster.replica_of(promoted)):   # SIGSTOP ... SIGCONT
            ...
        cluster.restart(victim)                      # rejoins as a replica

    with SentinelGroup().start() as group:
        url = group.url          # redis+sentinel://the three sentinels/mymaster/0
        group.kill(group.primary)
        group.wait_promotion()   # the replica, once every sentinel names it

Timeouts are short (cluster node timeout 1 s, sentinel down-after 1 s), so a
failover takes a few seconds. Every process is started from the ``redis-server``
binary on a free port in its own temporary directory, and only those PIDs are ever
signalled. A SIGSTOPped process is always continued before it is stopped.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from tests._servers import RedisServer, free_port, wait_until

__all__ = ["NODE_TIMEOUT_MS", "ReplicatedCluster", "SentinelGroup", "cli"]

NODE_TIMEOUT_MS = 1000
SERVICE = "mymaster"


def cli(port: int, *args: str, timeout: float = 2.0) -> str:
    """One ``redis-cli`` command against 127.0.0.1:``port``; its output ("" if it fails)."""
    try:
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    return out.stdout.decode(errors="replace")


def _alive(server: RedisServer) -> bool:
    return server.process is not None and server.process.poll() is None


def _kill(server: RedisServer) -> float:
    """SIGKILL ``server`` (continued first if frozen); the monotonic time of the kill."""
    assert _alive(server), f"node {server.port} is not running"
    assert server.process is not None
    killed_at = time.monotonic()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server.process = None
    return killed_at


@contextlib.contextmanager
def _frozen(server: RedisServer) -> Iterator[RedisServer]:
    """SIGSTOP ``server`` for the block; SIGCONT it whatever happens."""
    assert server.process is not None
    assert server.process.poll() is None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.send_signal(signal.SIGCONT)


class ReplicatedCluster:
    """Three primaries and three replicas (``--cluster-replicas 1``), node timeout 1 s."""

    def __init__(self, primaries: int = 3, *, full_coverage: bool = True) -> None:
        # A cluster node also listens on its port + 10000 (the cluster bus).
        # full_coverage=False sets cluster-require-full-coverage no: the healthy
        # primaries keep serving their slots while one is down.
        coverage = "yes" if full_coverage else "no"
        self.nodes = [
            RedisServer(
                port=free_port(below=55536),
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(NODE_TIMEOUT_MS),
                    # Any replica may be promoted, however long its link was down.
                    "--cluster-replica-validity-factor",
                    "0",
                    "--cluster-require-full-coverage",
                    coverage,
                ],
            )
            for _ in range(primaries * 2)
        ]

    # -- addresses -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Every node as a startup node, so the client survives the loss of any one."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis+cluster://{hosts}/0"

    def node(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def alive(self) -> list[RedisServer]:
        return [node for node in self.nodes if _alive(node)]

    def topology(self) -> list[tuple[int, str, int | None]]:
        """``(port, "master"|"slave", master's port)`` per node a live node knows of,
        failed nodes left out (from ``CLUSTER NODES``)."""
        for node in self.alive():
            text = cli(node.port, "cluster", "nodes")
            if text.strip():
                return _parse_nodes(text)
        return []

    def primaries(self) -> list[RedisServer]:
        return [self.node(port) for port, role, _ in self.topology() if role == "master"]

    def replica_of(self, primary: RedisServer) -> RedisServer:
        return next(
            self.node(port)
            for port, role, master in self.topology()
            if role == "slave" and master == primary.port
        )

    def primary_for(self, key: str) -> RedisServer:
        """The primary serving ``key``'s hash slot now."""
        probe = self.alive()[0].port
        slot = int(cli(probe, "cluster", "keyslot", key).strip())
        for start, end, port in _parse_slots(cli(probe, "cluster", "slots")):
            if start <= slot <= end:
                return self.node(port)
        raise LookupError(f"slot {slot} is not served")

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        try:
            for node in self.nodes:
                node.start()
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *addresses,
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                capture_output=True,
                timeout=60,
                check=True,
            )
            self.wait_healthy(timeout=60)
        except BaseException:
            self.cleanup()
            raise
        return self

    def healthy(self) -> bool:
        """Every node up, every node says ``cluster_state:ok``, every replica in sync,
        and every node agrees on three primaries with one replica each."""
        if len(self.alive()) != len(self.nodes):
            return False
        for node in self.nodes:
            if "cluster_state:ok" not in cli(node.port, "cluster", "info"):
                return False
        for port, role, _ in self.topology():
            if role == "slave" and "master_link_status:up" not in cli(port, "info", "replication"):
                return False
        roles = [role for _, role, _ in self.topology()]
        return roles.count("master") == len(self.nodes) // 2 == roles.count("slave")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        wait_until(self.healthy, timeout=timeout, interval=0.1)

    def kill(self, node: RedisServer) -> float:
        """SIGKILL ``node``; returns ``time.monotonic()`` at the kill."""
        return _kill(node)

    def frozen(self, node: RedisServer) -> contextlib.AbstractContextManager[RedisServer]:
        """SIGSTOP ``node`` for a ``with`` block (SIGCONT on the way out)."""
        return _frozen(node)

    def wait_promotion(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Poll until ``old``'s replica is a primary and every live node says
        ``cluster_state:ok``; returns the promoted node."""
        replica_port = next(
            port
            for port, role, master in _parse_nodes(cli(self.alive()[0].port, "cluster", "nodes"))
            if role == "slave" and master == old.port
        )

        def promoted() -> bool:
            roles = {port: role for port, role, _ in self.topology()}
            if roles.get(replica_port) != "master":
                return False
            return all(
                "cluster_state:ok" in cli(node.port, "cluster", "info") for node in self.alive()
            )

        wait_until(promoted, timeout=timeout, interval=0.02)
        return self.node(replica_port)

    def restart(self, node: RedisServer) -> RedisServer:
        """Start a killed node again on its port and directory: its nodes.conf makes
        it rejoin, as a replica of whoever took its slots. Waits for a healthy cluster."""
        assert not _alive(node)
        node.start()
        self.wait_healthy()
        return node

    def cleanup(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)
            node.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


def _parse_nodes(text: str) -> list[tuple[int, str, int | None]]:
    """``CLUSTER NODES`` as ``(port, role, master port)``, failed nodes left out."""
    ids: dict[str, int] = {}
    rows: list[tuple[int, str, str, str]] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, address, flags, master = fields[0], fields[1], fields[2], fields[3]
        port = int(address.split("@")[0].rsplit(":", 1)[1])
        ids[node_id] = port
        rows.append((port, flags, master, node_id))
    result: list[tuple[int, str, int | None]] = []
    for port, flags, master, _ in rows:
        names = set(flags.split(","))
        if names & {"fail", "fail?", "noaddr", "handshake"}:
            continue
        role = "master" if "master" in names else "slave"
        result.append((port, role, ids.get(master) if master != "-" else None))
    return result


def _parse_slots(text: str) -> list[tuple[int, int, int]]:
    """``CLUSTER SLOTS`` (redis-cli's flat output) as ``(start, end, primary port)``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    ranges: list[tuple[int, int, int]] = []
    i = 0
    # Each range prints: start, end, then per node ip, port, id (and, in 7.0+, an empty
    # metadata line that redis-cli omits); the first node listed is the primary.
    while i + 4 < len(lines):
        if lines[i].isdigit() and lines[i + 1].isdigit() and lines[i + 3].isdigit():
            start, end, port = int(lines[i]), int(lines[i + 1]), int(lines[i + 3])
            ranges.append((start, end, port))
            i += 4
        else:
            i += 1
    return ranges


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
        return next(server for server in self.servers if server.port == port)

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
        if master is None or not all(_alive(server) for server in self.servers):
            return False
        other = next(server for server in self.servers if server.port != master)
        if "master_link_status:up" not in cli(other.port, "info", "replication"):
            return False
        return self._sentinels_ready()

    def kill(self, server: RedisServer) -> float:
        """SIGKILL ``server``; returns ``time.monotonic()`` at the kill."""
        return _kill(server)

    def frozen(self, server: RedisServer) -> contextlib.AbstractContextManager[RedisServer]:
        return _frozen(server)

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
        assert not _alive(server)
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
