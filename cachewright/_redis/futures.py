"""Settling the futures of callers whose shared request failed.

Usage (what the lane and the tagged-set batches do when a request fails as a whole)::

    fail(futures, exc)   # each caller still waiting gets exc (cancelled, if exc is one)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["fail"]


def fail(futures: Iterable[asyncio.Future[Any]], exc: BaseException) -> None:
    """Give ``exc`` to every future not yet done; a cancellation cancels them."""
    cancelled = isinstance(exc, asyncio.CancelledError)
    for future in futures:
        if future.done():
            continue
        if cancelled:
            future.cancel()
        else:
            future.set_exception(exc)
