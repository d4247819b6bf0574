"""A private replicated Redis Cluster for failover tests: three primaries with one
replica each (the Sentinel group is in :mod:`tests._sentinel`).

Usage::

    with ReplicatedCluster().start() as cluster:
        url = cluster.url                            # redis+cluster://every node
        victim = cluster.primary_for("{p0}queue")   # the RedisServer serving that slot
        killed_at = cluster.kill(victim)             # SIGKILL, by the PID started here
        promoted = cluster.wait_promotion(victim)    # the replica that took its slots
        with cluster.frozen(cluster.replica_of(promoted)):   # SIGSTOP ... SIGCONT
            ...
        cluster.restart(victim)                      # rejoins as a replica

Timeouts are short (cluster node timeout 1 s), so a
failover takes a few seconds. Every process is started from the ``redis-server``
binary on a free port in its own temporary directory, and only those PIDs are ever
signalled. A SIGSTOPped process is always continued before it is stopped.

These helpers run in threads (``asyncio.to_thread``), so none of them lets a
``StopIteration`` out: asyncio cannot set it on a future, and the awaiting test would
wait forever (what hung the lagging-replica test once). A lookup that finds nothing
raises ``LookupError``; a poll that never succeeds, ``TimeoutError``.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from tests._servers import RedisServer, free_port, wait_until

__all__ = ["NODE_TIMEOUT_MS", "ReplicatedCluster", "alive", "cli", "frozen_node", "kill_node"]

NODE_TIMEOUT_MS = 1000


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


def alive(server: RedisServer) -> bool:
    return server.process is not None and server.process.poll() is None


def kill_node(server: RedisServer) -> float:
    """SIGKILL ``server`` (continued first if frozen); the monotonic time of the kill."""
    assert alive(server), f"node {server.port} is not running"
    assert server.process is not None
    killed_at = time.monotonic()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server.process = None
    return killed_at


@contextlib.contextmanager
def frozen_node(server: RedisServer) -> Iterator[RedisServer]:
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
        # The replica of each primary killed, looked up at the kill (see wait_promotion).
        self._successors: dict[int, int] = {}
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
        for node in self.nodes:
            if node.port == port:
                return node
        raise LookupError(f"no node of this cluster listens on {port}")

    def alive(self) -> list[RedisServer]:
        return [node for node in self.nodes if alive(node)]

    def topology(self, *, failed: bool = False) -> list[tuple[int, str, int | None]]:
        """``(port, "master"|"slave", master's port)`` per node a live node knows of
        (from ``CLUSTER NODES``), nodes flagged failed left out unless ``failed``."""
        for node in self.alive():
            text = cli(node.port, "cluster", "nodes")
            if text.strip():
                return _parse_nodes(text, failed=failed)
        return []

    def primaries(self) -> list[RedisServer]:
        return [self.node(port) for port, role, _ in self.topology() if role == "master"]

    def replica_of(self, primary: RedisServer) -> RedisServer:
        """``primary``'s replica, even one its peers flag as failed (frozen, lagging)."""
        return self.node(self._replica_port(primary.port))

    def _replica_port(self, primary: int) -> int:
        topology = self.topology(failed=True)
        for port, role, master in topology:
            if role == "slave" and master == primary:
                return port
        raise LookupError(f"no replica of {primary} in CLUSTER NODES: {topology}")

    def _note_successor(self, node: RedisServer) -> None:
        for port, role, master in self.topology(failed=True):
            if role == "slave" and master == node.port:
                self._successors[node.port] = port
                return

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
        """SIGKILL ``node``; returns ``time.monotonic()`` at the kill. A primary's
        replica is noted first, for :meth:`wait_promotion`."""
        self._note_successor(node)
        return kill_node(node)

    def frozen(self, node: RedisServer) -> contextlib.AbstractContextManager[RedisServer]:
        """SIGSTOP ``node`` for a ``with`` block (SIGCONT on the way out)."""
        return frozen_node(node)

    def wait_promotion(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Poll until ``old``'s replica is a primary and every live node says
        ``cluster_state:ok``; returns the promoted node.

        The replica is the one :meth:`kill` noted: asked after the kill, ``CLUSTER
        NODES`` may no longer name it as ``old``'s (already promoted, or flagged
        ``fail`` by its peers just after a SIGSTOP)."""
        replica_port = self._successors.pop(old.port, None)
        if replica_port is None:
            replica_port = self._replica_port(old.port)

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
        assert not alive(node)
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


def _parse_nodes(text: str, *, failed: bool = False) -> list[tuple[int, str, int | None]]:
    """``CLUSTER NODES`` as ``(port, role, master port)``; nodes flagged failed are
    left out unless ``failed`` (nodes without an address or in a handshake always are)."""
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
        if names & {"noaddr", "handshake"} or (not failed and names & {"fail", "fail?"}):
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
