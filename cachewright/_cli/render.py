"""Output of the command: JSON for scripts, rich tables for people.

Usage::

    emit_json({"removed": 3})                  # one JSON document on stdout
    console().print(stats_table(stats))        # a table on a terminal, plain text in a pipe
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from cachewright.cache import CacheStats
    from cachewright.patterns.write_behind.queues.base import QueueStats

__all__ = ["console", "emit_json", "fmt", "plural", "queue_table", "stats_table"]

# Without a file, rich looks sys.stdout up at each print: test runners' capture works.
_STDOUT = Console(highlight=False)


def console() -> Console:
    """The stdout console."""
    return _STDOUT


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON (datetimes as ISO 8601, infinities as null)."""
    import pydantic_core  # here, not at the top: ``--help`` stays light

    text = pydantic_core.to_json(data, indent=2, inf_nan_mode="null").decode()
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fmt(value: object) -> str:
    """A value as a table cell: ratios as percentages, floats short, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "no expiry"
        return f"{value:.3g}"
    return str(value)


def plural(count: int, noun: str) -> str:
    """``plural(1, "key")`` -> '1 key'; ``plural(2, "entry")`` -> '2 entries'."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{count} {noun[:-1]}ies"  # entry -> entries, but key -> keys
    return f"{count} {noun}s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def stats_table(stats: CacheStats, *, title: str = "cache stats", process: bool = True) -> Table:
    """The database's facts and, with ``process``, this namespace's counters.

    Each section says its scope: the counters are this process's, in one namespace; the
    server's figures are the whole database's, every namespace included. A one-shot
    command's own counters say nothing (it made one call), so ``stats`` shows only the
    database; the demo, which did the work, shows both.
    """
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("backend", stats.backend)
    table.add_row("circuit breaker", f"{stats.circuit_state} (opened {stats.circuit_opens}x)")
    if process:
        table.add_section()
        table.add_row(f"namespace {stats.namespace} · this process", "")
        table.add_row("hits", fmt(stats.hits))
        table.add_row("misses", fmt(stats.misses))
        table.add_row("hit ratio", _ratio(stats.hit_ratio))
        counters: Mapping[str, int] = {
            "stale hits": stats.stale_hits,
            "sets": stats.sets,
            "deletes": stats.deletes,
            "errors": stats.errors,
            "fail-open reads": stats.fail_open_reads,
            "fail-open writes": stats.fail_open_writes,
            "corrupt entries": stats.corrupt,
            "type mismatches": stats.type_mismatches,
        }
        for name, value in counters.items():
            table.add_row(name, fmt(value))
    if stats.server:
        table.add_section()
        table.add_row("database · all namespaces", "")
        for name, value in stats.server.items():
            shown = _ratio(value) if "ratio" in name and isinstance(value, float) else fmt(value)
            label = name.replace("_", " ")
            table.add_row(label if label.startswith("database") else f"server {label}", shown)
    return table


def queue_table(name: str, stats: QueueStats) -> Table:
    """A write-behind queue: what waits, for how long, and what the store refused."""
    table = Table(title=f"write-behind queue {name!r}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("pending keys", fmt(stats.pending))
    table.add_row("in flight", fmt(stats.in_flight))
    table.add_row("oldest pending write", f"{stats.oldest_pending_age:.1f} s")
    table.add_row("coalesced writes", fmt(stats.coalesced))
    table.add_row("dead letters", fmt(stats.dead_letters))
    return table
