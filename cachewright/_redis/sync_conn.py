"""A synchronous redis-py connection to the server an asyncio client is built for.

Usage::

    conn = sync_connection(client, timeout=0.5)    # None: a client this cannot copy
    if conn is not None:
        conn.send_command("GET", key)              # connects on first use
        raw = conn.read_response()
        conn.disconnect()

The connection gets the asyncio client's own connection options (``connection_kwargs``
of its pool: address, database, user and password, TLS files, client name, protocol),
redis-py's retries off as the backend's (``Retry(NoBackoff(), 0)``), and ``timeout``
as its socket timeout (connecting included, capped by the client's connect timeout):
a read waits at most that long for the server. Only a standalone server's plain pool
qualifies (TCP, TLS or a Unix socket, as :mod:`.url` builds them, keys encoded as
UTF-8); a Sentinel or Cluster client, a pool with a connection class of its own, or
another key encoding, gets None.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.asyncio import Redis
from redis.asyncio import connection as aconnection
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["sync_connection"]

_SYNC_CLASSES: dict[type[Any], type[redis.Connection] | type[redis.UnixDomainSocketConnection]] = {
    aconnection.Connection: redis.Connection,
    aconnection.SSLConnection: redis.SSLConnection,
    aconnection.UnixDomainSocketConnection: redis.UnixDomainSocketConnection,
}


def sync_connection(
    client: object, *, timeout: float
) -> redis.Connection | redis.UnixDomainSocketConnection | None:
    """A new, unconnected sync connection like ``client``'s (see the module doc)."""
    if not isinstance(client, Redis):
        return None
    pool = client.connection_pool
    if type(pool) not in (aconnection.ConnectionPool, aconnection.BlockingConnectionPool):
        return None  # Sentinel's pool (the primary moves), or one of the user's own
    sync_class = _SYNC_CLASSES.get(pool.connection_class)
    if sync_class is None:
        return None
    options = dict(pool.connection_kwargs)
    encoding = str(options.get("encoding", "utf-8")).lower().replace("-", "").replace("_", "")
    if encoding != "utf8" or options.get("encoding_errors", "strict") != "strict":
        return None  # keys are sent as UTF-8 (see cachewright.cache._direct)
    connect = options.get("socket_connect_timeout")
    options["socket_timeout"] = timeout
    options["socket_connect_timeout"] = timeout if connect is None else min(connect, timeout)
    options["retry"] = Retry(NoBackoff(), 0)
    try:
        return sync_class(**options)
    except TypeError:  # an asyncio-only option: no sync twin for this client
        return None
