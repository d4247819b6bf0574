"""What a server must offer: checked once, at first connect, and named when missing.

Usage::

    await require(client, QUEUE_COMMANDS, what="the write-behind queue", where=label)
    # ConfigurationError: the Redis server at redis://127.0.0.1:6379/0 has no XAUTOCLAIM
    # command, which the write-behind queue needs (Redis or Valkey 6.2 or newer, with
    # the command neither renamed nor disabled)

``COMMAND INFO`` answers nil for a command the server lacks, whether it is too old or
the command was renamed away (``rename-command XAUTOCLAIM ""``); ``INFO server``
gives the version, for what ``COMMAND INFO`` cannot see (``ZADD ... GT``). A server
that refuses these two introspection commands (an ACL without them, a managed
service) is given the benefit of the doubt: a missing command then shows up as the
script error it causes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from cachewright.errors import ConfigurationError

__all__ = ["CACHE_COMMANDS", "MIN_VERSION", "QUEUE_COMMANDS", "require"]

log = logging.getLogger("cachewright")

#: the oldest Redis (or Valkey) cachewright runs on
MIN_VERSION = (6, 2)

#: commands the cache calls, itself or from its Lua scripts (ZADD GT: 6.2)
CACHE_COMMANDS = ("EVALSHA", "UNLINK", "ZADD", "ZRANGE", "ZREMRANGEBYSCORE", "PEXPIREAT")
#: commands of the durable write-behind queue (XAUTOCLAIM, XTRIM MINID: 6.2)
QUEUE_COMMANDS = (
    "EVALSHA",
    "XADD",
    "XACK",
    "XAUTOCLAIM",
    "XCLAIM",
    "XDEL",
    "XGROUP",
    "XINFO",
    "XPENDING",
    "XRANGE",
    "XREADGROUP",
    "XTRIM",
)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


async def require(
    client: Redis | RedisCluster, commands: Sequence[str], *, what: str, where: str
) -> None:
    """Raise ConfigurationError naming the first of ``commands`` the server lacks, or
    an older version than :data:`MIN_VERSION`. Outages pass through (redis-py errors)."""
    need = f"Redis or Valkey {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer"
    options: dict[str, Any] = {}
    if isinstance(client, RedisCluster):  # one node answers for all (same version)
        options["target_nodes"] = client.get_random_node()
    try:
        # "COMMAND INFO" as one name: redis-py's parser for COMMAND fails on nil entries.
        found = await client.execute_command("COMMAND INFO", *commands, **options)
    except ResponseError as exc:
        log.debug("cannot list the server's commands (%s); not checked", exc)
    else:
        for name, info in zip(commands, found, strict=False):
            if info is None:
                raise ConfigurationError(
                    f"the Redis server at {where} has no {name} command, which {what} needs"
                    f" ({need}, with {name} neither renamed nor disabled)"
                )
    try:
        info = await client.info("server", **options)
    except ResponseError as exc:
        log.debug("cannot read the server's version (%s); not checked", exc)
        return
    if isinstance(client, RedisCluster):  # one node's answer, keyed by node
        info = next(iter(info.values()), {}) if info and "redis_version" not in info else info
    version = str(info.get("redis_version", ""))
    if version and _version(version) < MIN_VERSION:
        raise ConfigurationError(
            f"the Redis server at {where} is version {version}; {what} needs {need}"
        )
