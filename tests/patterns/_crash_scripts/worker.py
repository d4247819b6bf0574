"""A flush worker process: ``run_worker`` into PostgreSQL until SIGTERM.

Environment: ``CW_URL``, ``CW_NAMESPACE``, ``CW_NAME``, ``CW_PARTITIONS``,
``CW_BATCH``, ``CW_CLAIM_IDLE``, and the store's (see :mod:`.stores`). On a graceful
stop (SIGTERM) it prints its counters as one JSON line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys

from tenacity import stop_after_attempt, wait_exponential_jitter

from cachewright.patterns import RetryPolicy
from cachewright.patterns.worker import run_worker


async def main() -> None:
    env = os.environ
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
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
    print(json.dumps(dataclasses.asdict(stats)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
