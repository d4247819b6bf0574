"""A TCP proxy to a Redis server that acts on the connection carrying a marker.

Usage::

    async with MarkerProxy(server_port, b"bulk-marker", hold=True) as proxy:
        url = proxy.url
        ...                           # a request containing the marker goes through
        await proxy.seen.wait()       # it reached the server; its replies are held
        proxy.release()               # the held replies (and all later ones) flow

With ``hold=True`` the replies on every connection that sent the marker are held
until :meth:`release`, so the request stays in flight for as long as the test wants
while other connections carry on. With ``hold=False`` the first connection that sends
the marker is cut (both sides closed) instead of forwarding it: a connection that
breaks while a request is in flight. Other connections pass untouched.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

__all__ = ["MarkerProxy"]

_CHUNK = 65536


class MarkerProxy:
    def __init__(self, port: int, marker: bytes, *, hold: bool) -> None:
        self._upstream = port
        self._marker = marker
        self._hold = hold
        self._server: asyncio.Server | None = None
        self._released = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.seen = asyncio.Event()
        self.cuts = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def release(self) -> None:
        self._released.set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._released.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        self._writers.update((writer, up_writer))
        marked = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._requests(reader, up_writer, marked, writer))
                group.create_task(self._replies(up_reader, writer, marked))
        except* (ConnectionError, OSError):
            pass
        finally:
            for each in (writer, up_writer):
                self._writers.discard(each)
                each.transport.abort()

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        marked: asyncio.Event,
        client: asyncio.StreamWriter,
    ) -> None:
        tail = b""
        while chunk := await reader.read(_CHUNK):
            if not marked.is_set() and self._marker in tail + chunk:
                if not self._hold:
                    if self.cuts == 0:  # cut once; later connections pass
                        self.cuts += 1
                        self.seen.set()
                        client.transport.abort()
                        upstream.transport.abort()
                        return
                else:
                    marked.set()  # before forwarding: its reply cannot overtake the hold
            tail = chunk[-len(self._marker) :]
            upstream.write(chunk)
            await upstream.drain()
            if marked.is_set():
                self.seen.set()
        upstream.transport.abort()

    async def _replies(
        self, upstream: asyncio.StreamReader, client: asyncio.StreamWriter, marked: asyncio.Event
    ) -> None:
        while chunk := await upstream.read(_CHUNK):
            if marked.is_set():
                await self._released.wait()
            client.write(chunk)
            await client.drain()
        client.transport.abort()
