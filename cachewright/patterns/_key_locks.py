"""Per-key asyncio locks that exist only while someone holds or awaits them.

Usage::

    locks = KeyLocks()
    async with locks.hold("order:7"):          # one writer of order:7 at a time
        ...
    async with locks.hold_many(["b", "a"]):    # taken in sorted order: no deadlock
        ...

A dict of locks would grow with every key ever written; here each lock carries a
count of its users and is dropped when the last one leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

__all__ = ["KeyLocks"]


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class KeyLocks:
    """A lock per key, created on demand and dropped when unused."""

    __slots__ = ("_slots",)

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    def __len__(self) -> int:
        return len(self._slots)

    async def acquire(self, key: str) -> None:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        slot.users += 1
        try:
            await slot.lock.acquire()
        except BaseException:
            self._leave(key, slot)
            raise

    def release(self, key: str) -> None:
        slot = self._slots[key]
        slot.lock.release()
        self._leave(key, slot)

    def _leave(self, key: str, slot: _Slot) -> None:
        slot.users -= 1
        if slot.users == 0:
            del self._slots[key]

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        await self.acquire(key)
        try:
            yield
        finally:
            self.release(key)

    @asynccontextmanager
    async def hold_many(self, keys: Iterable[str]) -> AsyncIterator[None]:
        held: list[str] = []
        try:
            for key in sorted(set(keys)):
                await self.acquire(key)
                held.append(key)
            yield
        finally:
            for key in reversed(held):
                self.release(key)
