"""Lua scripts run on Redis by SHA, with a fallback to EVAL after NOSCRIPT.

Usage::

    WRITE = Script("write", "...lua...")
    result = await call(client, WRITE, keys, args)     # EVALSHA, or EVAL after NOSCRIPT

A script is a constant: keys arrive only as KEYS and values only as ARGV, so no user
string is ever evaluated (G13).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from redis.exceptions import NoScriptError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.typing import EncodableT

__all__ = ["Executor", "Script", "call"]


class Executor(Protocol):
    """A redis-py client, or the backend's lane: anything with ``execute_command``."""

    async def execute_command(self, *args: Any, **options: Any) -> Any: ...


class Script:
    """A Lua source and its SHA1, computed once."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source.encode()
        self.sha = hashlib.sha1(self.source).hexdigest()

    def __repr__(self) -> str:
        return f"Script({self.name!r}, sha={self.sha[:8]})"


async def call(
    client: Redis | RedisCluster | Executor,
    script: Script,
    keys: Sequence[EncodableT],
    args: Sequence[EncodableT],
) -> Any:
    """Run ``script`` by SHA; a server that lost its script cache gets the source once."""
    try:
        return await client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        # A restarted or failed-over server: EVAL runs the script and caches it again.
        return await client.execute_command("EVAL", script.source, len(keys), *keys, *args)
