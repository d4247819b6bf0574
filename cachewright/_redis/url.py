"""Redis URLs parsed, validated and turned into redis-py clients.

Usage::

    target = parse_url("redis+sentinel://app:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster/0")
    opened = open_client(target, settings, {})     # settings: any ConnectionSettings
    await opened.client.get("k")
    await opened.close()

Schemes: ``redis://``, ``rediss://`` (TLS), ``unix://``, ``redis+sentinel://`` and
``redis+cluster://`` (``rediss+`` for TLS; ``valkey`` works as ``redis``).
Precedence: keyword overrides, then the URL's query, then the settings passed in
(:class:`ConnectionSettings`: the four values of :class:`~cachewright.Settings` read here).
redis-py's own retries are off (``Retry(NoBackoff(), 0)``): a dead server fails fast
and the cache's circuit breaker decides what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import (
    URL_QUERY_ARGUMENT_PARSERS,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.cluster import LoadBalancingStrategy

from cachewright._redact import redact_url
from cachewright.errors import ConfigurationError

__all__ = [
    "ConnectionSettings",
    "Mode",
    "Opened",
    "RedisTarget",
    "close_client",
    "open_client",
    "parse_url",
]

Mode = Literal["standalone", "sentinel", "cluster"]

_SCHEMES: Mapping[str, tuple[Mode, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "unix": ("standalone", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
# Query options taken as text; the typed ones come from redis-py's own table.
_TEXT_OPTIONS = frozenset(
    {
        "client_name",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_cert_reqs",
        "ssl_certfile",
        "ssl_ciphers",
        "ssl_keyfile",
        "sentinel_username",
        "sentinel_password",
    }
)
_DEFAULT_PORTS: Mapping[Mode, int] = {"standalone": 6379, "sentinel": 26379, "cluster": 6379}


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """What a URL names: topology, addresses, database, credentials and options."""

    mode: Mode
    hosts: tuple[tuple[str, int], ...]
    socket_path: str | None
    db: int
    service: str | None
    username: str | None
    password: str | None = field(repr=False)
    ssl: bool
    options: Mapping[str, object] = field(repr=False)
    redacted: str


def _fail(message: str, url: str) -> ConfigurationError:
    return ConfigurationError(f"{message}: {redact_url(url)}")


def _hosts(netloc: str, mode: Mode, url: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for part in netloc.split(","):
        host, port_text = part, ""
        if part.startswith("["):  # [ipv6]:port
            host, _, rest = part[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif ":" in part:
            host, _, port_text = part.rpartition(":")
        if not host:
            raise _fail("missing host in Redis URL", url)
        try:
            port = int(port_text) if port_text else _DEFAULT_PORTS[mode]
        except ValueError:
            raise _fail("invalid port in Redis URL", url) from None
        if not 0 < port < 65536:
            raise _fail("invalid port in Redis URL", url)
        hosts.append((unquote(host), port))
    if len(hosts) > 1 and mode == "standalone":
        raise _fail("several hosts need redis+sentinel:// or redis+cluster://", url)
    return tuple(hosts)


def _options(query: str, url: str) -> dict[str, object]:
    options: dict[str, object] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parser = URL_QUERY_ARGUMENT_PARSERS.get(name)
        if parser is not None:
            try:
                options[name] = parser(value)
            except (TypeError, ValueError):
                raise _fail(f"invalid value for {name!r} in Redis URL", url) from None
        elif name in _TEXT_OPTIONS:
            options[name] = value
        else:
            raise _fail(f"unknown option {name!r} in Redis URL", url)
    return options


def _db(text: str, url: str) -> int:
    try:
        db = int(text) if text else 0
    except ValueError:
        raise _fail("the database must be a number in Redis URL", url) from None
    if db < 0:
        raise _fail("the database must not be negative in Redis URL", url)
    return db


def parse_url(url: str, *, cluster: bool = False) -> RedisTarget:
    """Parse and validate ``url``; ``cluster=True`` reads ``redis://`` as a cluster."""
    if not isinstance(url, str):
        raise ConfigurationError("a Redis URL must be a str")
    parts = urlsplit(url)
    # Valkey speaks the same protocol: valkey://, valkeys+cluster://, ... read as redis ones.
    scheme = parts.scheme.lower().replace("valkey", "redis", 1)
    if scheme not in _SCHEMES:
        raise _fail(f"unsupported scheme {scheme!r} (use one of {', '.join(_SCHEMES)})", url)
    mode, ssl = _SCHEMES[scheme]
    if cluster:
        if mode == "sentinel" or scheme == "unix":
            raise _fail("cluster=True needs a redis:// or rediss:// URL", url)
        mode = "cluster"
    userinfo, _, netloc = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    options = _options(parts.query, url)
    db = options.pop("db", None)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    socket_path: str | None = None
    service: str | None = None
    hosts: tuple[tuple[str, int], ...] = ()
    if scheme == "unix":
        if not parts.path:
            raise _fail("a unix:// URL needs a socket path", url)
        socket_path = unquote(parts.path)
        segments = []
    else:
        if not netloc:
            raise _fail("missing host in Redis URL", url)
        hosts = _hosts(netloc, mode, url)
    if mode == "sentinel":
        if not segments:
            raise _fail("a Sentinel URL needs a service name: /service_name/db", url)
        service, segments = segments[0], segments[1:]
    if len(segments) > 1:
        raise _fail("unexpected path in Redis URL", url)
    if db is None:
        db = _db(segments[0] if segments else "", url)
    elif segments:
        raise _fail("give the database in the path or as ?db=, not both", url)
    assert isinstance(db, int)
    if mode == "cluster" and db != 0:
        raise _fail("Redis Cluster has only database 0", url)
    return RedisTarget(
        mode=mode,
        hosts=hosts,
        socket_path=socket_path,
        db=db,
        service=service,
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=ssl,
        options=options,
        redacted=redact_url(url),
    )


@dataclass(slots=True)
class Opened:
    """A client and whatever else must be closed with it (Sentinel's own clients)."""

    client: Redis | RedisCluster
    sentinels: list[Redis] = field(default_factory=list)

    async def close(self) -> None:
        await close_client(self.client)
        for sentinel in self.sentinels:
            await sentinel.aclose()


async def close_client(client: Redis | RedisCluster) -> None:
    """Close ``client`` and every connection it opened.

    redis-py's cluster client, after a ConnectionError or TimeoutError, flags itself
    for re-initialisation, and its ``aclose()`` then returns without closing anything:
    every node's connections would stay open until garbage collection (a
    ResourceWarning). Its nodes, those serving slots and the startup ones it asked for
    the slot map, are closed here whatever that flag says (closing twice is harmless).
    """
    await client.aclose()
    if isinstance(client, RedisCluster):
        await client.nodes_manager.aclose()
        await client.nodes_manager.aclose("startup_nodes")


class ConnectionSettings(Protocol):
    """What a client is opened with, passed down by its caller (``cachewright.Settings``
    and the cache layer's ``CacheSettings`` have these)."""

    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def write_timeout(self) -> float: ...
    @property
    def max_connections(self) -> int: ...


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


def open_client(
    target: RedisTarget,
    settings: ConnectionSettings,
    overrides: Mapping[str, Any],
    *,
    replicas: bool = False,
) -> Opened:
    """Build (without connecting) the redis-py client for ``target``; with
    ``replicas``, one whose reads go to replicas (Cluster: round robin over each
    slot's replicas; Sentinel: a ``slave_for`` client)."""
    options = dict(target.options)
    sentinel_auth = {
        "username": options.pop("sentinel_username", None),
        "password": options.pop("sentinel_password", None),
    }
    common: dict[str, Any] = {
        "username": target.username,
        "password": target.password,
        "socket_connect_timeout": settings.connect_timeout,
        # A backstop per round trip; the cache bounds each whole read by read_timeout
        # and each write by write_timeout (cachewright.cache._guard).
        "socket_timeout": max(settings.read_timeout, settings.write_timeout),
        "max_connections": settings.max_connections,
        "decode_responses": False,
        "retry": _no_retry(),
        **options,
        **overrides,
    }
    if target.mode == "cluster":
        common["ssl"] = target.ssl or common.get("ssl", False)
        nodes = [ClusterNode(host, port) for host, port in target.hosts]
        if replicas:
            common["load_balancing_strategy"] = LoadBalancingStrategy.ROUND_ROBIN_REPLICAS
        return Opened(RedisCluster(startup_nodes=nodes, **common))
    if target.mode == "sentinel":
        assert target.service is not None
        timeouts = {k: v for k, v in common.items() if k.startswith("socket_")}
        manager = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            list(target.hosts),
            sentinel_kwargs={**timeouts, **sentinel_auth, "retry": _no_retry()},
            **common,
        )
        ssl = target.ssl or bool(common.get("ssl", False))
        if replicas:
            replica = manager.slave_for(target.service, db=target.db, ssl=ssl)
            return Opened(replica, sentinels=list(manager.sentinels))
        master = manager.master_for(target.service, db=target.db, ssl=ssl)
        return Opened(master, sentinels=list(manager.sentinels))
    # A blocking pool makes a burst wait (up to the connect timeout) for a free
    # connection instead of failing at once with "Too many connections".
    address: dict[str, Any]
    if target.socket_path is not None:
        address = {"connection_class": UnixDomainSocketConnection, "path": target.socket_path}
    else:
        host, port = target.hosts[0]
        address = {"host": host, "port": port}
        if target.ssl or common.get("ssl", False):
            address["connection_class"] = SSLConnection
    common.pop("ssl", None)
    wait = common.pop("timeout", settings.connect_timeout)
    pool = BlockingConnectionPool(db=target.db, timeout=wait, **{**common, **address})
    return Opened(Redis.from_pool(pool))
