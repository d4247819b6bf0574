"""Run a user's synchronous code off the engine loop: in the runtime's worker threads.

Usage (inside a coroutine)::

    user = await in_thread(repo.get, 42)     # repo.get(42) in a worker thread

On the sync API's own loop the runtime's :class:`~cachewright.sync._workers.Workers`
serve the call; on any other loop (a ``RepositoryStore`` handed to the async API),
``asyncio.to_thread`` does. The callee's exception is raised as it was.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from cachewright.sync._runtime import current_runtime

__all__ = ["in_thread"]

R = TypeVar("R")


async def in_thread(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)`` in a worker thread; its result or its exception unchanged."""
    call = functools.partial(fn, *args, **kwargs)
    rt = current_runtime()
    if rt is not None and rt.loop is asyncio.get_running_loop():
        return await rt.workers.run(call)
    return await asyncio.to_thread(call)
