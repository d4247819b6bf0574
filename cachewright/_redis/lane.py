"""One connection for single-key commands: alone, one command; in a crowd, one round trip.

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    lane = Lane(client)
    value = await lane.get("shop:user:1")                 # GET, or part of one MGET
    reply = await lane.command("SET", "shop:a", b"..", "PX", 60_000)
    await lane.close()                                    # waits for the request in flight

A call that finds nothing in flight is sent at once: a lone call costs one command
and one round trip. Calls that arrive while a request is in flight wait for it to
return, then leave together in one write: the GETs among them as one MGET, the other
commands pipelined behind it. No timer: the batch is whatever queued during the
previous round trip, so under load it grows to the number of concurrent callers, and
a lone call is never delayed. Nothing is sent earlier than it would have been alone,
and each caller's commands stay in the order it awaited them (read-your-writes holds).

The lane is for short single-key commands. A large MGET, a tag invalidation or a SCAN
goes through the client's pool on another connection (the backend sends them there),
so it never becomes the one request in flight that every concurrent ``get`` waits on.

**The kept connection.** On a plain or blocking pool of two connections or more, the
lane keeps one connection of its own, built like the pool's (``connection_class`` with
the pool's ``connection_kwargs``), and talks to it through redis-py's public
``Connection`` API only: ``send_packed_command``, ``read_response``, ``disconnect``,
``can_read`` (``can_read_destructive`` before redis-py 8). It skips the pool's
checkout and release per call, which is most of what ``execute_command`` costs. The
connection is built without a socket timeout; the lane bounds each round trip itself
with ``socket_timeout`` and raises redis-py's ``TimeoutError``, as a socket timeout
would. (redis-py's ``send_packed_command`` with a socket timeout wraps every write in
``asyncio.wait_for``, a task per write on Python 3.11.) The bound is kept by
:class:`~cachewright._deadlines.Deadlines`, one timer sweeping every round trip in
flight, at most 10 ms late: an ``asyncio.timeout`` per round trip (a loop timer
scheduled and cancelled) measured as much as a fifth of a cached read's client time.

What ``execute_command`` does around a command, the lane does around each request:
it runs under the client's retry policy (``connection.retry.call_with_retry``, with a
disconnect between attempts), it reports to redis-py's observability recorder when the
installed redis-py has one (8.x: OpenTelemetry metrics, a request named by its command,
or ``PIPELINE``), and a connection the server closed while idle (a restart, the
server's ``timeout``) is noticed before sending and reconnected, as the pool's
checkout does (checked after a pause of :data:`IDLE_CHECK`, not between calls that
follow each other: a close that lands in the middle of a stream of calls fails the
call it hits, like a request in flight, and is for the retry policy).

An error reply fails only its own command; a connection error or a timeout that
outlasts the retry policy fails the request it hit (every caller of it sees the
error), and the connection reconnects on the next call.

Other clients (Sentinel, whose pool follows failovers, or a pool capped at one
connection) keep redis-py's path: the lane still batches, through the client's own
``execute_command`` and ``pipeline(transaction=False)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import BlockingConnectionPool, ConnectionPool
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cachewright._deadlines import Deadlines
from cachewright._redis._conn import (
    closed_while_idle,
    observed,
    read_all,
    read_one,
    recorder,
    report_error,
    where,
)
from cachewright._redis.futures import fail

try:  # hiredis packs a command in C: 10x faster than redis-py's packer on a batch
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - hiredis comes with cachewright
    _hiredis_pack = None  # type: ignore[assignment]


if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection
    from redis.typing import EncodableT

__all__ = ["IDLE_CHECK", "Lane"]

#: seconds without a request after which the kept connection is checked before use
#: (redis-py before 8 checks by trying a read, which costs about as much as the rest of
#: a call: paid only after a pause, never in a stream of calls)
IDLE_CHECK = 0.001

Command = tuple["EncodableT", ...]
Reader = Callable[["AbstractConnection", int], Awaitable[Any]]


class Lane:
    """Single-key commands of one standalone client, one request in flight at a time."""

    __slots__ = (
        "_busy",
        "_client",
        "_cmds",
        "_conn",
        "_deadlines",
        "_direct",
        "_gets",
        "_idle",
        "_pack",
        "_tasks",
        "_timeout",
        "_used",
    )

    def __init__(self, client: Redis) -> None:
        self._client = client
        pool = client.connection_pool
        self._direct = (
            type(pool) in (ConnectionPool, BlockingConnectionPool) and pool.max_connections >= 2
        )
        kwargs = pool.connection_kwargs
        self._timeout: float | None = kwargs.get("socket_timeout")
        self._deadlines = Deadlines()  # bounds each round trip by ``_timeout``
        # hiredis encodes str as UTF-8 like redis-py's default; another encoding
        # configured on the client keeps redis-py's own packer.
        encoding = str(kwargs.get("encoding", "utf-8")).lower().replace("-", "")
        self._pack: Callable[..., bytes] | None = _hiredis_pack if encoding == "utf8" else None
        self._conn: AbstractConnection | None = None
        self._used = 0.0  # time.monotonic() when the kept connection last answered
        self._busy = False
        # clear while a request uses the kept connection: what close() waits for
        self._idle = asyncio.Event()
        self._idle.set()
        # key -> futures of every caller waiting for it (one key is asked once)
        self._gets: dict[str, list[asyncio.Future[Any]]] = {}
        self._cmds: list[tuple[Command, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Any:
        if not self._busy:
            self._busy = True
            try:
                return await self._one(("GET", key))
            finally:
                self._next()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiting = self._gets.get(key)
        if waiting is None:
            self._gets[key] = [future]
        else:
            waiting.append(future)
        return await future

    async def command(self, *args: EncodableT) -> Any:
        """The reply: raw on the kept connection, through response callbacks otherwise."""
        if not self._busy:
            self._busy = True
            try:
                return await self._one(args)
            finally:
                self._next()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._cmds.append((args, future))
        return await future

    #: the name redis-py clients give it, so helpers taking a client take a lane
    execute_command = command

    async def sequence(self, commands: list[Command]) -> list[Any]:
        """``commands`` in this order in one request on one connection (Redis runs each
        before the next); behind a request in flight they queue together and leave in
        the next write. Replies in order, an error reply in its place; a connection
        error or a timeout raises (what ran is unknown), as for :meth:`command`."""
        if not self._busy:
            self._busy = True
            try:
                return await self._many(commands)
            finally:
                self._next()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Any]] = []
        for args in commands:
            future: asyncio.Future[Any] = loop.create_future()
            self._cmds.append((args, future))
            futures.append(future)
        # One request answers them all: awaited in turn (cheaper than a gather).
        replies: list[Any] = []
        try:
            for future in futures:
                try:
                    replies.append(await future)
                except ResponseError as exc:
                    replies.append(exc)
        finally:
            for future in futures:  # the request's error, raised once: retrieved here
                if future.done() and not future.cancelled():
                    future.exception()
        return replies

    async def close(self) -> None:
        """Wait for the request on the kept connection, then close it (idempotent).

        Calls made from now on go through the client's pool.
        """
        self._direct = False
        await self._idle.wait()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.disconnect()

    # -- sending ---------------------------------------------------------------------

    async def _one(self, args: Command) -> Any:
        if not self._direct:
            return await self._client.execute_command(*args)  # type: ignore[no-untyped-call]
        return await self._request(args[0], [args], read_one)

    async def _many(self, commands: list[Command]) -> list[Any]:
        """Replies in order; an error reply is returned in its place, not raised."""
        if len(commands) == 1:
            try:
                return [await self._one(commands[0])]
            except ResponseError as exc:
                return [exc]
        if not self._direct:
            async with self._client.pipeline(transaction=False) as pipe:
                for args in commands:
                    pipe.execute_command(*args)
                return list(await pipe.execute(raise_on_error=False))
        replies: list[Any] = await self._request("PIPELINE", commands, read_all)
        return replies

    async def _request(self, name: EncodableT, commands: list[Command], read: Reader) -> Any:
        """Send ``commands`` in one write on the kept connection and ``read`` the replies.

        The round trip runs under the client's retry policy, as ``execute_command``
        runs a command: an attempt that fails with a connection error or a timeout
        disconnects, and the retry sends the request again, whole, on a new connection.
        """
        self._idle.clear()  # before any await: close() waits for this request
        try:
            conn = self._conn
            if conn is None:
                conn = self._conn = self._connect()
            pack = self._pack
            if pack is None:
                packed: bytes | list[bytes] = conn.pack_commands(commands)
            elif len(commands) == 1:
                packed = pack(commands[0])
            else:
                packed = b"".join([pack(args) for args in commands])
            count, limit = len(commands), self._timeout
            failures = 0

            async def attempt() -> Any:
                try:
                    if limit is None:
                        return await self._exchange(conn, packed, read, count)
                    return await self._deadlines.run(
                        limit, self._exchange, (conn, packed, read, count)
                    )
                except ResponseError:
                    raise  # a whole error reply was read: the connection is in step
                except TimeoutError as exc:  # our deadline (_deadlines), not redis-py's
                    await conn.disconnect(nowait=True)
                    raise RedisTimeoutError(f"Timeout talking to Redis {where(conn)}") from exc
                except BaseException:
                    # Sent, and maybe part of a reply read: never reuse it as it is.
                    await conn.disconnect(nowait=True)
                    raise

            async def failed(error: Exception) -> None:
                nonlocal failures
                failures += 1
                await conn.disconnect()

            retry = conn.retry
            if not observed():
                return await retry.call_with_retry(attempt, failed)
            started = time.monotonic()
            try:
                reply = await retry.call_with_retry(attempt, failed)
            except Exception as exc:
                await report_error(conn, exc, failures)
                raise
            await recorder().record_operation_duration(
                command_name=str(name),
                duration_seconds=time.monotonic() - started,
                server_address=getattr(conn, "host", None),
                server_port=getattr(conn, "port", None),
                db_namespace=str(conn.db),
            )
            return reply
        finally:
            self._used = time.monotonic()
            self._idle.set()

    async def _exchange(
        self, conn: AbstractConnection, packed: bytes | list[bytes], read: Reader, count: int
    ) -> Any:
        """One round trip: reconnect if the server closed the idle connection, send, read."""
        if (
            conn.is_connected
            and time.monotonic() - self._used >= IDLE_CHECK
            and await closed_while_idle(conn)
        ):
            await conn.disconnect()
        await conn.send_packed_command(packed)
        return await read(conn, count)

    def _connect(self) -> AbstractConnection:
        """A connection like the pool's, without a socket timeout (the lane bounds it)."""
        pool = self._client.connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": None}
        conn: AbstractConnection = pool.connection_class(**kwargs)
        return conn

    def _next(self) -> None:
        """The request in flight is done: send what queued meanwhile, or go idle."""
        if not self._gets and not self._cmds:
            self._busy = False
            return
        gets, self._gets = self._gets, {}
        cmds, self._cmds = self._cmds, []
        task = asyncio.get_running_loop().create_task(self._send(gets, cmds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self,
        gets: dict[str, list[asyncio.Future[Any]]],
        cmds: list[tuple[Command, asyncio.Future[Any]]],
    ) -> None:
        commands: list[Command] = []
        if gets:
            keys = list(gets)
            commands.append(("MGET", *keys) if len(keys) > 1 else ("GET", keys[0]))
        commands.extend(args for args, _ in cmds)
        try:
            replies = await self._many(commands)
        except BaseException as exc:
            fail([f for fs in gets.values() for f in fs] + [f for _, f in cmds], exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if gets:
                first = replies.pop(0)
                if isinstance(first, ResponseError):
                    fail([f for fs in gets.values() for f in fs], first)
                else:
                    values = first if len(gets) > 1 else [first]
                    for futures, value in zip(gets.values(), values, strict=True):
                        for future in futures:
                            if not future.done():
                                future.set_result(value)
            for (_, future), reply in zip(cmds, replies, strict=True):
                if future.done():
                    continue
                if isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        finally:
            self._next()
