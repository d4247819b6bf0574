"""Retry policy of write-behind flushes, built on tenacity.

Usage::

    RetryPolicy()                                   # 5 attempts or 30 s, backoff 0.1 s .. 5 s
    RetryPolicy(stop=stop_after_attempt(10) | stop_after_delay(60))
    RetryPolicy(wait=wait_exponential_jitter(multiplier=0.01, max=0.5, jitter=0.01))
    RetryPolicy.once()                              # no retry at all

``stop`` and ``wait`` are tenacity strategies and compose the tenacity way
(``stop_after_attempt(5) | stop_after_delay(30)``). Which errors are retried at all,
and what happens once the policy gives up, is the classifier's call (``classify=``
on ``WriteBehind`` and ``FlushWorker``, see :mod:`._failures`): a permanent error is
never retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import StopBaseT
from tenacity.wait import WaitBaseT

__all__ = ["RetryPolicy"]

T = TypeVar("T")


def _any_exception(exc: BaseException) -> bool:
    return isinstance(exc, Exception) and not isinstance(exc, asyncio.CancelledError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how fast a failed store write is tried again (see module doc)."""

    stop: StopBaseT = field(default_factory=lambda: stop_after_attempt(5) | stop_after_delay(30))
    # Exponential backoff plus up to 0.1 s of jitter, so workers that failed together do
    # not retry in lockstep (composed: wait_exponential_jitter's arguments moved in 9.x).
    wait: WaitBaseT = field(
        default_factory=lambda: wait_exponential(multiplier=0.1, max=5.0) + wait_random(0, 0.1)
    )

    @classmethod
    def once(cls) -> RetryPolicy:
        """A single attempt: failures go straight to splitting, release or dead letters."""
        return cls(stop=stop_after_attempt(1))

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        retryable: Callable[[BaseException], bool],
        on_retry: Callable[[RetryCallState], None] | None = None,
    ) -> T:
        """Await ``fn()`` under this policy, retrying the errors ``retryable`` accepts
        (never a cancellation); the last error is raised as itself."""

        def worth_it(exc: BaseException) -> bool:
            return _any_exception(exc) and retryable(exc)

        retrying = AsyncRetrying(
            stop=self.stop,
            wait=self.wait,
            retry=retry_if_exception(worth_it),
            reraise=True,
            before_sleep=on_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
