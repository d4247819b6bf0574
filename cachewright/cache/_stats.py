"""Counters kept by a Cache, and the snapshot ``Cache.stats()`` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CacheStats", "Counters", "LocalStats", "RecoveryStats"]


_NAMES = (
    "corrupt",
    "deletes",
    "errors",
    "fail_open_reads",
    "fail_open_writes",
    "hits",
    "local_hits",
    "misses",
    "sets",
    "stale_hits",
    "type_mismatches",
)


class Counters:
    """Plain integer counters: cheap to bump on the hot path.

    Each is bumped by one thread only (the loop's). Reads made in other threads (the
    sync API's direct reads) count in shards of their own, one per thread, added in
    with :meth:`add_shard` and summed by :meth:`snapshot`: exact, with no lock.
    """

    __slots__ = ("_shards", *_NAMES)

    def __init__(self) -> None:
        self.hits = 0
        self.local_hits = 0
        self.misses = 0
        self.stale_hits = 0
        self.sets = 0
        self.deletes = 0
        self.errors = 0
        self.fail_open_reads = 0
        self.fail_open_writes = 0
        self.corrupt = 0
        self.type_mismatches = 0
        self._shards: list[Counters] = []

    def add_shard(self, shard: Counters) -> None:
        """Count ``shard`` (bumped by one other thread) in every snapshot."""
        self._shards.append(shard)

    def total(self) -> Counters:
        """These counters plus their shards'."""
        shards = tuple(self._shards)
        if not shards:
            return self
        total = Counters()
        for name in _NAMES:
            setattr(total, name, getattr(self, name) + sum(getattr(s, name) for s in shards))
        return total

    def snapshot(
        self,
        *,
        circuit_state: str,
        circuit_opens: int,
        circuit_nodes: Mapping[str, str],
        backend: str,
        namespace: str,
        server: Mapping[str, Any],
        local: LocalStats | None,
        recovery: RecoveryStats | None = None,
    ) -> CacheStats:
        """These counters (shards included) as a frozen :class:`CacheStats`, with the
        given facts."""
        c = self.total()
        reads = c.hits + c.misses
        return CacheStats(
            hits=c.hits,
            misses=c.misses,
            hit_ratio=c.hits / reads if reads else None,
            stale_hits=c.stale_hits,
            sets=c.sets,
            deletes=c.deletes,
            errors=c.errors,
            fail_open_reads=c.fail_open_reads,
            fail_open_writes=c.fail_open_writes,
            corrupt=c.corrupt,
            type_mismatches=c.type_mismatches,
            circuit_state=circuit_state,
            circuit_opens=circuit_opens,
            circuit_nodes=dict(circuit_nodes),
            backend=backend,
            namespace=namespace,
            server=server,
            local_hits=c.local_hits,
            local=local,
            recovery=recovery or RecoveryStats(),
        )


@dataclass(frozen=True, slots=True)
class LocalStats:
    """The local tier of a two-level cache: its size, traffic and channel.

    ``hits`` are reads answered from process memory; ``misses`` went on to Redis;
    ``bypassed`` went to Redis because the invalidation channel was down (the tier is
    not trusted then). ``invalidated`` counts local copies dropped by writes here or
    messages from peers; ``channel`` is ``up``, ``down`` or ``in-process``;
    ``reconnects`` counts the times the channel was lost (and the tier emptied).
    """

    entries: int
    bytes: int
    hits: int
    misses: int
    bypassed: int
    fills: int
    evictions: int
    expirations: int
    invalidated: int
    messages_sent: int
    messages_received: int
    publish_errors: int
    channel: str
    reconnects: int


@dataclass(frozen=True, slots=True)
class RecoveryStats:
    """Writes this ``Cache`` could not deliver, and their replay (auto-recovery).

    ``pending``: keys, tags and globs waiting for the server; ``remembered``: lost
    writes recorded; ``replayed``: keys, tags and globs replayed; ``dropped``: keys,
    tags or globs forgotten because the journal was full (``recovery_max_keys``; the
    oldest go first; those converge only by their ttl); ``recoveries``: replays that
    succeeded.
    """

    pending: int = 0
    remembered: int = 0
    replayed: int = 0
    dropped: int = 0
    recoveries: int = 0


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a cache's counters and, where available, its server's facts.

    Two scopes, never mixed:

    - namespace (this ``Cache`` object, in this process): the counters, from ``hits``
      to ``type_mismatches``, the breaker's state, ``local_hits`` and ``local``;
      ``namespace`` names it. ``hits`` counts every hit, whichever tier answered;
      ``local_hits`` is the part answered from process memory (always 0 without a
      local tier), and ``local`` the local tier's own figures (None without one);
      ``recovery``: writes lost while the server was unreachable and their replay.
    - database (``server``, from the backend; empty with ``stats(server=False)``): the
      whole Redis database or server, every namespace and every client included:
      ``database_keys`` (DBSIZE, summed over a cluster's primaries), memory used,
      keyspace hits and misses, version. No per-namespace key count is given: it
      would cost a SCAN of the whole keyspace.
    """

    hits: int
    misses: int
    hit_ratio: float | None
    stale_hits: int
    sets: int
    deletes: int
    errors: int
    fail_open_reads: int
    fail_open_writes: int
    corrupt: int
    type_mismatches: int
    circuit_state: str
    circuit_opens: int
    backend: str
    namespace: str
    server: Mapping[str, Any] = field(default_factory=dict)
    local_hits: int = 0
    local: LocalStats | None = None
    #: each server node's breaker state (``"*"``: calls spanning every node)
    circuit_nodes: Mapping[str, str] = field(default_factory=dict)
    recovery: RecoveryStats = field(default_factory=RecoveryStats)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["server"] = dict(self.server)
        data["circuit_nodes"] = dict(self.circuit_nodes)
        return data
