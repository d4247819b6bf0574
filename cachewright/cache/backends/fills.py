"""Fill notices: a process waiting on another one's lease is woken by the fill (G7).

Usage (what the cache layer does for a ``CacheAside(lock=True)`` waiter)::

    hub = await backend.fill_hub("shop~fill", 1.0)     # None: no notices now
    with hub.watch("shop:user:1") as watch:                  # before reading the key
        raw = await backend.lease_or_get("shop:user:1", lease, 10_000)
        notice = await watch.wait(2.0)                       # None: nothing came in time

The filler's compare-and-set (``fill_notify``) publishes one message on the
namespace's channel: the key, then what happened. A waiter registers here *before*
the read that shows it the lease, on a channel already subscribed, so a fill that
lands after that read cannot be missed: Redis delivers the message after the read's
reply, and the waiter is registered before the read is sent.

A message is ``<len>:<key>`` followed by ``v`` and the value's bytes (filled; the
value travels with the notice), ``f`` (filled, value not attached: read it), or
``r`` (refused, or the lease released: read the key again). When the channel goes
down every waiter is told :data:`LOST` and reads the key again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["LOST", "FillHub", "FillNotice", "Watch", "head", "parse"]

#: values larger than this are not published with the notice: waiters read them
ATTACH_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class FillNotice:
    """``filled``: the key now holds a value (``value``: its bytes, when attached)."""

    filled: bool
    value: bytes | None = None


#: the channel was lost: what was published meanwhile is unknown, read the key again
LOST = FillNotice(filled=False)


def head(key: str) -> bytes:
    """The start of a notice for ``key``: its length, a colon, the key."""
    raw = key.encode()
    return b"%d:%s" % (len(raw), raw)


def parse(message: bytes) -> tuple[str, FillNotice] | None:
    """The key and notice of a message; None if it is not one."""
    size, colon, rest = message.partition(b":")
    if not colon or not size.isdigit():
        return None
    length = int(size)
    if len(rest) <= length:
        return None
    key = rest[:length].decode(errors="replace")
    status, body = rest[length : length + 1], rest[length + 1 :]
    if status == b"v":
        return key, FillNotice(filled=True, value=bytes(body))
    if status == b"f":
        return key, FillNotice(filled=True)
    return key, FillNotice(filled=False)


class Watch:
    """One registration of interest in a key; :meth:`wait` for its next notice."""

    __slots__ = ("_future",)

    def __init__(self, future: asyncio.Future[FillNotice]) -> None:
        self._future = future

    async def wait(self, seconds: float) -> FillNotice | None:
        """The notice, or None after ``seconds``."""
        if seconds <= 0 and not self._future.done():
            return None
        try:
            async with asyncio.timeout(seconds):
                return await asyncio.shield(self._future)
        except TimeoutError:
            return None


class FillHub:
    """This process's waiters, by physical key; the channel's listener delivers to it."""

    __slots__ = ("_waiting", "up")

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[FillNotice]]] = {}
        self.up = False

    @contextlib.contextmanager
    def watch(self, key: str) -> Iterator[Watch]:
        """Register for ``key``'s next notice while the block runs."""
        future: asyncio.Future[FillNotice] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.setdefault(key, set())
        waiting.add(future)
        try:
            yield Watch(future)
        finally:
            waiting.discard(future)
            if not waiting and self._waiting.get(key) is waiting:
                del self._waiting[key]
            if not future.done():
                future.cancel()

    def on_message(self, message: bytes) -> None:
        found = parse(message)
        if found is not None:
            self.deliver(*found)

    def deliver(self, key: str, notice: FillNotice) -> None:
        for future in self._waiting.get(key, ()):
            if not future.done():
                future.set_result(notice)

    def lose(self) -> None:
        """The channel went down: every waiter reads its key again."""
        self.up = False
        self.interrupt()

    def interrupt(self) -> None:
        """Notices may have been lost (a reconnect): every waiter reads its key again."""
        for waiting in self._waiting.values():
            for future in waiting:
                if not future.done():
                    future.set_result(LOST)
