"""An asyncio TCP fault proxy between the library and a server (Redis or PostgreSQL).

Usage::

    async with FaultProxy("127.0.0.1", redis_port) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        proxy.latency(50)          # every chunk waits 50 ms each way
        proxy.black_hole()         # accept and keep connections, forward nothing
        proxy.drop()               # close every open connection now (new ones pass)
        proxy.pass_through()       # back to normal
        proxy.upstream_bytes       # bytes that reached the server

Connections opened while black-holed are accepted but never connected upstream;
bytes received on any connection while black-holed are swallowed. The counters
(``upstream_connects``, ``upstream_bytes``) say what really reached the server.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from types import TracebackType
from typing import Self

__all__ = ["FaultProxy", "Mode"]

_CHUNK = 65536


class Mode(StrEnum):
    PASS = "pass"
    LATENCY = "latency"
    BLACK_HOLE = "black_hole"


class FaultProxy:
    """Listen on a free port of 127.0.0.1 and forward to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.mode = Mode.PASS
        self.delay = 0.0
        self.accepted = 0
        self.upstream_connects = 0
        self.upstream_bytes = 0
        self.swallowed_chunks = 0
        self.drops = 0

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- modes ---------------------------------------------------------------------------

    def pass_through(self) -> None:
        self.mode, self.delay = Mode.PASS, 0.0

    def latency(self, ms: float) -> None:
        self.mode, self.delay = Mode.LATENCY, ms / 1000

    def black_hole(self) -> None:
        self.mode = Mode.BLACK_HOLE

    def drop(self) -> None:
        """Close every open connection (both sides) now; the mode is unchanged."""
        self.drops += 1
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def retarget(self, port: int) -> None:
        """Forward new connections to another port of the same host."""
        self._target = (self._target[0], port)

    # -- plumbing ------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # Only close() cancels these tasks (asyncio.start_server owns them): end
            # quietly, or its done-callback logs the cancellation as an error.
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while self.mode is Mode.BLACK_HOLE:
            # Hold the connection open and swallow what arrives (a silent server).
            if not await reader.read(_CHUNK):
                return
            self.swallowed_chunks += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            return
        self.upstream_connects += 1
        self._writers.add(up_writer)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pipe(reader, up_writer, upstream=True))
                group.create_task(self._pipe(up_reader, writer, upstream=False))
        except* (OSError, _Closed):
            pass
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                raise _Closed
            if self.mode is Mode.BLACK_HOLE:
                if upstream:
                    self.swallowed_chunks += 1
                continue  # swallowed: neither side hears anything
            if self.mode is Mode.LATENCY and self.delay > 0:
                await asyncio.sleep(self.delay)  # the injected fault itself
            if upstream:
                self.upstream_bytes += len(data)
            writer.write(data)
            await writer.drain()

    async def close(self) -> None:
        """Stop listening and close every connection. Idempotent."""
        if self._server is not None:
            self._server.close()
            self.drop()  # every handler sees its connection end and returns
            if self._tasks:
                _, stuck = await asyncio.wait(list(self._tasks), timeout=5)
                for task in stuck:
                    task.cancel()
                if stuck:
                    await asyncio.wait(stuck)
            await self._server.wait_closed()
            self._server = None


class _Closed(Exception):
    """One side of a proxied connection closed: tear the pair down."""
