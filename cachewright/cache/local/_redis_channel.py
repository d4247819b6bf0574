"""Invalidation messages over Redis pub/sub: one channel, one dedicated connection.

Usage (what :class:`~cachewright.cache.local._coherence.Coherence` does)::

    channel = RedisChannel("redis://127.0.0.1:6379/0", "shop~inv", settings)  # the cache's
    channel.start(listener)          # a task: subscribe, listen, reconnect with backoff
    await channel.wait_up(1.0)       # True once the subscription is confirmed
    await channel.publish(b'{"s":"..","k":["user:1"]}')
    await channel.close()

The listener is told ``on_up`` only after Redis confirms the subscription, and
``on_down`` as soon as the connection fails, stalls (no answer to a PING within two
``ping_interval``) or is killed (``CLIENT KILL TYPE pubsub``). redis-py's own
reconnect-and-resubscribe is switched off on this connection: it would resume
silently after messages were lost, and losing messages must empty the local tier.

On a Redis Cluster, classic PUBLISH reaches subscribers on every node, so one
connection to any node serves. Once subscribed, the channel learns every node of
the cluster (``CLUSTER SLOTS``: primaries and replicas); after a failure it tries
the next node it knows, so losing the node it listened on (a SIGKILLed primary)
only costs a reconnect to another one, not a wait for that node to come back.
On Sentinel the connection follows the primary (redis-py asks the sentinels on
each connect).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cachewright._logs import Throttle
from cachewright._redact import redact
from cachewright._redis.errors import ErrorMap
from cachewright._redis.url import ConnectionSettings, Opened, RedisTarget, open_client, parse_url
from cachewright._tasks import cancel_and_wait
from cachewright.cache.local.tier import ChannelListener

__all__ = ["RedisChannel"]

log = logging.getLogger("cachewright.cache")

_FIRST_DELAY = 0.05


class _Stalled(Exception):
    """The connection stopped answering: treat it as dead."""


class RedisChannel:
    """A pub/sub listener task with automatic reconnection, and a publisher."""

    __slots__ = (
        "_closed",
        "_delay",
        "_errors",
        "_host",
        "_hosts",
        "_listener",
        "_log",
        "_max_backoff",
        "_name",
        "_opened",
        "_ping",
        "_publish_timeout",
        "_settings",
        "_target",
        "_task",
        "_timeout",
        "_up",
        "reconnects",
    )

    def __init__(
        self,
        url: str,
        name: str,
        settings: ConnectionSettings,
        *,
        ping_interval: float = 1.0,
        max_backoff: float = 2.0,
    ) -> None:
        self._target = parse_url(url)
        self._name = name
        self._settings = settings
        self._ping = ping_interval
        self._max_backoff = max_backoff
        # Subscribing may need a connection first: connecting, then the confirmation.
        self._timeout = settings.connect_timeout + settings.read_timeout
        self._publish_timeout = settings.write_timeout
        self._errors = ErrorMap(self._target.password, where=self._target.redacted)
        self._log = Throttle(log)
        self._host = 0
        # Cluster: the nodes to listen on, in turn (the URL's, then those learnt).
        self._hosts: list[tuple[str, int]] = list(self._target.hosts)
        self._opened = self._open()
        self._listener: ChannelListener | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._delay = _FIRST_DELAY
        self._closed = False
        self.reconnects = 0

    def _open(self) -> Opened:
        target: RedisTarget = self._target
        if target.mode == "cluster":
            # Any node will do for classic pub/sub; a standalone client avoids the
            # cluster client's slot routing, which PUBLISH/SUBSCRIBE do not need.
            host = self._hosts[self._host % len(self._hosts)]
            target = dataclasses.replace(target, mode="standalone", hosts=(host,))
        # No retries, and no errors the retry layer handles: a failed read must
        # surface at once instead of being resubscribed behind our back.
        retry = Retry(NoBackoff(), 0, supported_errors=())
        return open_client(target, self._settings, {"retry": retry, "max_connections": 4})

    @property
    def state(self) -> str:
        return "up" if self._up.is_set() else "down"

    def start(self, listener: ChannelListener) -> None:
        if self._closed or self._task is not None:
            return
        self._listener = listener
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"cachewright-invalidation:{self._name}"
        )

    async def wait_up(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._up.wait()
        return self._up.is_set()

    async def publish(self, data: bytes) -> None:
        """Send one message within ``write_timeout`` (from a pooled connection's checkout
        to the reply); raises CacheUnavailable or CacheError (redacted)."""
        with self._errors:
            async with asyncio.timeout(self._publish_timeout):
                await self._client.publish(self._name, data)

    async def close(self) -> None:
        """Stop listening and release the connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)
        await self._opened.close()

    # -- the listener task ---------------------------------------------------------

    async def _run(self) -> None:
        # Only close() ends this loop: whatever else happens, the tier is bypassed
        # (safe) and the channel tries again after the backoff (G14).
        while not self._closed:
            try:
                await self._session()
            except (RedisError, OSError, TimeoutError, _Stalled) as exc:
                self._log.warning(
                    "invalidation channel %s lost (%s); local tier bypassed until it is back",
                    self._name,
                    redact(f"{type(exc).__name__}: {exc}", self._target.password),
                )
            except Exception:
                self._log.error("invalidation channel %s failed", self._name, exc_info=True)
            finally:
                self._down()
            await asyncio.sleep(self._delay * random.uniform(0.5, 1.0))
            self._delay = min(self._delay * 2, self._max_backoff)
            if self._target.mode == "cluster":
                try:
                    await self._next_node()
                except Exception:
                    self._log.error("invalidation channel %s: no next node", self._name)

    async def _session(self) -> None:
        pubsub = self._client.pubsub()
        try:
            async with asyncio.timeout(self._timeout):
                await pubsub.subscribe(self._name)
                while True:
                    message = await pubsub.get_message(timeout=self._timeout)
                    if message is not None and message["type"] == "subscribe":
                        break
            if self._target.mode == "cluster":
                await self._learn_nodes()  # before "up": a node lost later has others
            self._delay = _FIRST_DELAY
            self._up.set()
            assert self._listener is not None
            self._listener.on_up()
            await self._listen(pubsub)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self, pubsub: PubSub) -> None:
        assert self._listener is not None
        on_message = self._listener.on_message
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while True:
            message = await pubsub.get_message(timeout=self._ping)
            if message is not None:
                heard = loop.time()
                if message["type"] == "message":
                    on_message(message["data"])
                continue
            if loop.time() - heard > 1.5 * self._ping:
                raise _Stalled(f"no answer to PING within {2 * self._ping:.1f}s")
            await pubsub.ping()

    async def _learn_nodes(self) -> None:
        """Every node of the cluster, to try in turn when the one listened on fails."""
        try:
            async with asyncio.timeout(self._timeout):
                ranges = await self._client.execute_command(  # type: ignore[no-untyped-call]
                    "CLUSTER", "SLOTS"
                )
        except (RedisError, OSError, TimeoutError) as exc:  # keep the nodes known so far
            log.debug("invalidation channel %s: no CLUSTER SLOTS (%s)", self._name, exc)
            return
        learnt: dict[tuple[str, int], None] = dict.fromkeys(self._hosts)
        for row in ranges:
            for node in row[2:]:
                host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
                learnt[(host or self._target.hosts[0][0], int(node[1]))] = None
        current = self._hosts[self._host % len(self._hosts)]
        self._hosts = list(learnt)
        self._host = self._hosts.index(current)

    def _down(self) -> None:
        if self._up.is_set():
            self._up.clear()
            self.reconnects += 1
        if self._listener is not None:
            self._listener.on_down()

    async def _next_node(self) -> None:
        self._host += 1
        old, self._opened = self._opened, self._open()
        with contextlib.suppress(RedisError, OSError):
            await old.close()

    @property
    def _client(self) -> Redis:
        client = self._opened.client
        assert isinstance(client, Redis)  # _open never builds a cluster client
        return client
