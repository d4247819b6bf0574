"""Stopping a background task without swallowing the caller's own cancellation.

Usage (what every ``close()``/``stop()`` that owns a background task does)::

    await cancel_and_wait(self._task)   # cancelled, and ended, before this returns

``task.cancel()`` then ``with contextlib.suppress(asyncio.CancelledError): await task``
also swallows a cancellation of the *caller* that arrives while it waits (a timeout
around ``close()``, a shutdown cancelling everything): the caller then carries on as
if nothing happened, and an ``asyncio.timeout`` around it never fires. Here the task's
own ``CancelledError`` is absorbed, and the caller's is raised: a cancellation counts
as the caller's when its cancel count (``Task.cancelling()``) grew during the wait. A
caller that is already being cancelled when it cleans up is let finish its cleanup.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it ended; its ``CancelledError`` is absorbed,
    and raised only if the caller itself was cancelled meanwhile. Anything else the
    task raised while unwinding propagates, as it did before."""
    current = asyncio.current_task()
    before = current.cancelling() if current is not None else 0
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > before:
            raise
