"""Server-side counters for tests: commands and round trips per Redis node.

Usage::

    async with NodeProbe([port]) as probe:
        seen = await probe.measure(lambda: backend.get_many(keys))
        assert seen.round_trips == [1]
        assert seen.calls("mget") == 1

A round trip is counted from ``total_writes_processed`` (INFO stats): Redis writes
each client's pending replies once per event-loop turn, so a pipeline or a batch
command answered at once costs one write, however many commands it held. The
probe's own INFO costs a known baseline, measured and subtracted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from redis.asyncio import Redis

__all__ = ["Measured", "NodeProbe"]


@dataclass(frozen=True)
class Measured:
    """What each node saw during one measured call."""

    round_trips: list[int]
    commands: list[dict[str, int]]  # per node: command name -> calls

    def calls(self, command: str) -> int:
        return sum(node.get(command, 0) for node in self.commands)


class NodeProbe:
    """Direct connections to each node, reading INFO stats and commandstats."""

    def __init__(self, ports: list[int]) -> None:
        self.clients = [Redis(host="127.0.0.1", port=port) for port in ports]
        self._baseline: list[int] | None = None

    async def __aenter__(self) -> NodeProbe:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self.clients:
            await client.aclose()

    async def _snapshot(self) -> list[tuple[int, dict[str, int]]]:
        out = []
        for client in self.clients:
            info: dict[str, Any] = await client.info("stats", "commandstats")
            calls = {
                name.removeprefix("cmdstat_"): int(stats["calls"])
                for name, stats in info.items()
                if name.startswith("cmdstat_")
            }
            out.append((int(info["total_writes_processed"]), calls))
        return out

    async def measure(self, action: Callable[[], Awaitable[object]]) -> Measured:
        if self._baseline is None:
            first, second = await self._snapshot(), await self._snapshot()
            self._baseline = [b[0] - a[0] for a, b in zip(first, second, strict=True)]
        before = await self._snapshot()
        await action()
        after = await self._snapshot()
        trips = [
            b[0] - a[0] - base for a, b, base in zip(before, after, self._baseline, strict=True)
        ]
        commands = []
        for (_, old), (_, new) in zip(before, after, strict=True):
            delta = {name: calls - old.get(name, 0) for name, calls in new.items()}
            delta.pop("info", None)
            commands.append({name: n for name, n in delta.items() if n})
        return Measured(trips, commands)
