"""A flush worker process: ``run_worker`` into PostgreSQL until SIGTERM.

Environment: ``CW_URL``, ``CW_NAMESPACE``, ``CW_NAME``, ``CW_PARTITIONS``,
``CW_BATCH``, ``CW_CLAIM_IDLE``, and the store's (see :mod:`.stores`). On a graceful
stop (SIGTERM) it prints its counters as one JSON line.

A SIGTERM that arrives before ``run_worker`` has installed its handler (the process
still importing, the store still opening: a test whose queue drained fast may stop a
worker that never got going) is held pending, not fatal: the signal is blocked from
the start and unblocked once the handler is in place, and then stops the worker
gracefully like any other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # until run_worker handles it

from tenacity import stop_after_attempt, wait_exponential_jitter  # noqa: E402

from cachewright.patterns import RetryPolicy  # noqa: E402
from cachewright.patterns.worker import run_worker  # noqa: E402


async def unblock_once_handled() -> None:
    """Let SIGTERM in once the loop handles it (polled: run_worker has no hook)."""
    while signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN, None):  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


async def main() -> None:
    env = os.environ
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    unblocking = asyncio.create_task(unblock_once_handled())
    stats = await run_worker(
        env["CW_URL"],
        "tests.patterns._crash_scripts.stores:from_env",
        type=int,
        key_type=int,
        namespace=env["CW_NAMESPACE"],
        name=env["CW_NAME"],
        partitions=int(env["CW_PARTITIONS"]),
        batch_size=int(env["CW_BATCH"]),
        claim_idle=float(env["CW_CLAIM_IDLE"]),
        wait=0.5,
        retry=RetryPolicy(
            stop=stop_after_attempt(4), wait=wait_exponential_jitter(initial=0.05, max=0.5)
        ),
    )
    unblocking.cancel()
    print(json.dumps(dataclasses.asdict(stats)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
