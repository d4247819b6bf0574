"""Store factories for worker processes (``run_worker``'s ``module:factory``).

``from_env`` builds ``SQLStore(CW_PG_URL, CW_TABLE, type=int, key_type=int)``, wrapped
to misbehave on cue:

- ``CW_CRASH_AFTER_ROWS=n``: the process SIGKILLs itself in the middle of the batch
  that would pass ``n`` rows: half that batch is committed, and the batch is neither
  completed nor released in the queue: exactly a crash mid-batch.
- ``CW_PAUSE_AFTER_ROWS=n`` with ``CW_GATE=path``: before the batch that would pass
  ``n`` rows, the worker creates ``path.<pid>`` and waits (holding its claimed batch)
  for SIGUSR1; the test restarts Redis meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cachewright.stores import BaseStore, SQLStore


class CueStore(BaseStore[int, int]):
    """``SQLStore`` that crashes or pauses once ``after`` rows have been written."""

    def __init__(
        self, inner: SQLStore[int, int], after: int, *, crash: bool, gate: Path | None
    ) -> None:
        self._inner = inner
        self._left = after
        self._crash = crash
        self._gate = gate

    async def get(self, key: int) -> int | None:
        return await self._inner.get(key)

    async def set(self, key: int, value: int) -> None:
        await self.set_many({key: value})

    async def delete(self, key: int) -> None:
        await self.delete_many([key])

    async def set_many(self, items: Mapping[int, int]) -> None:
        # One line per batch on stderr (the process's log): a test that waits for the
        # cue in vain shows how far this worker got.
        print(f"batch of {len(items)} rows, {self._left} to the cue", file=sys.stderr, flush=True)
        if self._left <= 0 or len(items) < self._left:
            self._left -= len(items)
            await self._inner.set_many(items)
            return
        self._left = 0
        if self._crash:
            first = dict(list(items.items())[: max(1, len(items) // 2)])
            await self._inner.set_many(first)  # committed: the store is half-written
            os.kill(os.getpid(), signal.SIGKILL)
        if self._gate is not None:
            go = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, go.set)
            await asyncio.to_thread(Path(f"{self._gate}.{os.getpid()}").touch)
            await go.wait()  # the test's cue: SIGUSR1
        await self._inner.set_many(items)

    async def delete_many(self, keys: Sequence[int]) -> None:
        await self._inner.delete_many(keys)

    async def close(self) -> None:
        await self._inner.close()


def from_env() -> BaseStore[int, int]:
    env = os.environ
    store = SQLStore(env["CW_PG_URL"], env["CW_TABLE"], type=int, key_type=int)
    crash_after = int(env.get("CW_CRASH_AFTER_ROWS", "0"))
    pause_after = int(env.get("CW_PAUSE_AFTER_ROWS", "0"))
    if crash_after:
        return CueStore(store, crash_after, crash=True, gate=None)
    if pause_after:
        return CueStore(store, pause_after, crash=False, gate=Path(env["CW_GATE"]))
    return store
