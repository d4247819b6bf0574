"""A circuit breaker per server node, and the topology they follow (G6).

Usage (what ``Guard`` does)::

    breakers = Breakers(threshold=5, reset_after=2.0, topology=backend)
    breaker = breakers.at("shop:user:1")     # the breaker of the node serving the key
    breaker = breakers.at(None)              # calls that span every node
    if breaker.admit() is None:
        breakers.refused()                   # open: learn the topology again, soon

One dead node of a Redis Cluster opens only its own breaker: keys on the other
nodes keep being served (as far as the servers themselves serve them). While any
breaker refuses calls, the backend's topology is looked up again, at most every
``refresh_every`` seconds, in the background: after a failover the keys map to the
promoted node, whose breaker is its own (closed), so they are served again as soon
as the new map is known instead of after the old node's breaker period. A lookup
that finds other primaries than when a breaker opened also closes the breakers
still open (they judged the old topology: a node that was refused while its
cluster failed over serves again); a node still dead opens its new breaker after
``threshold`` failures, as any.

A backend without a topology (the memory backend, a user backend) has one node.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from cachewright._tasks import cancel_and_wait
from cachewright.cache._breaker import BreakerState, CircuitBreaker
from cachewright.cache.backends.base import Topology
from cachewright.errors import CachewrightError

__all__ = ["ALL_NODES", "Breakers"]

log = logging.getLogger("cachewright.cache")

#: the breaker of calls that span every node (pattern deletes, tags, server info)
ALL_NODES = "*"

_SEVERITY = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
_KEEP_AT_MOST = 64  # nodes remembered; closed breakers of forgotten nodes are dropped


class Breakers:
    __slots__ = (
        "_by_node",
        "_refresh_task",
        "_refreshed_at",
        "_seen",
        "_sharded",
        "_topology",
        "refresh_every",
        "refreshes",
        "reset_after",
        "threshold",
    )

    def __init__(
        self,
        threshold: int = 5,
        reset_after: float = 2.0,
        *,
        topology: Topology | None = None,
        refresh_every: float = 0.1,
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.refresh_every = refresh_every
        self._topology = topology
        # A topology may say every key is on one node at a time (standalone, Sentinel).
        self._sharded = topology is not None and topology.sharded
        self._by_node: dict[str, CircuitBreaker] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._refreshed_at = 0.0
        # The primaries when a breaker last opened (None: no breaker opened since).
        self._seen: frozenset[str] | None = None
        #: topology look-ups made while a breaker was open
        self.refreshes = 0

    def node_of(self, key: str | None) -> str:
        """The node serving ``key`` (``ALL_NODES`` for None, or without a topology)."""
        if key is None:
            return ALL_NODES
        if self._topology is None:
            return ALL_NODES
        return self._topology.node_of(key)

    def at(self, key: str | None) -> CircuitBreaker:
        """The breaker of the node serving ``key``, created on first use."""
        # node_of() and of(), without their two calls: this runs for every cache call.
        topology = self._topology
        node = ALL_NODES if key is None or topology is None else topology.node_of(key)
        breaker = self._by_node.get(node)
        return self.of(node) if breaker is None else breaker

    def healthy(self, key: str) -> bool:
        """Whether the breaker of the node serving ``key`` is closed with no failure
        counted (a node without a breaker yet is). Never creates or changes one."""
        breaker = self._by_node.get(self.node_of(key))
        return breaker is None or breaker.healthy

    def of(self, node: str) -> CircuitBreaker:
        breaker = self._by_node.get(node)
        if breaker is None:
            if len(self._by_node) >= _KEEP_AT_MOST:
                self._forget_closed()
            breaker = self._by_node[node] = CircuitBreaker(self.threshold, self.reset_after)
        return breaker

    def group(self, keys: Sequence[str]) -> dict[str, list[int]]:
        """Positions of ``keys`` by the node serving them (one look-up in all when the
        topology says it is not ``sharded``: one node serves every key at a time)."""
        if not keys:
            return {}
        if not self._sharded:
            return {self.node_of(keys[0]): list(range(len(keys)))}
        nodes: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            nodes.setdefault(self.node_of(key), []).append(index)
        return nodes

    def _forget_closed(self) -> None:
        for node in [n for n, b in self._by_node.items() if b.state is BreakerState.CLOSED]:
            del self._by_node[node]

    # -- what stats report -----------------------------------------------------------

    def states(self) -> dict[str, str]:
        """Each known node's breaker state."""
        return {node: breaker.state.value for node, breaker in self._by_node.items()}

    @property
    def state(self) -> BreakerState:
        """The worst state of any node's breaker (closed when none was used)."""
        states = [breaker.state for breaker in self._by_node.values()]
        return max(states, key=_SEVERITY.__getitem__, default=BreakerState.CLOSED)

    @property
    def opens(self) -> int:
        """Times any breaker opened (of the nodes still remembered)."""
        return sum(breaker.opens for breaker in self._by_node.values())

    # -- following the topology ------------------------------------------------------

    def opened(self, breaker: CircuitBreaker) -> None:
        """A call failed: if that opened ``breaker``, note the topology it judged."""
        opened = breaker.state is not BreakerState.CLOSED
        if opened and self._topology is not None and self._seen is None:
            self._seen = self._topology.primaries()

    def refused(self) -> None:
        """A breaker refused a call: look the topology up again, if one is due."""
        if self._topology is None or self._refresh_task is not None:
            return
        now = time.monotonic()
        if now - self._refreshed_at < self.refresh_every:
            return
        self._refreshed_at = now
        self._refresh_task = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        assert self._topology is not None
        try:
            self.refreshes += 1
            await self._topology.refresh_topology()
        except CachewrightError as exc:  # no node answered: the next refusal tries again
            log.debug("topology refresh failed: %s", exc)
        else:
            primaries = self._topology.primaries()
            if self._seen is not None and primaries != self._seen:
                # A failover happened: what the open breakers judged is gone.
                stale = [n for n, b in self._by_node.items() if b.state is not BreakerState.CLOSED]
                for node in stale:
                    del self._by_node[node]
                log.info("cache topology changed (%s); breakers of %s reset", primaries, stale)
                self._seen = None
        finally:
            self._refresh_task = None

    async def close(self) -> None:
        """Stop a refresh under way (the cache is closing)."""
        task, self._refresh_task = self._refresh_task, None
        if task is not None:
            await cancel_and_wait(task)
