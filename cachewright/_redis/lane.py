"""One connection for single-key commands: no pool round trip alone, auto-pipelined in a crowd.

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    lane = Lane(client)
    value = await lane.get("shop:user:1")                 # GET, or part of one MGET
    reply = await lane.command("SET", "shop:a", b"..", "PX", 60_000)
    await lane.close()                                    # gives the connection back

A call that finds nothing in flight is sent at once: a lone call costs one command
and one round trip, on a connection the lane keeps, so it skips the pool's checkout
and release (that is most of redis-py's per-call work). Calls that arrive while a
request is in flight wait for it to return, then leave together in one write: the
GETs among them as one MGET, the other commands pipelined behind it. No timer: the
batch is whatever queued during the previous round trip, so under load it grows to
the number of concurrent callers, and a lone call is never delayed.

Nothing is sent earlier than it would have been alone, and each caller's commands
stay in the order it awaited them, so read-your-writes holds as with plain calls.
An error reply fails only its own command; a connection error or a timeout fails
the batch it hit (every caller of it sees the error), and the connection reconnects
on the next call. Timeouts are the client's ``socket_timeout``, per read.

Only a standalone client with a pool of two connections or more gets the kept
connection; for others (Sentinel, a one-connection pool) the lane still batches,
through the client's own ``execute_command`` and pipelines.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import BlockingConnectionPool, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

try:  # hiredis packs a command in C: 10x faster than redis-py's packer on a batch
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - hiredis comes with cachewright
    _hiredis_pack = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection
    from redis.typing import EncodableT

__all__ = ["Lane"]

Command = tuple["EncodableT", ...]


class Lane:
    """Single-key commands of one standalone client, one request in flight at a time."""

    __slots__ = ("_busy", "_client", "_cmds", "_conn", "_direct", "_gets", "_pack", "_tasks")

    def __init__(self, client: Redis) -> None:
        self._client = client
        # Sentinel pools hand out connections that follow failovers: leave them to
        # redis-py. Plain and blocking pools (what from_url builds) get the kept one,
        # unless keeping one would leave the pool nothing for SCAN and pipelines.
        pool = client.connection_pool
        self._direct = (
            type(pool) in (ConnectionPool, BlockingConnectionPool) and pool.max_connections >= 2
        )
        self._conn: AbstractConnection | None = None
        # hiredis' packer, or None for redis-py's (kept for a non-UTF-8 encoding)
        self._pack: Callable[..., bytes] | None = None
        self._busy = False
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
        """The raw reply (as redis-py's ``execute_command`` or the bare parser gives it)."""
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

    async def close(self) -> None:
        """Give the kept connection back to the pool (idempotent); later calls use the pool."""
        self._direct = False
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._client.connection_pool.release(conn)

    # -- sending ---------------------------------------------------------------------

    async def _connection(self) -> AbstractConnection:
        conn = self._conn
        if conn is None:
            pool = self._client.connection_pool
            conn = self._conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            # hiredis encodes str as UTF-8 like redis-py's default; another encoding
            # configured on the client keeps redis-py's own packer.
            utf8 = conn.encoder.encoding.lower().replace("-", "") == "utf8"
            self._pack = _hiredis_pack if utf8 else None
        return conn

    async def _ready(self) -> AbstractConnection:
        """The kept connection, reconnected first if the server closed it while idle."""
        conn = self._conn
        if conn is None:
            return await self._connection()
        try:
            stale = await conn.can_read()
        except (RedisConnectionError, OSError):
            stale = True
        if stale:
            # Closed while idle (a restart, the server's timeout, a proxy): nothing of
            # ours went out on it since the last reply, so reconnecting cannot run a
            # command twice, which a blind retry could.
            await conn.disconnect()
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        return conn

    async def _one(self, args: Command) -> Any:
        if not self._direct:
            return await self._client.execute_command(*args)  # type: ignore[no-untyped-call]
        conn = await self._ready()
        pack = self._pack
        await _send(conn, pack(args) if pack else conn.pack_command(*args))
        return await conn.read_response()

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
        conn = await self._ready()
        pack = self._pack
        if pack is None:
            await _send(conn, conn.pack_commands(commands))
        else:
            await _send(conn, b"".join([pack(args) for args in commands]))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies

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
            _fail([f for fs in gets.values() for f in fs] + [f for _, f in cmds], exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if gets:
                first = replies.pop(0)
                if isinstance(first, ResponseError):
                    _fail([f for fs in gets.values() for f in fs], first)
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


async def _send(conn: AbstractConnection, packed: bytes | list[bytes]) -> None:
    """Write a packed request: at once when the socket takes it, else through redis-py.

    With a read timeout set, redis-py's ``send_packed_command`` wraps every write in
    ``asyncio.wait_for``, which costs a task per command. A write into an empty
    transport buffer cannot block, so it goes straight to the transport; anything
    else (not connected, a health check due, a backlog, a closing transport) takes
    the full path, with its timeout, reconnection and error mapping. The reply is
    read under the read timeout either way.
    """
    writer = getattr(conn, "_writer", None)  # redis-py's StreamWriter, when connected
    if (
        writer is not None
        and not conn.health_check_interval
        and not writer.transport.is_closing()
        and not writer.transport.get_write_buffer_size()
    ):
        if isinstance(packed, bytes):
            writer.write(packed)
        else:
            writer.writelines(packed)
        return
    await conn.send_packed_command(packed)


def _fail(futures: list[asyncio.Future[Any]], exc: BaseException) -> None:
    cancelled = isinstance(exc, asyncio.CancelledError)
    for future in futures:
        if future.done():
            continue
        if cancelled:
            future.cancel()
        else:
            future.set_exception(exc)
